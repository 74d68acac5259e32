/**
 * Sorts ARM errors (RestError from the Azure SDK) into core's three kinds. ARM error messages do
 * not echo request bodies, so the admin password cannot leak through them; core redacts anyway.
 */
import { BackendError, retryable, terminal, throttled } from '@hybridcloud-postgresql/core';

interface RestErrorShape {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  response?: { headers?: { get?(name: string): string | undefined } };
}

const shape = (err: unknown): RestErrorShape => (typeof err === 'object' && err !== null ? (err as RestErrorShape) : {});

export function armStatus(err: unknown): number | undefined {
  return shape(err).statusCode;
}

export function armCode(err: unknown): string | undefined {
  return shape(err).code;
}

export function isNotFound(err: unknown): boolean {
  return armStatus(err) === 404 || /^(ResourceNotFound|ResourceGroupNotFound|ServerNotExist|LockNotFound|NotFound)$/.test(armCode(err) ?? '');
}

export function isScopeLocked(err: unknown): boolean {
  return armCode(err) === 'ScopeLocked';
}

/** Retry-After in ms (seconds or an HTTP date), if the answer had one. */
export function retryAfterMs(err: unknown): number | undefined {
  const raw = shape(err).response?.headers?.get?.('retry-after');
  if (!raw) return undefined;
  const secs = Number(raw);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const LRO_FAILED = /^The long-running operation has failed|^Operation was canceled/;

/** The plain Error core-lro raises for a failed or canceled operation. */
export function isOperationFailure(err: unknown): boolean {
  return armStatus(err) === undefined && LRO_FAILED.test(shape(err).message ?? '');
}

const BUSY = /^(ServerBusy|ServerIsNotReady|OperationInProgress|AnotherOperationInProgress|Conflict|ConflictingServerOperation|ResourceBusy)$/;
/** Busy as Azure words it inside failed operations (core-lro keeps only code and message). */
const BUSY_TEXT = /\b(ServerBusy|ServerIsNotReady|AnotherOperationInProgress|ConflictingServerOperation)\b|Current Server State = (Updating|Restarting|Provisioning|Starting|Stopping)|is busy with another operation/i;

/**
 * The server was busy with another change: a synchronous 409, or a long-running operation that
 * failed for that reason (ServerBusy, ServerIsNotReady … Current Server State = Updating). Such a
 * change is sent again later, never reported as terminal.
 */
export function isBusy(err: unknown): boolean {
  const e = shape(err) as RestErrorShape & { details?: unknown; cause?: unknown };
  if (BUSY.test(e.code ?? '')) return true;
  if (BUSY_TEXT.test(e.message ?? '')) return true;
  const inner = JSON.stringify(e.details ?? '');
  if (BUSY_TEXT.test(inner)) return true;
  return e.cause !== undefined && e.cause !== err && isBusy(e.cause);
}

/**
 * A failed operation on a child resource (firewall rule, parameter, database) that says no more
 * than ResourceDeploymentFailure: ARM's wrapper, whose detail (often ServerBusy) the SDK drops.
 * Level-based callers send the change again; it is not the user's to fix.
 */
export function isTransientChildFailure(err: unknown): boolean {
  return isBusy(err) || /\bResourceDeploymentFailure\b/.test(shape(err).code ?? '') || /\bResourceDeploymentFailure\b/.test(shape(err).message ?? '');
}

/** Contributor and other roles without Microsoft.Authorization/locks/write. */
export function isAuthorizationFailure(err: unknown): boolean {
  return armStatus(err) === 403 || armCode(err) === 'AuthorizationFailed';
}

/** Maps an error thrown by an Azure SDK call to a BackendError; `what` names the call. */
export function toBackendError(err: unknown, what: string): BackendError {
  if (err instanceof BackendError) return err;
  const e = shape(err);
  const code = e.code ?? e.name ?? 'Error';
  const status = e.statusCode;
  const detail = `${what}: ${code}: ${e.message ?? String(err)}`;
  // The SDK's begin…() polls once; an operation that already failed surfaces here as a plain Error.
  if (status === undefined && LRO_FAILED.test(e.message ?? '') && isBusy(err)) return retryable(`${what}: the server was busy with another change in Azure; it is sent again (${e.message ?? ''})`, err, 'AzureBusy');
  if (status === undefined && LRO_FAILED.test(e.message ?? '')) return terminal('AzureOperationFailed', `${what} failed in Azure: ${(e.message ?? '').replace(LRO_FAILED, '').replace(/^[.:\s]+/, '')}`, err);
  if (status === 429) return throttled(`Azure is throttling requests (${detail})`, retryAfterMs(err), err);
  if (e.name === 'AbortError') return retryable(`aborted (${detail})`, err, 'Aborted');
  if (code === 'ScopeLocked') return terminal('DeletionLocked', `${detail}. A management lock prevents this; remove the lock (az lock list --resource <id>) and the operator continues.`, err);
  if (status === 401 || status === 403 || code === 'AuthorizationFailed' || code === 'CredentialUnavailableError' || code === 'AuthenticationRequiredError') {
    return terminal('AzureAccessDenied', `${detail}. Check the operator's Azure credentials and role assignments.`, err);
  }
  if (status === 409 && BUSY.test(code)) return retryable(detail, err, 'AzureBusy');
  if (code === 'MissingSubscriptionRegistration' || code === 'SubscriptionNotRegistered') {
    const ns = /namespace '([^']+)'/.exec(e.message ?? '')?.[1] ?? 'Microsoft.DBforPostgreSQL';
    return terminal('AzureProviderNotRegistered', `${detail}. The subscription must be registered for the resource provider once: az provider register --namespace ${ns} (needs the */register/action permission, e.g. Contributor on the subscription); the operator continues by itself afterwards.`, err);
  }
  if (status !== undefined && status >= 500) return retryable(detail, err, 'AzureUnavailable');
  if (status === undefined) return retryable(detail, err, 'AzureUnreachable');
  if (/QuotaExceeded|SkuNotAvailable|SubscriptionNotRegistered/.test(code)) return terminal('AzureQuota', detail, err);
  return terminal('AzureRejected', detail, err);
}

/** A long-running operation Azure reported as Failed/Canceled: the user (or admin) must act. */
export function operationFailed(what: string, err: unknown): BackendError {
  const e = shape(err);
  if (isBusy(err)) return retryable(`${what} did not run: the server was busy with another change in Azure; it is sent again (${e.message ?? String(err)})`, err, 'AzureBusy');
  const code = e.code ?? 'OperationFailed';
  return terminal('AzureOperationFailed', `${what} failed in Azure: ${code}: ${e.message ?? String(err)}`, err);
}
