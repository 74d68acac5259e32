import { describe, expect, it } from 'vitest';
import { BackendError } from '@hybridcloud-postgresql/core';
import { toRdsMaintenanceWindow, sameWindow, maintenanceWindowProblem } from './maintenance.js';
import { compareVersions, parseVersionRequest, resolveVersion, versionChange, FALLBACK_MAJOR } from './versions.js';
import { chooseSize, INSTANCE_TYPES, RDS_FALLBACK_TYPES } from './sizing.js';
import { toBackendError, isNotFound } from './errors.js';
import { awsIdentifier, finalSnapshotIdentifier, identifierProblem } from './naming.js';
import { desiredTags, missingTags, ownership, tagChanges, TAG_NAME, TAG_NAMESPACE, TAG_UID } from './tags.js';
import { TokenBucket } from './requestBudget.js';

describe('maintenance window', () => {
  it('converts weekday + start to RDS format with a one hour window', () => {
    expect(toRdsMaintenanceWindow({ weekday: 'Wed', starttime: '03:00' })).toBe('wed:03:00-wed:04:00');
    expect(toRdsMaintenanceWindow({ weekday: 'Mon', starttime: '23:15' })).toBe('mon:23:15-tue:00:15');
    expect(toRdsMaintenanceWindow({ weekday: 'Sun', starttime: '23:30' })).toBe('sun:23:30-mon:00:30');
    expect(toRdsMaintenanceWindow({ weekday: 'Fri', starttime: '00:00' }, 30)).toBe('fri:00:00-fri:00:30');
  });
  it('rejects bad input and windows under 30 minutes', () => {
    expect(maintenanceWindowProblem({ weekday: 'Funday', starttime: '03:00' })).toMatch(/weekday/);
    expect(maintenanceWindowProblem({ weekday: 'Tue', starttime: '24:00' })).toMatch(/starttime/);
    expect(() => toRdsMaintenanceWindow({ weekday: 'Tue', starttime: '3:00' })).toThrow();
    expect(() => toRdsMaintenanceWindow({ weekday: 'Tue', starttime: '03:00' }, 29)).toThrow(/30 minutes/);
  });
  it('compares case-insensitively', () => {
    expect(sameWindow('Wed:03:00-Wed:04:00', 'wed:03:00-wed:04:00')).toBe(true);
    expect(sameWindow('wed:03:00-wed:04:00', 'thu:03:00-thu:04:00')).toBe(false);
  });
});

describe('versions', () => {
  const available = ['15.12', '16.10', '16.9', '17.4', '14.17'];
  it('parses requests', () => {
    expect(parseVersionRequest(undefined)).toEqual({ kind: 'latest' });
    expect(parseVersionRequest('latest')).toEqual({ kind: 'latest' });
    expect(parseVersionRequest('16')).toEqual({ kind: 'major', major: 16 });
    expect(parseVersionRequest('16.4')).toEqual({ kind: 'exact', version: '16.4', major: 16 });
    expect(parseVersionRequest('sixteen')).toBeUndefined();
  });
  it('compares numerically', () => {
    expect(compareVersions('16.10', '16.9')).toBeGreaterThan(0);
    expect(compareVersions('9.6', '10.1')).toBeLessThan(0);
  });
  it('resolves latest, majors and exact versions', () => {
    expect(resolveVersion({ kind: 'latest' }, available).version).toBe('17.4');
    expect(resolveVersion({ kind: 'major', major: 16 }, available).version).toBe('16.10');
    expect(resolveVersion({ kind: 'exact', version: '16.9', major: 16 }, available)).toEqual({ version: '16.9' });
    const missingMinor = resolveVersion({ kind: 'exact', version: '16.1', major: 16 }, available);
    expect(missingMinor.version).toBe('16.10');
    expect(missingMinor.warning?.reason).toBe('VersionUnavailable');
    const missingMajor = resolveVersion({ kind: 'major', major: 11 }, available);
    expect(missingMajor).toMatchObject({ version: '17.4', warning: { reason: 'VersionUnavailable' } });
  });
  it('falls back without a catalogue', () => {
    expect(resolveVersion({ kind: 'major', major: 16 }, undefined)).toEqual({ version: '16' });
    expect(resolveVersion({ kind: 'latest' }, undefined)).toMatchObject({ version: FALLBACK_MAJOR, warning: { reason: 'EngineVersionsUnavailable' } });
  });
  it('never downgrades and ignores automatic minor upgrades', () => {
    expect(versionChange({ kind: 'latest' }, '16.3')).toEqual({ kind: 'none' });
    expect(versionChange({ kind: 'major', major: 16 }, '16.9')).toEqual({ kind: 'none' });
    expect(versionChange({ kind: 'exact', version: '16.3', major: 16 }, '16.9')).toEqual({ kind: 'none' });
    expect(versionChange({ kind: 'exact', version: '16.9', major: 16 }, '16.3')).toEqual({ kind: 'upgrade', targetMajor: 16, exact: '16.9', major: false });
    expect(versionChange({ kind: 'major', major: 17 }, '16.9')).toEqual({ kind: 'upgrade', targetMajor: 17, major: true });
    expect(versionChange({ kind: 'major', major: 15 }, '16.9').kind).toBe('downgrade-refused');
  });
});

describe('sizing', () => {
  const classes = {
    small: { instance_type: 'db.t4g.small' },
    medium: { instance_type: 'db.m5.large' },
    custom: { instance_type: 'db.x2g.large', cpu: 2, memory_mb: 32768 },
  };
  const cap = (c: { instance_type: string; cpu?: number; memory_mb?: number }) => {
    const t = INSTANCE_TYPES[c.instance_type];
    const cpu = c.cpu ?? t?.cpu;
    const memoryMb = c.memory_mb ?? t?.memoryMb;
    return cpu !== undefined && memoryMb !== undefined ? { cpu, memoryMb } : undefined;
  };
  it('uses the class, else the default with a warning', () => {
    expect(chooseSize({ class: 'medium' }, classes, 'small', cap, RDS_FALLBACK_TYPES)).toMatchObject({ kind: 'class', name: 'medium' });
    const unknown = chooseSize({ class: 'huge', cpu: 64 }, classes, 'small', cap, RDS_FALLBACK_TYPES);
    expect(unknown).toMatchObject({ kind: 'class', name: 'small', warning: { reason: 'UnknownClass' } });
    expect(chooseSize(undefined, classes, 'small', cap, RDS_FALLBACK_TYPES)).toMatchObject({ kind: 'class', name: 'small' });
  });
  it('picks the smallest configured class that meets cpu and memory', () => {
    expect(chooseSize({ cpu: 1, memoryMB: 1500 }, classes, 'small', cap, RDS_FALLBACK_TYPES)).toMatchObject({ name: 'small' });
    expect(chooseSize({ memoryMB: 4096 }, classes, 'small', cap, RDS_FALLBACK_TYPES)).toMatchObject({ name: 'medium' });
    expect(chooseSize({ cpu: 2, memoryMB: 20000 }, classes, 'small', cap, RDS_FALLBACK_TYPES)).toMatchObject({ name: 'custom' });
  });
  it('falls back to the instance table, else reports', () => {
    expect(chooseSize({ cpu: 8, memoryMB: 40000 }, classes, 'small', cap, RDS_FALLBACK_TYPES)).toMatchObject({ kind: 'type', instanceType: 'db.r6g.2xlarge' });
    expect(chooseSize({ cpu: 1000 }, classes, 'small', cap, RDS_FALLBACK_TYPES).kind).toBe('none');
  });
});

describe('errors', () => {
  const sdkError = (name: string, status: number, extra: object = {}) => Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status }, ...extra });
  it('maps throttling, 5xx, busy, access, quota and rejection', () => {
    expect(toBackendError(sdkError('Throttling', 400), 'X').kind).toBe('throttled');
    expect(toBackendError(sdkError('SomethingElse', 400, { $retryable: { throttling: true } }), 'X').kind).toBe('throttled');
    expect(toBackendError(sdkError('InternalFailure', 500, { $fault: 'server' }), 'X')).toMatchObject({ kind: 'retryable', reason: 'AwsUnavailable' });
    expect(toBackendError(sdkError('InvalidDBInstanceStateFault', 400), 'X')).toMatchObject({ kind: 'retryable', reason: 'AwsBusy' });
    expect(toBackendError(sdkError('AccessDenied', 403), 'X')).toMatchObject({ kind: 'terminal', reason: 'AwsAccessDenied' });
    expect(toBackendError(sdkError('StorageQuotaExceededFault', 400), 'X')).toMatchObject({ kind: 'terminal', reason: 'AwsQuotaExceeded' });
    const rejected = toBackendError(sdkError('InvalidParameterValue', 400), 'CreateDBInstance');
    expect(rejected).toMatchObject({ kind: 'terminal', reason: 'AwsRejected' });
    expect(rejected.message).toBe('CreateDBInstance: InvalidParameterValue: InvalidParameterValue happened');
    expect(toBackendError(Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' }), 'X')).toMatchObject({ kind: 'retryable', reason: 'AwsUnreachable' });
    const kept = new BackendError('terminal', 'x', 'Mine');
    expect(toBackendError(kept, 'X')).toBe(kept);
  });
  it('recognises not found', () => {
    expect(isNotFound(sdkError('DBInstanceNotFoundFault', 404))).toBe(true);
    expect(isNotFound(sdkError('DBClusterNotFoundFault', 404))).toBe(true);
    expect(isNotFound(sdkError('DBSubnetGroupNotFoundFault', 404))).toBe(false);
  });
});

describe('naming and tags', () => {
  it('applies name_overrides, then name_pattern', () => {
    const cfg = { name_pattern: 'pg-{namespace}-{name}', name_overrides: [{ namespace: 'a', name: 'b', aws_identifier: 'legacy-db' }] };
    expect(awsIdentifier(cfg, 'a', 'b')).toBe('legacy-db');
    expect(awsIdentifier(cfg, 'a', 'c')).toBe('pg-a-c');
  });
  it('checks RDS identifier rules', () => {
    expect(identifierProblem('team-a-pg1')).toBeUndefined();
    expect(identifierProblem('1team-pg')).toMatch(/start with a letter/);
    expect(identifierProblem('team--pg')).toMatch(/consecutive/);
    expect(identifierProblem('a'.repeat(64))).toMatch(/at most 63/);
    expect(identifierProblem('team.pg')).toMatch(/letters, digits and hyphens/);
  });
  it('derives the final snapshot name from identifier and uid', () => {
    expect(finalSnapshotIdentifier('team-a-pg1', '0f1e2d3c-aaaa-bbbb')).toBe('team-a-pg1-final-0f1e2d3c');
  });
  it('builds operator and config tags and judges ownership', () => {
    const req = { namespace: 'ns', name: 'db', uid: 'u-1' };
    const tags = desiredTags({ 'team-{namespace}': 'owner-{name}', cost: 'x' }, req);
    expect(tags).toEqual({ 'team-ns': 'owner-db', cost: 'x', [TAG_NAMESPACE]: 'ns', [TAG_NAME]: 'db', [TAG_UID]: 'u-1' });
    expect(missingTags(tags, { ...tags, cost: 'y', other: 'z' })).toEqual({ cost: 'x' });
    expect(ownership(tags, req)).toBe('ours');
    expect(ownership({}, req)).toBe('untagged');
    expect(ownership({ [TAG_NAMESPACE]: 'ns', [TAG_NAME]: 'other' }, req)).toEqual({ owner: 'ns/other' });
  });

  it('defers the uid tag alone on a server without one (the Python operator\'s): adopting it writes nothing', () => {
    const desired = { [TAG_NAMESPACE]: 'ns', [TAG_NAME]: 'db', [TAG_UID]: 'u-1' };
    expect(tagChanges(desired, { [TAG_NAMESPACE]: 'ns', [TAG_NAME]: 'db' })).toEqual({ tags: {}, deferredTags: { [TAG_UID]: 'u-1' } });
    // another missing tag: all at once
    expect(tagChanges({ ...desired, cost: 'x' }, { [TAG_NAMESPACE]: 'ns', [TAG_NAME]: 'db' })).toEqual({ tags: { [TAG_UID]: 'u-1', cost: 'x' }, deferredTags: {} });
    // a different uid (a re-created CR) is a change
    expect(tagChanges(desired, { [TAG_NAMESPACE]: 'ns', [TAG_NAME]: 'db', [TAG_UID]: 'u-0' })).toEqual({ tags: { [TAG_UID]: 'u-1' }, deferredTags: {} });
  });
});

describe('TokenBucket', () => {
  it('lets a burst through, then spaces requests at the rate', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const bucket = new TokenBucket(2, 2, () => now, async (ms) => {
      sleeps.push(ms);
      now += ms;
    });
    const times: number[] = [];
    await Promise.all(Array.from({ length: 6 }, () => bucket.take().then(() => times.push(now))));
    expect(times).toEqual([0, 0, 500, 1000, 1500, 2000]);
    expect(sleeps.every((ms) => ms > 0)).toBe(true);
  });
});
