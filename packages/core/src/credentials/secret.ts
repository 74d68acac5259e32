/**
 * The credentials Secret: the contract between the operator and the applications that use a
 * server or database. Keys: `host` (what the original wrote) AND `hostname` (what its README
 * promised), `port`, `dbname`, `username`, `password`, `sslmode`, plus ready-made `uri` and
 * `jdbc-uri`. Secrets are owned by their CR (controller reference), labelled as ours, and written
 * only when the decoded content changes.
 *
 * A credentials Secret that exists is complete: it is created, and replaced, only whole. A new
 * password waits in a separate pending Secret owned by the CR until it works (see
 * reconcile/passwords.ts), so a crash at any point leaves it recoverable. PENDING_PASSWORD_KEY is
 * where versions before that kept it inside this Secret: still read, removed by the next write.
 * The original kept it in a temporary Secret in the operator namespace, whose name was truncated
 * to 63 characters and could collide.
 */
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';

export const PENDING_PASSWORD_KEY = 'pending-password';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'hybrid-cloud-postgresql-operator';

export interface ConnectionInfo {
  host: string;
  port: number;
  dbname: string;
  username: string;
  password: string;
  sslmode: string;
}

export interface Owner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

/** The Secret keys for a working login. */
export function credentialsData(info: ConnectionInfo): Record<string, string> {
  const host = info.host.includes(':') && !info.host.startsWith('[') ? `[${info.host}]` : info.host;
  const enc = encodeURIComponent;
  return {
    host: info.host,
    hostname: info.host,
    port: String(info.port),
    dbname: info.dbname,
    username: info.username,
    password: info.password,
    sslmode: info.sslmode,
    uri: `postgresql://${enc(info.username)}:${enc(info.password)}@${host}:${info.port}/${enc(info.dbname)}?sslmode=${enc(info.sslmode)}`,
    'jdbc-uri': `jdbc:postgresql://${host}:${info.port}/${enc(info.dbname)}?sslmode=${enc(info.sslmode)}&user=${enc(info.username)}&password=${enc(info.password)}`,
  };
}

export function decodeSecret(secret: V1Secret | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret?.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  // stringData is never returned by the API server, but objects built in memory may carry it.
  for (const [k, v] of Object.entries(secret?.stringData ?? {})) out[k] = v;
  return out;
}

export function encodeData(data: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(data).sort()) out[k] = Buffer.from(data[k]!, 'utf8').toString('base64');
  return out;
}

export function ownerReference(owner: Owner): V1OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true };
}

/** The controller owner of a Secret, when it is another object than `owner` (a conflict). */
export function foreignController(secret: V1Secret | undefined, owner: Owner): V1OwnerReference | undefined {
  const ctl = secret?.metadata?.ownerReferences?.find((r) => r.controller === true);
  return ctl && ctl.uid !== owner.uid ? ctl : undefined;
}

/** The passwords a credentials Secret holds (`pending`: an older version's pending-password key). */
export function storedPasswords(secret: V1Secret | undefined): { current?: string; pending?: string } {
  const data = decodeSecret(secret);
  const out: { current?: string; pending?: string } = {};
  if (data['password']) out.current = data['password'];
  if (data[PENDING_PASSWORD_KEY]) out.pending = data[PENDING_PASSWORD_KEY];
  return out;
}

/**
 * What the Secret should be, given what it is. Keys we do not manage are kept (someone may
 * have added them); managed keys are overwritten. Returns undefined when nothing changes, so a
 * resync of a ready object writes nothing.
 */
export function desiredSecret(
  existing: V1Secret | undefined,
  args: { namespace: string; name: string; owner: Owner; data: Record<string, string | null> },
): V1Secret | undefined {
  const current = decodeSecret(existing);
  const next: Record<string, string> = { ...current };
  for (const [k, v] of Object.entries(args.data)) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  const ownerRefs = existing?.metadata?.ownerReferences ?? [];
  const hasOwner = ownerRefs.some((r) => r.uid === args.owner.uid);
  const labelled = existing?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
  if (existing && hasOwner && labelled && sameData(current, next)) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: existing?.type ?? 'Opaque',
    metadata: {
      name: args.name,
      namespace: args.namespace,
      ...(existing?.metadata?.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
      labels: { ...(existing?.metadata?.labels ?? {}), [MANAGED_BY_LABEL]: MANAGED_BY },
      ...(existing?.metadata?.annotations ? { annotations: existing.metadata.annotations } : {}),
      ownerReferences: hasOwner ? ownerRefs : [...ownerRefs.filter((r) => r.controller !== true), ownerReference(args.owner)],
    },
    data: encodeData(next),
  };
}

function sameData(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
