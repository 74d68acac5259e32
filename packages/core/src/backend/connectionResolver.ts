import type { Endpoint } from './contract.js';

/**
 * Maps the endpoint clients see (written into the credentials Secret) to the address the
 * operator itself connects to for SQL. Production: identity. Tests and local development replace
 * it (in-cluster service names or emulator hostnames → a local PostgreSQL), like kuttle/sshuttle did
 * for the Python operator, without touching the production code path.
 */
export interface ConnectionResolver {
  resolve(server: { namespace: string; name: string; backend: string }, endpoint: Endpoint): Promise<{ host: string; port: number }>;
}

export const identityConnectionResolver: ConnectionResolver = {
  resolve: async (_server, endpoint) => ({ host: endpoint.host, port: endpoint.port }),
};
