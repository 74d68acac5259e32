/**
 * One real PostgreSQL server standing in for a pod: `initdb` into a data directory (the simulated
 * volume, which survives restarts and re-installs like a PersistentVolumeClaim does), started with
 * pg_ctl as the `postgres` system user (PostgreSQL refuses to run as root) on a free local port.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PG_BIN = process.env['PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

function asPostgres(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  const opts = { timeout: 120_000, ...(env ? { env: { ...process.env, ...env } } : {}) };
  if (process.getuid?.() === 0) return run('runuser', ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args], opts);
  return run(join(PG_BIN, cmd), args, opts);
}

function postgresIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return { uid: 101, gid: 104 };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export class PostgresInstance {
  port = 0;
  private running = false;

  /** `volumeDir`: the directory standing in for the volume (data lives in `<volumeDir>/data`). */
  constructor(private readonly volumeDir: string) {}

  get dataDir(): string {
    return join(this.volumeDir, 'data');
  }

  get initialised(): boolean {
    return existsSync(join(this.dataDir, 'PG_VERSION'));
  }

  /** Like an image's entrypoint: initialise only an empty volume (the password is read only then). */
  async start(init: { superuser: string; password: string; auth?: 'scram-sha-256' | 'md5'; databases?: string[] }): Promise<void> {
    const fresh = !this.initialised;
    const ids = postgresIds();
    mkdirSync(this.volumeDir, { recursive: true, mode: 0o700 });
    if (ids) chownSync(this.volumeDir, ids.uid, ids.gid);
    if (!this.initialised) {
      const pwfile = join(this.volumeDir, 'pwfile');
      writeFileSync(pwfile, `${init.password}\n`, { mode: 0o600 });
      if (ids) chownSync(pwfile, ids.uid, ids.gid);
      try {
        await asPostgres('initdb', ['-D', this.dataDir, '-U', init.superuser, `--pwfile=${pwfile}`, `--auth=${init.auth ?? 'scram-sha-256'}`, '-E', 'UTF8', '--locale=C.UTF-8']);
      } finally {
        rmSync(pwfile, { force: true });
      }
    }
    this.port = await freePort();
    await asPostgres('pg_ctl', ['-D', this.dataDir, '-l', join(this.volumeDir, 'log'), '-w', '-t', '60', '-o', `-p ${this.port} -k ${this.volumeDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40 -c shared_buffers=16MB`, 'start']);
    this.running = true;
    if (fresh) {
      for (const db of init.databases ?? []) {
        await asPostgres('psql', ['-h', this.volumeDir, '-p', String(this.port), '-U', init.superuser, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE "${db}"`], { PGPASSWORD: init.password });
      }
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await asPostgres('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** The volume was deleted. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.volumeDir, { recursive: true, force: true });
  }
}
