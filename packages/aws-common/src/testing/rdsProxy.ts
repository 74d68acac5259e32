/**
 * A small HTTP proxy in front of moto_server that speaks the RDS Query API where moto cannot:
 * - answers DescribeDBEngineVersions (moto does not implement it) from a fixed catalogue;
 * - injects real RDS error responses (Throttling 400, InternalFailure 500, ServiceUnavailable 503);
 * - rewrites responses to show the intermediate states moto never shows (creating, modifying,
 *   deleting), by replacing the status element and dropping the endpoint;
 * - records every request (action, time) so tests can assert what reached "AWS".
 * Everything else is forwarded unchanged.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

const NS = 'http://rds.amazonaws.com/doc/2014-10-31/';

export interface Fault {
  /** Action name (CreateDBInstance, …) or undefined for every action. */
  action?: string;
  /** How many matching requests this fault applies to. */
  times: number;
  error: 'Throttling' | 'InternalFailure' | 'ServiceUnavailable';
  /** Forward to moto first, then answer with the error: the request took effect, the answer was lost. */
  afterForward?: boolean;
}

export interface Rewrite {
  action: string;
  times: number;
  /** Applied to moto's response body. */
  rewrite(xml: string): string;
}

export interface RecordedRequest {
  action: string;
  /** When the request arrived. */
  at: number;
  params: URLSearchParams;
  /** Status the client got. */
  status: number;
  /** The access key id the request was signed with (from the Authorization header). */
  accessKeyId: string | undefined;
}

export interface RdsProxy {
  endpoint: string;
  requests: RecordedRequest[];
  fail(f: Fault): void;
  /**
   * A brownout: every request (but DescribeDBEngineVersions) is throttled with probability
   * `throttle` and fails with a 5xx with probability `serverError`; half of those 5xx are sent after
   * moto took the request (it took effect, the answer was lost). Undefined ends it.
   */
  brownout: { throttle: number; serverError: number } | undefined;
  rewrite(r: Rewrite): void;
  /** Engine → versions DescribeDBEngineVersions reports. */
  engineVersions: Record<string, string[]>;
  /**
   * Called after moto accepted a request, before the client gets the answer: lets a test play the
   * parts of RDS moto cannot (e.g. create the master user in a real PostgreSQL).
   */
  onAccepted?: (action: string, params: URLSearchParams) => Promise<void>;
  clear(): void;
  stop(): Promise<void>;
}

export const DEFAULT_ENGINE_VERSIONS: Record<string, string[]> = {
  postgres: ['14.12', '14.17', '15.7', '15.12', '16.3', '16.8', '17.2', '17.4'],
  'aurora-postgresql': ['14.12', '15.7', '15.10', '16.4', '16.6', '17.4'],
};

/** Replace the first (or every) <Tag>…</Tag> value. */
export function setElement(xml: string, tag: string, value: string): string {
  return xml.replace(new RegExp(`<${tag}>[^<]*</${tag}>`, 'g'), `<${tag}>${value}</${tag}>`);
}

/** Remove an element with its content (e.g. Endpoint of a creating instance). */
export function dropElement(xml: string, tag: string): string {
  return xml.replace(new RegExp(`<${tag}>[\\s\\S]*?</${tag}>`, 'g'), '');
}

function errorXml(code: string, message: string, type: 'Sender' | 'Receiver'): string {
  return `<ErrorResponse xmlns="${NS}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

function engineVersionsXml(engine: string | null, catalogue: Record<string, string[]>, majorFilter: string | null): string {
  const engines = engine ? [engine] : Object.keys(catalogue);
  const items = engines.flatMap((e) =>
    (catalogue[e] ?? [])
      .filter((v) => !majorFilter || v.split('.')[0] === majorFilter)
      .map((v) => {
        const major = v.split('.')[0];
        const family = e === 'postgres' ? `postgres${major}` : `aurora-postgresql${major}`;
        return `<DBEngineVersion><Engine>${e}</Engine><EngineVersion>${v}</EngineVersion><DBParameterGroupFamily>${family}</DBParameterGroupFamily><MajorEngineVersion>${major}</MajorEngineVersion><Status>available</Status></DBEngineVersion>`;
      }),
  );
  return `<DescribeDBEngineVersionsResponse xmlns="${NS}"><DescribeDBEngineVersionsResult><DBEngineVersions>${items.join('')}</DBEngineVersions></DescribeDBEngineVersionsResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeDBEngineVersionsResponse>`;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Forwarded {
  status: number;
  contentType: string;
  body: string;
}

export async function startRdsProxy(target: string): Promise<RdsProxy> {
  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<Forwarded>((resolve, reject) => {
      const url = new URL(req.url ?? '/', target);
      const upstream = httpRequest(url, { method: req.method, headers: { ...req.headers, host: url.host, 'content-length': String(body.length) } }, (up) => {
        readBody(up).then((b) => resolve({ status: up.statusCode ?? 502, contentType: String(up.headers['content-type'] ?? 'text/xml'), body: b.toString('utf8') }), reject);
      });
      upstream.on('error', reject);
      upstream.end(body);
    });
  const faults: Fault[] = [];
  const rewrites: Rewrite[] = [];
  const requests: RecordedRequest[] = [];
  const proxy: RdsProxy = {
    endpoint: '',
    requests,
    engineVersions: structuredClone(DEFAULT_ENGINE_VERSIONS),
    brownout: undefined,
    fail: (f) => faults.push({ ...f }),
    rewrite: (r) => rewrites.push({ ...r }),
    clear: () => {
      faults.length = 0;
      rewrites.length = 0;
      requests.length = 0;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  const send = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
    res.end(body);
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const at = Date.now();
      const body = await readBody(req);
      const params = new URLSearchParams(body.toString('utf8'));
      const action = params.get('Action') ?? '';
      const accessKeyId = /Credential=([^/,\s]+)\//.exec(String(req.headers['authorization'] ?? ''))?.[1];
      const record = (status: number) => requests.push({ action, at, params, status, accessKeyId });
      const roll = Math.random();
      const b = action === 'DescribeDBEngineVersions' ? undefined : proxy.brownout;
      const brownout: Fault | undefined = !b ? undefined
        : roll < b.throttle ? { times: 1, error: 'Throttling' }
          : roll < b.throttle + b.serverError ? { times: 1, error: Math.random() < 0.5 ? 'ServiceUnavailable' : 'InternalFailure', afterForward: Math.random() < 0.5 }
            : undefined;
      const fault = brownout ?? faults.find((f) => f.times > 0 && (!f.action || f.action === action));
      if (fault?.afterForward) {
        fault.times -= 1;
        const up = await forward(req, body).catch(() => undefined);
        // The request took effect: what RDS does besides moto's model happened too.
        if (up && up.status < 300) await proxy.onAccepted?.(action, params).catch(() => undefined);
        record(500);
        return send(res, 500, errorXml('InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.', 'Receiver'));
      }
      if (fault) {
        fault.times -= 1;
        if (fault.error === 'Throttling') {
          record(400);
          return send(res, 400, errorXml('Throttling', 'Rate exceeded', 'Sender'));
        }
        const status = fault.error === 'InternalFailure' ? 500 : 503;
        record(status);
        return send(res, status, errorXml(fault.error, 'The request processing has failed because of an unknown error, exception or failure.', 'Receiver'));
      }
      if (action === 'DescribeDBEngineVersions') {
        record(200);
        return send(res, 200, engineVersionsXml(params.get('Engine'), proxy.engineVersions, params.get('MajorEngineVersion')));
      }
      let up: Forwarded;
      try {
        up = await forward(req, body);
      } catch (err) {
        record(502);
        return send(res, 502, errorXml('InternalFailure', String(err), 'Receiver'));
      }
      let out = up.body;
      const rw = rewrites.find((r) => r.times > 0 && r.action === action);
      if (rw && up.status < 300) {
        rw.times -= 1;
        out = rw.rewrite(out);
      }
      if (up.status < 300 && proxy.onAccepted) {
        try {
          await proxy.onAccepted(action, params);
        } catch (err) {
          record(500);
          return send(res, 500, errorXml('InternalFailure', `test hook failed: ${String(err)}`, 'Receiver'));
        }
      }
      record(up.status);
      res.writeHead(up.status, { 'content-type': up.contentType });
      res.end(out);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  proxy.endpoint = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return proxy;
}

/** Most requests seen in any window of `windowMs`. */
export function peakRequests(requests: readonly { at: number }[], windowMs = 1000): number {
  const times = requests.map((r) => r.at).sort((a, b) => a - b);
  let peak = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= windowMs) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}
