import { describe, expect, it } from 'vitest';
import { describeHolder, judgeRole, markerFor, ORPHAN_MARKER, parseMarker, type Claim, type RoleFacts } from './ownership.js';

const claim: Claim = { kind: 'PostgreSQLDatabase', namespace: 'team-a', name: 'orders', uid: '1234-abcd' };
const role = (o: Partial<RoleFacts> = {}): RoleFacts => ({
  name: 'orders', superuser: false, createrole: false, createdb: false, replication: false, bypassrls: false, canLogin: true, comment: null, databases: [], ...o,
});

describe('ownership markers', () => {
  it('round-trips a marker, also with spaces in names', () => {
    expect(parseMarker(markerFor(claim))).toEqual({ kind: 'PostgreSQLDatabase', object: 'team-a/orders', uid: '1234-abcd' });
    expect(parseMarker(markerFor({ ...claim, name: 'with space', uid: 'u 1' }))).toEqual({ kind: 'PostgreSQLDatabase', object: 'team-a/with space', uid: 'u 1' });
    expect(parseMarker('made by hand')).toBeUndefined();
    expect(parseMarker(null)).toBeUndefined();
  });

  it('accepts only its own role; adopts unmarked, unprivileged roles only when allowed', () => {
    expect(judgeRole(role({ comment: markerFor(claim) }), claim)).toEqual({ state: 'ours' });
    expect(judgeRole(role(), claim).state).toBe('taken');
    expect(judgeRole(role(), { ...claim, adopt: true })).toEqual({ state: 'adopt' });
    for (const attrs of [{ superuser: true }, { createrole: true }, { replication: true }, { bypassrls: true }, { createdb: true }]) {
      expect(judgeRole(role(attrs), { ...claim, adopt: true }).state).toBe('taken');
    }
    // Our own role that someone made privileged is not used either; asked-for attributes are fine.
    expect(judgeRole(role({ comment: markerFor(claim), createdb: true }), claim).state).toBe('taken');
    expect(judgeRole(role({ comment: markerFor(claim), createdb: true }), claim, ['CREATEDB']).state).toBe('ours');
    // Another object's role or the orphan role: never, adoption or not.
    expect(judgeRole(role({ comment: markerFor({ ...claim, uid: 'other' }) }), { ...claim, adopt: true }).state).toBe('taken');
    expect(judgeRole(role({ comment: ORPHAN_MARKER, canLogin: false }), { ...claim, adopt: true }).state).toBe('taken');
  });

  it('names the holder of a taken name', () => {
    expect(describeHolder(role({ comment: markerFor({ ...claim, name: 'other', uid: 'u2' }) }))).toBe('it belongs to PostgreSQLDatabase team-a/other (uid u2)');
    expect(describeHolder(role({ superuser: true, databases: ['orders', 'x'] }))).toBe('it was not created by the operator (SUPERUSER LOGIN, owner of databases orders, x)');
    expect(describeHolder(role({ canLogin: false }))).toBe('it was not created by the operator (NOLOGIN)');
  });
});
