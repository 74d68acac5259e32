import { RDSClient } from '@aws-sdk/client-rds';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { sharedBudget, type TokenBucket } from './requestBudget.js';

export interface RdsClientOptions {
  region: string;
  /** Endpoint override (emulators). Without it the SDK honours AWS_ENDPOINT_URL_RDS / AWS_ENDPOINT_URL. */
  endpoint?: string | undefined;
  /** Request budget shared by every backend in this process that talks to the same region and endpoint. */
  requestsPerSecond: number;
  /** Attempts per API call including the first (SDK standard retry mode: exponential backoff with jitter). */
  maxAttempts: number;
  /**
   * Bound on one HTTP attempt (default 30 s) and on its TCP connect (default 5 s). Without them a
   * request to an endpoint that accepts and never answers hangs for ever and holds a worker.
   */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/**
 * An RDS client with the operator's policies: credentials from the Node provider chain
 * (environment, shared files, web identity / IRSA, EKS Pod Identity, instance roles), standard
 * retries with backoff, and every HTTP attempt (retries included) paid from the shared budget.
 */
export function createRdsClient(options: RdsClientOptions): { client: RDSClient; budget: TokenBucket } {
  const endpoint = options.endpoint ?? process.env['AWS_ENDPOINT_URL_RDS'] ?? process.env['AWS_ENDPOINT_URL'] ?? 'aws';
  const budget = sharedBudget(`${options.region}|${endpoint}`, options.requestsPerSecond);
  const client = new RDSClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    credentials: fromNodeProviderChain(),
    maxAttempts: options.maxAttempts,
    retryMode: 'standard',
    // throwOnRequestTimeout: without it smithy only logs a warning and the request keeps hanging.
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? 30_000, connectionTimeout: options.connectTimeoutMs ?? 5_000, throwOnRequestTimeout: true },
  });
  // After the retry middleware, so that each attempt waits for a token, not just each call.
  const spendToken = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
    await budget.take();
    return next(args);
  };
  client.middlewareStack.addRelativeTo(
    spendToken as never,
    { name: 'hybridcloudRequestBudget', relation: 'after', toMiddleware: 'retryMiddleware', override: true },
  );
  return { client, budget };
}
