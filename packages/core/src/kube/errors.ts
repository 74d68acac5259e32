/**
 * What went wrong in a Kubernetes API call, in one shape. client-node 2.x throws ApiException
 * with the HTTP code and the response body as a JSON *string*; the raw Watch reports an Error
 * with `statusCode`; watch streams deliver ERROR events carrying a Status object; core's own
 * KubeHttp throws KubeHttpError (code, body). All are understood here.
 */
import type { ApiException } from '@kubernetes/client-node';
import { KubeHttpError } from '../reconcile/kubeHttp.js';

/**
 * client-node's ApiException, recognised by shape: core does not load client-node at run time
 * (kube/connection.ts), but backends and tests that use it hand its errors to core.
 */
export function isApiException(err: unknown): err is ApiException<unknown> {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number' && 'body' in err && 'headers' in err;
}

export interface KubeStatus {
  code: number;
  /** The apiserver's machine reason: NotFound, Conflict, AlreadyExists, Expired, Forbidden… */
  reason: string;
  message: string;
}

export class KubeApiError extends Error {
  override name = 'KubeApiError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function parseBody(body: unknown): Partial<KubeStatus> {
  let obj: unknown = body;
  if (typeof body === 'string') {
    try {
      obj = JSON.parse(body);
    } catch {
      return body ? { message: body.slice(0, 500) } : {};
    }
  }
  if (obj && typeof obj === 'object') {
    const o = obj as Record<string, unknown>;
    return {
      ...(typeof o['code'] === 'number' ? { code: o['code'] } : {}),
      ...(typeof o['reason'] === 'string' ? { reason: o['reason'] } : {}),
      ...(typeof o['message'] === 'string' ? { message: o['message'] } : {}),
    };
  }
  return {};
}

const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
  409: 'Conflict', 410: 'Expired', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests',
  500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

/** The status of an API error, or undefined when `err` is not one (network error, bug…). */
export function kubeStatus(err: unknown): KubeStatus | undefined {
  if (err instanceof KubeApiError) return { code: err.code, reason: err.reason, message: err.message };
  if (err instanceof KubeHttpError) {
    const parsed = parseBody(err.body);
    return { code: err.code, reason: parsed.reason ?? REASON_BY_CODE[err.code] ?? 'Unknown', message: parsed.message ?? `HTTP ${err.code}` };
  }
  if (isApiException(err)) {
    const code = err.code;
    const parsed = parseBody(err.body);
    return { code, reason: parsed.reason ?? REASON_BY_CODE[code] ?? 'Unknown', message: parsed.message ?? `HTTP ${code}` };
  }
  if (err && typeof err === 'object') {
    const e = err as { statusCode?: unknown; code?: unknown; kind?: unknown; reason?: unknown; message?: unknown };
    // raw Watch: Error with statusCode
    if (typeof e.statusCode === 'number') {
      return { code: e.statusCode, reason: REASON_BY_CODE[e.statusCode] ?? 'Unknown', message: String(e.message ?? `HTTP ${e.statusCode}`) };
    }
    // a Status object (watch ERROR event)
    if (e.kind === 'Status' && typeof e.code === 'number') {
      return { code: e.code, reason: typeof e.reason === 'string' ? e.reason : (REASON_BY_CODE[e.code] ?? 'Unknown'), message: String(e.message ?? '') };
    }
  }
  return undefined;
}

/** Wraps any API failure into a KubeApiError with a readable message (others pass through). */
export function toKubeError(err: unknown, what?: string): unknown {
  if (err instanceof KubeApiError) return err;
  const s = kubeStatus(err);
  if (!s) return err;
  return new KubeApiError(s.code, s.reason, `${what ? `${what}: ` : ''}${s.message} (${s.code} ${s.reason})`, { cause: err });
}

export const isNotFound = (err: unknown): boolean => kubeStatus(err)?.code === 404;
export const isConflict = (err: unknown): boolean => kubeStatus(err)?.code === 409 && kubeStatus(err)?.reason !== 'AlreadyExists';
/**
 * Any 409: a write built on a view the API server no longer holds, whether the object changed
 * (Conflict) or appeared since it was read (AlreadyExists). A reconcile runs again with fresh data.
 */
export const isStaleView = (err: unknown): boolean => kubeStatus(err)?.code === 409;
export const isAlreadyExists = (err: unknown): boolean => kubeStatus(err)?.reason === 'AlreadyExists';
export const isGone = (err: unknown): boolean => kubeStatus(err)?.code === 410;
export const isForbidden = (err: unknown): boolean => kubeStatus(err)?.code === 403;

/** A read's result, or undefined when the object does not exist (other errors are thrown). */
export async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * One line for logs: the apiserver's own message for API errors (ApiException's message is the
 * whole response with headers), the first line of anything else.
 */
export function describeError(err: unknown): string {
  const s = kubeStatus(err);
  if (s && !(err instanceof KubeApiError)) return `${s.message} (${s.code} ${s.reason})`;
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0] ?? m;
}
