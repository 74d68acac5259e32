/**
 * Sorts AWS SDK errors into core's three kinds. AWS error messages never echo request
 * parameters, so they are safe to surface in conditions (no MasterUserPassword can leak).
 */
import { BackendError, retryable, terminal, throttled } from '@hybridcloud-postgresql/core';

interface AwsErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

const THROTTLING = new Set([
  'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottled', 'RequestThrottledException',
  'TooManyRequestsException', 'RequestLimitExceeded', 'SlowDown', 'PriorRequestNotComplete', 'BandwidthLimitExceeded',
]);

/** Conditions that clear by themselves: the resource is busy with another operation. */
const BUSY = new Set([
  'InvalidDBInstanceState', 'InvalidDBInstanceStateFault', 'InvalidDBClusterStateFault', 'InvalidDBClusterState',
  'ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'IDPCommunicationError',
]);

const ACCESS = new Set([
  'AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'InvalidClientTokenId', 'SignatureDoesNotMatch',
  'UnrecognizedClientException', 'AuthFailure', 'AuthorizationError', 'OptInRequired', 'CredentialsProviderError',
]);

const QUOTA = new Set([
  'InstanceQuotaExceeded', 'InstanceQuotaExceededFault', 'StorageQuotaExceeded', 'StorageQuotaExceededFault',
  'DBClusterQuotaExceededFault', 'SnapshotQuotaExceeded', 'SnapshotQuotaExceededFault', 'InsufficientDBInstanceCapacity',
  'InsufficientDBInstanceCapacityFault', 'InsufficientDBClusterCapacityFault', 'InsufficientStorageClusterCapacity',
]);

/** The AWS error code (`DBInstanceNotFoundFault`, `Throttling`, …) or undefined for non-AWS errors. */
export function awsErrorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as AwsErrorShape;
  return e.Code ?? e.code ?? e.name;
}

/** True for "this instance / cluster / snapshot does not exist". */
export function isNotFound(err: unknown): boolean {
  const code = awsErrorCode(err) ?? '';
  return /^(DBInstanceNotFound|DBClusterNotFound|DBSnapshotNotFound|DBClusterSnapshotNotFound)(Fault)?$/.test(code);
}

export function isAlreadyExists(err: unknown): boolean {
  const code = awsErrorCode(err) ?? '';
  return /^(DBInstanceAlreadyExists|DBClusterAlreadyExists)(Fault)?$/.test(code);
}

/** Maps any error thrown by an AWS call to a BackendError core understands. `what` names the call. */
export function toBackendError(err: unknown, what: string): BackendError {
  if (err instanceof BackendError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as AwsErrorShape;
  const code = awsErrorCode(err) ?? 'Error';
  const detail = `${what}: ${code}: ${e.message ?? String(err)}`;
  // A slim cause: the SDK error carries the whole HTTP response, too much for logs and status.
  err = { name: code, message: e.message, httpStatusCode: e.$metadata?.httpStatusCode, requestId: (e.$metadata as { requestId?: string } | undefined)?.requestId };
  const status = e.$metadata?.httpStatusCode;
  if (THROTTLING.has(code) || e.$retryable?.throttling) return throttled(`AWS is throttling requests (${detail})`, undefined, err);
  if (code === 'AbortError') return retryable(`aborted (${detail})`, err, 'Aborted');
  if (BUSY.has(code)) return retryable(detail, err, 'AwsBusy');
  if (ACCESS.has(code)) return terminal('AwsAccessDenied', `${detail}. Check the operator's AWS credentials and IAM permissions (RDS full access).`, err);
  if (QUOTA.has(code)) return terminal('AwsQuotaExceeded', `${detail}. Raise the AWS quota or free capacity.`, err);
  if (e.$retryable || e.$fault === 'server' || (status !== undefined && status >= 500)) return retryable(detail, err, 'AwsUnavailable');
  // No HTTP status at all: connection refused, DNS, timeouts: the network, not the request.
  if (status === undefined) return retryable(detail, err, 'AwsUnreachable');
  return terminal('AwsRejected', detail, err);
}
