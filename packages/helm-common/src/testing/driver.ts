/**
 * Test helper: drives a Backend the way core's server reconciler does (observe → create/update
 * until ready), with an in-memory Op (state, warnings). Test code only.
 */
import { BackendError, silentLogger, type Backend, type Endpoint, type Op, type ServerRequest, type ServerSpec } from '@hybridcloud-postgresql/core';

export class TestOp implements Op {
  readonly log = silentLogger;
  readonly signal: AbortSignal = new AbortController().signal;
  readonly warnings: Array<{ reason: string; message: string }> = [];
  constructor(readonly state: Record<string, string> = {}) {}
  async saveState(patch: Record<string, string | null>): Promise<void> {
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete this.state[k];
      else this.state[k] = v;
    }
  }
  warn(reason: string, message: string): void {
    if (!this.warnings.some((w) => w.reason === reason)) this.warnings.push({ reason, message });
  }
}

export function serverRequest(namespace: string, name: string, spec: Partial<ServerSpec>, op: TestOp): ServerRequest {
  return { namespace, name, uid: `uid-${name}`, spec: { credentialsSecret: `${name}-admin-creds`, ...spec }, state: op.state };
}

/** One reconcile: what core does for a live server. */
export async function reconcileOnce(backend: Backend, op: TestOp, s: ServerRequest, adminPassword: string, resetPassword = false) {
  const seen = await backend.observeServer(op, s);
  if (!seen.exists) return backend.createServer(op, s, adminPassword);
  if (!seen.upToDate || !seen.ready || resetPassword) return backend.updateServer(op, s, seen, resetPassword ? adminPassword : undefined);
  return { state: 'ready' as const, endpoint: seen.endpoint! };
}

/** Reconciles until ready (or the deadline), returning the endpoint. */
export async function reconcileUntilReady(backend: Backend, op: TestOp, s: ServerRequest, adminPassword: string, opts: { resetPassword?: boolean; timeoutMs?: number } = {}): Promise<Endpoint> {
  const deadline = Date.now() + (opts.timeoutMs ?? 150_000);
  let reset = opts.resetPassword ?? false;
  let last = '';
  while (Date.now() < deadline) {
    let p;
    try {
      p = await reconcileOnce(backend, op, { ...s, state: op.state }, adminPassword, reset);
    } catch (err) {
      // Like the work queue: retryable errors are retried, terminal ones end the attempt.
      if (err instanceof BackendError && err.kind === 'terminal') throw err;
      last = (err as Error).message;
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    reset = false;
    if (p.state === 'ready') {
      const seen = await backend.observeServer(op, { ...s, state: op.state });
      if (seen.ready && seen.upToDate) return p.endpoint;
      last = seen.message ?? '';
    } else if (p.state === 'pending') last = p.message;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`not ready in time: ${last}`);
}
