/**
 * Product benchmark (`pnpm --filter @hybridcloud-postgresql/backend-external run bench`, or
 * `npm run bench`): the operator through its CLI on the external backend and testenv.
 *   1. 100 PostgreSQLDatabases on one ready server → time until all 100 Secrets give working logins
 *   2. 1,000 servers + 1,000 databases ready → operator RSS
 *   3. periodic resync of those 2,000 ready objects → API-server writes (target 0)
 * Prints numbers; skipped unless HC_BENCH=1 (it takes minutes).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { decodeSecret, GROUP, VERSION, type PostgreSQLDatabase, type PostgreSQLServer } from '@hybridcloud-postgresql/core';
import { applyCrds, createTestNamespace, startPostgres, useControlPlane, type ControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import { externalConfig, readyOf, REPO, startOperator, World, type OperatorProcess } from '../e2e/harness.js';

const enabled = process.env['HC_BENCH'] === '1';
const N_FIRST = Number(process.env['HC_BENCH_DATABASES'] ?? 100);
const N_SERVERS = Number(process.env['HC_BENCH_SERVERS'] ?? 1000);
const N_DATABASES = Number(process.env['HC_BENCH_ALL_DATABASES'] ?? 1000);
const RESYNC_SECONDS = 10;

let op: OperatorProcess | undefined;
let pgs: Postgres | undefined;
afterAll(async () => {
  await op?.stop();
  await pgs?.stop();
});

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY']);

/** apiserver_request_total by verb and resource, from the API server's own metrics. */
async function requestCounts(cp: ControlPlane): Promise<Map<string, number>> {
  const text = (await cp.kubectl(['get', '--raw', '/metrics'])).stdout;
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1];
    const resource = /resource="([a-z]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!verb || !resource) continue;
    const key = `${verb} ${resource}`;
    out.set(key, (out.get(key) ?? 0) + value);
  }
  return out;
}

function delta(before: Map<string, number>, after: Map<string, number>, pick: (verb: string, resource: string) => boolean): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, v] of after) {
    const [verb, resource] = key.split(' ') as [string, string];
    const d = v - (before.get(key) ?? 0);
    if (d > 0 && pick(verb, resource)) out[key] = d;
  }
  return out;
}

async function inBatches<T>(items: T[], size: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

async function canLogin(data: Record<string, string>): Promise<boolean> {
  const c = new pg.Client({ host: data['host'], port: Number(data['port']), user: data['username'], password: data['password'], database: data['dbname'], connectionTimeoutMillis: 3000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

async function countReady(w: World): Promise<{ servers: number; databases: number }> {
  const list = async (plural: string) => ((await w.co.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: w.ns, plural })) as { items: Array<PostgreSQLServer | PostgreSQLDatabase> }).items;
  const [s, d] = await Promise.all([list('postgresqlservers'), list('postgresqldatabases')]);
  return { servers: s.filter((o) => readyOf(o)?.status === 'True').length, databases: d.filter((o) => readyOf(o)?.status === 'True').length };
}

it.skipIf(!enabled)('benchmark', { timeout: 3_600_000 }, async () => {
  const results: Record<string, unknown> = {};
  const cp = await useControlPlane();
  await applyCrds(cp);
  pgs = await startPostgres();
  const w = new World(cp.kubeConfig(), await createTestNamespace(cp, 'bench'));
  op = await startOperator({
    cp,
    config: externalConfig(pgs, { operator: { namespace: w.ns, resync_seconds: RESYNC_SECONDS, log_level: process.env['HC_BENCH_LOG_LEVEL'] ?? 'warn', leader_election: { lease_name: `bench-${w.ns}` } } }),
    env: { E2E_PG_ADMIN_PASSWORD: pgs.password },
    args: ['-n', w.ns],
  });
  const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);

  // 1. 100 databases on one ready server.
  await w.applyServer('bench');
  for (;;) {
    if (readyOf(await w.server('bench'))?.status === 'True') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const names = Array.from({ length: N_FIRST }, (_, i) => `db-${i}`);
  await new Promise((r) => setTimeout(r, 1000)); // the server's last writes land before counting
  const phase1Before = await requestCounts(cp);
  const t0 = Date.now();
  await inBatches(names, 25, (n) => w.applyDatabase(n, 'bench'));
  const applied = Date.now() - t0;
  const working = new Set<string>();
  while (working.size < names.length) {
    const secrets = (await w.core.listNamespacedSecret({ namespace: w.ns })).items;
    await Promise.all(secrets.map(async (s) => {
      const name = s.metadata!.name!.replace(/-creds$/, '');
      if (!s.metadata!.name!.endsWith('-creds') || working.has(name)) return;
      const data = decodeSecret(s);
      if (data['password'] && data['dbname'] && (await canLogin(data))) working.add(name);
    }));
    if (Date.now() - t0 > 600_000) throw new Error(`only ${working.size} logins after 10 min`);
    if (working.size < names.length) await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 2000)); // in-flight writes of the last transitions land
  const phase1After = await requestCounts(cp);
  // What the operator asked of the API server for these databases, from the server's own counters.
  // The benchmark's own polling is a LIST of Secrets, excluded; GETs and writes are the operator's.
  const p1Reads = delta(phase1Before, phase1After, (verb, resource) => verb === 'GET' && resource !== 'leases');
  const p1Writes = delta(phase1Before, phase1After, (verb, resource) => WRITE_VERBS.has(verb) && resource !== 'leases');
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  results['phase1ReadsPerDatabase'] = Math.round((sum(p1Reads) / N_FIRST) * 100) / 100;
  results['phase1WritesPerDatabase'] = Math.round((sum(p1Writes) / N_FIRST) * 100) / 100;
  results['phase1Reads'] = p1Reads;
  results['phase1Writes'] = p1Writes;
  results['rssMiBAfterPhase1'] = rssMiB(op.child.pid!);
  log(`API requests per database, apply → Ready (apiserver_request_total): ${results['phase1ReadsPerDatabase']} reads ${JSON.stringify(p1Reads)}, ${results['phase1WritesPerDatabase']} writes ${JSON.stringify(p1Writes)}; operator RSS ${results['rssMiBAfterPhase1']} MiB`);
  results['databases'] = N_FIRST;
  results['secondsUntilAllLoginsWork'] = (Date.now() - t0) / 1000;
  results['secondsToApplyCRs'] = applied / 1000;
  mkdirSync(join(REPO, '.testenv'), { recursive: true });
  writeFileSync(join(REPO, '.testenv', 'bench-operator-phase1.log'), op.output());
  const metrics = await (await fetch(`http://127.0.0.1:${op.healthPort}/metrics`)).text();
  results['phase1ReconcileMetrics'] = metrics.split('\n').filter((l) => /^hybridcloud_\w*reconcile\w*(_total|_sum|_count)\{/.test(l));
  log(`${N_FIRST} databases → all Secrets give working logins after ${results['secondsUntilAllLoginsWork']} s (applying the CRs took ${applied / 1000} s)`);

  // 2. 1,000 servers + 1,000 databases, RSS.
  const t1 = Date.now();
  const moreServers = Array.from({ length: N_SERVERS - 1 }, (_, i) => `srv-${i}`);
  await inBatches(moreServers, 25, (n) => w.applyServer(n));
  const moreDbs = Array.from({ length: N_DATABASES - N_FIRST }, (_, i) => `more-${i}`);
  // Spread over the servers, as teams would.
  await inBatches(moreDbs, 25, (n) => w.applyDatabase(n, moreServers[Number(n.slice(5)) % moreServers.length]!));
  let ready = await countReady(w);
  while (ready.servers < N_SERVERS || ready.databases < N_DATABASES) {
    if (Date.now() - t1 > 1_800_000) throw new Error(`not all ready after 30 min: ${JSON.stringify(ready)}`);
    await new Promise((r) => setTimeout(r, 2000));
    ready = await countReady(w);
  }
  results['secondsUntil1000and1000Ready'] = (Date.now() - t1) / 1000;
  results['rssMiBAllReady'] = rssMiB(op.child.pid!);
  log(`${N_SERVERS} servers + ${N_DATABASES} databases ready after ${results['secondsUntil1000and1000Ready']} s; operator RSS ${results['rssMiBAllReady']} MiB`);

  // 3. Resync of ready objects: count API-server writes until every object was reconciled at
  // least once more (the operator's own reconcile counters tell), several resync periods long.
  await new Promise((r) => setTimeout(r, 3000)); // let in-flight writes of the last transitions land
  const reconciles = async () => {
    const text = await (await fetch(`http://127.0.0.1:${op!.healthPort}/metrics`)).text();
    const sum = (kind: string) => text.split('\n').filter((l) => l.startsWith('hybridcloud_postgresql_reconcile_total{') && l.includes(`kind="${kind}"`)).reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    return { servers: sum('PostgreSQLServer'), databases: sum('PostgreSQLDatabase') };
  };
  const before = await requestCounts(cp);
  const r0 = await reconciles();
  const w0 = Date.now();
  let r1 = r0;
  while (r1.servers - r0.servers < N_SERVERS || r1.databases - r0.databases < N_DATABASES) {
    if (Date.now() - w0 > 1_200_000) break;
    await new Promise((r) => setTimeout(r, 5000));
    r1 = await reconciles();
  }
  const windowS = Math.round((Date.now() - w0) / 1000);
  const after = await requestCounts(cp);
  const ours = new Set(['postgresqlservers', 'postgresqldatabases', 'secrets', 'events']);
  const writes = delta(before, after, (verb, resource) => WRITE_VERBS.has(verb) && ours.has(resource));
  const reads = delta(before, after, (verb, resource) => verb === 'GET' && (resource === 'postgresqlservers' || resource === 'postgresqldatabases' || resource === 'secrets'));
  const leaseWrites = delta(before, after, (verb, resource) => WRITE_VERBS.has(verb) && resource === 'leases');
  results['resyncReconciles'] = { servers: r1.servers - r0.servers, databases: r1.databases - r0.databases };
  results['resyncWindowSeconds'] = windowS;
  results['resyncObjectReadsInWindow'] = reads;
  results['resyncWritesInWindow'] = writes;
  results['resyncTotalWrites'] = Object.values(writes).reduce((a, b) => a + b, 0);
  results['leaderElectionLeaseWritesInWindow'] = leaseWrites;
  results['rssMiBAfterResync'] = rssMiB(op.child.pid!);
  log(`resync: ${JSON.stringify(results['resyncReconciles'])} reconciles of ready objects over ${windowS} s (resync_seconds=${RESYNC_SECONDS}): reads ${JSON.stringify(reads)}, writes to our resources ${JSON.stringify(writes)} (total ${results['resyncTotalWrites']}), lease renewals ${JSON.stringify(leaseWrites)}; RSS ${results['rssMiBAfterResync']} MiB`);
  mkdirSync(join(REPO, '.testenv'), { recursive: true });
  writeFileSync(join(REPO, '.testenv', 'bench-results.json'), JSON.stringify(results, null, 2));
  log(JSON.stringify(results));
  expect(results['secondsUntilAllLoginsWork']).toBeDefined();
});
