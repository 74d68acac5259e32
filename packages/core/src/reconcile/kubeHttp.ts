/**
 * A lean JSON client for the handful of calls the reconcilers make on every reconcile.
 * client-node's generated API costs ~20 ms per request here (a fetch pipeline and per-call
 * security setup); with thousands of objects that dominated reconcile time. Authentication is
 * still client-node's (KubeConfig.applyToHTTPSOptions: certificates, bearer tokens, refreshed
 * token files, exec plugins); only the transport is ours: one keep-alive agent, plain JSON.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { assertMayWrite } from '../controller/reconcileContext.js';

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

export class KubeHttp {
  private agent: HttpAgent | HttpsAgent | undefined;
  private readonly server: URL;

  constructor(private readonly kc: KubeConfig, private readonly timeoutMs = 30_000) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    // Fencing: a reconcile cancelled by lost leadership, shutdown or its deadline may still be
    // running (a paused process wakes up mid-reconcile); it must not write once another replica
    // may lead. Reads stay allowed, they change nothing.
    if (method !== 'GET') assertMayWrite();
    const opts: RequestOptions = { method, headers: {} };
    await this.kc.applyToHTTPSOptions(opts);
    const https = this.server.protocol === 'https:';
    this.agent ??= https
      ? new HttpsAgent({ keepAlive: true, maxSockets: 32, ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase, ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}), ...(opts.servername ? { servername: opts.servername } : {}) })
      : new HttpAgent({ keepAlive: true, maxSockets: 32 });
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
        { protocol: this.server.protocol, hostname: this.server.hostname, port: this.server.port, path: prefix + path, method, headers, agent: this.agent, timeout: this.timeoutMs, ...(opts.auth ? { auth: opts.auth } : {}) },
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

  close(): void {
    this.agent?.destroy();
  }
}
