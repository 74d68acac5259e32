import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './binaries.js';
import { startOnFreePort, waitUntil } from './net.js';
import { supervise } from './processes.js';
import { installSystemDeps } from './systemDeps.js';

export interface Moto {
  /** e.g. http://127.0.0.1:40123 — AWS_ENDPOINT_URL_RDS or the SDK client's `endpoint`. */
  endpoint: string;
  pid: number;
  /** Forget every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function motoServerPath(): Promise<string> {
  const path = join(cacheDir(), 'moto-venv', 'bin', 'moto_server');
  if (existsSync(path)) return path;
  const how = await installSystemDeps();
  if (existsSync(path)) return path;
  throw new Error(`testenv: moto_server is missing at ${path} (${how}; it needs python3 with venv and PyPI moto[server])`);
}

export async function startMoto(opts: { logFile?: string; onUnexpectedExit?: (error: Error) => void } = {}): Promise<Moto> {
  const bin = await motoServerPath();
  return startOnFreePort('moto_server', async (port) => {
    const endpoint = `http://127.0.0.1:${port}`;
    const server = supervise('moto_server', bin, ['-H', '127.0.0.1', '-p', String(port)], {
      ...(opts.logFile ? { logFile: opts.logFile } : {}),
      ...(opts.onUnexpectedExit ? { onUnexpectedExit: opts.onUnexpectedExit } : {}),
    });
    await waitUntil('moto_server', async () => (await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2_000) })).ok, { child: server, timeoutMs: 60_000, intervalMs: 200 }).catch(async (err) => {
      await server.stop('SIGKILL');
      throw err;
    });
    return {
      endpoint,
      pid: server.pid,
      async reset() {
        const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
        if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
      },
      stop: () => server.stop('SIGTERM', 5_000),
    };
  });
}
