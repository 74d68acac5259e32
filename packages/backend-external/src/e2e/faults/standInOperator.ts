/**
 * The operator's CLI (core's runCli, the production code path) with one addition for tests that
 * run a cloud backend as a child process: SQL to a fake cloud host (RDS endpoints from moto, which
 * cannot be connected to) goes to the stand-in PostgreSQL named in HC_STAND_IN (host:port); with
 * HC_RESOLVER_URL, in-cluster service names (`<svc>.<ns>.svc[.cluster.local]`, the helm backends'
 * hosts) and, without HC_STAND_IN, fake cloud hosts are resolved by the test process
 * (POST {server, host, port} → {host, port}): the kubelet simulator's resolver, which follows the
 * Service's selector to the pod's local PostgreSQL as kube-proxy would, or the Azure stand-in
 * gateway's listener for that server. Anything else is connected to as it is.
 * Run by Node directly (type stripping), so it imports built packages only.
 */
import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { runCli, type CliIo } from '@hybridcloud-postgresql/core';

const standIn = process.env['HC_STAND_IN'];
const [host = '127.0.0.1', port = '5432'] = (standIn ?? '').split(':');
const fakeHost = /\.(rds\.amazonaws\.com|postgres\.database\.azure\.com)$/;
const serviceHost = /^[^.]+\.[^.]+\.svc(\.cluster\.local)?$/;
const resolverUrl = process.env['HC_RESOLVER_URL'];

async function resolve(server: unknown, endpoint: { host: string; port: number }): Promise<{ host: string; port: number }> {
  if (fakeHost.test(endpoint.host) && (standIn || !resolverUrl)) return { host, port: Number(port) };
  if (resolverUrl && (serviceHost.test(endpoint.host) || fakeHost.test(endpoint.host))) {
    const res = await fetch(resolverUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ server, host: endpoint.host, port: endpoint.port }), signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { host?: string; port?: number; error?: string };
    if (!res.ok || !body.host || !body.port) throw new Error(body.error ?? `resolver: ${res.status}`);
    return { host: body.host, port: body.port };
  }
  return { host: endpoint.host, port: endpoint.port };
}
const io: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  // As if started through core's own bin (plugin discovery looks upwards from the entry script).
  entryScript: fileURLToPath(new URL('./cli.js', import.meta.resolve('@hybridcloud-postgresql/core'))),
  connectionResolver: { resolve: (server, endpoint) => resolve(server, endpoint) },
};

runCli(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 70;
  },
);
