/**
 * Upgrading from the Python operator's CRD chart (same chart name) with `helm upgrade`, on an own
 * control plane: existing objects survive, their status (backend, deployment, kopf progress) is kept,
 * objects that are invalid under the new CEL rules can still be updated in unrelated fields (CRD
 * validation ratcheting), and uninstalling the chart keeps the CRDs and every object.
 *
 * The old chart is rebuilt here from the documented shape of the original's
 * templates/postgresql.yaml: both CRDs in one file, no status subresource, status and the
 * database spec with x-kubernetes-preserve-unknown-fields.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownedTempDir, startControlPlane, type ControlPlane } from '@hybridcloud-postgresql/testenv';

const CHART = resolve(import.meta.dirname, '..');
let cp: ControlPlane;

const str = { type: 'string' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };
const legacyStatus = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, nullable: true };

function legacyCrd(plural: string, kind: string, shortNames: string[], spec: object): object {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.hybridcloud.maibornwolff.de` },
    spec: {
      scope: 'Namespaced',
      group: 'hybridcloud.maibornwolff.de',
      names: { kind, plural, singular: plural.slice(0, -1), shortNames },
      versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec, status: legacyStatus } } } }],
    },
  };
}

function writeLegacyChart(): string {
  const dir = ownedTempDir('legacy-crds').dir;
  mkdirSync(join(dir, 'templates'));
  writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: hybrid-cloud-postgresql-operator-crds\nversion: 0.5.9\n');
  const server = legacyCrd('postgresqlservers', 'PostgreSQLServer', ['pg', 'postgre', 'postgres'], {
    type: 'object',
    required: ['credentialsSecret'],
    properties: {
      backend: str, credentialsSecret: str, version: str,
      size: { type: 'object', properties: { class: str, cpu: int, memoryMB: int, storageGB: int, storageAutoGrow: bool } },
      backup: { type: 'object', properties: { retentionDays: int, geoRedundant: bool } },
      extensions: { type: 'array', items: str },
      network: { type: 'object', properties: { firewallRules: { type: 'array', items: { type: 'object', required: ['name', 'startIp', 'endIp'], properties: { name: str, startIp: str, endIp: str } } } } },
      serverParameters: { type: 'object', additionalProperties: str },
      maintenance: { type: 'object', properties: { window: { type: 'object', required: ['weekday', 'starttime'], properties: { weekday: str, starttime: str } } } },
      highavailability: { type: 'object', properties: { enabled: bool } },
    },
  });
  const database = legacyCrd('postgresqldatabases', 'PostgreSQLDatabase', ['pgdb', 'database', 'db'], {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    required: ['serverRef', 'credentialsSecret'],
    properties: {
      serverRef: { type: 'object', required: ['name'], properties: { name: str } },
      database: { type: 'object', properties: { charset: str, collation: str, extensions: { type: 'array', items: str } } },
      credentialsSecret: str,
    },
  });
  writeFileSync(join(dir, 'templates', 'postgresql.yaml'), `${JSON.stringify(server)}\n---\n${JSON.stringify(database)}\n`);
  return dir;
}

async function kubectlJson(args: string[]): Promise<Record<string, any>> {
  return JSON.parse((await cp.kubectl([...args, '-o', 'json'])).stdout) as Record<string, any>;
}

beforeAll(async () => {
  cp = await startControlPlane();
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

describe('helm upgrade from the Python operator CRD chart', () => {
  it('keeps objects and their status, ratchets old invalid values, and keeps CRDs on uninstall', async () => {
    await cp.helm(['install', 'pg-crds', writeLegacyChart()]);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/postgresqlservers.hybridcloud.maibornwolff.de', 'crd/postgresqldatabases.hybridcloud.maibornwolff.de']);
    await cp.kubectl(['create', 'namespace', 'team']);
    // Written the way kopf did: status on the main object, progress under status.kopf.
    const legacyServer = {
      apiVersion: 'hybridcloud.maibornwolff.de/v1alpha1',
      kind: 'PostgreSQLServer',
      metadata: { name: 'old', namespace: 'team', finalizers: ['kopf.zalando.org/KopfFinalizerMarker'] },
      spec: { credentialsSecret: 'old-credentials', size: { storageGB: 32 }, maintenance: { window: { weekday: 'Wednesday', starttime: '3:00' } } },
      status: { backend: 'helmbitnami', deployment: { status: 'finished', reason: 'Database server created', 'latest-update': '2024-01-01T10:00:00.123456+00:00' }, kopf: { progress: { 'postgresql_server_handler/update': { retries: 0 } } } },
    };
    await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(legacyServer) });
    await cp.kubectl(['create', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'hybridcloud.maibornwolff.de/v1alpha1', kind: 'PostgreSQLDatabase', metadata: { name: 'olddb', namespace: 'team' }, spec: { serverRef: { name: 'old' }, credentialsSecret: 'olddb-credentials', databse: { charset: 'UTF8' } } }),
    });

    await cp.helm(['upgrade', 'pg-crds', CHART]);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/postgresqlservers.hybridcloud.maibornwolff.de']);
    const crd = await kubectlJson(['get', 'crd', 'postgresqlservers.hybridcloud.maibornwolff.de']);
    expect(crd['spec'].versions[0].subresources).toEqual({ status: {} });

    const server = await kubectlJson(['get', 'postgresqlserver', 'old', '-n', 'team']);
    expect(server['status'].backend).toBe('helmbitnami');
    expect(server['status'].deployment.status).toBe('finished');
    expect(server['status'].kopf).toEqual(legacyServer.status.kopf);

    // The stored weekday/starttime break the new CEL rules; unrelated updates still work (ratcheting) ...
    await cp.kubectl(['label', 'postgresqlserver', 'old', '-n', 'team', 'operator/action=reset-password']);
    await cp.kubectl(['patch', 'postgresqlserver', 'old', '-n', 'team', '--type=merge', '-p', '{"metadata":{"finalizers":["hybridcloud.maibornwolff.de/finalizer"]}}']);
    // ... but touching the invalid field itself must produce a valid value.
    await expect(cp.kubectl(['patch', 'postgresqlserver', 'old', '-n', 'team', '--type=merge', '-p', '{"spec":{"maintenance":{"window":{"weekday":"Thursday","starttime":"3:00"}}}}'])).rejects.toThrow(/weekday must be one of/);
    // The status subresource now takes the operator's status writes.
    await cp.kubectl(['patch', 'postgresqlserver', 'old', '-n', 'team', '--subresource=status', '--type=merge', '-p', '{"status":{"kopf":null,"observedGeneration":1}}']);
    expect((await kubectlJson(['get', 'pg', 'old', '-n', 'team']))['status'].kopf).toBeUndefined();

    // The database with a typo stored under the old preserve-unknown spec stays usable; the unknown field is pruned.
    await cp.kubectl(['label', 'postgresqldatabase', 'olddb', '-n', 'team', 'migrated=yes']);
    const db = await kubectlJson(['get', 'pgdb', 'olddb', '-n', 'team']);
    expect(db['metadata'].labels.migrated).toBe('yes');
    expect(db['spec'].databse).toBeUndefined();

    // Uninstalling the chart must not take every server and database with it.
    await cp.helm(['uninstall', 'pg-crds']);
    await cp.kubectl(['get', 'crd', 'postgresqlservers.hybridcloud.maibornwolff.de', 'postgresqldatabases.hybridcloud.maibornwolff.de']);
    expect((await kubectlJson(['get', 'pg', 'old', '-n', 'team']))['metadata'].name).toBe('old');
  }, 180_000);
});
