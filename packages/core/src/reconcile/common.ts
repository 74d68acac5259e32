/**
 * Pieces both reconcilers share: finalizers (and adoption of kopf's), the action label, backend
 * state annotations, the Op handed to backends, redaction and event-on-transition.
 */
import { API_VERSION, type ObjectMeta, type ResourceStatus, type ServerSpec } from '../api/schema.js';
import type { Capabilities, Op, ServerRequest } from '../backend/contract.js';
import type { EventRecorder, InvolvedObject } from '../kube/events.js';
import type { Logger } from '../observability/logger.js';
import type { AnyResource, Kind, KubeAccess } from './kubeAccess.js';
import { readyCondition } from './status.js';
import { withReconcileSignal } from '../controller/reconcileContext.js';
import { adoptionAllowed } from './adoption.js';

export const FINALIZER = 'hybridcloud.maibornwolff.de/finalizer';
/** kopf 1.38's annotation with the essence (spec, labels, annotations) it last handled. */
export const KOPF_LAST_HANDLED = 'kopf.zalando.org/last-handled-configuration';
/** kopf 1.38's default finalizer, left on objects by the Python operator. */
export const KOPF_FINALIZER = 'kopf.zalando.org/KopfFinalizerMarker';
export const ACTION_LABEL = 'operator/action';
export const RESET_PASSWORD = 'reset-password';
/** Core's own annotation: hash of the password a creation was started with (see serverReconciler). */
export const CREATED_WITH_ANNOTATION = 'hybridcloud.maibornwolff.de/created-with-password';

export const stateAnnotationPrefix = (backendId: string) => `${backendId}.backends.hybridcloud.maibornwolff.de/`;

export function backendState(meta: ObjectMeta, backendId: string): Record<string, string> {
  const prefix = stateAnnotationPrefix(backendId);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta.annotations ?? {})) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

/** The spec kopf recorded as last handled by the Python operator, when the object carries it. */
export function pythonOperatorSpec(meta: ObjectMeta): ServerSpec | undefined {
  const raw = meta.annotations?.[KOPF_LAST_HANDLED];
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as { spec?: unknown };
    return parsed.spec && typeof parsed.spec === 'object' ? (parsed.spec as ServerSpec) : undefined;
  } catch {
    return undefined;
  }
}

export function serverRequest(obj: { metadata: ObjectMeta; spec: ServerSpec; status?: ResourceStatus | undefined }, backendId: string): ServerRequest {
  const pySpec = pythonOperatorSpec(obj.metadata);
  return {
    ...(pySpec ? { pythonOperatorSpec: pySpec } : {}),
    adopt: adoptionAllowed(obj),
    namespace: obj.metadata.namespace,
    name: obj.metadata.name,
    uid: obj.metadata.uid ?? '',
    spec: obj.spec,
    state: backendState(obj.metadata, backendId),
  };
}

export function involved(obj: AnyResource): InvolvedObject {
  return {
    apiVersion: API_VERSION,
    kind: obj.kind,
    name: obj.metadata.name,
    namespace: obj.metadata.namespace,
    ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
    ...(obj.metadata.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}),
  };
}

/**
 * Core's own annotation on a PostgreSQLDatabase: the backend it is being provisioned through, set in
 * the same write as the finalizer, before the first SQL statement. A database that fails later (a
 * missing extension, a crash) is still cleaned up on delete, without an extra status write
 * ("Creating") per database. status.backend takes over once the database is Ready.
 */
export const BACKEND_ANNOTATION = 'hybridcloud.maibornwolff.de/backend';

/**
 * Adds our finalizer; kopf's is replaced in the same write (adoption of objects the Python
 * operator managed). `annotations` go in the same write. The resourceVersion makes a concurrent
 * change fail with 409 (retried) instead of being lost, since a merge patch replaces the whole list.
 */
export async function ensureFinalizer<T extends AnyResource>(kube: KubeAccess, kind: Kind, obj: T, annotations: Record<string, string> = {}): Promise<T> {
  const current = obj.metadata.finalizers ?? [];
  const missing = Object.entries(annotations).filter(([k, v]) => obj.metadata.annotations?.[k] !== v);
  if (current.includes(FINALIZER) && !current.includes(KOPF_FINALIZER) && missing.length === 0) return obj;
  const finalizers = [...current.filter((f) => f !== KOPF_FINALIZER && f !== FINALIZER), FINALIZER];
  const patch = {
    finalizers,
    ...(missing.length > 0 ? { annotations: Object.fromEntries(missing) } : {}),
    ...(obj.metadata.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}),
  };
  const patched = await kube.patchMetadata<T>(kind, obj.metadata.namespace, obj.metadata.name, patch);
  // 404: the object went away since we read it. Creating anything now would leak it (no finalizer
  // could ever clean it up), so the reconcile stops here.
  if (!patched) throw new ObjectGone(`${kind} ${obj.metadata.namespace}/${obj.metadata.name} no longer exists`);
  return patched;
}

/** The object was deleted while we worked on it: the reconcile ends without error or status. */
export class ObjectGone extends Error {}

/**
 * The explicit way out when external cleanup is impossible (server gone for good, backend removed
 * from the config): `hybridcloud.maibornwolff.de/deletion-policy: Orphan` on the CR makes deletion
 * leave whatever exists outside Kubernetes and only remove the finalizer (crossplane's Orphan).
 */
export const DELETION_POLICY_ANNOTATION = 'hybridcloud.maibornwolff.de/deletion-policy';
export const orphanOnDelete = (obj: AnyResource): boolean => obj.metadata.annotations?.[DELETION_POLICY_ANNOTATION]?.toLowerCase() === 'orphan';
/** kopf's finalizer or its last-handled annotation: provisioned by the Python operator, not yet by us. */
export const managedByPythonOperator = (obj: AnyResource): boolean =>
  !!obj.metadata.finalizers?.includes(KOPF_FINALIZER) || !!obj.metadata.annotations?.['kopf.zalando.org/last-handled-configuration'];
/** Explicit per-object opt-in to take over what exists under the derived names (roles, databases, Secrets). */
export const ADOPT_ANNOTATION = 'hybridcloud.maibornwolff.de/adopt';

/**
 * A Secret named in spec.credentialsSecret that exists but is not ours: never written into or
 * deleted with the CR (it may hold someone's keys), unless the CR opts in or the Python operator,
 * which wrote its Secrets without ownerReferences, made it.
 */
export function unclaimedSecretProblem(secret: { metadata?: { ownerReferences?: Array<{ uid: string }> } } | undefined, obj: AnyResource, secretName: string): string | undefined {
  if (!secret) return undefined;
  if ((secret.metadata?.ownerReferences ?? []).some((r) => r.uid === obj.metadata.uid)) return undefined;
  if (managedByPythonOperator(obj) || obj.metadata.annotations?.[ADOPT_ANNOTATION] === 'true') return undefined;
  return `Secret ${secretName} already exists and was not created by the operator for this resource; choose another spec.credentialsSecret, or annotate the resource with ${ADOPT_ANNOTATION}=true to take the Secret over (it is then deleted with the resource)`;
}
export const ORPHAN_HINT = `To delete the resource anyway and leave what exists outside Kubernetes behind, annotate it with ${DELETION_POLICY_ANNOTATION}=Orphan.`;

export function hasFinalizer(obj: AnyResource): boolean {
  const f = obj.metadata.finalizers ?? [];
  return f.includes(FINALIZER) || f.includes(KOPF_FINALIZER);
}

export async function removeFinalizer(kube: KubeAccess, kind: Kind, obj: AnyResource): Promise<void> {
  const current = obj.metadata.finalizers ?? [];
  const finalizers = current.filter((f) => f !== FINALIZER && f !== KOPF_FINALIZER);
  if (finalizers.length === current.length) return;
  await kube.patchMetadata(kind, obj.metadata.namespace, obj.metadata.name, {
    finalizers,
    ...(obj.metadata.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}),
  });
}

export async function removeActionLabel(kube: KubeAccess, kind: Kind, obj: AnyResource): Promise<void> {
  await kube.patchMetadata(kind, obj.metadata.namespace, obj.metadata.name, { labels: { [ACTION_LABEL]: null } });
}

/**
 * Replaces every known secret in a message (a driver or cloud error could echo one), also in
 * base64: a Kubernetes error (an admission webhook or policy refusing a Secret) quotes Secret data
 * as the API server holds it.
 */
export function redact(message: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = message;
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    for (const form of [s, Buffer.from(s, 'utf8').toString('base64')]) out = out.split(form).join('[REDACTED]');
  }
  return out;
}

/** Spec fields a backend cannot honour, as JSON paths, for the Warning Event and status. */
export function unsupportedFields(spec: ServerSpec, caps: Capabilities): string[] {
  const out: string[] = [];
  if (!caps.sizeByCpuMemory) {
    if (spec.size?.cpu !== undefined) out.push('spec.size.cpu');
    if (spec.size?.memoryMB !== undefined) out.push('spec.size.memoryMB');
  }
  if (!caps.storageAutoGrow && spec.size?.storageAutoGrow) out.push('spec.size.storageAutoGrow');
  if (!caps.backupRetention && spec.backup?.retentionDays !== undefined) out.push('spec.backup.retentionDays');
  if (!caps.geoRedundantBackup && spec.backup?.geoRedundant) out.push('spec.backup.geoRedundant');
  if (!caps.serverExtensions && (spec.extensions?.length ?? 0) > 0) out.push('spec.extensions');
  if (!caps.firewallRules && (spec.network?.firewallRules?.length ?? 0) > 0) out.push('spec.network.firewallRules');
  if (!caps.serverParameters && Object.keys(spec.serverParameters ?? {}).length > 0) out.push('spec.serverParameters');
  if (!caps.maintenanceWindow && spec.maintenance?.window) out.push('spec.maintenance.window');
  if (!caps.highAvailability && spec.highavailability?.enabled) out.push('spec.highavailability.enabled');
  return out;
}

/** Reasons that describe progress, not trouble: their Events are Normal. */
const PROGRESS_REASONS = new Set(['Creating', 'Updating', 'Pending', 'ServerNotReady', 'Deleting', 'DependentDatabases', 'Ready']);

/** One Event per Ready transition (status or reason changed). */
export async function eventOnTransition(events: EventRecorder, obj: AnyResource, prev: ResourceStatus | undefined, next: ResourceStatus, log: Logger): Promise<void> {
  const a = readyCondition(prev);
  const b = readyCondition(next);
  if (!b || (a && a.status === b.status && a.reason === b.reason)) return;
  const type = b.status === 'True' || PROGRESS_REASONS.has(b.reason) ? 'Normal' : 'Warning';
  await record(events, obj, type, b.reason, b.message, log);
}

/**
 * Events are best effort and posted in the background: failing (or waiting) to post one must
 * not fail or slow down the reconcile.
 */
export async function record(events: EventRecorder, obj: AnyResource, type: 'Normal' | 'Warning', reason: string, message: string, log: Logger): Promise<void> {
  events.record(involved(obj), type, reason, message).catch((err: unknown) => log.warn({ err: (err as Error).message, reason }, 'could not post event'));
}

/** Distinct messages of one reason posted per object generation (a backend may report several differences under one reason). */
const MAX_MESSAGES_PER_REASON = 8;

/** Warnings already posted, per object generation, reason and message (Op.warn deduplication). */
export class WarningMemory {
  private readonly seen = new Map<string, { generation: number; messages: Set<string> }>();
  /**
   * true the first time (uid, reason, message) is seen for this generation. Without a message the
   * reason alone counts. At most a few distinct messages per reason and generation, so a message
   * that changes on every reconcile cannot flood the Events.
   */
  firstTime(uid: string, generation: number | undefined, reason: string, message = ''): boolean {
    const key = `${uid}\u0000${reason}`;
    const g = generation ?? 0;
    let entry = this.seen.get(key);
    if (!entry || entry.generation !== g) {
      if (this.seen.size > 50_000) this.seen.clear();
      entry = { generation: g, messages: new Set() };
      this.seen.set(key, entry);
    }
    if (entry.messages.has(message) || entry.messages.size >= MAX_MESSAGES_PER_REASON) return false;
    entry.messages.add(message);
    return true;
  }
}

export interface OpDeps {
  kube: KubeAccess;
  events: EventRecorder;
  warnings: WarningMemory;
  log: Logger;
  signal: AbortSignal;
}

/** An Op that also remembers this reconcile's warnings (reason → its messages), for the status note. */
export type RecordingOp = Op & { readonly notes: ReadonlyMap<string, string> };

/** The Op a backend gets for one call on one object. */
export function makeOp(deps: OpDeps, kind: Kind, obj: AnyResource, backendId: string, req?: ServerRequest): RecordingOp {
  const log = deps.log.child({ kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name, backend: backendId });
  const notes = new Map<string, string>();
  return {
    notes,
    log,
    // Shutdown and lost leadership, and the running reconcile's deadline.
    signal: withReconcileSignal(deps.signal),
    async saveState(patch) {
      const prefix = stateAnnotationPrefix(backendId);
      const annotations: Record<string, string | null> = {};
      for (const [k, v] of Object.entries(patch)) annotations[prefix + k] = v;
      const updated = await deps.kube.patchMetadata(kind, obj.metadata.namespace, obj.metadata.name, { annotations });
      if (updated) obj.metadata = updated.metadata;
      if (req) {
        const state: Record<string, string> = { ...req.state };
        for (const [k, v] of Object.entries(patch)) {
          if (v === null) delete state[k];
          else state[k] = v;
        }
        req.state = state;
      }
    },
    warn(reason, message) {
      // The status note is written on every reconcile (stable status); the Event only once per
      // generation and message. Several messages of one reason (e.g. AdoptedValueKept for the SKU
      // and for the storage) are all kept in the note.
      const prev = notes.get(reason);
      if (prev === undefined) notes.set(reason, message);
      else if (!prev.includes(message)) notes.set(reason, `${prev} ${message}`);
      if (!deps.warnings.firstTime(obj.metadata.uid ?? obj.metadata.name, obj.metadata.generation, reason, message)) return;
      void record(deps.events, obj, 'Warning', reason, message, log);
    },
  };
}
