/**
 * A PostgreSQL for tests: testenv's startPostgres (a real server in a temp dir), or an already
 * running one named by HC_TEST_POSTGRES_URL (postgresql://user:pw@host:port) for quick loops.
 */
export interface TestPostgres {
  host: string;
  port: number;
  superuser: string;
  password: string;
  stop(): Promise<void>;
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const url = process.env['HC_TEST_POSTGRES_URL'];
  if (url) {
    const u = new URL(url);
    return { host: u.hostname, port: Number(u.port || 5432), superuser: decodeURIComponent(u.username), password: decodeURIComponent(u.password), stop: async () => undefined };
  }
  // Resolved at run time so core does not depend on testenv at build time (testenv depends on core).
  const testenv = (await import('@hybridcloud-postgresql/' + 'testenv')) as { startPostgres(): Promise<TestPostgres> };
  return testenv.startPostgres();
}
