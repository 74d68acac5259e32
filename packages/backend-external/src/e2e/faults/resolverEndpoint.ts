/**
 * The test process's connection resolver served to the child operator (standInOperator.ts reads
 * HC_RESOLVER_URL): POST {server, host, port} → {host, port}, or 502 {error}. Loopback only.
 */
import { createServer } from 'node:http';

export interface ResolverEndpoint {
  url: string;
  close(): Promise<void>;
}

export async function serveResolver(resolve: (server: unknown, endpoint: { host: string; port: number }) => Promise<{ host: string; port: number }>): Promise<ResolverEndpoint> {
  const http = createServer((req, res) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString('utf8')));
    req.on('end', () => {
      void (async () => {
        try {
          const { server, host, port } = JSON.parse(body) as { server?: unknown; host: string; port: number };
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(await resolve(server, { host, port })));
        } catch (err) {
          res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }));
        }
      })();
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(http.address() as { port: number }).port}/resolve`,
    close: () => new Promise<void>((r) => {
      http.closeAllConnections();
      http.close(() => r());
    }),
  };
}
