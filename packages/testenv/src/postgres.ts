import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOnFreePort, waitUntil } from './net.js';
import { supervise } from './processes.js';
import { ownedTempDir } from './tempDirs.js';
import { installSystemDeps } from './systemDeps.js';
import { runTool, type ToolResult } from './tools.js';

export interface Postgres {
  host: string;
  port: number;
  superuser: string;
  password: string;
  /** Directory of the unix socket (also a valid PGHOST). */
  socketDir: string;
  pid: number;
  /** Where initdb, postgres and psql of this server live. */
  binDir: string;
  connectionString(database?: string): string;
  /** Runs SQL with the real psql (superuser unless told otherwise); rejects on the first error. */
  psql(sql: string, opts?: { user?: string; password?: string; database?: string }): Promise<ToolResult>;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Major version; default: the newest installed under /usr/lib/postgresql. */
  version?: number;
  /** Superuser password; default: random. */
  password?: string;
  logFile?: string;
  onUnexpectedExit?: (error: Error) => void;
}

const PG_ROOT = '/usr/lib/postgresql';

function findPgBin(version?: number): string | undefined {
  const majors = existsSync(PG_ROOT)
    ? readdirSync(PG_ROOT).map(Number).filter((v) => existsSync(join(PG_ROOT, String(v), 'bin', 'postgres'))).sort((a, b) => b - a)
    : [];
  const major = version ?? majors[0];
  return major !== undefined && majors.includes(major) ? join(PG_ROOT, String(major), 'bin') : undefined;
}

export async function pgBinDir(version?: number): Promise<string> {
  const found = findPgBin(version);
  if (found) return found;
  const how = await installSystemDeps();
  const again = findPgBin(version);
  if (again) return again;
  throw new Error(`testenv: PostgreSQL${version ? ` ${version}` : ''} server binaries are missing under ${PG_ROOT}/<major>/bin (${how}; install Debian's postgresql package)`);
}

/** initdb and postgres refuse to run as root: run them as the `postgres` system user then. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('testenv: running as root but there is no `postgres` user to run PostgreSQL as (install Debian\'s postgresql package)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<Postgres> {
  const bin = await pgBinDir(opts.version);
  const owner = postgresUser();
  const { dir: base, remove: removeBase } = ownedTempDir('pg');
  if (owner) chownSync(base, owner.uid, owner.gid);
  const password = opts.password ?? randomBytes(18).toString('base64url');
  const superuser = 'postgres';
  try {
    const pwfile = join(base, 'pwfile');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (owner) chownSync(pwfile, owner.uid, owner.gid);
    const data = join(base, 'data');
    // As the postgres user directly (spawn uid/gid), not through runuser: runuser would turn our
    // fast-shutdown SIGINT into SIGTERM + SIGKILL after 2 s.
    const as = { ...(owner ?? {}), cwd: base };
    await runTool(join(bin, 'initdb'), ['-D', data, '-U', superuser, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync'], as);
    rmSync(pwfile);

    return await startOnFreePort('postgres', async (port) => {
      const server = supervise('postgres', join(bin, 'postgres'), [
        '-D', data, '-p', String(port),
        '-c', 'listen_addresses=127.0.0.1',
        '-c', `unix_socket_directories=${base}`,
        // Throw-away cluster: durability buys nothing and costs seconds per test.
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
        '-c', 'max_connections=200',
      ], { ...as, ...(opts.logFile ? { logFile: opts.logFile } : {}), ...(opts.onUnexpectedExit ? { onUnexpectedExit: opts.onUnexpectedExit } : {}) });
      await waitUntil('postgres', async () => {
        await runTool(join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]);
        return true;
      }, { child: server, timeoutMs: 60_000, intervalMs: 100 }).catch(async (err) => {
        await server.stop('SIGKILL');
        throw err;
      });
      const pg: Postgres = {
        host: '127.0.0.1',
        port,
        superuser,
        password,
        socketDir: base,
        pid: server.pid,
        binDir: bin,
        connectionString: (database = 'postgres') =>
          `postgresql://${superuser}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
        psql(sql, o = {}) {
          return runTool(join(bin, 'psql'), ['-X', '-q', '-w', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', o.user ?? superuser, '-d', o.database ?? 'postgres', '-f', '-'], {
            input: sql,
            env: { ...process.env, PGPASSWORD: o.password ?? (o.user && o.user !== superuser ? '' : password), PGCONNECT_TIMEOUT: '10' },
          });
        },
        async stop() {
          // SIGINT = fast shutdown: rolls back sessions, no waiting for clients to disconnect.
          await server.stop('SIGINT', 10_000);
          removeBase();
        },
      };
      return pg;
    });
  } catch (err) {
    removeBase();
    throw err;
  }
}
