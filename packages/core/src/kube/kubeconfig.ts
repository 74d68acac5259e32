/**
 * A kubeconfig loader for the operator process, found the way client-node's loadFromDefault finds
 * one: $KUBECONFIG, else ~/.kube/config, else the in-cluster service account. It handles what an
 * operator's pod or a developer's kind/testenv cluster uses: client certificates, bearer tokens
 * (inline or a token file, re-read so rotated projected tokens keep working), basic auth, a CA,
 * insecure-skip-tls-verify and tls-server-name. Everything else (exec plugins, auth providers,
 * proxies, several files in $KUBECONFIG) is delegated to client-node's own KubeConfig, loaded
 * only then. Why not always client-node: see kube/connection.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { requireClientNode, type KubeConnection } from './connection.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How long a token file's content is reused (client-go re-reads projected tokens about every minute). */
const TOKEN_FILE_TTL_MS = 60_000;

interface Cluster {
  name: string;
  server: string;
  ca?: Buffer;
  skipTLSVerify: boolean;
  tlsServerName?: string;
}

interface User {
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
}

/** Where the configuration came from, so that client-node can load the very same one. */
type Source = { kind: 'file'; path: string } | { kind: 'cluster' } | { kind: 'delegate'; kc: KubeConfig } | { kind: 'server' };

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (v && typeof v === 'object' ? (v as Raw) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export class LiteKubeConfig implements KubeConnection {
  private token: { value: string; readAt: number } | undefined;
  private clientNode: KubeConfig | undefined;

  private constructor(
    private readonly cluster: Cluster,
    private readonly user: User,
    private readonly source: Source,
  ) {}

  /** $KUBECONFIG, ~/.kube/config, or the in-cluster service account, in that order. */
  static load(env: NodeJS.ProcessEnv = process.env): LiteKubeConfig {
    const paths = (env['KUBECONFIG'] ?? '').split(delimiter).filter(Boolean);
    if (paths.length > 1) return LiteKubeConfig.delegate();
    if (paths.length === 1) return LiteKubeConfig.fromFile(paths[0]!);
    const home = join(env['HOME'] ?? homedir(), '.kube', 'config');
    if (existsSync(home)) return LiteKubeConfig.fromFile(home);
    if (env['KUBERNETES_SERVICE_HOST'] && existsSync(join(SERVICE_ACCOUNT_DIR, 'token'))) return LiteKubeConfig.inCluster(env);
    throw new Error('no kubeconfig found: set KUBECONFIG, create ~/.kube/config, or run in a pod with a service account');
  }

  /** The in-cluster service account (KUBERNETES_SERVICE_HOST/PORT, its token and CA). */
  static inCluster(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): LiteKubeConfig {
    const host = env['KUBERNETES_SERVICE_HOST'];
    const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
    if (!host) throw new Error('KUBERNETES_SERVICE_HOST is not set: not running in a pod');
    const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const caPath = join(dir, 'ca.crt');
    return new LiteKubeConfig(
      { name: 'inCluster', server, skipTLSVerify: false, ...(existsSync(caPath) ? { ca: readFileSync(caPath) } : {}) },
      { tokenFile: join(dir, 'token') },
      { kind: 'cluster' },
    );
  }

  /** A kubeconfig file's current context. Relative paths in it are relative to the file. */
  static fromFile(path: string): LiteKubeConfig {
    const doc = obj(parse(readFileSync(path, 'utf8')));
    const named = (list: unknown, name: string | undefined, what: string): Raw => {
      const entry = (Array.isArray(list) ? list : []).map(obj).find((e) => e['name'] === name);
      if (!entry) throw new Error(`kubeconfig ${path}: ${what} '${name ?? ''}' not found`);
      return entry;
    };
    const contextName = str(doc['current-context']);
    if (!contextName) throw new Error(`kubeconfig ${path}: no current-context`);
    const context = obj(named(doc['contexts'], contextName, 'context')['context']);
    const clusterEntry = named(doc['clusters'], str(context['cluster']), 'cluster');
    const c = obj(clusterEntry['cluster']);
    const userName = str(context['user']);
    const u = userName ? obj(named(doc['users'], userName, 'user')['user']) : {};
    // What this loader does not do itself goes to client-node, with the same file.
    if (u['exec'] || u['auth-provider'] || c['proxy-url']) return LiteKubeConfig.delegate(path);
    const base = dirname(path);
    const file = (p: unknown): Buffer | undefined => {
      const s = str(p);
      return s ? readFileSync(isAbsolute(s) ? s : join(base, s)) : undefined;
    };
    const data = (d: unknown): Buffer | undefined => (str(d) ? Buffer.from(str(d)!, 'base64') : undefined);
    const server = str(c['server']);
    if (!server) throw new Error(`kubeconfig ${path}: cluster '${str(clusterEntry['name'])}' has no server`);
    const ca = data(c['certificate-authority-data']) ?? file(c['certificate-authority']);
    const cert = data(u['client-certificate-data']) ?? file(u['client-certificate']);
    const key = data(u['client-key-data']) ?? file(u['client-key']);
    const tokenFile = str(u['tokenFile']);
    return new LiteKubeConfig(
      {
        name: str(clusterEntry['name']) ?? '',
        server,
        skipTLSVerify: c['insecure-skip-tls-verify'] === true,
        ...(ca ? { ca } : {}),
        ...(str(c['tls-server-name']) ? { tlsServerName: str(c['tls-server-name'])! } : {}),
      },
      {
        ...(cert ? { cert } : {}),
        ...(key ? { key } : {}),
        ...(str(u['token']) ? { token: str(u['token'])! } : {}),
        ...(tokenFile ? { tokenFile: isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile) } : {}),
        ...(str(u['username']) ? { username: str(u['username'])! } : {}),
        ...(str(u['password']) ? { password: str(u['password'])! } : {}),
      },
      { kind: 'file', path },
    );
  }

  /** A server without credentials (`config check` without a cluster: backends are created, nothing is called). */
  static unauthenticated(server: string): LiteKubeConfig {
    return new LiteKubeConfig({ name: 'unauthenticated', server, skipTLSVerify: false }, {}, { kind: 'server' });
  }

  /** client-node's KubeConfig does the work (loadFromDefault, or the given file). */
  private static delegate(path?: string): LiteKubeConfig {
    const { KubeConfig: KC } = requireClientNode();
    const kc = new KC();
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
    const current = kc.getCurrentCluster();
    if (!current) throw new Error('kubeconfig has no current cluster');
    return new LiteKubeConfig({ name: current.name, server: current.server, skipTLSVerify: current.skipTLSVerify }, {}, { kind: 'delegate', kc });
  }

  getCurrentCluster(): { name: string; server: string; skipTLSVerify: boolean } {
    return { name: this.cluster.name, server: this.cluster.server, skipTLSVerify: this.cluster.skipTLSVerify };
  }

  async applyToHTTPSOptions(opts: RequestOptions): Promise<void> {
    if (this.source.kind === 'delegate') return this.source.kc.applyToHTTPSOptions(opts);
    const c = this.cluster;
    const u = this.user;
    if (c.ca) opts.ca = c.ca;
    if (c.skipTLSVerify) opts.rejectUnauthorized = false;
    if (c.tlsServerName) opts.servername = c.tlsServerName;
    if (u.cert) opts.cert = u.cert;
    if (u.key) opts.key = u.key;
    const token = this.bearerToken();
    if (token) opts.headers = { ...(opts.headers as Record<string, string> | undefined), Authorization: `Bearer ${token}` };
    else if (u.username !== undefined && u.password !== undefined) opts.auth = `${u.username}:${u.password}`;
  }

  /** The equivalent client-node KubeConfig (for backends that use client-node's APIs). */
  toClientNode(): KubeConfig {
    if (this.source.kind === 'delegate') return this.source.kc;
    if (!this.clientNode) {
      const { KubeConfig: KC } = requireClientNode();
      const kc = new KC();
      if (this.source.kind === 'file') kc.loadFromFile(this.source.path);
      else if (this.source.kind === 'cluster') kc.loadFromCluster();
      else {
        const { name, server } = this.cluster;
        kc.loadFromOptions({ clusters: [{ name, server, skipTLSVerify: false }], users: [{ name }], contexts: [{ name, cluster: name, user: name }], currentContext: name });
      }
      this.clientNode = kc;
    }
    return this.clientNode;
  }

  private bearerToken(): string | undefined {
    const u = this.user;
    if (u.tokenFile) {
      const now = Date.now();
      if (!this.token || now - this.token.readAt > TOKEN_FILE_TTL_MS) {
        try {
          this.token = { value: readFileSync(u.tokenFile, 'utf8').trim(), readAt: now };
        } catch (err) {
          // Keep using the last token while the kubelet swaps the file; fail only without one.
          if (!this.token) throw err;
        }
      }
      return this.token.value;
    }
    return u.token;
  }
}
