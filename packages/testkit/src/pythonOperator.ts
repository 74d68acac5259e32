/**
 * What the Python operator (kopf 1.38) leaves behind, for adoption tests: its CRs and its
 * credentials Secrets, written the way it wrote them.
 */
import { GROUP, KOPF_FINALIZER, VERSION } from '@hybridcloud-postgresql/core';
import type { ControlPlane } from '@hybridcloud-postgresql/testenv';

/** A PostgreSQLServer as kopf leaves it: its finalizer, last-handled-configuration, status.backend/deployment and status.kopf. */
export async function pythonOperatorServer(cp: ControlPlane, namespace: string, name: string, spec: Record<string, unknown>, backend: string): Promise<void> {
  const cr = {
    apiVersion: `${GROUP}/${VERSION}`, kind: 'PostgreSQLServer',
    metadata: { name, namespace, finalizers: [KOPF_FINALIZER], annotations: { 'kopf.zalando.org/last-handled-configuration': JSON.stringify({ spec }) } },
    spec,
  };
  await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(cr) });
  const status = { status: { backend, deployment: { status: 'finished', reason: 'Database server created', 'latest-update': '2025-03-01T10:00:00.123456+00:00' }, kopf: { progress: {} } } };
  await cp.kubectl(['patch', '-n', namespace, 'postgresqlservers', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
}

/** A credentials Secret as the Python operator wrote it: string_data, Opaque, no labels or owner. */
export async function pythonOperatorSecret(cp: ControlPlane, namespace: string, name: string, data: Record<string, string>): Promise<void> {
  await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace }, stringData: data }) });
}
