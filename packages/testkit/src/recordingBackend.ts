/**
 * A recording proxy around a Backend: every call core makes is logged with the object it was for,
 * so the kit can count mutating calls on a resync, make the operator "die" right after the k-th
 * mutating call of one object, and make a call fail the way a cloud API would.
 */
import type { Backend, DatabaseHooks, Op } from '@hybridcloud-postgresql/core';

/** Calls that change the world outside Kubernetes (the cloud, helm, the database server). */
export const MUTATING = ['createServer', 'updateServer', 'deleteServer', 'createDatabase', 'deleteDatabase', 'databaseProvisioned'] as const;
export type MutatingCall = (typeof MUTATING)[number];

export interface RecordedCall {
  method: string;
  /** `namespace/name` of the PostgreSQLServer (server calls) or PostgreSQLDatabase (hooks). */
  object: string;
  mutating: boolean;
  at: number;
  error?: string;
}

/** Makes a process "die" right after a call: the call took effect, its result is never seen. */
export interface CrashPlan {
  object: string;
  /** 1-based index of the mutating call of `object` after which the process dies. */
  after: number;
  /** Called once the k-th call returned (the harness then kills the operator). */
  onCrash: () => void;
}

/** Throws `error` from the next `times` calls of `method` (any object unless `object` is set). */
export interface InjectedError {
  method: string;
  object?: string;
  times: number;
  error: () => Error;
}

export class CallLog {
  readonly calls: RecordedCall[] = [];
  mutating(object?: string): RecordedCall[] {
    return this.calls.filter((c) => c.mutating && (!object || c.object === object));
  }
  of(method: string, object?: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && (!object || c.object === object));
  }
}

export interface Recording {
  backend: Backend;
  log: CallLog;
  crash?: CrashPlan;
  inject(e: InjectedError): void;
  clearInjections(): void;
}

const key = (o: { namespace: string; name: string }) => `${o.namespace}/${o.name}`;
/** Never settles: what a dead process's pending call looks like to the rest of the world. */
const never = <T>() => new Promise<T>(() => undefined);

export function recordBackend(inner: Backend, log = new CallLog()): Recording {
  const injections: InjectedError[] = [];
  const rec: Recording = {
    backend: undefined as unknown as Backend,
    log,
    inject: (e) => injections.push({ ...e }),
    clearInjections: () => void (injections.length = 0),
  };

  async function call<T>(method: string, object: string, run: () => Promise<T>): Promise<T> {
    const mutating = (MUTATING as readonly string[]).includes(method);
    const entry: RecordedCall = { method, object, mutating, at: Date.now() };
    log.calls.push(entry);
    const i = injections.findIndex((x) => x.times > 0 && x.method === method && (!x.object || x.object === object));
    if (i >= 0) {
      injections[i]!.times -= 1;
      const err = injections[i]!.error();
      entry.error = err.message;
      throw err;
    }
    try {
      const result = await run();
      const plan = rec.crash;
      if (mutating && plan && plan.object === object && log.mutating(object).length === plan.after) {
        rec.crash = undefined;
        plan.onCrash();
        return never<T>();
      }
      return result;
    } catch (err) {
      entry.error = (err as Error).message;
      throw err;
    }
  }

  const hooks: DatabaseHooks | undefined = inner.database && {
    ...inner.database,
    ...(inner.database.createDatabase && { createDatabase: (op: Op, s, d) => call('createDatabase', key(d), () => inner.database!.createDatabase!(op, s, d)) }),
    ...(inner.database.deleteDatabase && { deleteDatabase: (op: Op, s, d) => call('deleteDatabase', key(d), () => inner.database!.deleteDatabase!(op, s, d)) }),
    ...(inner.database.databaseProvisioned && { databaseProvisioned: (op: Op, s, d, a) => call('databaseProvisioned', key(d), () => inner.database!.databaseProvisioned!(op, s, d, a)) }),
    ...(inner.database.adminConnection && { adminConnection: (op: Op, s) => call('adminConnection', key(s), () => inner.database!.adminConnection!(op, s)) }),
  };

  rec.backend = {
    id: inner.id,
    capabilities: inner.capabilities,
    ...(inner.passwordFormats ? { passwordFormats: inner.passwordFormats } : {}),
    validateServer: (s) => inner.validateServer(s),
    observeServer: (op, s) => call('observeServer', key(s), () => inner.observeServer(op, s)),
    createServer: (op, s, pw) => call('createServer', key(s), () => inner.createServer(op, s, pw)),
    updateServer: (op, s, seen, pw) => call('updateServer', key(s), () => inner.updateServer(op, s, seen, pw)),
    deleteServer: (op, s) => call('deleteServer', key(s), () => inner.deleteServer(op, s)),
    ...(hooks ? { database: hooks } : {}),
    close: async () => inner.close?.(),
  };
  return rec;
}
