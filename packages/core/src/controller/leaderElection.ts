/**
 * Lease-based leader election (coordination.k8s.io/v1), as client-go's leaderelection package,
 * which client-node lacks. Defaults are controller-runtime's: leaseDuration 15 s, renewDeadline
 * 10 s, retryPeriod 2 s.
 *
 * - Acquire: every retryPeriod read the Lease; create it when missing; take it over when it is
 *   released (empty holder) or when its record has not changed for leaseDuration *as observed on
 *   our own clock* (client-go's rule: no trust in the other replica's clock). Writes are PUTs
 *   with the read resourceVersion, so of two candidates exactly one wins; 409 = lost the race.
 * - Renew: every retryPeriod; if no renewal succeeded for renewDeadline, or someone else holds
 *   the Lease, leadership is lost → onStoppedLeading (the manager stops and exits, as
 *   controller-runtime does: a replica that might have missed a takeover must not keep acting).
 * - stop({ release: true }) on graceful shutdown empties the holder so a standby takes over at
 *   its next retry instead of waiting for expiry.
 * Times are MicroTime (RFC 3339 with microseconds). Requests go through core's keep-alive JSON
 * client (one TLS connection), not client-node's generated API (a new TLS agent per request).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { V1Lease } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.js';
import { KubeHttp } from '../reconcile/kubeHttp.js';
import { describeError, isAlreadyExists, isConflict, isNotFound, kubeStatus } from '../kube/errors.js';
import type { Logger } from '../observability/logger.js';
import { LEASE_RESOURCE, objectPath } from '../kube/resource.js';
import { realTimers, sleep, type Timers } from './timers.js';

export interface LeaderElectionOptions {
  kubeConfig: KubeConnection;
  namespace: string;
  leaseName: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  timers?: Timers;
  onStartedLeading?: () => void;
  /** Called once when leadership is lost (not when stop() ends it). */
  onStoppedLeading?: (reason: string) => void;
}

/** client-go's identity: host name plus a random suffix, so a restarted pod is a new candidate. */
export const defaultIdentity = (): string => `${process.env['POD_NAME'] ?? hostname()}_${randomUUID()}`;

export class LeaderElector {
  readonly identity: string;
  private readonly http: KubeHttp;
  private readonly timers: Timers;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leading = false;
  private stopCtl = new AbortController();
  private running: Promise<void> | undefined;
  /** The last Lease record seen and when (local clock) it was first seen in this state. */
  private observed: { holder: string; renewTime: string; at: number } | undefined;
  private lastSuccessfulCall = 0;
  /** When the Lease was last acquired or renewed by us (monotonic). */
  private renewedAt = 0;

  constructor(private readonly o: LeaderElectionOptions) {
    this.identity = o.identity ?? defaultIdentity();
    this.timers = o.timers ?? realTimers;
    this.leaseDurationMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    // A request that hangs longer than the renew deadline is of no use: leadership is lost by then.
    this.http = new KubeHttp(o.kubeConfig, Math.max(1_000, this.renewDeadlineMs), { dedicatedPool: true });
    this.retryPeriodMs = o.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseDurationMs) throw new Error('renewDeadline must be shorter than leaseDuration');
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * The write fence: throws unless this replica leads and renewed the Lease within the renew
   * deadline. Synchronous, on the monotonic clock, so a process that was paused past its Lease
   * refuses to write before its renew loop has even run again.
   */
  assertLeading(): void {
    if (!this.leading) throw new Error('this replica no longer leads');
    const age = this.timers.now() - this.renewedAt;
    if (age >= this.renewDeadlineMs) throw new Error(`the Lease was last renewed ${Math.round(age)} ms ago (renew deadline ${this.renewDeadlineMs} ms): another replica may lead`);
  }

  /** Whether the elector talked to the API server recently (a standby that can take over). */
  isHealthy(): boolean {
    return this.running !== undefined && this.timers.now() - this.lastSuccessfulCall < this.leaseDurationMs + this.retryPeriodMs * 2;
  }

  /** The holder as last seen (for logs and tests). */
  currentHolder(): string | undefined {
    return this.observed?.holder || undefined;
  }

  start(): void {
    if (this.running) return;
    this.stopCtl = new AbortController();
    this.lastSuccessfulCall = this.timers.now();
    this.running = this.run().catch((err: unknown) => this.o.log.error({ error: describeError(err) }, 'leader election loop crashed (bug)'));
  }

  /** Wall time for the Lease's timestamps (read by others); every decision uses timers.now(), monotonic. */
  private wallNow(): number {
    return this.timers.wallNow ? this.timers.wallNow() : this.timers.now();
  }

  /** Stops campaigning; with release (graceful shutdown), hands the Lease back at once. */
  async stop(o: { release?: boolean } = {}): Promise<void> {
    this.stopCtl.abort();
    await this.running;
    this.running = undefined;
    if (this.leading && o.release !== false) await this.release();
    this.leading = false;
  }

  private get stopped(): boolean {
    return this.stopCtl.signal.aborted;
  }

  private async run(): Promise<void> {
    // acquire
    while (!this.stopped && !this.leading) {
      if (await this.tryAcquireOrRenew()) {
        this.renewedAt = this.timers.now();
        this.leading = true;
        this.o.log.info({ lease: `${this.o.namespace}/${this.o.leaseName}`, identity: this.identity }, 'became leader');
        this.o.onStartedLeading?.();
        break;
      }
      await sleep(this.timers, this.retryPeriodMs, this.stopCtl.signal);
    }
    // renew
    let lastRenew = this.timers.now();
    while (!this.stopped && this.leading) {
      await sleep(this.timers, this.retryPeriodMs, this.stopCtl.signal);
      if (this.stopped) return;
      const ok = await this.tryAcquireOrRenew(Math.max(1, this.renewDeadlineMs - (this.timers.now() - lastRenew)));
      if (this.stopped) return;
      if (ok) {
        lastRenew = this.timers.now();
        this.renewedAt = lastRenew;
        continue;
      }
      const takenOver = this.observed !== undefined && this.observed.holder !== '' && this.observed.holder !== this.identity;
      if (takenOver || this.timers.now() - lastRenew >= this.renewDeadlineMs) {
        this.leading = false;
        const reason = takenOver ? `lease taken over by ${this.observed!.holder}` : `could not renew the lease within ${this.renewDeadlineMs} ms`;
        this.o.log.error({ lease: `${this.o.namespace}/${this.o.leaseName}`, identity: this.identity, reason }, 'lost leadership');
        this.o.onStoppedLeading?.(reason);
        return;
      }
    }
  }

  /** One attempt; false on any failure (logged at debug: a standby fails every 2 s by design). */
  private async tryAcquireOrRenew(timeoutMs = this.renewDeadlineMs): Promise<boolean> {
    let timer: { cancel(): void } | undefined;
    const timeout = new Promise<boolean>((r) => (timer = this.timers.setTimeout(() => r(false), timeoutMs)));
    try {
      return await Promise.race([this.attempt(), timeout]);
    } catch (err) {
      const s = kubeStatus(err);
      this.o.log[isConflict(err) ? 'debug' : 'warn']({ lease: this.o.leaseName, ...(s ? { code: s.code, reason: s.reason } : {}), error: describeError(err) }, 'lease update failed');
      return false;
    } finally {
      timer?.cancel();
    }
  }

  private async attempt(): Promise<boolean> {
    const { namespace, leaseName: name } = this.o;
    const now = this.timers.now();
    const micro = () => microTime(this.wallNow());
    let lease: V1Lease;
    try {
      lease = await this.http.request<V1Lease>('GET', leasePath(namespace, name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await this.http.request('POST', leasePath(namespace), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: this.identity, leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000), acquireTime: micro(), renewTime: micro(), leaseTransitions: 0 },
        });
      } catch (createErr) {
        if (isAlreadyExists(createErr)) return false; // another candidate was faster
        throw createErr;
      }
      this.lastSuccessfulCall = this.timers.now();
      this.observed = { holder: this.identity, renewTime: '', at: now };
      return true;
    }
    this.lastSuccessfulCall = this.timers.now();
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = spec.renewTime ? new Date(spec.renewTime as unknown as string).toISOString() : '';
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
      this.observed = { holder, renewTime, at: now };
    }
    const held = holder !== '' && holder !== this.identity;
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.leaseDurationMs / 1000)) * 1000;
    if (held && now < this.observed.at + durationMs) return false;

    const mine = holder === this.identity;
    const body = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        renewTime: micro(),
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : micro(),
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    const updated = await this.http.request<V1Lease>('PUT', leasePath(namespace, name), body);
    this.lastSuccessfulCall = this.timers.now();
    this.observed = { holder: this.identity, renewTime: updated.spec?.renewTime ? new Date(updated.spec.renewTime as unknown as string).toISOString() : '', at: this.timers.now() };
    if (!mine) this.o.log.info({ lease: name, previousHolder: holder || '(released)' }, 'acquired the lease');
    return true;
  }

  /** Empties the holder so the next candidate acquires at once (client-go's ReleaseOnCancel). */
  private async release(): Promise<void> {
    const { namespace, leaseName: name } = this.o;
    try {
      const lease = await this.http.request<V1Lease>('GET', leasePath(namespace, name));
      if (lease.spec?.holderIdentity !== this.identity) return;
      await this.http.request('PUT', leasePath(namespace, name), {
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.wallNow()), acquireTime: microTime(this.wallNow()) },
      });
      this.o.log.info({ lease: name }, 'released the lease');
    } catch (err) {
      this.o.log.warn({ lease: name, error: describeError(err) }, 'could not release the lease; a standby takes over when it expires');
    }
  }
}

const leasePath = (namespace: string, name?: string): string => objectPath(LEASE_RESOURCE, namespace, name);

/** metav1.MicroTime: RFC 3339 with six fractional digits. */
const microTime = (ms: number): string => `${new Date(ms).toISOString().slice(0, -1)}000Z`;
