/**
 * YSQL as a YugabyteDB tablet server answers while it starts: the chart (2026.1.0) has readiness
 * probes off, so the pod is Ready as soon as its container runs, yet for a while the YSQL port
 * refuses connections and then answers every login with `28P01 password authentication failed`
 * (the role catalog is not served yet), before it finally accepts the real password. This gate
 * stands on the port clients reach and plays those phases in front of the real PostgreSQL.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface YsqlStartup {
  /** Connections are dropped for this long after the pod started. */
  refuseMs: number;
  /** Then every login fails with 28P01 for this long. */
  authFailMs: number;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

function errorResponse(code: string, message: string): Buffer {
  const fields = [`SFATAL`, `VFATAL`, `C${code}`, `M${message}`].map((f) => Buffer.concat([Buffer.from(f, 'utf8'), Buffer.from([0])]));
  const body = Buffer.concat([...fields, Buffer.from([0])]);
  const head = Buffer.alloc(5);
  head.write('E', 0, 'ascii');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** The user of a startup message (key/value pairs after the protocol version). */
function startupUser(msg: Buffer): string {
  const parts = msg.subarray(8).toString('utf8').split('\0');
  const i = parts.indexOf('user');
  return i >= 0 ? (parts[i + 1] ?? '') : '';
}

function refuseLogin(socket: Socket): void {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 8) {
      const len = buf.readInt32BE(0);
      if (buf.length < len) return;
      const msg = buf.subarray(0, len);
      buf = buf.subarray(len);
      const code = msg.readInt32BE(4);
      if (len === 8 && (code === SSL_REQUEST || code === GSSENC_REQUEST)) {
        socket.write('N');
        continue;
      }
      socket.end(errorResponse('28P01', `password authentication failed for user "${startupUser(msg)}"`));
      return;
    }
  });
  socket.on('error', () => undefined);
}

export class YsqlGate {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  private readonly started = Date.now();

  constructor(private readonly backendPort: number, private readonly startup: YsqlStartup) {}

  async start(): Promise<this> {
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const age = Date.now() - this.started;
      if (age < this.startup.refuseMs) {
        socket.on('error', () => undefined);
        socket.destroy();
        return;
      }
      if (age < this.startup.refuseMs + this.startup.authFailMs) {
        refuseLogin(socket);
        return;
      }
      const upstream = connect({ host: '127.0.0.1', port: this.backendPort });
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
