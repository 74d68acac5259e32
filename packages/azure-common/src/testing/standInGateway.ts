/**
 * A gateway in front of the stand-in PostgreSQL that plays the Azure server a client reaches, one
 * listener per Azure server (the resolver maps each server's host name to its own port):
 * - every server has an admin role of its own in the one stand-in (`adminRole`, as azureStandIn's
 *   option creates it), so the admin login (same admin_username on every server) is mapped to it;
 * - flexible: the session is relayed as is (SCRAM does not bind the user name);
 * - single server: clients log in as `user@server` (this server; refused otherwise, as Azure's
 *   gateway does) with md5 only. The stand-in is switched to md5 (pg_hba host lines,
 *   password_encryption): a role with a SCRAM verifier cannot log in, as on single server. The
 *   gateway asks the client for the password (cleartext inside TLS) and answers the stand-in's md5
 *   challenge for the role without `@server`.
 * TLS is terminated here (clients use sslmode=require); the stand-in is reached without TLS.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { TLSSocket, createSecureContext } from 'node:tls';
import type { ConnectionResolver } from '@hybridcloud-postgresql/core';
import type { StandInPostgres } from './postgresStandIn.js';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

class Reader {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private closed = false;
  private readonly onData = (b: Buffer) => {
    this.buf = Buffer.concat([this.buf, b]);
    this.wake();
  };
  private readonly onEnd = () => {
    this.closed = true;
    this.wake();
  };
  constructor(private readonly sock: Duplex) {
    sock.on('data', this.onData);
    sock.on('end', this.onEnd);
    sock.on('close', this.onEnd);
    sock.on('error', this.onEnd);
  }
  private wake() {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
  private async need(n: number) {
    while (this.buf.length < n) {
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>((r) => (this.waiter = r));
    }
  }
  private take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  /** A startup-phase packet: int32 length (itself included), then the body. */
  async startup(): Promise<Buffer> {
    await this.need(4);
    const len = this.buf.readInt32BE(0);
    await this.need(len);
    return this.take(len);
  }
  /** A typed message: byte type, int32 length, body. */
  async message(): Promise<{ type: string; body: Buffer; raw: Buffer }> {
    await this.need(5);
    const len = this.buf.readInt32BE(1);
    await this.need(1 + len);
    const raw = this.take(1 + len);
    return { type: String.fromCharCode(raw[0]!), body: raw.subarray(5), raw };
  }
  /** Stops reading; returns what was read but not taken. */
  detach(): Buffer {
    this.sock.off('data', this.onData);
    this.sock.off('end', this.onEnd);
    this.sock.off('close', this.onEnd);
    this.sock.off('error', this.onEnd);
    return this.buf;
  }
}

const message = (type: string, body: Buffer) => {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
};
const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');
const fatal = (code: string, text: string) => message('E', Buffer.concat([cstr('SFATAL'), cstr('VFATAL'), cstr(`C${code}`), cstr(`M${text}`), Buffer.from([0])]));
const md5hex = (s: Buffer | string) => createHash('md5').update(s).digest('hex');

function parseStartup(pkt: Buffer): Map<string, string> {
  const params = new Map<string, string>();
  const parts = pkt.subarray(8).toString('utf8').split('\0');
  for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2) params.set(parts[i]!, parts[i + 1]!);
  return params;
}

function startupPacket(params: Map<string, string>): Buffer {
  const body = Buffer.concat([...[...params].flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])]);
  const head = Buffer.alloc(8);
  head.writeInt32BE(body.length + 8, 0);
  head.writeInt32BE(196608, 4);
  return Buffer.concat([head, body]);
}

export interface StandInGateway extends ConnectionResolver {
  close(): Promise<void>;
}

export interface StandInGatewayOptions {
  kind: 'flexible' | 'single';
  /** The configured admin_username. */
  adminLogin: string;
  /** The admin's role in the stand-in for a server (give azureStandIn the same). */
  adminRole(server: string, login: string): string;
}

/** Single server authenticates with md5 only: host lines of pg_hba use md5, new passwords are stored as md5. */
async function md5Only(pg: StandInPostgres): Promise<void> {
  const hba = (await pg.psql('SHOW hba_file')).stdout.trim();
  writeFileSync(hba, readFileSync(hba, 'utf8').split('\n').map((l) => (/^\s*host/.test(l) ? l.replace(/scram-sha-256/g, 'md5') : l)).join('\n'));
  await pg.psql("ALTER SYSTEM SET password_encryption = 'md5'; SELECT pg_reload_conf();");
}

/** Starts the gateway in front of `pg`; for single server switches `pg` to md5. */
export async function standInGateway(pg: StandInPostgres, o: StandInGatewayOptions): Promise<StandInGateway> {
  if (o.kind === 'single') await md5Only(pg);
  const dir = mkdtempSync(join(tmpdir(), 'azure-gw-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'crt.pem'), '-days', '2', '-subj', '/CN=azure-stand-in-gateway'], { stdio: 'ignore' });
  const secureContext = createSecureContext({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'crt.pem')) });
  rmSync(dir, { recursive: true, force: true });

  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const session = async (serverName: string, raw: Socket) => {
    let client: Duplex = raw;
    let reader = new Reader(raw);
    let pkt = await reader.startup();
    for (;;) {
      const code = pkt.readInt32BE(4);
      if (code === SSL_REQUEST) {
        reader.detach();
        raw.write('S');
        const tls = new TLSSocket(raw, { isServer: true, secureContext });
        tls.on('error', () => raw.destroy());
        client = tls;
        reader = new Reader(tls);
      } else if (code === GSSENC_REQUEST) {
        client.write('N');
      } else break;
      pkt = await reader.startup();
    }
    const upstream = connect({ host: pg.host, port: pg.port });
    track(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    if (pkt.readInt32BE(4) === CANCEL_REQUEST) {
      upstream.end(pkt);
      client.end();
      return;
    }
    const params = parseStartup(pkt);
    const login = params.get('user') ?? '';
    let role = login;
    if (o.kind === 'single') {
      const at = login.lastIndexOf('@');
      if (at <= 0 || login.slice(at + 1) !== serverName) {
        upstream.destroy();
        client.end(fatal('28000', 'Invalid Username specified. Please check the Username and retry connection. The Username should be in <username@hostname> format.'));
        return;
      }
      role = login.slice(0, at);
    }
    if (role === o.adminLogin) role = o.adminRole(serverName, o.adminLogin);
    params.set('user', role);
    let password: string | undefined;
    if (o.kind === 'single') {
      client.write(message('R', Buffer.from([0, 0, 0, 3])));
      const answer = await reader.message();
      if (answer.type !== 'p') {
        client.destroy();
        return;
      }
      password = answer.body.subarray(0, answer.body.indexOf(0)).toString('utf8');
    }
    const up = new Reader(upstream);
    upstream.write(startupPacket(params));
    if (password !== undefined) {
      for (;;) {
        const m = await up.message();
        if (m.type === 'R') {
          const kind = m.body.readInt32BE(0);
          if (kind === 0) {
            client.write(m.raw);
            break;
          }
          if (kind === 5) {
            upstream.write(message('p', cstr(`md5${md5hex(Buffer.concat([Buffer.from(md5hex(password + role)), m.body.subarray(4, 8)]))}`)));
            continue;
          }
          // SCRAM or anything else: single server speaks md5 only.
          upstream.destroy();
          client.end(fatal('28P01', `password authentication failed for user "${role}"`));
          return;
        }
        client.write(m.raw);
        if (m.type === 'E') {
          upstream.destroy();
          client.end();
          return;
        }
      }
    }
    const fromClient = reader.detach();
    const fromServer = up.detach();
    if (fromClient.length) upstream.write(fromClient);
    if (fromServer.length) client.write(fromServer);
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const listeners = new Map<string, Promise<{ server: Server; port: number }>>();
  const listenerFor = (serverName: string) => {
    let l = listeners.get(serverName);
    if (!l) {
      l = (async () => {
        const server = createServer((sock) => {
          track(sock);
          session(serverName, sock).catch(() => sock.destroy());
        });
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        return { server, port: (server.address() as AddressInfo).port };
      })();
      listeners.set(serverName, l);
    }
    return l;
  };
  return {
    resolve: async (_server, endpoint) => {
      const m = /^([^.]+)\.postgres\.database\.azure\.com$/.exec(endpoint.host);
      return m ? { host: '127.0.0.1', port: (await listenerFor(m[1]!)).port } : { host: endpoint.host, port: endpoint.port };
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      for (const l of listeners.values()) {
        const { server } = await l;
        await new Promise<void>((r) => server.close(() => r()));
      }
    },
  };
}
