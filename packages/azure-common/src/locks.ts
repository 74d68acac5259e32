/**
 * lock_from_deletion: a CanNotDelete management lock on the server. The operator sets it but
 * never removes it (removing needs a human decision); a deletion that meets a lock reports the
 * lock and the command to remove it instead of hanging silently.
 */
import { ManagementLockClient, type ManagementLockObject } from '@azure/arm-locks';
import type { TokenCredential } from '@azure/core-auth';
import { terminal, type BackendError } from '@hybridcloud-postgresql/core';
import type { ArmClientOptions } from './client.js';
import { isNotFound, toBackendError } from './errors.js';

export const LOCK_NAME = 'DoNotDeleteLock';

export interface LockInfo {
  name: string;
  level: string;
  /** Scope the lock sits on (the server, its resource group or the subscription). */
  id: string;
}

export class Locks {
  private readonly client: ManagementLockClient;
  constructor(credential: TokenCredential, subscriptionId: string, options: ArmClientOptions) {
    this.client = new ManagementLockClient(credential, subscriptionId, options);
  }

  /** Idempotent; returns true when the lock had to be created. */
  async ensure(scope: string, notes: string, signal?: AbortSignal): Promise<boolean> {
    try {
      const existing = await this.client.managementLocks.getByScope(scope, LOCK_NAME, { abortSignal: signal });
      if (existing.level === 'CanNotDelete') return false;
    } catch (err) {
      if (!isNotFound(err)) throw toBackendError(err, 'ManagementLocks.getByScope');
    }
    const lock: ManagementLockObject = { level: 'CanNotDelete', notes };
    try {
      await this.client.managementLocks.createOrUpdateByScope(scope, LOCK_NAME, lock, { abortSignal: signal });
    } catch (err) {
      throw toBackendError(err, 'ManagementLocks.createOrUpdateByScope');
    }
    return true;
  }

  async isLocked(scope: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.client.managementLocks.getByScope(scope, LOCK_NAME, { abortSignal: signal });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw toBackendError(err, 'ManagementLocks.getByScope');
    }
  }

  /** Locks that block deleting `scope`: on it or inherited from a parent scope. */
  async blocking(scope: string, signal?: AbortSignal): Promise<LockInfo[]> {
    const out: LockInfo[] = [];
    try {
      for await (const l of this.client.managementLocks.listByScope(scope, { abortSignal: signal })) {
        if (l.level === 'CanNotDelete' || l.level === 'ReadOnly') out.push({ name: l.name ?? '?', level: l.level, id: l.id ?? '' });
      }
    } catch (err) {
      if (isNotFound(err)) return [];
      throw toBackendError(err, 'ManagementLocks.listByScope');
    }
    return out;
  }
}

/** Ready=False reason DeletionLocked with what to run to continue. */
export function deletionLockedError(what: string, scope: string, locks: readonly LockInfo[]): BackendError {
  const names = locks.map((l) => `${l.name} (${l.level})`).join(', ');
  const commands = locks.map((l) => `az lock delete --ids '${l.id}'`).join('; ');
  return terminal(
    'DeletionLocked',
    `${what} cannot be deleted: management lock(s) ${names} on ${scope}. The operator never removes locks; remove them with: ${commands} — the deletion then continues by itself.`,
  );
}
