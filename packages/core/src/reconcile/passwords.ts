/**
 * Where a new password waits while it is applied. The user-facing credentials Secret is only ever
 * written whole (host, port, username, password, …): a consumer that waits for it never sees a
 * half-made one. A new password (first creation or reset-password) is first stored in a separate
 * pending Secret in the CR's namespace, named after the CR's uid, labelled as ours and owned by the
 * CR (the garbage collector removes it with the CR); then it is applied; then the credentials
 * Secret is created or replaced whole and the pending Secret deleted. A crash at any point leaves
 * the password recoverable: the next reconcile finds the pending Secret, applies its password
 * again (idempotent) and finishes. Until then an existing credentials Secret keeps its old, complete
 * contents.
 *
 * Upgrade: versions before this one kept the pending password under `pending-password` inside the
 * credentials Secret itself. Such a key is still read, and removed by the first whole write.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { terminal } from '../backend/errors.js';
import { decodeSecret, desiredSecret, PENDING_PASSWORD_KEY, type Owner } from '../credentials/secret.js';
import type { AnyResource, Kind, KubeAccess } from './kubeAccess.js';
import { ObjectGone } from './common.js';

/** The pending Secret's name: from the CR's uid, so it can never collide with a user's Secret nor grow too long. */
export const pendingSecretName = (uid: string): string => `hybridcloud-postgresql-pending-${uid}`;

export interface StoredPasswords {
  /** The password the credentials Secret holds (the one that works today). */
  current?: string;
  /** A password being applied: from the pending Secret, or from an older version's `pending-password` key. */
  pending?: string;
  /** The pending Secret, when one exists (deleted once the credentials Secret is written whole). */
  pendingSecret?: V1Secret;
}

/** Reads the passwords of a CR: its credentials Secret (already read) and its pending Secret. */
export async function readPasswords(kube: KubeAccess, namespace: string, owner: Owner, secret: V1Secret | undefined): Promise<StoredPasswords> {
  const data = decodeSecret(secret);
  const out: StoredPasswords = {};
  if (data['password']) out.current = data['password'];
  if (data[PENDING_PASSWORD_KEY]) out.pending = data[PENDING_PASSWORD_KEY];
  const name = pendingSecretName(owner.uid);
  const p = await kube.getSecret(namespace, name);
  if (p) {
    // Only a Secret we made for this very CR is trusted with a password that is then applied.
    if (!(p.metadata?.ownerReferences ?? []).some((r) => r.uid === owner.uid)) {
      throw terminal('SecretConflict', `Secret ${name} exists but was not created by the operator for this resource; delete it`);
    }
    out.pendingSecret = p;
    const pw = decodeSecret(p)['password'];
    if (pw) out.pending = pw;
  }
  // Promoted already (a crash between the whole write and the cleanup, or a stale cache): nothing pending.
  if (out.pending !== undefined && out.pending === out.current) delete out.pending;
  return out;
}

/**
 * Before a reset stores (and then applies) a new password: proof that the reset label was read
 * from the current object, not from a cache that has not seen the previous reset finish (its label
 * removal). A merge patch carrying only the resourceVersion changes nothing, but answers 409 to a
 * stale one, so the reconcile runs again on fresh data instead of resetting twice. (A new pending
 * Secret cannot give that check: it does not exist yet.)
 */
export async function confirmCurrent(kube: KubeAccess, kind: Kind, obj: AnyResource): Promise<void> {
  if (!obj.metadata.resourceVersion) return;
  const fresh = await kube.patchMetadata(kind, obj.metadata.namespace, obj.metadata.name, { resourceVersion: obj.metadata.resourceVersion });
  if (!fresh) throw new ObjectGone(`${kind} ${obj.metadata.namespace}/${obj.metadata.name} no longer exists`);
}

/** Stores a new password in the pending Secret before anything applies it. */
export async function storePending(kube: KubeAccess, namespace: string, owner: Owner, password: string, existing: V1Secret | undefined): Promise<V1Secret> {
  const next = desiredSecret(existing, { namespace, name: pendingSecretName(owner.uid), owner, data: { password } });
  return next ? kube.writeSecret(next) : existing!;
}

/**
 * Writes the credentials Secret whole (created complete, or replaced with the new complete
 * contents), then removes the pending Secret. An older version's `pending-password` key goes in
 * the same write.
 */
export async function writeCredentials(
  kube: KubeAccess,
  args: { namespace: string; name: string; owner: Owner; existing: V1Secret | undefined; data: Record<string, string>; pendingSecret?: V1Secret | undefined },
): Promise<void> {
  const next = desiredSecret(args.existing, { namespace: args.namespace, name: args.name, owner: args.owner, data: { ...args.data, [PENDING_PASSWORD_KEY]: null } });
  if (next) await kube.writeSecret(next);
  if (args.pendingSecret) await kube.deleteSecret(args.namespace, pendingSecretName(args.owner.uid));
}

/** Deletion of a CR: its pending Secret goes too (the garbage collector would, later or never without one). */
export async function deletePending(kube: KubeAccess, namespace: string, uid: string | undefined): Promise<void> {
  if (!uid) return;
  const name = pendingSecretName(uid);
  const p = await kube.getSecret(namespace, name);
  if (p && (p.metadata?.ownerReferences ?? []).some((r) => r.uid === uid)) await kube.deleteSecret(namespace, name);
}
