/**
 * The installed product, end to end: `helm install` of the operator chart, then the operator runs
 * as the Deployment's pod would — the image's runtime layout (docker/assemble-runtime.sh) and
 * ENTRYPOINT, the container's env and envFrom Secret, the ConfigMap read back from the apiserver,
 * and the ServiceAccount's own token — so that the RBAC the chart grants is all it has.
 * examples/local.yaml and examples/two-teams.yaml are applied for real on the `external` backend
 * and their credentials Secrets log in to a real PostgreSQL.
 *
 * The chart's namespaced mode (operator.watch_namespaces) is used: the operator must not touch
 * the other test files' objects on the shared control plane, and Roles are the stricter grant
 * (the ClusterRole carries the same rules cluster-wide).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCrds, createTestNamespace, freePort, startPostgres, useControlPlane, type ControlPlane, type Postgres } from '@hybridcloud-postgresql/testenv';
import { assembleRuntime, CHART, CRD_CHART, helm, kubectl, parseAllDocuments, parseYaml, REPO, stringify, valuesFile, type K8sObject } from './helpers.js';

const IMAGE_HOME = '/opt/hybridcloud-postgresql';
let cp: ControlPlane;
let pgs: Postgres;
let ns: string;
let home: string;
let work: string;
const teams = new Map<string, string>(); // namespace in the example → test namespace
let operator: ChildProcess | undefined;
let output = '';
const release = () => `e2e-${ns.slice(-8)}`;
const saName = () => `${release()}-hybrid-cloud-postgresql-operator`;

interface Container {
  args: string[];
  env: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  envFrom?: Array<{ secretRef: { name: string } }>;
}

async function json<T>(args: string[]): Promise<T | undefined> {
  const r = await kubectl(cp, [...args, '-o', 'json']);
  return r.ok ? (JSON.parse(r.stdout) as T) : undefined;
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 50_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (operator?.exitCode !== null && operator?.exitCode !== undefined) throw new Error(`operator exited (${operator.exitCode}) while waiting for ${what}:\n${output.slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; operator output:\n${output.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

type Cr = K8sObject & { status?: { conditions?: Array<{ type: string; status: string; reason?: string }> } };
const ready = async (kind: string, namespace: string, name: string) => {
  const o = await json<Cr>(['-n', namespace, 'get', kind, name]);
  return o?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? o : undefined;
};
const secret = async (namespace: string, name: string) => {
  const s = await json<{ data: Record<string, string> }>(['-n', namespace, 'get', 'secret', name]);
  return s ? Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) : undefined;
};
/** Logs in as an application would, with the Secret's values. */
const login = (data: Record<string, string>, sql: string) => pgs.psql(sql, { user: data['username']!, password: data['password']!, database: data['dbname']! });

/** An example file with its namespaces mapped to test namespaces (Namespace objects dropped). */
function example(file: string): string {
  const objs = parseAllDocuments(readFileSync(join(REPO, 'examples', file), 'utf8')).map((d) => d.toJS() as K8sObject).filter(Boolean);
  return objs
    .filter((o) => o.kind !== 'Namespace')
    .map((o) => stringify({ ...o, metadata: { ...o.metadata, namespace: teams.get(o.metadata.namespace ?? 'default') } }))
    .join('---\n');
}

beforeAll(async () => {
  cp = await useControlPlane();
  await applyCrds(cp);
  pgs = await startPostgres();
  ns = await createTestNamespace(cp, 'e2e-operator');
  for (const team of ['default', 'team-alpha', 'team-beta']) teams.set(team, await createTestNamespace(cp, `e2e-${team}`));

  // The image's runtime layout, as the Dockerfile assembles it.
  const base = mkdtempSync(join(tmpdir(), 'chart-e2e-'));
  home = join(base, 'opt', 'hybridcloud-postgresql');
  work = join(base, 'work');
  mkdirSync(work, { recursive: true });
  assembleRuntime(home);

  // The admin's install: credentials in an envSecret, the config in operatorConfig.
  await kubectl(cp, ['-n', ns, 'create', 'secret', 'generic', 'operator-env', `--from-literal=PG_ADMIN_PASSWORD=${pgs.password}`]);
  const operatorConfig = stringify({
    backend: 'external',
    backends: { external: { host: pgs.host, port: pgs.port, sslmode: 'disable', admin_username: pgs.superuser, admin_password_env: 'PG_ADMIN_PASSWORD' } },
    operator: { watch_namespaces: [...teams.values()], health_port: await freePort(), resync_seconds: 30, leader_election: { lease_name: `hcpg-${ns}` } },
  });
  const crds = await helm(cp, ['upgrade', '--install', '--take-ownership', `crds-${ns.slice(-8)}`, CRD_CHART, '-n', ns]);
  expect(crds.ok, crds.stderr).toBe(true);
  const r = await helm(cp, ['install', release(), CHART, '-n', ns, '-f', valuesFile(cp, { operatorConfig, envSecret: 'operator-env' })]);
  expect(r.ok, r.stderr).toBe(true);
}, 400_000);

afterAll(async () => {
  if (operator && operator.exitCode === null) {
    operator.kill('SIGTERM');
    await new Promise((res) => operator!.once('exit', res));
  }
  await pgs?.stop();
  if (home) rmSync(join(home, '..', '..'), { recursive: true, force: true });
});

describe('the operator as the chart deploys it', () => {
  it('starts from the Deployment\'s pod spec, the ConfigMap and the ServiceAccount token', async () => {
    const dep = (await json<{ spec: { template: { spec: { serviceAccountName: string; containers: Container[]; volumes: Array<{ name: string; configMap?: { name: string } }> } } } }>(['-n', ns, 'get', 'deployment', saName()]))!;
    const pod = dep.spec.template.spec;
    expect(pod.serviceAccountName).toBe(saName());
    const c = pod.containers[0]!;

    // The mounted ConfigMap, read back from the apiserver.
    const cmName = pod.volumes.find((v) => v.name === 'config')!.configMap!.name;
    const cm = (await json<{ data: Record<string, string> }>(['-n', ns, 'get', 'configmap', cmName]))!;
    mkdirSync(join(work, 'operator-config'));
    writeFileSync(join(work, 'operator-config', 'config.yaml'), cm.data['config.yaml']!);

    // env (downward API resolved as the kubelet would) and envFrom.
    const podName = `${saName()}-7d9f8c-abcde`;
    const map = (v: string) => v.replaceAll(IMAGE_HOME, home).replace(/^\/operator-config\//, `${join(work, 'operator-config')}/`).replace(/^\/tmp$/, work);
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
    for (const e of c.env) {
      const field = e.valueFrom?.fieldRef?.fieldPath;
      env[e.name] = field === 'metadata.namespace' ? ns : field === 'metadata.name' ? podName : map(e.value ?? '');
    }
    for (const from of c.envFrom ?? []) Object.assign(env, await secret(ns, from.secretRef.name));
    expect(env['OPERATOR_CONFIG']).toBe(join(work, 'operator-config', 'config.yaml'));

    // The ServiceAccount's own credentials (what the kubelet mounts), nothing else.
    env['KUBECONFIG'] = cp.writeKubeconfig(await cp.kubeConfigForServiceAccount(ns, saName()), join(work, 'kubeconfig'));

    const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
    const entrypoint = (JSON.parse(/^ENTRYPOINT (.+)$/m.exec(dockerfile)![1]!) as string[]).map(map);
    operator = spawn(process.execPath, [...entrypoint.slice(1), ...c.args], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    operator.stdout!.on('data', (b: Buffer) => (output += b.toString('utf8')));
    operator.stderr!.on('data', (b: Buffer) => (output += b.toString('utf8')));

    const port = (parseYaml(cm.data['config.yaml']!) as { operator: { health_port: number } }).operator.health_port;
    await eventually('/readyz', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok);
    const lease = await eventually('the Lease', () => json<{ spec: { holderIdentity: string } }>(['-n', ns, 'get', 'lease', `hcpg-${ns}`]));
    expect(lease.spec.holderIdentity).toContain(podName);
  });

  it('serves examples/local.yaml: server and database Ready, the Secret logs in', async () => {
    const applied = await kubectl(cp, ['apply', '-f', '-'], { input: example('local.yaml') });
    expect(applied.ok, applied.stderr).toBe(true);
    const demo = teams.get('default')!;
    await eventually('demoteam Ready', () => ready('postgresqlserver', demo, 'demoteam'));
    await eventually('demoservice Ready', () => ready('postgresqldatabase', demo, 'demoservice'));
    const creds = (await secret(demo, 'demoservice-postgres-credentials'))!;
    for (const key of ['host', 'hostname', 'port', 'dbname', 'username', 'password', 'sslmode', 'uri', 'jdbc-uri']) expect(creds[key], key).toBeTruthy();
    const out = await login(creds, "CREATE EXTENSION IF NOT EXISTS citext; CREATE TABLE notes (t citext); INSERT INTO notes VALUES ('Hello'); SELECT count(*) FROM notes WHERE t = 'hello';");
    expect(out.stdout).toMatch(/\b1\b/);
  });

  it('serves examples/two-teams.yaml: same names in two namespaces, each team its own database', async () => {
    const applied = await kubectl(cp, ['apply', '-f', '-'], { input: example('two-teams.yaml') });
    expect(applied.ok, applied.stderr).toBe(true);
    const alpha = teams.get('team-alpha')!;
    const beta = teams.get('team-beta')!;
    await eventually('alpha-app Ready', () => ready('postgresqldatabase', alpha, 'alpha-app'));
    await eventually('beta-app Ready', () => ready('postgresqldatabase', beta, 'beta-app'));
    const a = (await secret(alpha, 'alpha-app-postgres-credentials'))!;
    const b = (await secret(beta, 'beta-app-postgres-credentials'))!;
    expect(a['dbname']).not.toBe(b['dbname']);
    expect((await login(a, 'SELECT current_database();')).stdout).toContain(a['dbname']);
    // Team beta's user cannot open team alpha's database.
    await expect(login({ ...b, dbname: a['dbname']! }, 'SELECT 1;')).rejects.toThrow();
  });

  it('resets a password on the label, as in examples/reset-password.md', async () => {
    const demo = teams.get('default')!;
    const before = (await secret(demo, 'demoservice-postgres-credentials'))!;
    await kubectl(cp, ['-n', demo, 'label', 'postgresqldatabase', 'demoservice', 'operator/action=reset-password']);
    const after = await eventually('a new password', async () => {
      const s = await secret(demo, 'demoservice-postgres-credentials');
      const o = await json<K8sObject>(['-n', demo, 'get', 'postgresqldatabase', 'demoservice']);
      return s && s['password'] !== before['password'] && !o?.metadata.labels?.['operator/action'] ? s : undefined;
    });
    expect((await login(after, 'SELECT count(*) FROM notes;')).stdout).toMatch(/\b1\b/);
    await expect(login(before, 'SELECT 1;')).rejects.toThrow();
  });

  it('deletes through its finalizers and records Events, never hitting a permission error', async () => {
    const demo = teams.get('default')!;
    const del = await kubectl(cp, ['delete', '--wait=true', '--timeout=90s', '-f', '-'], { input: example('local.yaml') });
    expect(del.ok, del.stderr + output.slice(-3000)).toBe(true);
    const events = (await json<{ items: Array<{ reason: string }> }>(['-n', demo, 'get', 'events']))!;
    expect(events.items.length).toBeGreaterThan(0);
    expect(output).not.toMatch(/forbidden|\b403\b/i);
  });
});
