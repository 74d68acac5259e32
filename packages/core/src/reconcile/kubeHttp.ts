/**
 * A lean JSON client for the handful of calls the reconcilers make on every reconcile.
 * client-node's generated API costs ~20 ms per request here (a fetch pipeline and per-call
 * security setup, a new TLS connection each time); with thousands of objects that dominated
 * reconcile time. Authentication comes from the KubeConnection (applyToHTTPSOptions:
 * certificates, bearer tokens, refreshed token files; exec plugins through client-node); the
 * transport is ours: one keep-alive agent, plain JSON, and streaming watches.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { assertMayWrite } from '../controller/reconcileContext.js';
import type { KubeConnection } from '../kube/connection.js';

/** A watch that delivers nothing (no event, no bookmark) for this long is ended and started again. */
const WATCH_INACTIVITY_MS = 30_000;

/** The TLS material applyToHTTPSOptions set, for an agent (requests) or a single connection (watches). */
function tlsOptions(opts: RequestOptions): Pick<RequestOptions, 'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'servername'> {
  return { ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase, ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}), ...(opts.servername ? { servername: opts.servername } : {}) };
}

export class KubeHttpError extends Error {
  constructor(readonly code: number, readonly body: string, method: string, path: string) {
    super(`${method} ${path}: HTTP ${code}${statusMessage(body)}`);
    this.name = 'KubeHttpError';
  }
}

function statusMessage(body: string): string {
  try {
    const m = (JSON.parse(body) as { message?: string }).message;
    return m ? `: ${m}` : '';
  } catch {
    return '';
  }
}

/**
 * One keep-alive pool per connection, shared by every KubeHttp of the process (reconcilers,
 * informers' lists, Events, the Lease): one set of TLS sessions to the API server instead of one
 * per component. The last close() destroys it.
 */
interface Pool {
  agent?: HttpAgent | HttpsAgent;
  users: number;
}
const pools = new WeakMap<KubeConnection, Pool>();

export class KubeHttp {
  private readonly pool: Pool;
  private closed = false;
  private readonly server: URL;

  /**
   * `timeoutMs` bounds each request of this client; the pool is shared whatever the timeout.
   * `dedicatedPool`: connections of its own, for the Lease: its renewals must never queue behind
   * a burst of other requests waiting for a free socket of the shared pool.
   */
  constructor(private readonly kc: KubeConnection, private readonly timeoutMs = 30_000, o: { dedicatedPool?: boolean } = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
    let pool = o.dedicatedPool ? undefined : pools.get(kc);
    if (!pool) {
      pool = { users: 0 };
      if (!o.dedicatedPool) pools.set(kc, pool);
    }
    pool.users++;
    this.pool = pool;
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    // Fencing: a reconcile cancelled by lost leadership, shutdown or its deadline may still be
    // running (a paused process wakes up mid-reconcile); it must not write once another replica
    // may lead. Reads stay allowed, they change nothing.
    if (method !== 'GET') assertMayWrite();
    const opts: RequestOptions = { method, headers: {} };
    await this.kc.applyToHTTPSOptions(opts);
    const https = this.server.protocol === 'https:';
    const agent = (this.pool.agent ??= https
      ? new HttpsAgent({ keepAlive: true, maxSockets: 32, ...tlsOptions(opts) })
      : new HttpAgent({ keepAlive: true, maxSockets: 32 }));
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { ...(opts.headers as Record<string, string>), Accept: 'application/json' };
    if (payload) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = payload.length;
    }
    const prefix = this.server.pathname.replace(/\/$/, '');
    const send = https ? httpsRequest : httpRequest;
    return new Promise<T>((resolve, reject) => {
      const req = send(
        { protocol: this.server.protocol, hostname: this.server.hostname, port: this.server.port, path: prefix + path, method, headers, agent, timeout: this.timeoutMs, ...(opts.auth ? { auth: opts.auth } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const code = res.statusCode ?? 0;
            if (code < 200 || code >= 300) return reject(new KubeHttpError(code, text, method, path));
            try {
              resolve((text ? JSON.parse(text) : undefined) as T);
            } catch (err) {
              reject(err as Error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out after ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /**
   * A watch stream (GET …?watch=true): `onEvent` gets each event's type and object, `done` the end
   * (null: the server closed it; an Error named TimeoutError: 30 s without a byte, as client-node's
   * Watch; a KubeHttpError: refused). Each watch has a connection of its own, outside the
   * keep-alive pool. The returned handle aborts it (then `done` is not called).
   */
  async watch(path: string, params: Record<string, string | number | boolean>, onEvent: (type: string, obj: never) => void, done: (err: unknown) => void): Promise<{ abort(): void }> {
    const opts: RequestOptions = { method: 'GET', headers: {} };
    await this.kc.applyToHTTPSOptions(opts);
    const https = this.server.protocol === 'https:';
    const query = new URLSearchParams(Object.entries({ ...params, watch: true }).map(([k, v]): [string, string] => [k, String(v)]));
    const prefix = this.server.pathname.replace(/\/$/, '');
    const send = https ? httpsRequest : httpRequest;
    let finished = false;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      done(err);
    };
    const tls = https ? tlsOptions(opts) : {};
    const req = send(
      {
        protocol: this.server.protocol, hostname: this.server.hostname, port: this.server.port, path: `${prefix}${path}?${query}`, method: 'GET',
        headers: { ...(opts.headers as Record<string, string>), Accept: 'application/json' }, agent: false, timeout: WATCH_INACTIVITY_MS, ...tls, ...(opts.auth ? { auth: opts.auth } : {}),
      },
      (res) => {
        const code = res.statusCode ?? 0;
        if (code !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => finish(new KubeHttpError(code, Buffer.concat(chunks).toString('utf8'), 'WATCH', path)));
          res.on('error', finish);
          return;
        }
        res.setEncoding('utf8');
        let buffered = '';
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (!line || finished) continue;
            try {
              const e = JSON.parse(line) as { type: string; object: never };
              onEvent(e.type, e.object);
            } catch (err) {
              req.destroy();
              return finish(err);
            }
          }
        });
        res.on('end', () => finish(null));
        res.on('error', finish);
      },
    );
    req.on('timeout', () => {
      const err = new Error(`watch ${path}: no data for ${WATCH_INACTIVITY_MS / 1000} s`);
      err.name = 'TimeoutError';
      req.destroy(err);
    });
    req.on('error', finish);
    req.end();
    return {
      abort: () => {
        finished = true;
        req.destroy();
      },
    };
  }

  /** Releases this client's share of the pool; the last one destroys its sockets. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (--this.pool.users > 0) return;
    this.pool.agent?.destroy();
    delete this.pool.agent;
  }
}
