/**
 * Credentials and client options shared by the Azure backends. Production uses
 * DefaultAzureCredential (environment service principal, workload identity, managed identity,
 * Azure CLI for local use). The ARM endpoint and an extra CA can be overridden for sovereign
 * clouds and for tests against a local ARM fake.
 */
import { readFileSync } from 'node:fs';
import { DefaultAzureCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
export type { TokenCredential } from '@azure/core-auth';

export interface ArmClientSettings {
  resource_manager_endpoint?: string | undefined;
  ca_file?: string | undefined;
  max_retries: number;
}

export interface ArmClientOptions {
  endpoint?: string;
  tlsOptions?: { ca: string };
  retryOptions: { maxRetries: number };
  userAgentOptions: { userAgentPrefix: string };
}

export function armClientOptions(cfg: ArmClientSettings, env: NodeJS.ProcessEnv = process.env): ArmClientOptions {
  const endpoint = cfg.resource_manager_endpoint ?? env['AZURE_RESOURCE_MANAGER_ENDPOINT'];
  const caFile = cfg.ca_file ?? env['AZURE_CA_FILE'];
  return {
    ...(endpoint ? { endpoint: endpoint.replace(/\/+$/, '') } : {}),
    ...(caFile ? { tlsOptions: { ca: readFileSync(caFile, 'utf8') } } : {}),
    retryOptions: { maxRetries: cfg.max_retries },
    userAgentOptions: { userAgentPrefix: 'hybrid-cloud-postgresql-operator' },
  };
}

let shared: TokenCredential | undefined;

/** One credential per process: it caches tokens, so building it per call would re-authenticate. */
export function defaultCredential(): TokenCredential {
  shared ??= new DefaultAzureCredential();
  return shared;
}

/** A credential that hands out a fixed token: for a local ARM fake only. */
export function staticTokenCredential(token = 'fake-token'): TokenCredential {
  return { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
}
