import { silentLogger, type Op } from '../index.js';

/** An Op that keeps saved state and warnings in memory, like core keeps them on the CR. */
export interface FakeOp extends Op {
  state: Record<string, string>;
  warnings: Array<{ reason: string; message: string }>;
}

export function fakeOp(state: Record<string, string> = {}): FakeOp {
  const op: FakeOp = {
    log: silentLogger,
    signal: new AbortController().signal,
    state,
    warnings: [],
    async saveState(patch) {
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete op.state[k];
        else op.state[k] = v;
      }
    },
    warn(reason, message) {
      op.warnings.push({ reason, message });
    },
  };
  return op;
}
