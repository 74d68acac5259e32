/**
 * Prometheus metrics of the controller machinery, one registry per manager (so two managers in
 * one test process, or one per test, never clash over global metric names).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const P = 'hybridcloud_postgresql_';

export interface QueueStats {
  depth: number;
  waiting: number;
  inFlight: number;
}

export class ControllerMetrics {
  readonly reconcileTotal: Counter<'kind' | 'result'>;
  readonly reconcileErrors: Counter<'kind' | 'error_kind'>;
  readonly reconcileDuration: Histogram<'kind'>;
  readonly informerRestarts: Counter<'informer'>;
  readonly leader: Gauge;
  private readonly queues = new Map<string, () => QueueStats>();

  constructor(readonly registry: Registry = new Registry(), o: { defaultMetrics?: boolean } = {}) {
    if (o.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
    const registers = [registry];
    this.reconcileTotal = new Counter({ name: `${P}reconcile_total`, help: 'Reconciles by kind and result (success, requeue, error, throttled, terminal).', labelNames: ['kind', 'result'], registers });
    this.reconcileErrors = new Counter({ name: `${P}reconcile_errors_total`, help: 'Failed reconciles by kind and error kind (retryable, throttled, terminal).', labelNames: ['kind', 'error_kind'], registers });
    this.reconcileDuration = new Histogram({
      name: `${P}reconcile_duration_seconds`,
      help: 'Time spent in one reconcile.',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.informerRestarts = new Counter({ name: `${P}informer_restarts_total`, help: 'Informer list/watch loops restarted after an error.', labelNames: ['informer'], registers });
    this.leader = new Gauge({ name: `${P}leader`, help: '1 while this replica holds the leader Lease (or leader election is off).', registers });
    const queues = this.queues;
    const gauge = (name: string, help: string, pick: (s: QueueStats) => number) =>
      new Gauge({
        name: `${P}${name}`,
        help,
        labelNames: ['kind'],
        registers,
        collect() {
          for (const [kind, stats] of queues) this.set({ kind }, pick(stats()));
        },
      });
    gauge('workqueue_depth', 'Keys ready to be reconciled now.', (s) => s.depth);
    gauge('workqueue_waiting', 'Keys waiting for a delayed retry or requeue.', (s) => s.waiting);
    gauge('workqueue_in_flight', 'Reconciles running now.', (s) => s.inFlight);
  }

  /** A controller registers its queue so the gauges read it at scrape time. */
  trackQueue(kind: string, stats: () => QueueStats): void {
    this.queues.set(kind, stats);
  }
}
