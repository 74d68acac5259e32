/**
 * What the kit looks at: the CRs and Secrets on the real kube-apiserver, and logins with the real
 * `psql`, the way an application would use a credentials Secret.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { decodeSecret, GROUP, VERSION, type ConnectionResolver, type PostgreSQLDatabase, type PostgreSQLServer } from '@hybridcloud-postgresql/core';

export type Kind = 'server' | 'database';
const PLURAL: Record<Kind, string> = { server: 'postgresqlservers', database: 'postgresqldatabases' };
const KIND: Record<Kind, string> = { server: 'PostgreSQLServer', database: 'PostgreSQLDatabase' };
export type Cr = PostgreSQLServer | PostgreSQLDatabase;

export const readyOf = (o: Cr | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');
export const isReady = (o: Cr | undefined) => readyOf(o)?.status === 'True' && o?.status?.observedGeneration === o?.metadata.generation;

export class World {
  private readonly co: CustomObjectsApi;
  private readonly core: CoreV1Api;
  constructor(readonly kc: KubeConfig, readonly ns: string) {
    this.co = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }
  private ref(kind: Kind) {
    return { group: GROUP, version: VERSION, namespace: this.ns, plural: PLURAL[kind] };
  }
  async create(kind: Kind, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Promise<void> {
    await this.co.createNamespacedCustomObject({ ...this.ref(kind), body: { apiVersion: `${GROUP}/${VERSION}`, kind: KIND[kind], metadata: { name, namespace: this.ns, ...(labels ? { labels } : {}) }, spec } });
  }
  async get(kind: Kind, name: string): Promise<Cr | undefined> {
    return (await this.co.getNamespacedCustomObject({ ...this.ref(kind), name }).catch(() => undefined)) as Cr | undefined;
  }
  async patch(kind: Kind, name: string, body: Record<string, unknown>): Promise<void> {
    await this.co.patchNamespacedCustomObject({ ...this.ref(kind), name, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  }
  async delete(kind: Kind, name: string): Promise<void> {
    await this.co.deleteNamespacedCustomObject({ ...this.ref(kind), name });
  }
  async secret(name: string): Promise<Record<string, string> | undefined> {
    const s = await this.core.readNamespacedSecret({ namespace: this.ns, name }).catch(() => undefined);
    return s ? decodeSecret(s) : undefined;
  }
  async events(name: string): Promise<Array<{ type?: string; reason?: string; message?: string }>> {
    return (await this.core.listNamespacedEvent({ namespace: this.ns })).items.filter((e) => e.involvedObject.name === name);
  }
}

/** Polls until `fn` returns something truthy; the error names what was awaited and the last state. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs: number, describe?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const state = describe ? await describe().catch(() => '') : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `; last error: ${(last as Error).message}` : ''}${state ? `; state: ${state}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}

export interface PsqlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `psql` with the values of a credentials Secret, as an application would. The resolver maps
 * the Secret's host to where the test reaches the server (cloud hostnames → the stand-in); libpq's
 * verify-* modes become `require` because the test has no CA bundle of the cloud.
 */
export async function psqlWith(psqlBin: string, data: Record<string, string>, sql: string, resolver?: ConnectionResolver, target?: { namespace: string; name: string; backend: string }): Promise<PsqlResult> {
  const host = data['host'] ?? data['hostname'] ?? '';
  const port = Number(data['port'] ?? 5432);
  const to = resolver && target ? await resolver.resolve(target, { host, port, sslmode: data['sslmode'] ?? 'prefer', adminUsername: data['username'] ?? '' }) : { host, port };
  const sslmode = /^verify-/.test(data['sslmode'] ?? '') ? 'require' : (data['sslmode'] ?? 'prefer');
  return new Promise((resolve) => {
    const child = spawn(psqlBin, ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
      env: { PATH: process.env['PATH'] ?? '', PGHOST: to.host, PGPORT: String(to.port), PGUSER: data['username'] ?? '', PGPASSWORD: data['password'] ?? '', PGDATABASE: data['dbname'] ?? data['database'] ?? 'postgres', PGSSLMODE: sslmode, PGCONNECT_TIMEOUT: '5' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() }));
  });
}

export const psqlPath = (binDir: string) => join(binDir, 'psql');
