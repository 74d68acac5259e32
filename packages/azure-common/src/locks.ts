/**
 * lock_from_deletion: a CanNotDelete management lock on the server. The operator sets it but
 * never removes it (removing needs a human decision); a deletion that meets a lock reports the
 * lock and the command to remove it instead of hanging silently.
 */
import { ManagementLockClient, type ManagementLockObject } from '@azure/arm-locks';
import type { TokenCredential } from '@azure/core-auth';
import { terminal, type BackendError } from '@hybridcloud-postgresql/core';
import type { ArmClientOptions } from './client.js';
import { isAuthorizationFailure, isNotFound, toBackendError } from './errors.js';

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
      if (isAuthorizationFailure(err)) throw lockPermissionError(scope, err);
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

/**
 * lock_from_deletion with an identity that may not write locks: only Owner and User Access
 * Administrator (Microsoft.Authorization/locks/write) may; Contributor may not.
 */
export function lockPermissionError(scope: string, cause?: unknown): BackendError {
  return terminal(
    'LockPermissionDenied',
    `lock_from_deletion: the operator's Azure identity may not create the management lock ${LOCK_NAME} on ${scope}. Creating locks needs Microsoft.Authorization/locks/write, which the Owner and User Access Administrator roles have and Contributor has not. Assign one of them on the server's resource group (az role assignment create --role "User Access Administrator" --assignee <operator identity> --scope <resource group id>), or set lock_from_deletion: false. Everything else on the server is managed meanwhile.`,
    cause,
  );
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
