/**
 * PostgreSQLServer reconcile (ARCHITECTURE §4): resolve backend → deletion or finalizer →
 * validate → observe → create / update → credentials Secret → status → requeue. Level-based:
 * everything is read fresh each time, so a restart at any point continues where it stopped.
 */
import { createHash } from 'node:crypto';
import type { PostgreSQLServer, ResourceStatus } from '../api/schema.js';
import type { Backend, Progress, ServerObservation, ServerRequest } from '../backend/contract.js';
import { BackendError, classifyError, terminal } from '../backend/errors.js';
import type { ReconcileRequest, ReconcileResult, Reconciler } from '../controller/reconciler.js';
import { isStaleView } from '../kube/errors.js';
import { credentialsData, foreignController } from '../credentials/secret.js';
import {
  ACTION_LABEL, CREATED_WITH_ANNOTATION, DELETION_POLICY_ANNOTATION, ORPHAN_HINT, managedByPythonOperator, ObjectGone, RESET_PASSWORD, ensureFinalizer,
  eventOnTransition, hasFinalizer, makeOp, orphanOnDelete, record, redact, removeActionLabel, removeFinalizer, serverRequest, unclaimedSecretProblem, unsupportedFields,
} from './common.js';
import type { ReconcileDeps } from './deps.js';
import { confirmCurrent, deletePending, readPasswords, storePending, writeCredentials } from './passwords.js';
import { nextStatus, sameStatus, statusPatch, type Observed } from './status.js';

const DEPENDENTS_POLL_MS = 3_000;


const passwordTag = (pw: string) => createHash('sha256').update(pw).digest('hex').slice(0, 16);

export class ServerReconciler implements Reconciler {
  readonly kind = 'PostgreSQLServer';
  constructor(private readonly d: ReconcileDeps) {}

  async reconcile(req: ReconcileRequest): Promise<ReconcileResult> {
    const obj = await this.d.kube.getServer(req.namespace, req.name);
    if (!obj) return {};
    const secrets: string[] = [];
    try {
      return obj.metadata.deletionTimestamp ? await this.delete(obj) : await this.apply(obj, secrets);
    } catch (err) {
      if (err instanceof ObjectGone) return {};
      return this.failed(obj, err, secrets);
    }
  }

  private async apply(obj: PostgreSQLServer, secrets: string[]): Promise<ReconcileResult> {
    const { kube } = this.d;
    const res = this.d.registry.resolve(obj.spec.backend, obj.status?.backend);
    if (!res.ok) {
      await this.writeStatus(obj, { ready: false, reason: res.reason, message: res.message, deployment: 'failed', deploymentReason: res.message });
      return { requeueAfterMs: this.d.resyncMs };
    }
    obj = await ensureFinalizer(kube, 'server', obj);
    const backend = res.backend;
    const request = serverRequest(obj, res.id);
    const notes = this.backendChoiceNotes(obj, res.id);

    const problems = backend.validateServer(request);
    if (problems.length > 0) {
      const msg = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
      await this.writeStatus(obj, { backend: res.id, ready: false, reason: 'InvalidSpec', message: `${msg}. Fix the spec; nothing is retried until it changes.`, deployment: 'failed', deploymentReason: `Validation failed: ${msg}` });
      return {};
    }
    const unsupported = unsupportedFields(obj.spec, backend.capabilities);
    if (unsupported.length > 0 && this.d.warnings.firstTime(obj.metadata.uid ?? obj.metadata.name, obj.metadata.generation, 'UnsupportedFields')) {
      await record(this.d.events, obj, 'Warning', 'UnsupportedFields', `Backend '${res.id}' ignores ${unsupported.join(', ')}`, this.d.log);
    }
    if (notes.length > 0 && this.d.warnings.firstTime(obj.metadata.uid ?? obj.metadata.name, obj.metadata.generation, 'BackendChangeIgnored')) {
      await record(this.d.events, obj, 'Warning', 'BackendChangeIgnored', notes.join(' '), this.d.log);
    }

    // Password first: stored in the pending Secret before any backend call can use it; the
    // credentials Secret is written only whole, once the password works (reconcile/passwords.ts).
    const secretName = obj.spec.credentialsSecret;
    const secret = await kube.getSecret(obj.metadata.namespace, secretName);
    const owner = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, uid: obj.metadata.uid ?? '' };
    const foreign = foreignController(secret, owner);
    if (foreign) throw terminal('SecretConflict', `Secret ${secretName} belongs to ${foreign.kind} ${foreign.name}; choose another spec.credentialsSecret`);
    const unclaimed = unclaimedSecretProblem(secret, obj, secretName);
    if (unclaimed) throw terminal('SecretConflict', unclaimed);
    const stored = await readPasswords(kube, obj.metadata.namespace, owner, secret);
    const current = stored.current;
    let pending = stored.pending;
    let pendingSecret = stored.pendingSecret;
    // Redacted from here on: whatever follows may fail with a message that echoes a password.
    secrets.push(...[current, pending].filter((s): s is string => !!s));
    const action = obj.metadata.labels?.[ACTION_LABEL];
    const resetRequested = action === RESET_PASSWORD;
    if (action !== undefined && !resetRequested) {
      await record(this.d.events, obj, 'Warning', 'UnknownAction', `Unknown ${ACTION_LABEL} '${action}'; supported: ${RESET_PASSWORD}`, this.d.log);
      await removeActionLabel(kube, 'server', obj);
    }
    // A reset whose label removal was lost in a crash resets once more: harmless, nothing is lost.
    if (!pending && (!current || resetRequested)) {
      if (current) await confirmCurrent(kube, 'server', obj);
      pending = this.d.generatePassword();
      secrets.push(pending);
      pendingSecret = await storePending(kube, obj.metadata.namespace, owner, pending, pendingSecret);
    }

    const op = makeOp(this.opDeps(), 'server', obj, res.id, request);
    const seen = await backend.observeServer(op, request);
    // The backend is recorded before anything is created: a later change of spec.backend or of the
    // default backend can then never create a second server or delete through the wrong one. (A
    // server that exists already, e.g. adopted from the Python operator, keeps its Ready state.)
    if (!seen.exists && obj.status?.backend !== res.id) {
      await this.writeStatus(obj, { backend: res.id, ready: false, reason: 'Creating', message: `Provisioning through backend '${res.id}'`, deployment: 'working', deploymentReason: null, unsupported });
    }
    const progress = await this.converge(backend, op, obj, request, seen, current, pending);
    if (progress.state !== 'ready') {
      const message = progress.state === 'pending' ? progress.message : 'waiting for the server';
      await this.writeStatus(obj, { backend: res.id, ready: false, reason: seen.exists ? 'Updating' : 'Creating', message: redact(message, secrets), deployment: 'working', deploymentReason: null, unsupported });
      return { requeueAfterMs: progress.state === 'pending' ? progress.pollAfterMs : 5_000 };
    }

    const endpoint = progress.endpoint;
    const password = pending ?? current!;
    const data = credentialsData({ host: endpoint.host, port: endpoint.port, dbname: endpoint.adminDatabase ?? 'postgres', username: endpoint.adminUsername, password, sslmode: endpoint.sslmode });
    await writeCredentials(kube, { namespace: obj.metadata.namespace, name: secretName, owner, existing: secret, data, pendingSecret });
    if (obj.metadata.annotations?.[CREATED_WITH_ANNOTATION]) {
      await kube.patchMetadata('server', obj.metadata.namespace, obj.metadata.name, { annotations: { [CREATED_WITH_ANNOTATION]: null } });
    }
    if (resetRequested) {
      await removeActionLabel(kube, 'server', obj);
      if (pending && current) await record(this.d.events, obj, 'Normal', 'PasswordReset', `Admin password reset; Secret ${secretName} updated`, this.d.log);
    }
    const ignored = unsupported.length > 0 ? ` Ignored by backend '${res.id}': ${unsupported.join(', ')}.` : '';
    // Warnings the backend reported in this reconcile (e.g. an adopted value kept) stay visible in the status.
    const warned = [...op.notes].map(([reason, message]) => ` ${reason}: ${message}`).join('');
    await this.writeStatus(obj, { backend: res.id, ready: true, reason: 'Ready', message: `Server is ready; credentials in Secret ${secretName}.${ignored}${notes.length ? ' ' + notes.join(' ') : ''}${redact(warned, secrets)}`, deployment: 'finished', deploymentReason: 'Database server created', unsupported });
    return { requeueAfterMs: this.d.resyncMs };
  }

  private async converge(backend: Backend, op: ReturnType<typeof makeOp>, obj: PostgreSQLServer, request: ServerRequest, seen: ServerObservation, current: string | undefined, pending: string | undefined): Promise<Progress> {
    if (!seen.exists) {
      const password = pending ?? current!;
      // Remember which password the creation used, so that after a crash the creation password
      // is not "changed" to itself by an extra (on clouds: slow) update.
      const tag = passwordTag(password);
      if (obj.metadata.annotations?.[CREATED_WITH_ANNOTATION] !== tag) {
        await this.d.kube.patchMetadata('server', obj.metadata.namespace, obj.metadata.name, { annotations: { [CREATED_WITH_ANNOTATION]: tag } });
        obj.metadata.annotations = { ...(obj.metadata.annotations ?? {}), [CREATED_WITH_ANNOTATION]: tag };
      }
      return backend.createServer(op, request, password);
    }
    const passwordChange = pending !== undefined && obj.metadata.annotations?.[CREATED_WITH_ANNOTATION] !== passwordTag(pending) ? pending : undefined;
    if (!seen.upToDate || passwordChange !== undefined) return backend.updateServer(op, request, seen, passwordChange);
    if (seen.ready && seen.endpoint) return { state: 'ready', endpoint: seen.endpoint };
    return { state: 'pending', pollAfterMs: 10_000, message: seen.message ?? 'server is not ready yet' };
  }

  /** Messages about spec.backend values that cannot take effect (the original ignored them silently). */
  private backendChoiceNotes(obj: PostgreSQLServer, effective: string): string[] {
    const wanted = obj.spec.backend;
    if (!wanted || wanted === effective) return [];
    if (obj.status?.backend) return [`spec.backend '${wanted}' differs from status.backend '${effective}': a server cannot move between backends; the change is ignored.`];
    return [`spec.backend '${wanted}' is ignored: allowed_backends is empty, so the default backend '${effective}' is used.`];
  }

  private async delete(obj: PostgreSQLServer): Promise<ReconcileResult> {
    if (!hasFinalizer(obj)) return {};
    const { kube } = this.d;
    const dependents = (await kube.listDatabases(obj.metadata.namespace)).filter((db) => db.spec?.serverRef?.name === obj.metadata.name);
    if (dependents.length > 0) {
      const names = dependents.map((db) => db.metadata.name).sort();
      const shown = names.slice(0, 10).join(', ') + (names.length > 10 ? `, … (${names.length} in total)` : '');
      await this.writeStatus(obj, { ready: false, reason: 'DependentDatabases', message: `Waiting for ${names.length} PostgreSQLDatabase(s) on this server to be deleted first: ${shown}`, deployment: 'working', deploymentReason: null });
      return { requeueAfterMs: DEPENDENTS_POLL_MS };
    }
    if (orphanOnDelete(obj)) {
      await record(this.d.events, obj, 'Warning', 'Orphaned', `${DELETION_POLICY_ANNOTATION}=Orphan: the server is left to exist outside Kubernetes; only the finalizer is removed`, this.d.log);
      await this.deleteOwnedSecret(obj);
      await removeFinalizer(kube, 'server', obj);
      return {};
    }
    // Never provisioned: nothing exists outside Kubernetes (the backend is recorded before its first
    // call). Objects the Python operator managed carry kopf's marks instead and are deleted normally.
    if (!obj.status?.backend && !managedByPythonOperator(obj)) {
      await this.deleteOwnedSecret(obj);
      await removeFinalizer(kube, 'server', obj);
      return {};
    }
    const res = this.d.registry.resolve(obj.spec.backend, obj.status?.backend);
    if (!res.ok) {
      // Never drop the finalizer without the backend: the server would be leaked silently.
      await this.writeStatus(obj, { ready: false, reason: res.reason, message: `Cannot delete: ${res.message} ${ORPHAN_HINT}`, deployment: 'working', deploymentReason: null });
      return { requeueAfterMs: this.d.resyncMs };
    }
    const request = serverRequest(obj, res.id);
    const progress = await res.backend.deleteServer(makeOp(this.opDeps(), 'server', obj, res.id, request), request);
    if (progress.state !== 'gone') {
      const message = progress.state === 'pending' ? progress.message : 'deleting';
      await this.writeStatus(obj, { ready: false, reason: 'Deleting', message, deployment: 'working', deploymentReason: null });
      return { requeueAfterMs: progress.state === 'pending' ? progress.pollAfterMs : 5_000 };
    }
    await this.deleteOwnedSecret(obj);
    await removeFinalizer(kube, 'server', obj);
    return {};
  }

  /** Without a garbage collector (or before it runs) the Secret would outlive the server. */
  private async deleteOwnedSecret(obj: PostgreSQLServer): Promise<void> {
    await deletePending(this.d.kube, obj.metadata.namespace, obj.metadata.uid);
    const secret = await this.d.kube.getSecret(obj.metadata.namespace, obj.spec.credentialsSecret);
    if (!secret) return;
    const ours = (secret.metadata?.ownerReferences ?? []).some((r) => r.uid === obj.metadata.uid);
    if (ours) await this.d.kube.deleteSecret(obj.metadata.namespace, obj.spec.credentialsSecret);
  }

  private async failed(obj: PostgreSQLServer, err: unknown, secrets: string[]): Promise<ReconcileResult> {
    // A stale view (409): not worth a status change or an event, just run again with fresh data.
    if (isStaleView(err)) throw err;
    const c = classifyError(err);
    const message = redact(c.message, secrets);
    this.d.log.warn({ kind: this.kind, namespace: obj.metadata.namespace, name: obj.metadata.name, reason: c.reason, errorKind: c.kind, error: message }, 'reconcile failed');
    try {
      await this.writeStatus(obj, { ready: false, reason: c.reason, message, deployment: c.kind === 'terminal' ? 'failed' : 'working', deploymentReason: c.kind === 'terminal' ? message : null });
    } catch (statusErr) {
      this.d.log.warn({ error: (statusErr as Error).message }, 'could not write status');
    }
    if (c.kind === 'terminal') return { requeueAfterMs: this.d.resyncMs };
    throw new BackendError(c.kind, message, c.reason, c.retryAfterMs !== undefined ? { retryAfterMs: c.retryAfterMs } : undefined);
  }

  private opDeps() {
    return { kube: this.d.kube, events: this.d.events, warnings: this.d.warnings, log: this.d.log, signal: this.d.signal };
  }

  private async writeStatus(obj: PostgreSQLServer, o: Omit<Observed, 'generation' | 'backend' | 'unsupportedFields'> & { backend?: string; unsupported?: string[] }): Promise<void> {
    const prev: ResourceStatus | undefined = obj.status;
    const next = nextStatus(prev, { ...o, generation: obj.metadata.generation, backend: o.backend, ...(o.unsupported ? { unsupportedFields: o.unsupported } : {}) }, this.d.clock.now());
    if (sameStatus(prev, next)) return;
    await this.d.kube.patchStatus('server', obj.metadata.namespace, obj.metadata.name, statusPatch(prev, next));
    await eventOnTransition(this.d.events, obj, prev, next, this.d.log);
    obj.status = next;
  }
}
