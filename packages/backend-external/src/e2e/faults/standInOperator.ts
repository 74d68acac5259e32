/**
 * The operator's CLI (core's runCli, the production code path) with one addition for tests that
 * run a cloud backend as a child process: SQL to a fake cloud host (RDS endpoints from moto, which
 * cannot be connected to) goes to the stand-in PostgreSQL named in HC_STAND_IN (host:port).
 * Run by Node directly (type stripping), so it imports built packages only.
 */
import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { runCli, type CliIo } from '@hybridcloud-postgresql/core';

const [host = '127.0.0.1', port = '5432'] = (process.env['HC_STAND_IN'] ?? '').split(':');
const fakeHost = /\.(rds\.amazonaws\.com|postgres\.database\.azure\.com)$/;
const io: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  // As if started through core's own bin (plugin discovery looks upwards from the entry script).
  entryScript: fileURLToPath(new URL('./cli.js', import.meta.resolve('@hybridcloud-postgresql/core'))),
  connectionResolver: { resolve: async (_server, endpoint) => (fakeHost.test(endpoint.host) ? { host, port: Number(port) } : { host: endpoint.host, port: endpoint.port }) },
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
