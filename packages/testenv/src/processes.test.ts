import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ensureBinary } from './binaries.js';
import { freePort, startOnFreePort, waitUntil } from './net.js';
import { isAlive, supervise, unexpectedExits, type ChildDiedError, type Supervised } from './processes.js';

/** Whether any process of the group still exists (a zombie counts until it is reaped). */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('process supervision', () => {
  it('reports a child that dies on its own with its last log lines', async () => {
    let child!: Supervised;
    const died = new Promise<ChildDiedError>((resolve) => {
      child = supervise('crasher', 'sh', ['-c', 'echo started; sleep 0.5; echo "fatal: disk on fire" >&2; exit 3'], { onUnexpectedExit: resolve });
    });
    await waitUntil('crasher', async () => child.tail().includes('started'), { child });
    const error = await died;
    expect(unexpectedExits()).toContain(error);
    expect(error.message).toMatch(/crasher exited unexpectedly \(code 3/);
    expect(error.logTail).toContain('started');
    expect(error.logTail).toContain('fatal: disk on fire');
  });

  it('escalates to SIGKILL when a child ignores the polite signal, leaving nothing behind', async () => {
    const child = supervise('stubborn', 'sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 1; done']);
    await waitUntil('stubborn', async () => child.tail().includes('ready'), { child });
    const started = Date.now();
    await child.stop('SIGTERM', 500);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(isAlive(child.pid)).toBe(false);
    // The whole group is gone (reaping the grandchildren may take a moment).
    await waitUntil('group to vanish', async () => !groupExists(child.pid), { timeoutMs: 5_000 });
  });

  it('kills the children when their owner is SIGKILLed (no exit hook can run then)', async () => {
    // A separate Node process owns a child; we kill the owner the hard way and watch the child die.
    const script = `
      const { supervise } = await import(${JSON.stringify(new URL('./processes.ts', import.meta.url).pathname)});
      const c = supervise('sleeper', 'sleep', ['1000']);
      console.log(c.pid);
      setInterval(() => {}, 1000);`;
    const owner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const childPid = await new Promise<number>((resolve, reject) => {
      owner.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      owner.once('exit', (code) => reject(new Error(`owner exited early (${code})`)));
    });
    expect(isAlive(childPid)).toBe(true);
    owner.kill('SIGKILL');
    await waitUntil('orphaned group to die', async () => !groupExists(childPid), { timeoutMs: 5_000 });
  });

  it('picks another port when the chosen one is taken (real etcd)', async () => {
    const etcd = await ensureBinary('etcd');
    const blocker = createServer();
    const taken = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
    const tried: number[] = [];
    const pick = async (): Promise<number> => (tried.length === 0 ? Promise.resolve(taken) : freePort()).then((p) => (tried.push(p), p));
    try {
      const started = await startOnFreePort('etcd', async (port) => {
        const dir = `/tmp/testenv-etcd-port-${process.pid}-${port}`;
        const child = supervise('etcd', etcd, [`--data-dir=${dir}`, `--listen-client-urls=http://127.0.0.1:${port}`, `--advertise-client-urls=http://127.0.0.1:${port}`, '--listen-peer-urls=http://127.0.0.1:0', '--unsafe-no-fsync=true']);
        await waitUntil('etcd', async () => (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) })).ok, { child, timeoutMs: 20_000 }).catch(async (err) => {
          await child.stop('SIGKILL');
          throw err;
        });
        return { port, child, dir };
      }, 4, pick);
      expect(tried[0]).toBe(taken);
      expect(started.port).not.toBe(taken);
      expect(tried).toHaveLength(2);
      await started.child.stop();
      await import('node:fs').then((fs) => fs.rmSync(started.dir, { recursive: true, force: true }));
    } finally {
      blocker.close();
    }
  });
});

describe('temp dirs', () => {
  it('sweeps the dirs of owners that died without cleaning up', async () => {
    const { mkdtempSync, writeFileSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const orphan = mkdtempSync(join(tmpdir(), 'testenv-cp-'));
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    writeFileSync(join(orphan, '.owner'), String(dead.pid));
    const { ownedTempDir, sweepOrphanTempDirs } = await import('./tempDirs.js');
    const mine = ownedTempDir('cp');
    sweepOrphanTempDirs();
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(mine.dir)).toBe(true);
    mine.remove();
    expect(existsSync(mine.dir)).toBe(false);
  });
});
