/**
 * /healthz (the process and its event loop answer), /readyz (the manager says it can do its job)
 * and /metrics (Prometheus text format) on one small node:http server. Probes must stay cheap
 * and must not depend on the API server being reachable, or a brief apiserver hiccup would get
 * every replica killed at once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  /** true = ready; a string says why not. */
  check(): true | string;
}

export interface HealthServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  readiness: ReadinessCheck[];
  liveness?: ReadinessCheck[];
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

function evaluate(checks: ReadinessCheck[]): { ok: boolean; lines: string[] } {
  const lines: string[] = [];
  let ok = true;
  for (const c of checks) {
    let r: true | string;
    try {
      r = c.check();
    } catch (err) {
      r = `check failed: ${(err as Error).message}`;
    }
    if (r === true) lines.push(`[+]${c.name} ok`);
    else {
      ok = false;
      lines.push(`[-]${c.name} failed: ${r}`);
    }
  }
  return { ok, lines };
}

export async function startHealthServer(o: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const verbose = (req.url ?? '').includes('verbose');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      const { ok, lines } = evaluate(path === '/readyz' ? o.readiness : (o.liveness ?? []));
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(ok && !verbose ? 'ok\n' : `${lines.join('\n')}\n${ok ? 'ok' : `${path.slice(1)} check failed`}\n`);
      return;
    }
    if (path === '/metrics') {
      o.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': o.registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(`metrics failed: ${(err as Error).message}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`health port ${o.port} is already in use (operator.health_port)`, { cause: err }) : err),
    );
    server.listen(o.port, o.host ?? '0.0.0.0', () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
