/**
 * PostgreSQLDatabase reconcile: wait for the server (Ready=False ServerNotReady; the controller
 * re-queues databases when their server changes, no fixed sleeps), then role, database, owner,
 * grants and extensions inside the database, then the credentials Secret, written whole once the
 * role has its password. A reset's new password is stored first (pending, in a Secret of its own);
 * a first creation's need not be (see apply). From apply to Ready a database costs the API server
 * four writes: the finalizer (with the backend annotation), the Secret, the status and one Event.
 * Deletion drops database and role unless the backend keeps them (fake deletion), then removes the
 * finalizer.
 */
import type { PostgreSQLDatabase, PostgreSQLServer, ResourceStatus } from '../api/schema.js';
import type { AdminConnection, Backend, DatabaseRequest, Endpoint, Op, ServerRequest } from '../backend/contract.js';
import { rolePasswordFormat } from '../backend/contract.js';
import { BackendError, classifyError, terminal } from '../backend/errors.js';
import type { ReconcileRequest, ReconcileResult, Reconciler } from '../controller/reconciler.js';
import { isStaleView } from '../kube/errors.js';
import { credentialsData, decodeSecret, foreignController } from '../credentials/secret.js';
import { assertIdentifier, databaseNameFor } from '../sql/names.js';
import { claimFor } from './adoption.js';
import {
  ACTION_LABEL, BACKEND_ANNOTATION, DELETION_POLICY_ANNOTATION, ORPHAN_HINT, ObjectGone, RESET_PASSWORD, ensureFinalizer, eventOnTransition, hasFinalizer,
  makeOp, managedByPythonOperator, orphanOnDelete, record, unclaimedSecretProblem, redact, removeActionLabel, removeFinalizer, serverRequest,
} from './common.js';
import type { ReconcileDeps } from './deps.js';
import { confirmCurrent, deletePending, readPasswords, storePending, writeCredentials } from './passwords.js';
import { nextStatus, readyCondition, sameStatus, statusPatch, type Observed } from './status.js';

const RESERVED_DATABASES = new Set(['postgres', 'template0', 'template1']);

/** Thrown inside the flow when the server cannot be used yet; not an error, a wait. */
class ServerNotReady extends Error {}
/** The server's credentials Secret is missing or incomplete (deleted by hand or by a namespace delete). */
class ServerSecretMissing extends ServerNotReady {}
/** The server object is gone, or was never provisioned: nothing of ours can be on it. */
class ServerGone extends ServerNotReady {}

interface ServerContext {
  server: PostgreSQLServer;
  backendId: string;
  backend: Backend;
  request: ServerRequest;
  endpoint: Endpoint;
  admin: AdminConnection;
}

export class DatabaseReconciler implements Reconciler {
  readonly kind = 'PostgreSQLDatabase';
  constructor(private readonly d: ReconcileDeps) {}

  async reconcile(req: ReconcileRequest): Promise<ReconcileResult> {
    const obj = await this.d.kube.getDatabase(req.namespace, req.name);
    if (!obj) return {};
    const secrets: string[] = [];
    try {
      return obj.metadata.deletionTimestamp ? await this.delete(obj, secrets) : await this.apply(obj, secrets);
    } catch (err) {
      if (err instanceof ObjectGone) return {};
      if (err instanceof ServerNotReady) {
        await this.writeStatus(obj, { ready: false, reason: 'ServerNotReady', message: err.message, deployment: 'working', deploymentReason: null });
        // The server's changes re-queue us; the resync is only a safety net.
        return { requeueAfterMs: this.d.resyncMs };
      }
      return this.failed(obj, err, secrets);
    }
  }

  private dbRequest(obj: PostgreSQLDatabase, ctx?: ServerContext): DatabaseRequest {
    const base = { namespace: obj.metadata.namespace, name: obj.metadata.name, uid: obj.metadata.uid ?? '', spec: obj.spec };
    const named = ctx?.backend.database?.names?.(ctx.request, base);
    if (named) return { ...base, ...named };
    const databaseName = databaseNameFor(obj.metadata.name);
    return { ...base, databaseName, userName: databaseName };
  }

  /**
   * Names that would hand out someone else's database or login: system databases and the
   * server's admin login (a CR named 'postgres' must not reset the admin password).
   */
  private reservedNameProblem(db: DatabaseRequest, ctx: ServerContext): string | undefined {
    if (RESERVED_DATABASES.has(db.databaseName)) return `database name '${db.databaseName}' is reserved by PostgreSQL; choose another metadata.name`;
    if (db.userName === ctx.admin.user || db.userName === ctx.endpoint.adminUsername) return `role name '${db.userName}' is the server's admin login; choose another metadata.name`;
    return undefined;
  }

  /** The server, its backend and an admin connection, or ServerNotReady. */
  private async serverContext(obj: PostgreSQLDatabase, op: (s: PostgreSQLServer, id: string, r: ServerRequest) => Op, requireReady: boolean, secrets: string[]): Promise<ServerContext> {
    const serverName = obj.spec.serverRef?.name;
    const server = serverName ? await this.d.kube.getServer(obj.metadata.namespace, serverName) : undefined;
    if (!server) throw new ServerGone(`PostgreSQLServer ${serverName} does not exist (yet) in namespace ${obj.metadata.namespace}`);
    const ready = readyCondition(server.status);
    if (requireReady && (ready?.status !== 'True' || server.metadata.deletionTimestamp)) {
      throw new ServerNotReady(`Waiting for PostgreSQLServer ${serverName} to be ready${ready ? ` (${ready.reason}: ${ready.message})` : ''}`);
    }
    const backendId = server.status?.backend;
    if (!backendId) throw new ServerGone(`PostgreSQLServer ${serverName} has not been provisioned yet`);
    const backend = this.d.registry.get(backendId);
    if (!backend) {
      const hint = obj.metadata.deletionTimestamp ? ` ${ORPHAN_HINT}` : '';
      throw new BackendError('terminal', `Backend '${backendId}' of server ${serverName} is not enabled in the operator.${hint}`, 'BackendNotLoaded');
    }
    const adminSecret = decodeSecret(await this.d.kube.getSecret(obj.metadata.namespace, server.spec.credentialsSecret));
    // The admin password is a secret from the moment it is read: redacted even if what follows fails.
    if (adminSecret['password']) secrets.push(adminSecret['password']);
    // A backend with its own admin connection (external) needs nothing from the server's Secret to
    // provision or drop a database; deletion must not depend on a Secret a namespace delete removed.
    const complete = !!adminSecret['password'] && !!adminSecret['host'];
    if (!complete && !(backend.database?.adminConnection && obj.metadata.deletionTimestamp)) {
      throw new ServerSecretMissing(`Secret ${server.spec.credentialsSecret} of PostgreSQLServer ${serverName} is missing or not complete`);
    }
    const request = serverRequest(server, backendId);
    const endpoint: Endpoint = {
      host: adminSecret['host'] ?? '',
      port: Number(adminSecret['port'] ?? 5432),
      sslmode: adminSecret['sslmode'] ?? 'prefer',
      adminUsername: adminSecret['username'] ?? 'postgres',
      adminDatabase: adminSecret['dbname'] ?? 'postgres',
    };
    let admin: AdminConnection;
    if (backend.database?.adminConnection) {
      admin = await backend.database.adminConnection(op(server, backendId, request), request);
      secrets.push(admin.password);
    } else {
      const at = await this.d.resolver.resolve({ namespace: server.metadata.namespace, name: server.metadata.name, backend: backendId }, endpoint);
      admin = { host: at.host, port: at.port, user: endpoint.adminUsername, password: adminSecret['password']!, database: endpoint.adminDatabase ?? 'postgres', ssl: !['disable', 'allow', 'prefer'].includes(endpoint.sslmode), sslmode: endpoint.sslmode };
    }
    return { server, backendId, backend, request, endpoint, admin };
  }

  private async apply(obj: PostgreSQLDatabase, secrets: string[]): Promise<ReconcileResult> {
    const { kube, sql } = this.d;
    // Computed before anything is written: adoption may depend on the state we found.
    const claim = claimFor('PostgreSQLDatabase', obj);
    // Reads only until the server is usable and the names are valid: a database that waits for its
    // server or has a bad name gets a status but no finalizer (nothing exists to clean up).
    const ctx = await this.serverContext(obj, (s, id, r) => makeOp(this.opDeps(), 'server', s, id, r), true, secrets);
    const db = this.dbRequest(obj, ctx);
    try {
      assertIdentifier(db.databaseName, 'database name');
      assertIdentifier(db.userName, 'role name');
      const reserved = this.reservedNameProblem(db, ctx);
      if (reserved) throw terminal('InvalidName', reserved);
    } catch (err) {
      await this.writeStatus(obj, { ready: false, reason: 'InvalidName', message: (err as Error).message, deployment: 'failed', deploymentReason: (err as Error).message });
      return {};
    }
    // The backend is recorded before anything exists, in the finalizer's write: a database that
    // fails later (a missing extension, a crash) is still cleaned up on delete, through the backend
    // that made it. (kopf-managed objects are recognised by kopf's marks instead.)
    const recorded: Record<string, string> = obj.status?.backend === ctx.backendId || managedByPythonOperator(obj) ? {} : { [BACKEND_ANNOTATION]: ctx.backendId };
    obj = await ensureFinalizer(kube, 'database', obj, recorded);
    const hooks = ctx.backend.database ?? {};
    const dialect = hooks.dialect ?? 'postgresql';
    const op = makeOp(this.opDeps(), 'database', obj, ctx.backendId);

    // The credentials Secret is written only whole, once the role has the password
    // (reconcile/passwords.ts).
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
      await removeActionLabel(kube, 'database', obj);
    }
    if (!pending && !current) {
      // First creation: nobody holds a password yet, so it need not survive a crash. A crash after
      // the role got it leaves a role of ours (marked with our uid) and no Secret; the next
      // reconcile gives the role a new password and writes the Secret. Saves a pending Secret's
      // create and delete per database (two API writes).
      pending = this.d.generatePassword();
      secrets.push(pending);
    } else if (!pending && resetRequested) {
      // A reset: consumers hold the old password, so the new one is stored before the role gets it.
      await confirmCurrent(kube, 'database', obj);
      pending = this.d.generatePassword();
      secrets.push(pending);
      pendingSecret = await storePending(kube, obj.metadata.namespace, owner, pending, pendingSecret);
    }
    const password = pending ?? current!;

    // Role: an existing role is used only when the operator made it for this object or may adopt
    // it (else NameTaken); it gets the pending password, otherwise its password is left alone so
    // a resync changes nothing.
    const passwordFormat = rolePasswordFormat(ctx.backend);
    const role = await sql.ensureRole(ctx.admin, db.userName, password, { login: true, dialect, claim, passwordFormat });
    if (!role.created && pending) await sql.setPassword(ctx.admin, db.userName, pending, dialect, passwordFormat);

    const dbOptions = {
      owner: db.userName,
      claim,
      // A database a backend created outside SQL (ARM) belongs to the admin login until we hand it over.
      ...(hooks.createDatabase ? { adoptFrom: ctx.admin.user } : {}),
      dialect,
      ...(obj.spec.database?.charset ? { encoding: obj.spec.database.charset } : {}),
      ...(obj.spec.database?.collation ? { collation: obj.spec.database.collation } : {}),
    };
    if (hooks.createDatabase && !(await sql.databaseExists(ctx.admin, db.databaseName))) await hooks.createDatabase(op, ctx.request, db);
    await sql.ensureDatabase(ctx.admin, db.databaseName, dbOptions);
    await sql.restrictDatabase(ctx.admin, db.databaseName, db.userName);
    await sql.setupInsideDatabase(ctx.admin, db.databaseName, { role: db.userName, extensions: obj.spec.database?.extensions ?? [] });
    if (hooks.databaseProvisioned) await hooks.databaseProvisioned(op, ctx.request, db, ctx.admin);
    const revoked = await sql.revokeSelfGrantedMemberships(ctx.admin);
    if (revoked.length > 0) op.log.warn({ revoked }, 'revoked memberships tenants granted in their own roles');

    const username = hooks.loginName ? hooks.loginName(ctx.request, db.userName, ctx.endpoint) : db.userName;
    const data = credentialsData({ host: ctx.endpoint.host, port: ctx.endpoint.port, dbname: db.databaseName, username, password, sslmode: ctx.endpoint.sslmode });
    await writeCredentials(kube, { namespace: obj.metadata.namespace, name: secretName, owner, existing: secret, data, pendingSecret });
    if (resetRequested) {
      await removeActionLabel(kube, 'database', obj);
      if (pending && current) await record(this.d.events, obj, 'Normal', 'PasswordReset', `Password of role ${db.userName} reset; Secret ${secretName} updated`, this.d.log);
    }
    await this.writeStatus(obj, { backend: ctx.backendId, ready: true, reason: 'Ready', message: `Database ${db.databaseName} is ready on server ${ctx.server.metadata.name}; credentials in Secret ${secretName}.`, deployment: 'finished', deploymentReason: 'Database created' });
    return { requeueAfterMs: this.d.resyncMs };
  }

  private async delete(obj: PostgreSQLDatabase, secrets: string[]): Promise<ReconcileResult> {
    if (!hasFinalizer(obj)) return {};
    if (orphanOnDelete(obj)) {
      await record(this.d.events, obj, 'Warning', 'Orphaned', `${DELETION_POLICY_ANNOTATION}=Orphan: role and database are left on the server; only the finalizer is removed`, this.d.log);
    } else if (obj.status?.backend !== undefined || obj.metadata.annotations?.[BACKEND_ANNOTATION] !== undefined || managedByPythonOperator(obj)) {
      // Never provisioned (no backend recorded before the first SQL, no kopf marks): nothing to drop.
      await this.dropOnServer(obj, secrets);
    }
    await deletePending(this.d.kube, obj.metadata.namespace, obj.metadata.uid);
    const secret = await this.d.kube.getSecret(obj.metadata.namespace, obj.spec.credentialsSecret);
    if (secret && (secret.metadata?.ownerReferences ?? []).some((r) => r.uid === obj.metadata.uid)) {
      await this.d.kube.deleteSecret(obj.metadata.namespace, obj.spec.credentialsSecret);
    }
    await removeFinalizer(this.d.kube, 'database', obj);
    return {};
  }

  /**
   * Drops role and database, or decides that nothing is left to drop. Deletion must finish in
   * every order a cluster produces: the server object gone, its Secret deleted first (namespace
   * delete), the server being deleted with us. It waits only while the server lives and can come
   * back (its Secret is restored by the server's reconcile), and says how to get out.
   */
  private async dropOnServer(obj: PostgreSQLDatabase, secrets: string[]): Promise<void> {
    let ctx: ServerContext;
    try {
      ctx = await this.serverContext(obj, (s, id, r) => makeOp(this.opDeps(), 'server', s, id, r), false, secrets);
    } catch (err) {
      // The server object is gone (its finalizer removed by hand): nothing we can reach.
      if (err instanceof ServerGone) return;
      if (err instanceof ServerSecretMissing) {
        const server = await this.d.kube.getServer(obj.metadata.namespace, obj.spec.serverRef.name);
        // The server is being deleted and its admin login went with its Secret: the database goes
        // with the server (a cloud or in-cluster server is deleted whole).
        if (!server || server.metadata.deletionTimestamp) {
          this.d.log.info({ namespace: obj.metadata.namespace, name: obj.metadata.name }, 'server is being deleted and its Secret is gone: the database goes with the server');
          return;
        }
        throw new ServerNotReady(`${err.message}; the database is dropped once the server's reconcile restores it. ${ORPHAN_HINT}`);
      }
      throw err;
    }
    const db = this.dbRequest(obj, ctx);
    if (!assertOk(db.databaseName) || !assertOk(db.userName) || this.reservedNameProblem(db, ctx)) return;
    const hooks = ctx.backend.database ?? {};
    const op = makeOp(this.opDeps(), 'database', obj, ctx.backendId);
    if (!hooks.keepDatabaseOnDelete?.(ctx.request, db)) {
      // Only what the operator made for this object (or may adopt) is dropped; a role or database
      // of that name held by someone else stays, and the Event says why.
      const { sql } = this.d;
      const claim = claimFor('PostgreSQLDatabase', obj);
      const adoptFrom = hooks.createDatabase ? ctx.admin.user : undefined;
      const ours = await sql.roleClaimable(ctx.admin, db.userName, claim);
      const handled = ours && hooks.deleteDatabase ? await hooks.deleteDatabase(op, ctx.request, db) : false;
      const skipped: string[] = [];
      if (!handled) {
        const r = await sql.dropDatabase(ctx.admin, db.databaseName, { owner: db.userName, claim, dialect: hooks.dialect, adoptFrom });
        if (r.skipped) skipped.push(r.skipped);
      }
      const r = await sql.dropRole(ctx.admin, db.userName, claim);
      if (r.skipped) skipped.push(r.skipped);
      if (skipped.length > 0) await record(this.d.events, obj, 'Warning', 'NotDropped', `Left on the server: ${skipped.join('; ')}`, this.d.log);
    } else {
      op.log.info({ database: db.databaseName }, 'database kept on delete (fake deletion)');
    }
  }

  private async failed(obj: PostgreSQLDatabase, err: unknown, secrets: string[]): Promise<ReconcileResult> {
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

  private async writeStatus(obj: PostgreSQLDatabase, o: Omit<Observed, 'generation' | 'backend'> & { backend?: string }): Promise<void> {
    const prev: ResourceStatus | undefined = obj.status;
    const next = nextStatus(prev, { ...o, generation: obj.metadata.generation, backend: o.backend }, this.d.clock.now());
    if (sameStatus(prev, next)) return;
    await this.d.kube.patchStatus('database', obj.metadata.namespace, obj.metadata.name, statusPatch(prev, next));
    await eventOnTransition(this.d.events, obj, prev, next, this.d.log);
    obj.status = next;
  }
}

function assertOk(name: string): boolean {
  try {
    assertIdentifier(name);
    return true;
  } catch {
    return false;
  }
}
