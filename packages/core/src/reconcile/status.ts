/**
 * Status computation. The reconciler says what it observed (Ready true/false, reason, message);
 * this module turns that into the CR status, keeping timestamps stable when nothing changed so
 * that a resync of a ready object writes nothing (compare, then write only on change).
 */
import type { Condition, ResourceStatus } from '../api/schema.js';

export type DeploymentState = 'working' | 'finished' | 'failed';

export interface Observed {
  generation: number | undefined;
  backend: string | undefined;
  ready: boolean;
  reason: string;
  message: string;
  /** Legacy deployment.status for tools written against the Python operator. */
  deployment: DeploymentState;
  /** Legacy deployment.reason: short ('Database server created', 'Validation failed: …'). */
  deploymentReason: string | null;
  unsupportedFields?: string[];
}

const MAX_MESSAGE = 1024;

export function nextStatus(prev: ResourceStatus | undefined, o: Observed, now: Date): ResourceStatus {
  const prevReady = prev?.conditions?.find((c) => c.type === 'Ready');
  const status: Condition['status'] = o.ready ? 'True' : 'False';
  const message = o.message.length > MAX_MESSAGE ? `${o.message.slice(0, MAX_MESSAGE - 1)}…` : o.message;
  const ready: Condition = {
    type: 'Ready',
    status,
    reason: o.reason,
    message,
    lastTransitionTime: prevReady && prevReady.status === status ? prevReady.lastTransitionTime : now.toISOString(),
    ...(o.generation !== undefined ? { observedGeneration: o.generation } : {}),
  };
  const others = (prev?.conditions ?? []).filter((c) => c.type !== 'Ready');
  const next: ResourceStatus = {
    ...(o.generation !== undefined ? { observedGeneration: o.generation } : {}),
    conditions: [ready, ...others],
    ...(o.backend !== undefined ? { backend: o.backend } : prev?.backend !== undefined ? { backend: prev.backend } : {}),
    ...(o.unsupportedFields && o.unsupportedFields.length > 0 ? { unsupportedFields: [...o.unsupportedFields] } : {}),
    deployment: {
      status: o.deployment,
      reason: o.deploymentReason,
      'latest-update': prev?.deployment?.['latest-update'] ?? isoWithOffset(now),
    },
  };
  if (!sameStatus(prev, next)) next.deployment!['latest-update'] = isoWithOffset(now);
  return next;
}

/** Equal apart from the timestamp that only records the write itself. */
export function sameStatus(a: ResourceStatus | undefined, b: ResourceStatus): boolean {
  if (!a) return false;
  const strip = (s: ResourceStatus) => ({
    observedGeneration: s.observedGeneration,
    conditions: s.conditions ?? [],
    backend: s.backend,
    unsupportedFields: s.unsupportedFields ?? [],
    deployment: { status: s.deployment?.status, reason: s.deployment?.reason ?? null },
  });
  return canonical(strip(a)) === canonical(strip(b));
}

/** JSON with sorted keys: the API server returns keys in its own order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/**
 * The merge patch that turns `prev` into `next`: our keys that disappeared become null (a merge
 * patch otherwise keeps them), and kopf's leftover `status.kopf` (the Python operator's handler
 * progress) is removed on the first write, as the CRD documents. Other foreign keys are left alone.
 */
export function statusPatch(prev: ResourceStatus | undefined, next: ResourceStatus): ResourceStatus {
  const patch: Record<string, unknown> = { ...next };
  if (prev?.unsupportedFields && !next.unsupportedFields) patch['unsupportedFields'] = null;
  if ((prev as { kopf?: unknown } | undefined)?.kopf !== undefined) patch['kopf'] = null;
  return patch as ResourceStatus;
}

/** The original wrote Python's datetime.isoformat() with +00:00; keep that shape. */
function isoWithOffset(d: Date): string {
  return d.toISOString().replace('Z', '+00:00');
}

export function readyCondition(s: ResourceStatus | undefined): Condition | undefined {
  return s?.conditions?.find((c) => c.type === 'Ready');
}
