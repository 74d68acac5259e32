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
import type { ChartProfile, LiveRelease, MajorVersion } from './chartProfile.js';
import { HelmCli } from './helmCli.js';
import { claimSelectorsFromManifest, ClusterObjects, isReady, statefulSetReadiness, type ClaimSelector } from './kube.js';
import { HelmReleases, isPending, type ReleaseInfo } from './releases.js';
import { stableJson } from './stableJson.js';

export const PENDING_PASSWORD_KEY = 'pending-password';
/** Records which admin login has been set up inside the database (when it is not the chart's own superuser). */
export const ADMIN_USER_KEY = 'admin-user';
const POLL_MS = 5_000;
const STATE_CLAIMS = 'claims';
/** When the admin login was first refused (ms since epoch), for profiles with startupAuthGraceMs. */
const STATE_AUTH_REFUSED = 'adminLoginRefusedSince';

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
  images: string[];
}

interface Desired {
  values: Record<string, unknown>;
  warnings: Array<{ reason: string; message: string }>;
  /** A release of the Python operator left as it is. */
  kept?: boolean;
  /** Set when the change must not happen (a major version change). */
  refusal?: Error;
}

/** The tag of an image reference ('reg:5000/repo/pg:14.5.0@sha256:…' → '14.5.0'). */
export function imageTagOf(image: string): string | undefined {
  const ref = image.split('@')[0]!;
  const i = ref.lastIndexOf(':');
  if (i < 0 || ref.indexOf('/', i) >= 0) return undefined;
  return ref.slice(i + 1) || undefined;
}

/** The major the release runs: the running images first, then the values' tag, then the chart's appVersion. */
export function liveMajor(profile: Pick<ChartProfile, 'majorOf' | 'valuesImageTag'>, live: LiveRelease): MajorVersion | undefined {
  for (const image of live.images ?? []) {
    const tag = imageTagOf(image);
    const major = tag ? profile.majorOf(tag) : undefined;
    if (tag && major) return { major, source: `running image ${image}`, tag };
  }
  const tag = profile.valuesImageTag(live.values);
  const fromValues = tag ? profile.majorOf(tag) : undefined;
  if (tag && fromValues) return { major: fromValues, source: `release value image tag ${tag}`, tag };
  const fromChart = live.appVersion ? profile.majorOf(live.appVersion) : undefined;
  if (fromChart) return { major: fromChart, source: `chart ${live.chart ?? ''} appVersion ${live.appVersion}` };
  return undefined;
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
    // What runs now: the images of the release's StatefulSets (the major to keep is read from them first).
    const images: string[] = [];
    for (const sts of this.profile.statefulSets(s, { values })) {
      for (const c of (await this.objects.statefulSet(s.namespace, sts))?.spec?.template.spec?.containers ?? []) if (c.image) images.push(c.image);
    }
    return { release, values, images };
  }

  private liveRelease(live: Live | undefined): LiveRelease | undefined {
    return live ? { values: live.values, chart: live.release.chart, appVersion: live.release.appVersion, images: live.images } : undefined;
  }

  /**
   * The values the release should have. A release the Python operator installed stays exactly as it
   * is while the spec asks for nothing it lacks (python_releases: keep). Otherwise the running major
   * version is kept: when the chart's default image would move it, the running image tag is pinned;
   * when the spec or the config asks for another major, the change is refused (MajorVersionChange):
   * a new major cannot start on the old data directory, and helm would already have replaced the pod.
   */
  private async desired(op: Op, s: ServerRequest, live: Live | undefined): Promise<Desired> {
    const lr = this.liveRelease(live);
    const rendered = this.profile.values(s, lr);
    const warnings = [...rendered.warnings];
    if (!live || !lr) return { values: rendered.values, warnings };
    const running = liveMajor(this.profile, lr);
    const product = this.profile.product;
    const legacy = live.release.status === 'deployed' ? this.profile.comparePythonRelease?.(s, lr) : undefined;
    if (legacy?.unchanged && this.profile.keepPythonReleases) {
      const differences = [...legacy.differences];
      const asked = s.spec.version?.trim();
      const askedMajor = asked && asked !== 'latest' ? this.profile.majorOf(asked) : undefined;
      if (running && askedMajor && askedMajor !== running.major) differences.push(`spec.version asks for ${product} ${askedMajor} but the server runs ${running.major} (the Python operator ignored spec.version); a major change is refused`);
      if (differences.length > 0) {
        warnings.push({
          reason: 'AdoptedReleaseKept',
          message: `Helm release ${live.release.name} (${live.release.chart}, installed by the Python operator) is kept as it is: ${differences.join('; ')}. Set backends.${this.id}.python_releases: upgrade to apply this operator's values (the running major is kept), or change the spec. See docs/migration.md.`,
        });
      }
      return { values: live.values, warnings, kept: true };
    }
    if (!running) return { values: rendered.values, warnings };
    // Only a helm call can change the major: nothing to check when none would be made.
    if (live.release.status === 'deployed' && stableJson(rendered.values) === stableJson(live.values)) return { values: rendered.values, warnings };
    const refuse = (why: string): Desired => ({
      values: live.values,
      warnings,
      refusal: terminal(
        'MajorVersionChange',
        `${product} ${running.major} runs now (${running.source}); ${why}. A major version change through a chart upgrade is refused: the new server cannot start on the old data directory. Keep spec.version at ${running.major} (or remove it), or migrate with a dump/restore into a new server as described in docs/migration.md#major-version-upgrades. Nothing was changed.`,
      ),
    });
    const explicit = this.profile.valuesImageTag(rendered.values);
    if (explicit !== undefined) {
      const target = this.profile.majorOf(explicit);
      if (target === running.major) return { values: rendered.values, warnings };
      return refuse(target ? `image tag ${explicit} is ${product} ${target}` : `image tag ${explicit} names no ${product} version, so the major it runs cannot be told`);
    }
    // The chart's default image. When its version cannot be read, keep what runs (the safe side).
    const appVersion = await this.releases.chartAppVersion(this.profile.chart, op.signal).catch(() => undefined);
    const target = appVersion ? this.profile.majorOf(appVersion) : undefined;
    if (target === running.major) return { values: rendered.values, warnings };
    if (!running.tag) return refuse(`the chart's default image is ${target ? `${product} ${target}` : 'of an unknown version'} and the running image tag is unknown, so it cannot be kept`);
    warnings.push({
      reason: 'MajorVersionPinned',
      message: `${target ? `The chart's default image is ${product} ${target}` : "The chart's default version could not be read"}; this server keeps running ${product} ${running.major} (image tag ${running.tag}, read from ${running.source}). See docs/migration.md#major-version-upgrades to move to another major.`,
    });
    return { values: this.profile.withImageTag(rendered.values, running.tag), warnings };
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
    const desired = await this.desired(op, s, live);
    for (const w of desired.warnings) op.warn(w.reason, w.message);
    const valuesMatch = !desired.refusal && stableJson(desired.values) === stableJson(live.values);
    const secret = await this.objects.secretData(s.namespace, this.profile.adminSecretName(s));
    const passwordSettled = this.settled(s, lr, secret);
    const readiness = await this.readiness(s, lr);
    let ready = readiness.ready && passwordSettled;
    let readyMessage = readiness.message;
    if (ready && this.profile.loginReadiness) {
      // Pods are Ready before the database takes logins: only a real login says it is up.
      const login = await this.tryAdminLogin(s, lr, secret![this.profile.adminSecretKey]!);
      if (login !== 'ok') {
        ready = false;
        readyMessage = `${readiness.message}; ${this.profile.product} does not accept the admin login yet (${login})`;
      } else if (s.state[STATE_AUTH_REFUSED] !== undefined) {
        await op.saveState({ [STATE_AUTH_REFUSED]: null });
      }
    }
    return {
      exists: true,
      upToDate: valuesMatch && passwordSettled,
      ready: ready && valuesMatch,
      ...(ready ? { endpoint: this.profile.endpoint(s, lr) } : {}),
      message: desired.refusal ? desired.refusal.message : !valuesMatch ? 'helm values differ from the spec' : !passwordSettled ? 'admin password change pending' : readyMessage,
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
    const desired = await this.desired(op, s, live);
    if (desired.refusal) throw desired.refusal;
    if (live && live.release.status === 'deployed' && !desired.kept) {
      const problem = this.profile.checkUpdate?.(s, lr!);
      if (problem) throw terminal('UnsupportedChange', `${problem.field}: ${problem.message}`);
    }
    for (const w of desired.warnings) op.warn(w.reason, w.message);
    const upToDate = live?.release.status === 'deployed' && stableJson(desired.values) === stableJson(live.values);
    if (!upToDate) {
      await this.releases.upgradeInstall(s.namespace, this.profile.releaseName(s), this.profile.chart, desired.values, {
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
    if (this.settled(s, lr, data) && !this.profile.loginReadiness) return true;
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
        await this.loginRefused(op, s, superuser);
        throw terminal('AdminPasswordMismatch', `The database of ${s.namespace}/${s.name} accepts neither the current nor the new password of ${superuser}. Put the working password into Secret ${name}, key ${key}.`);
      }
      works = pending;
    }
    if (s.state[STATE_AUTH_REFUSED] !== undefined) await op.saveState({ [STATE_AUTH_REFUSED]: null });
    if (this.settled(s, lr, data)) return true;
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

  /** One login as the chart's superuser (loginReadiness). */
  private async tryAdminLogin(s: ServerRequest, lr: LiveRelease | undefined, password: string): Promise<'ok' | 'auth-failed' | 'unreachable'> {
    const endpoint = this.profile.endpoint(s, lr);
    const addr = await this.resolver.resolve({ namespace: s.namespace, name: s.name, backend: this.id }, endpoint);
    return this.sql.tryLogin({ host: addr.host, port: addr.port, user: this.profile.superuser(s, lr), database: endpoint.adminDatabase ?? 'postgres', ssl: endpoint.sslmode !== 'disable', password });
  }

  /**
   * Neither password was accepted. A database that refuses logins while it starts (YSQL answers
   * 28P01 until its role catalog is served) gets startupAuthGraceMs from the first refusal before
   * this becomes the terminal AdminPasswordMismatch; meanwhile it is retried.
   */
  private async loginRefused(op: Op, s: ServerRequest, superuser: string): Promise<void> {
    const grace = this.profile.startupAuthGraceMs;
    if (grace === undefined) return;
    const seen = Number(s.state[STATE_AUTH_REFUSED]);
    const since = Number.isFinite(seen) && seen > 0 ? seen : Date.now();
    if (since !== seen) await op.saveState({ [STATE_AUTH_REFUSED]: String(since) });
    if (Date.now() - since < grace) {
      throw retryable(
        `${this.profile.product} of ${s.namespace}/${s.name} refused the login of ${superuser} (28P01), as it does while it starts; retried until ${new Date(since + grace).toISOString()}, then reported as AdminPasswordMismatch`,
        undefined,
        'AdminLoginRefused',
      );
    }
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
