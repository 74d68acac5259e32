/**
 * continueSavedOperation against the outcomes Azure produces for a saved operation: its status URL
 * expired (404 while polling) and a failure because the server was busy. Neither is terminal; both
 * clear the saved key so that the caller observes the resource again.
 */
import { describe, expect, it } from 'vitest';
import { fakeOp } from './testing/fakeOp.js';
import { continueSavedOperation, encodeOperation, type PollerLike } from './lro.js';

function poller(poll: () => Promise<void>, state: object = { status: 'running' }): PollerLike {
  return { poll, isDone: () => false, getOperationState: () => state, toString: () => JSON.stringify({ state }) };
}
const restError = (statusCode: number, code: string, message: string) => Object.assign(new Error(message), { name: 'RestError', statusCode, code });

describe('continueSavedOperation', () => {
  it('a 404 while polling (expired status URL) clears the saved key and lets the caller re-observe', async () => {
    const saved = poller(async () => {});
    const op = fakeOp({ operation: encodeOperation('update', saved) });
    const expired = poller(async () => { throw restError(404, 'OperationNotFound', "The operation 'x' was not found."); });
    const out = await continueSavedOperation(op, op.state, { key: 'operation', what: 'server s', pollIntervalMs: 10, resume: () => Promise.resolve(expired) });
    expect(out).toBeUndefined();
    expect(op.state['operation']).toBeUndefined();
  });

  it('an operation that failed because the server was busy is not terminal, and the restart marker stays', async () => {
    const op = fakeOp({ operation: encodeOperation('restart', poller(async () => {})), restartRequired: 'true' });
    const state = { status: 'running' } as { status: string; error?: Error };
    const busy = poller(async () => {
      state.status = 'failed';
      state.error = new Error("The long-running operation has failed. ServerIsNotReady. Server 's' is not ready for the operation. Current Server State = Updating");
      throw state.error;
    }, state);
    const out = await continueSavedOperation(op, op.state, { key: 'operation', what: 'server s', pollIntervalMs: 10, clearOnSuccess: { restart: ['restartRequired'] }, resume: () => Promise.resolve(busy) });
    expect(out).toBeUndefined();
    expect(op.state['operation']).toBeUndefined();
    expect(op.state['restartRequired']).toBe('true');
  });
});
