/**
 * One bounded pg Pool per (host, port, user, database). The operator talks to many servers but
 * each only now and then, so pools are small, idle connections close quickly, and the number of
 * pools is capped (least recently used pool is closed first).
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { AdminConnection } from '../backend/contract.js';

export interface SqlTimeouts {
  /** TCP connect + authentication. */
  connectMs: number;
  /** Server-side statement_timeout (and the client-side query timeout a little later). */
  statementMs: number;
  /** Close idle pooled connections after this. */
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: SqlTimeouts = { connectMs: 5_000, statementMs: 30_000, idleMs: 10_000 };
export const APPLICATION_NAME = 'hybridcloud-postgresql-operator';

/**
 * Settings pinned in the startup packet of every operator session. Startup options win over
 * ALTER DATABASE … SET and ALTER ROLE … [IN DATABASE] SET, which a tenant owning a database can
 * write: with only pg_catalog and our own pg_temp on the path, nothing a tenant created can be
 * found by an unqualified name (CVE-2018-1058). `role=none` undoes a planted `ALTER DATABASE …
 * SET role`, which would otherwise run the admin's statements as someone else.
 */
export const PINNED_SESSION_OPTIONS = '-c search_path=pg_catalog,pg_temp -c role=none';

/**
 * Connection settings plus libpq's sslmode semantics: 'require' encrypts without verifying the
 * certificate (as libpq does), 'verify-ca'/'verify-full' verify, 'disable'/'allow'/'prefer' do
 * not use TLS (node-postgres cannot fall back between plain and TLS).
 */
export function clientConfig(conn: AdminConnection & { sslmode?: string }, timeouts: SqlTimeouts = DEFAULT_TIMEOUTS): pg.ClientConfig {
  return {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: conn.database,
    ssl: sslOption(conn),
    connectionTimeoutMillis: timeouts.connectMs,
    statement_timeout: timeouts.statementMs,
    // The client gives up slightly after the server would have, so server errors win the race.
    query_timeout: timeouts.statementMs + 2_000,
    lock_timeout: timeouts.statementMs,
    idle_in_transaction_session_timeout: timeouts.statementMs,
    application_name: APPLICATION_NAME,
    options: PINNED_SESSION_OPTIONS,
  };
}

function sslOption(conn: AdminConnection & { sslmode?: string }): pg.ClientConfig['ssl'] {
  const mode = conn.sslmode ?? (conn.ssl ? 'require' : 'disable');
  if (mode === 'verify-ca' || mode === 'verify-full') return { rejectUnauthorized: true };
  if (mode === 'require' || conn.ssl) return { rejectUnauthorized: false };
  return false;
}

interface Entry {
  pool: pg.Pool;
  /** Hash of the password the pool was built with: a changed admin password replaces the pool. */
  secretHash: string;
}

/** Sessions to one server (host:port) in use at once, and who waits for one. */
interface Slots {
  used: number;
  waiting: (() => void)[];
}

export class PoolManager {
  private readonly pools = new Map<string, Entry>();
  private readonly slots = new Map<string, Slots>();

  constructor(
    private readonly options: { maxPools: number; maxConnectionsPerPool: number; timeouts: SqlTimeouts } = {
      maxPools: 64,
      maxConnectionsPerPool: 4,
      timeouts: DEFAULT_TIMEOUTS,
    },
  ) {}

  get timeouts(): SqlTimeouts {
    return this.options.timeouts;
  }

  /**
   * The per-server bound (operator.sql_connections_per_server): a session to a server, pooled or
   * inside one of its databases, first takes one of its maxConnectionsPerPool slots; the returned
   * function gives it back. Reconciles beyond the bound wait here (in order), so more reconciles
   * than sessions overlap their Kubernetes round trips with other reconciles' SQL.
   */
  async slot(conn: { host: string; port: number }): Promise<() => void> {
    const key = `${conn.host}\u0000${conn.port}`;
    let s = this.slots.get(key);
    if (!s) this.slots.set(key, (s = { used: 0, waiting: [] }));
    const slots = s;
    if (slots.used >= this.options.maxConnectionsPerPool) await new Promise<void>((r) => slots.waiting.push(r));
    else slots.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = slots.waiting.shift();
      if (next) next(); // the slot passes on
      else if (--slots.used === 0) this.slots.delete(key);
    };
  }

  pool(conn: AdminConnection & { sslmode?: string }): pg.Pool {
    const key = `${conn.host}\u0000${conn.port}\u0000${conn.user}\u0000${conn.database}`;
    const secretHash = createHash('sha256').update(conn.password).update(String(conn.ssl)).update(conn.sslmode ?? '').digest('hex');
    const found = this.pools.get(key);
    if (found && found.secretHash === secretHash) {
      // Map keeps insertion order: re-insert to mark as most recently used.
      this.pools.delete(key);
      this.pools.set(key, found);
      return found.pool;
    }
    if (found) {
      this.pools.delete(key);
      void found.pool.end().catch(() => undefined);
    }
    while (this.pools.size >= this.options.maxPools) {
      const [oldestKey, oldest] = this.pools.entries().next().value as [string, Entry];
      this.pools.delete(oldestKey);
      void oldest.pool.end().catch(() => undefined);
    }
    const pool = new pg.Pool({
      ...clientConfig(conn, this.options.timeouts),
      max: this.options.maxConnectionsPerPool,
      idleTimeoutMillis: this.options.timeouts.idleMs,
      allowExitOnIdle: true,
    });
    // An idle client losing its connection emits 'error' on the pool; without a listener that
    // would crash the process. The next query simply opens a new connection.
    pool.on('error', () => undefined);
    this.pools.set(key, { pool, secretHash });
    return pool;
  }

  /** Forget pools of a server (its admin password changed or it was deleted). */
  async evict(host: string, port: number): Promise<void> {
    const prefix = `${host}\u0000${port}\u0000`;
    const ending: Promise<void>[] = [];
    for (const [key, entry] of this.pools) {
      if (key.startsWith(prefix)) {
        this.pools.delete(key);
        ending.push(entry.pool.end().catch(() => undefined));
      }
    }
    await Promise.all(ending);
  }

  async close(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((e) => e.pool.end().catch(() => undefined)));
  }
}
