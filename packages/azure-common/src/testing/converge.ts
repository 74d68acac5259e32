/**
 * Plays core's server reconcile against a backend (observe → create | update → pending … ready),
 * with the backend state kept in a FakeOp as core keeps it in annotations.
 */
import type { Backend, Endpoint, ServerRequest, ServerSpec } from '@hybridcloud-postgresql/core';
import type { FakeOp } from './fakeOp.js';

export function serverRequest(op: FakeOp, spec: Partial<ServerSpec> = {}, name = 'pg1', namespace = 'team-a'): ServerRequest {
  const req = { namespace, name, uid: `uid-${namespace}-${name}`, spec: { credentialsSecret: `${name}-admin`, ...spec } as ServerSpec, state: op.state };
  // core replaces req.state after saveState; the FakeOp's map is the same object, so reads see writes.
  return req;
}

export interface ConvergeResult {
  endpoint: Endpoint;
  rounds: number;
  messages: string[];
}

export async function converge(backend: Backend, op: FakeOp, req: ServerRequest, password: string, opts: { timeoutMs?: number; delayMs?: number; newPassword?: string } = {}): Promise<ConvergeResult> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  const messages: string[] = [];
  let passwordToSet = opts.newPassword;
  for (let rounds = 1; ; rounds++) {
    const r = { ...req, state: op.state };
    const seen = await backend.observeServer(op, r);
    if (!seen.exists) {
      const p = await backend.createServer(op, r, password);
      messages.push(p.state === 'pending' ? p.message : p.state);
    } else if (!seen.upToDate || passwordToSet !== undefined) {
      const p = await backend.updateServer(op, r, seen, passwordToSet);
      if (p.state === 'ready') {
        passwordToSet = undefined;
        if (seen.upToDate) return { endpoint: p.endpoint, rounds, messages };
      } else messages.push(p.state === 'pending' ? p.message : p.state);
    } else if (seen.ready && seen.endpoint) {
      return { endpoint: seen.endpoint, rounds, messages };
    } else messages.push(seen.message ?? 'waiting');
    if (Date.now() > deadline) throw new Error(`did not converge after ${rounds} rounds: ${messages.slice(-5).join(' | ')}`);
    await new Promise((res) => setTimeout(res, opts.delayMs ?? 20));
  }
}

/** Deletes until the backend says 'gone'. */
export async function deleteUntilGone(backend: Backend, op: FakeOp, req: ServerRequest, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let rounds = 1; ; rounds++) {
    const p = await backend.deleteServer(op, { ...req, state: op.state });
    if (p.state === 'gone') return rounds;
    if (Date.now() > deadline) throw new Error(`not gone after ${rounds} rounds: ${p.state === 'pending' ? p.message : ''}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}
