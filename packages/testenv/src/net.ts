import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Supervised } from './processes.js';

/** A port the kernel just handed out on 127.0.0.1. Another process may grab it before our child binds: callers retry. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const PORT_TAKEN = /address already in use|could not bind|bind: address|Address in use/i;

/**
 * Start a child on a fresh port; when it dies because the port was taken between our probe and its
 * bind, try again with another port. Any other death is thrown with the child's last log lines.
 */
export async function startOnFreePort<T>(what: string, start: (port: number) => Promise<T>, attempts = 4, pick: () => Promise<number> = freePort): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await pick();
    try {
      return await start(port);
    } catch (err) {
      if (attempt >= attempts || !PORT_TAKEN.test(String((err as Error).message))) throw err;
      process.stderr.write(`[testenv] ${what}: port ${port} was taken, trying another\n`);
    }
  }
}

/** Poll until probe() is true; fail early with the child's log when it dies, or after the timeout. */
export async function waitUntil(what: string, probe: () => Promise<boolean>, opts: { child?: Supervised; timeoutMs?: number; intervalMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let lastError = '';
  for (;;) {
    if (opts.child?.exited) {
      throw new Error(`${what}: ${opts.child.name} exited (code ${opts.child.exited.code ?? '-'}) before it was ready; last log lines:\n${opts.child.tail()}`);
    }
    try {
      // A probe may hang (a port that accepts but never answers): give each one a few seconds.
      const ok = await Promise.race([probe(), sleep(3_000).then(() => { throw new Error('probe timed out'); })]);
      if (ok) {
        opts.child?.markReady();
        return;
      }
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not ready after ${opts.timeoutMs ?? 60_000} ms${lastError ? ` (${lastError})` : ''}${opts.child ? `; last log lines:\n${opts.child.tail()}` : ''}`);
    }
    await sleep(opts.intervalMs ?? 100);
  }
}
