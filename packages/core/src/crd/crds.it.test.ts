/**
 * The generated CRDs on a real kube-apiserver: installation, `kubectl explain`, every CEL rule
 * with an accepted and a rejected example, strict field validation, immutability, the status
 * subresource and the printer columns.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createTestNamespace, useControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';
import { CRD_CHART_DIR } from './write.js';

interface Result {
  ok: boolean;
  out: string;
}

let cp: ControlPlane;
let ns: string;

/** kubectl through the test control plane; never throws, returns exit status and output. */
async function kubectl(args: string[], input?: unknown): Promise<Result> {
  try {
    const text = input === undefined ? undefined : typeof input === 'string' ? input : stringify(input);
    const r = (await cp.kubectl(args, text === undefined ? undefined : { input: text })) as unknown;
    if (typeof r === 'string') return { ok: true, out: r };
    const res = r as { exitCode?: number; code?: number; status?: number; stdout?: string; stderr?: string };
    const code = res.exitCode ?? res.code ?? res.status ?? 0;
    return { ok: code === 0, out: `${res.stdout ?? ''}${res.stderr ?? ''}` };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message ?? ''}` };
  }
}

const server = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'hybridcloud.maibornwolff.de/v1alpha1', kind: 'PostgreSQLServer', metadata: { name, namespace: ns }, spec });
const database = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'hybridcloud.maibornwolff.de/v1alpha1', kind: 'PostgreSQLDatabase', metadata: { name, namespace: ns }, spec });

/** The seed's complete PostgreSQLServer example. */
const fullServerSpec = () => ({
  backend: 'azurepostgres',
  version: 'latest',
  size: { class: 'dev', cpu: 1, memoryMB: 512, storageGB: 32, storageAutoGrow: false },
  backup: { retentionDays: 7, geoRedundant: false },
  extensions: [],
  network: { firewallRules: [{ name: 'foobar', startIp: '1.2.3.4', endIp: '1.2.3.4' }] },
  serverParameters: {},
  maintenance: { window: { weekday: 'Wed', starttime: '03:00' } },
  highavailability: { enabled: false },
  credentialsSecret: 'teamfoo-postgres-credentials',
});
const fullDatabaseSpec = () => ({
  serverRef: { name: 'teamfoo' },
  database: { charset: 'UTF8', collation: 'de-DE', extensions: [] },
  credentialsSecret: 'fooservice-postgres-credentials',
});

const dryRun = (obj: unknown) => kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], obj);

beforeAll(async () => {
  cp = await useControlPlane();
  const applied = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(CRD_CHART_DIR, 'templates')]);
  expect(applied.ok, applied.out).toBe(true);
  const established = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/postgresqlservers.hybridcloud.maibornwolff.de', 'crd/postgresqldatabases.hybridcloud.maibornwolff.de']);
  expect(established.ok, established.out).toBe(true);
  ns = String(await createTestNamespace(cp, 'crds'));
});

afterAll(async () => {
  if (ns) await kubectl(['delete', 'postgresqlservers,postgresqldatabases', '--all', '-n', ns, '--wait=false']);
});

describe('CRDs on a real apiserver', () => {
  it('documents the fields for kubectl explain', async () => {
    // The apiserver publishes a new CRD's OpenAPI a moment after it is Established.
    let r = await kubectl(['explain', 'postgresqlserver.spec.size']);
    for (let i = 0; i < 60 && !r.ok; i++) {
      await new Promise((done) => setTimeout(done, 500));
      r = await kubectl(['explain', 'postgresqlserver.spec.size']);
    }
    expect(r.ok, r.out).toBe(true);
    expect(r.out).toMatch(/storageGB\s+<integer>/);
    expect(r.out).toMatch(/Resource class defined by the operator admin/);
    const db = await kubectl(['explain', 'pgdb.spec.serverRef']);
    expect(db.out).toMatch(/Name of the PostgreSQLServer in the same namespace/);
  });

  it("accepts the seed's full examples", async () => {
    const s = await dryRun(server('teamfoo', fullServerSpec()));
    expect(s.ok, s.out).toBe(true);
    const d = await dryRun(database('fooservice', fullDatabaseSpec()));
    expect(d.ok, d.out).toBe(true);
  });

  const window = (w: Record<string, unknown>) => ({ ...fullServerSpec(), maintenance: { window: { weekday: 'Mon', starttime: '00:00', ...w } } });
  const rule = (r: Record<string, unknown>) => ({ ...fullServerSpec(), network: { firewallRules: [{ name: 'r', startIp: '10.0.0.1', endIp: '10.0.0.255', ...r }] } });
  const size = (s: Record<string, unknown>) => ({ ...fullServerSpec(), size: { storageGB: 32, ...s } });

  it.each([
    ['weekday Sun', window({ weekday: 'Sun' })],
    ['starttime 23:59', window({ starttime: '23:59' })],
    ['IPv4 0.0.0.0 - 255.255.255.255', rule({ startIp: '0.0.0.0', endIp: '255.255.255.255' })],
    ['a single-address range', rule({ startIp: '192.168.10.9', endIp: '192.168.10.9' })],
    ['a range across octets', rule({ startIp: '9.255.255.255', endIp: '10.0.0.0' })],
    ['storageGB 1', size({ storageGB: 1 })],
    ['retentionDays 0', { ...fullServerSpec(), backup: { retentionDays: 0 } }],
  ])('accepts %s', async (_name, spec) => {
    const r = await dryRun(server('ok', spec));
    expect(r.ok, r.out).toBe(true);
  });

  it.each([
    ['weekday Wednesday', window({ weekday: 'Wednesday' }), 'weekday must be one of Mon, Tue, Wed, Thu, Fri, Sat, Sun'],
    ['weekday wed', window({ weekday: 'wed' }), 'weekday must be one of Mon'],
    ['starttime 3:00', window({ starttime: '3:00' }), 'starttime must be HH:MM'],
    ['starttime 24:00', window({ starttime: '24:00' }), 'starttime must be HH:MM'],
    ['startIp 1.2.3.256', rule({ startIp: '1.2.3.256' }), 'startIp must be an IPv4 address'],
    ['endIp IPv6', rule({ endIp: '::1' }), 'endIp must be an IPv4 address'],
    ['storageGB 0', size({ storageGB: 0 }), 'spec.size.storageGB'],
    ['cpu 0', size({ cpu: 0 }), 'spec.size.cpu'],
    ['a typo in a spec field', size({ storageGb: 10 }), 'unknown field "spec.size.storageGb"'],
    ['a typo at spec level', { ...fullServerSpec(), higavailability: { enabled: true } }, 'unknown field "spec.higavailability"'],
    ['a missing credentialsSecret', { size: { storageGB: 32 } }, 'credentialsSecret'],
    ['startIp after endIp', rule({ startIp: '10.0.1.0', endIp: '10.0.0.255' }), 'startIp must not be greater than endIp'],
    ['two firewall rules with one name', { ...fullServerSpec(), network: { firewallRules: [{ name: 'a', startIp: '1.1.1.1', endIp: '1.1.1.1' }, { name: 'a', startIp: '2.2.2.2', endIp: '2.2.2.2' }] } }, 'Duplicate value'],
    ['a duplicate extension', { ...fullServerSpec(), extensions: ['pg_cron', 'pg_cron'] }, 'Duplicate value'],
    ['a credentialsSecret that is no Secret name', { ...fullServerSpec(), credentialsSecret: 'Team_Foo' }, 'spec.credentialsSecret'],
  ])('rejects %s with a clear message', async (_name, spec, message) => {
    const r = await dryRun(server('bad', spec));
    expect(r.ok).toBe(false);
    expect(r.out).toContain(message);
  });

  it('rejects a typo in a database spec (no unknown-field passthrough)', async () => {
    const r = await dryRun(database('bad', { ...fullDatabaseSpec(), database: { charset: 'UTF8', colation: 'C' } }));
    expect(r.ok).toBe(false);
    expect(r.out).toContain('unknown field "spec.database.colation"');
  });

  it('keeps credentialsSecret and serverRef immutable', async () => {
    expect((await kubectl(['apply', '-f', '-'], server('immutable', fullServerSpec()))).ok).toBe(true);
    const changed = await kubectl(['apply', '-f', '-'], server('immutable', { ...fullServerSpec(), credentialsSecret: 'other' }));
    expect(changed.ok).toBe(false);
    expect(changed.out).toContain('credentialsSecret is immutable');
    // Other fields stay editable.
    expect((await kubectl(['apply', '-f', '-'], server('immutable', { ...fullServerSpec(), version: '16' }))).ok).toBe(true);

    expect((await kubectl(['apply', '-f', '-'], database('immutabledb', fullDatabaseSpec()))).ok).toBe(true);
    const moved = await kubectl(['apply', '-f', '-'], database('immutabledb', { ...fullDatabaseSpec(), serverRef: { name: 'another' } }));
    expect(moved.ok).toBe(false);
    expect(moved.out).toContain('serverRef is immutable');
    const secret = await kubectl(['apply', '-f', '-'], database('immutabledb', { ...fullDatabaseSpec(), credentialsSecret: 'x' }));
    expect(secret.out).toContain('credentialsSecret is immutable');
  });

  it('has a status subresource and shows it in the printer columns', async () => {
    expect((await kubectl(['apply', '-f', '-'], server('withstatus', fullServerSpec()))).ok).toBe(true);
    const status = {
      status: {
        backend: 'helmbitnami',
        observedGeneration: 1,
        conditions: [{ type: 'Ready', status: 'False', reason: 'Provisioning', message: 'creating', lastTransitionTime: '2026-01-01T00:00:00Z' }],
        kopf: { progress: { 'postgresql_server_handler/create': { retries: 1 } } },
      },
    };
    const patched = await kubectl(['patch', 'postgresqlserver', 'withstatus', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    expect(patched.ok, patched.out).toBe(true);
    const got = await kubectl(['get', 'postgresqlserver', 'withstatus', '-n', ns, '-o', 'json']);
    const obj = JSON.parse(got.out) as { status: typeof status.status };
    expect(obj.status.backend).toBe('helmbitnami');
    expect(obj.status.kopf).toEqual(status.status.kopf);
    // Status written through the main resource is ignored (it belongs to the subresource).
    await kubectl(['patch', 'postgresqlserver', 'withstatus', '-n', ns, '--type=merge', '-p', JSON.stringify({ status: { backend: 'awsrds' } })]);
    const again = JSON.parse((await kubectl(['get', 'pg', 'withstatus', '-n', ns, '-o', 'json'])).out) as { status: { backend: string } };
    expect(again.status.backend).toBe('helmbitnami');
    const table = await kubectl(['get', 'postgresqlservers', 'withstatus', '-n', ns]);
    expect(table.out).toMatch(/NAME\s+READY\s+BACKEND\s+REASON\s+AGE/);
    expect(table.out).toMatch(/withstatus\s+False\s+helmbitnami\s+Provisioning/);
    const all = await kubectl(['get', 'hybridcloud', '-n', ns, '-o', 'name']);
    expect(all.out).toContain('postgresqlserver.hybridcloud.maibornwolff.de/withstatus');
  });
});
