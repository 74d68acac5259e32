import { describe, expect, it } from 'vitest';
import { nextStatus, sameStatus, statusPatch } from './status.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T01:00:00Z');
const ready = { generation: 2, backend: 'external', ready: true, reason: 'Ready', message: 'ok', deployment: 'finished' as const, deploymentReason: 'Database created' };

describe('status', () => {
  it('keeps timestamps when nothing changed, whatever the key order the API server returns', () => {
    const first = nextStatus(undefined, ready, t0);
    const fromServer = Object.fromEntries(Object.entries(structuredClone(first)).reverse()) as typeof first;
    fromServer.conditions = first.conditions!.map((c) => Object.fromEntries(Object.entries(c).reverse()) as typeof c);
    const again = nextStatus(fromServer, ready, t1);
    expect(sameStatus(fromServer, again)).toBe(true);
    expect(again.deployment?.['latest-update']).toBe(first.deployment?.['latest-update']);
  });

  it('moves lastTransitionTime only when Ready flips, and writes the legacy timestamp shape', () => {
    const first = nextStatus(undefined, ready, t0);
    expect(first.deployment?.['latest-update']).toBe('2026-01-01T00:00:00.000+00:00');
    const failing = nextStatus(first, { ...ready, ready: false, reason: 'ServerUnreachable', message: 'down', deployment: 'working', deploymentReason: null }, t1);
    expect(failing.conditions![0]!.lastTransitionTime).toBe(t1.toISOString());
    const stillFailing = nextStatus(failing, { ...ready, ready: false, reason: 'SqlError', message: 'other', deployment: 'working', deploymentReason: null }, new Date('2026-01-01T02:00:00Z'));
    expect(stillFailing.conditions![0]!.lastTransitionTime).toBe(t1.toISOString());
  });
});

describe('status patch', () => {
  it('removes kopf\'s leftover status.kopf on the first write, keeps other foreign keys', () => {
    const prev = { deployment: { status: 'finished', reason: 'Database created', 'latest-update': 'x' }, kopf: { progress: {} }, other: 1 } as never;
    const next = nextStatus(prev, ready, t0);
    const patch = statusPatch(prev, next) as Record<string, unknown>;
    expect(patch['kopf']).toBeNull();
    expect('other' in patch).toBe(false);
    expect(statusPatch(next, next)).not.toHaveProperty('kopf');
  });
});
