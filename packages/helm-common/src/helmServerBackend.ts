/**
 * The release lifecycle shared by the in-cluster backends.
 *
 * Admin password: the chart reads it from a Secret the operator owns (never from argv or helm
 * values), and only when the data directory is first initialised. So that Secret always holds the
 * password the database accepts *now* (`<adminSecretKey>`), and a wanted change is first recorded
 * next to it (`pending-password`) before it is applied with ALTER ROLE over SQL. A crash at any
 * point leaves enough to finish: the next reconcile logs in with whichever of the two works. The
 * same path adopts installs of the Python operator and re-installs on volumes that were kept.
 *
 * Readiness is observed on the StatefulSets; helm never waits (`--wait` would block a worker).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import {
  identityConnectionResolver,
  retryable,
  terminal,
  type Backend,
  type Capabilities,
  type ConnectionResolver,
  type Endpoint,
  type Logger,
  type Op,
  type Problem,
  type Progress,
  type ServerObservation,
  type ServerRequest,
} from '@hybridcloud-postgresql/core';
import { pgAdminSql, type AdminSql } from './adminSql.js';
import type { ChartProfile, LiveRelease } from './chartProfile.js';
import { HelmCli } from './helmCli.js';
import { claimSelectorsFromManifest, ClusterObjects, isReady, statefulSetReadiness, type ClaimSelector } from './kube.js';
import { HelmReleases, isPending, type ReleaseInfo } from './releases.js';
import { stableJson } from './stableJson.js';

export const PENDING_PASSWORD_KEY = 'pending-password';
/** Records which admin login has been set up inside the database (when it is not the chart's own superuser). */
export const ADMIN_USER_KEY = 'admin-user';
const POLL_MS = 5_000;
const STATE_CLAIMS = 'claims';

export interface HelmServerBackendOptions {
  profile: ChartProfile;
  capabilities: Capabilities;
  kubeConfig: KubeConfig;
  helmBinary: string;
  log: Logger;
  /** Maps the in-cluster endpoint to the address the operator connects to (tests, local development). */
  connectionResolver?: ConnectionResolver;
  adminSql?: AdminSql;
}

interface Live {
  release: ReleaseInfo;
  values: Record<string, unknown>;
}

export class HelmServerBackend implements Backend {
  readonly id: string;
  readonly capabilities: Capabilities;
  readonly releases: HelmReleases;
  readonly objects: ClusterObjects;
  private readonly profile: ChartProfile;
  private readonly resolver: ConnectionResolver;
  private readonly sql: AdminSql;
  private readonly log: Logger;

  constructor(opts: HelmServerBackendOptions) {
    this.profile = opts.profile;
    this.id = opts.profile.id;
    this.capabilities = opts.capabilities;
    this.log = opts.log;
    const helm = new HelmCli({ binary: opts.helmBinary, kubeConfig: opts.kubeConfig, timeoutMs: (opts.profile.helmTimeoutSeconds + 30) * 1000 });
    this.releases = new HelmReleases(helm, opts.kubeConfig, opts.log);
    this.objects = new ClusterObjects(opts.kubeConfig);
    this.resolver = opts.connectionResolver ?? identityConnectionResolver;
    this.sql = opts.adminSql ?? pgAdminSql;
  }

  validateServer(s: ServerRequest): Problem[] {
    return this.profile.validate(s);
  }

  private async live(s: ServerRequest, op: Op): Promise<Live | undefined> {
    const name = this.profile.releaseName(s);
    const release = await this.releases.get(s.namespace, name, op.signal);
    if (!release || release.status === 'uninstalled' || release.status === 'uninstalling') return undefined;
    const values = release.status === 'deployed' || release.status === 'failed' ? await this.releases.values(s.namespace, name, op.signal) : {};
    return { release, values };
  }

  private liveRelease(live: Live | undefined): LiveRelease | undefined {
    return live ? { values: live.values } : undefined;
  }

  async observeServer(op: Op, s: ServerRequest): Promise<ServerObservation> {
    const live = await this.live(s, op);
    if (!live) return { exists: false, upToDate: false, ready: false, message: 'no helm release' };
    const lr = this.liveRelease(live);
    const { release } = live;
    if (release.status !== 'deployed') {
      const busy = this.releases.isBusy(s.namespace, release.name);
      return { exists: true, upToDate: false, ready: false, message: `helm release ${release.name} is ${release.status}${busy ? '' : isPending(release.status) ? ' (interrupted, will be recovered)' : ''}`, live: release };
    }
    const desired = this.profile.values(s, lr).values;
    const valuesMatch = stableJson(desired) === stableJson(live.values);
    const secret = await this.objects.secretData(s.namespace, this.profile.adminSecretName(s));
    const passwordSettled = this.settled(s, lr, secret);
    const readiness = await this.readiness(s, lr);
    const ready = readiness.ready && passwordSettled;
    return {
      exists: true,
      upToDate: valuesMatch && passwordSettled,
      ready: ready && valuesMatch,
      ...(ready ? { endpoint: this.profile.endpoint(s, lr) } : {}),
      message: !valuesMatch ? 'helm values differ from the spec' : !passwordSettled ? 'admin password change pending' : readiness.message,
      live: release,
    };
  }

  private settled(s: ServerRequest, lr: LiveRelease | undefined, secret: Record<string, string> | undefined): boolean {
    if (!secret?.[this.profile.adminSecretKey] || secret[PENDING_PASSWORD_KEY] !== undefined) return false;
    const admin = this.profile.adminUsername(s, lr);
    return admin === this.profile.superuser(s, lr) || secret[ADMIN_USER_KEY] === admin;
  }

  private async readiness(s: ServerRequest, lr: LiveRelease | undefined): Promise<{ ready: boolean; message: string }> {
    const names = this.profile.statefulSets(s, lr);
    const parts: string[] = [];
    let ready = true;
    for (const name of names) {
      const sts = await this.objects.statefulSet(s.namespace, name);
      if (!sts) {
        parts.push(`StatefulSet ${name} missing`);
        ready = false;
        continue;
      }
      const r = statefulSetReadiness(sts);
      if (!isReady(r)) ready = false;
      parts.push(`StatefulSet ${name} ${r.ready}/${r.desired} ready${r.current ? '' : ', rolling out'}`);
    }
    return { ready, message: parts.join('; ') };
  }

  async createServer(op: Op, s: ServerRequest, adminPassword: string): Promise<Progress> {
    await this.ensureAdminSecret(op, s, adminPassword);
    return this.apply(op, s, undefined);
  }

  async updateServer(op: Op, s: ServerRequest, _seen: ServerObservation, adminPassword?: string): Promise<Progress> {
    const live = await this.live(s, op);
    await this.ensureAdminSecret(op, s, adminPassword, live);
    return this.apply(op, s, live);
  }

  /**
   * Makes sure the admin Secret exists and records a wanted password change in it (before anything
   * else happens, so the intent survives a crash).
   */
  private async ensureAdminSecret(op: Op, s: ServerRequest, wanted: string | undefined, live?: Live): Promise<void> {
    const name = this.profile.adminSecretName(s);
    const key = this.profile.adminSecretKey;
    const data = await this.objects.secretData(s.namespace, name);
    let current = data?.[key];
    let pending = data?.[PENDING_PASSWORD_KEY];
    if (current === undefined) {
      if (live) {
        // An existing install the operator has no Secret for: adopt it with the password it was made with.
        current = (await this.profile.legacyPassword?.(s, (n) => this.objects.secretData(s.namespace, n), this.liveRelease(live))) ?? this.profile.initialPassword;
        if (current === undefined) {
          if (!wanted) throw terminal('AdminPasswordUnknown', `The helm release ${this.profile.releaseName(s)} exists but its admin password is unknown: create Secret ${name} with key ${key}.`);
          current = wanted;
        }
        op.log.info({ release: this.profile.releaseName(s) }, 'adopting an existing helm release');
      } else {
        // Fresh install: the chart initialises the database with this (YugabyteDB starts on its default and is changed afterwards).
        current = this.profile.initialPassword ?? wanted;
        if (current === undefined) throw terminal('AdminPasswordUnknown', `No admin password for ${s.namespace}/${s.name}.`);
      }
    }
    if (wanted !== undefined && wanted !== current) pending = wanted;
    if (pending === current) pending = undefined;
    if (data && data[key] === current && data[PENDING_PASSWORD_KEY] === pending) return;
    await this.objects.writeOwnedSecret(
      s.namespace,
      name,
      { [key]: current, ...(pending !== undefined ? { [PENDING_PASSWORD_KEY]: pending } : {}), ...(data?.[ADMIN_USER_KEY] ? { [ADMIN_USER_KEY]: data[ADMIN_USER_KEY] } : {}) },
      { 'hybridcloud.maibornwolff.de/server': s.name, 'app.kubernetes.io/instance': this.profile.releaseName(s) },
    );
  }

  /** Brings the release to the spec, then waits for readiness, then settles a pending password. */
  private async apply(op: Op, s: ServerRequest, live: Live | undefined): Promise<Progress> {
    const lr = this.liveRelease(live);
    if (live && live.release.status === 'deployed') {
      const problem = this.profile.checkUpdate?.(s, lr!);
      if (problem) throw terminal('UnsupportedChange', `${problem.field}: ${problem.message}`);
    }
    const rendered = this.profile.values(s, lr);
    for (const w of rendered.warnings) op.warn(w.reason, w.message);
    const upToDate = live?.release.status === 'deployed' && stableJson(rendered.values) === stableJson(live.values);
    if (!upToDate) {
      await this.releases.upgradeInstall(s.namespace, this.profile.releaseName(s), this.profile.chart, rendered.values, {
        signal: op.signal,
        timeoutSeconds: this.profile.helmTimeoutSeconds,
        noHooks: this.profile.noHooks,
      });
      return { state: 'pending', pollAfterMs: POLL_MS, message: `helm release ${this.profile.releaseName(s)} ${live ? 'upgraded' : 'installed'}, waiting for the StatefulSet` };
    }
    const readiness = await this.readiness(s, lr);
    if (!readiness.ready) return { state: 'pending', pollAfterMs: POLL_MS, message: readiness.message };
    const endpoint = this.profile.endpoint(s, lr);
    const settled = await this.settlePassword(op, s, endpoint, lr);
    if (!settled) return { state: 'pending', pollAfterMs: POLL_MS, message: 'waiting for the database to accept the admin login' };
    return { state: 'ready', endpoint };
  }

  /**
   * Applies `pending-password` inside the running database: log in as the chart's superuser with
   * the current password and ALTER ROLE, then make it current. If the current password no longer
   * works but the pending one does, the ALTER already happened before a crash: only the Secret is
   * left to update. A configured admin_username other than the chart's superuser is created as a
   * superuser with the same password.
   */
  private async settlePassword(op: Op, s: ServerRequest, endpoint: Endpoint, lr: LiveRelease | undefined): Promise<boolean> {
    const name = this.profile.adminSecretName(s);
    const key = this.profile.adminSecretKey;
    const data = await this.objects.secretData(s.namespace, name);
    if (data?.[key] === undefined) throw retryable(`Secret ${s.namespace}/${name} disappeared`, undefined, 'AdminSecretMissing');
    if (this.settled(s, lr, data)) return true;
    const current = data[key];
    const pending = data[PENDING_PASSWORD_KEY];
    const admin = this.profile.adminUsername(s, lr);
    const superuser = this.profile.superuser(s, lr);
    const addr = await this.resolver.resolve({ namespace: s.namespace, name: s.name, backend: this.id }, endpoint);
    const conn = { host: addr.host, port: addr.port, user: superuser, database: endpoint.adminDatabase ?? 'postgres', ssl: endpoint.sslmode !== 'disable' };
    let works = current;
    const withCurrent = await this.sql.tryLogin({ ...conn, password: current });
    if (withCurrent === 'unreachable') return false;
    if (withCurrent !== 'ok') {
      const withPending = pending === undefined ? 'auth-failed' : await this.sql.tryLogin({ ...conn, password: pending });
      if (withPending === 'unreachable') return false;
      if (withPending !== 'ok' || pending === undefined) {
        throw terminal('AdminPasswordMismatch', `The database of ${s.namespace}/${s.name} accepts neither the current nor the new password of ${superuser}. Put the working password into Secret ${name}, key ${key}.`);
      }
      works = pending;
    }
    const final = pending ?? current;
    if (works !== final) {
      op.log.info({ server: `${s.namespace}/${s.name}`, user: superuser }, 'changing the admin password inside the database');
      await this.sql.setPassword({ ...conn, password: works }, superuser, final, this.profile.passwordFormat);
    }
    if (admin !== superuser) await this.sql.ensureSuperuser({ ...conn, password: final }, admin, final, this.profile.passwordFormat);
    await this.objects.writeOwnedSecret(s.namespace, name, { [key]: final, ...(admin !== superuser ? { [ADMIN_USER_KEY]: admin } : {}) }, {
      'hybridcloud.maibornwolff.de/server': s.name,
      'app.kubernetes.io/instance': this.profile.releaseName(s),
    });
    return true;
  }

  async deleteServer(op: Op, s: ServerRequest): Promise<Progress> {
    const releaseName = this.profile.releaseName(s);
    const release = await this.releases.get(s.namespace, releaseName, op.signal);
    let claims: ClaimSelector[] | undefined = s.state[STATE_CLAIMS] ? (JSON.parse(s.state[STATE_CLAIMS]) as ClaimSelector[]) : undefined;
    if (release && release.status !== 'uninstalled') {
      if (this.profile.pvcCleanup && !claims) {
        // Remember which volumes belong to this release before the StatefulSets are gone.
        claims = claimSelectorsFromManifest(await this.releases.manifest(s.namespace, releaseName, op.signal));
        await op.saveState({ [STATE_CLAIMS]: JSON.stringify(claims) });
      }
      await this.releases.uninstall(s.namespace, releaseName, op.signal);
    }
    if (this.profile.pvcCleanup) {
      const left = await this.objects.claimsOf(s.namespace, claims ?? []);
      for (const pvc of left) {
        op.log.info({ pvc: pvc.metadata?.name, namespace: s.namespace }, 'deleting a volume claim of the release (pvc_cleanup)');
        await this.objects.deleteClaim(s.namespace, pvc.metadata!.name!);
      }
      // Without its volumes the password in the admin Secret means nothing any more.
      await this.objects.deleteSecret(s.namespace, this.profile.adminSecretName(s));
    }
    // Without pvc_cleanup the volumes and the admin Secret stay: a server re-created with the same
    // name finds its data and the password that opens it.
    return { state: 'gone' };
  }
}
