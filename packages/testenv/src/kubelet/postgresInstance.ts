/**
 * One real PostgreSQL server standing in for a pod: `initdb` into a data directory (the simulated
 * volume, which survives restarts and re-installs like a PersistentVolumeClaim does), started as
 * the `postgres` system user (PostgreSQL refuses to run as root) on a free local port, supervised
 * like every testenv child so it dies with the test process even on SIGKILL.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitUntil } from '../net.js';
import { pgBinDir } from '../postgres.js';
import { supervise, type Supervised } from '../processes.js';
import { runTool } from '../tools.js';

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('kubelet simulator: running as root but there is no `postgres` user to run PostgreSQL as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface PostgresInit {
  superuser: string;
  password: string;
  /** pg_hba method (YugabyteDB uses md5). */
  auth?: 'scram-sha-256' | 'md5';
  /** Databases the image creates at init (YugabyteDB: `yugabyte`). */
  databases?: string[];
}

export class PostgresInstance {
  port = 0;
  private server: Supervised | undefined;

  /** `volumeDir`: the directory standing in for the volume (data lives in `<volumeDir>/data`). */
  constructor(private readonly volumeDir: string) {}

  get dataDir(): string {
    return join(this.volumeDir, 'data');
  }

  get initialised(): boolean {
    return existsSync(join(this.dataDir, 'PG_VERSION'));
  }

  get isRunning(): boolean {
    return this.server !== undefined && this.server.exited === undefined;
  }

  /** Like an image's entrypoint: initialise only an empty volume (the password is read only then). */
  async start(init: PostgresInit): Promise<void> {
    const bin = await pgBinDir();
    const owner = postgresUser();
    const as = { ...(owner ?? {}), cwd: this.volumeDir };
    mkdirSync(this.volumeDir, { recursive: true, mode: 0o700 });
    if (owner) chownSync(this.volumeDir, owner.uid, owner.gid);
    const fresh = !this.initialised;
    if (fresh) {
      const pwfile = join(this.volumeDir, 'pwfile');
      writeFileSync(pwfile, `${init.password}\n`, { mode: 0o600 });
      if (owner) chownSync(pwfile, owner.uid, owner.gid);
      try {
        await runTool(join(bin, 'initdb'), ['-D', this.dataDir, '-U', init.superuser, `--pwfile=${pwfile}`, `--auth=${init.auth ?? 'scram-sha-256'}`, '--encoding=UTF8', '--locale=C', '--no-sync'], as);
      } finally {
        rmSync(pwfile, { force: true });
      }
    }
    this.port = await freePort();
    const server = supervise('kubelet-postgres', join(bin, 'postgres'), [
      '-D', this.dataDir, '-p', String(this.port),
      '-c', 'listen_addresses=127.0.0.1',
      // TCP only: a socket under the volume directory would exceed the 107-byte limit of socket
      // paths with long claim names (<fullname>-datadir0-<fullname>-yb-tserver-0).
      '-c', 'unix_socket_directories=',
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'max_connections=60', '-c', 'shared_buffers=16MB',
    ], as);
    this.server = server;
    await waitUntil('postgres', async () => {
      await runTool(join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(this.port)]);
      return true;
    }, { child: server, timeoutMs: 60_000, intervalMs: 100 });
    server.markReady();
    if (fresh) {
      for (const db of init.databases ?? []) {
        await runTool(join(bin, 'psql'), ['-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(this.port), '-U', init.superuser, '-d', 'postgres', '-c', `CREATE DATABASE "${db}"`], {
          env: { ...process.env, PGPASSWORD: init.password },
        });
      }
    }
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    // SIGINT = fast shutdown
    await s?.stop('SIGINT', 10_000);
  }

  /** The volume was deleted. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.volumeDir, { recursive: true, force: true });
  }
}
