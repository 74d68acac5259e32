import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type Postgres } from './index.js';

let server: Postgres;
beforeAll(async () => { server = await startPostgres(); });
afterAll(async () => { await server?.stop(); });

describe('PostgreSQL', () => {
  it('runs SQL through the real psql and the pg driver', async () => {
    await server.psql('CREATE DATABASE shop');
    await server.psql(`CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'apple'), (2, 'pear');`, { database: 'shop' });
    const out = await server.psql('SELECT name FROM items ORDER BY id', { database: 'shop' });
    expect(out.stdout.trim().split('\n')).toEqual(['apple', 'pear']);

    const client = new pg.Client({ connectionString: server.connectionString('shop') });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string; v: string }>(`SELECT count(*) AS n, current_setting('server_version_num') AS v FROM items`);
      expect(rows[0]).toMatchObject({ n: '2' });
      expect(Number(rows[0]!.v)).toBeGreaterThanOrEqual(130000);
    } finally {
      await client.end();
    }
  });

  it('enforces passwords: a role logs in with its own, a wrong one is refused', async () => {
    await server.psql(`CREATE ROLE app LOGIN PASSWORD 'app-secret'`);
    expect((await server.psql('SELECT current_user', { user: 'app', password: 'app-secret' })).stdout.trim()).toBe('app');
    await expect(server.psql('SELECT 1', { user: 'app', password: 'wrong' })).rejects.toThrow(/password authentication failed/);
    await expect(server.psql('SELECT 1', { password: 'wrong' })).rejects.toThrow(/password authentication failed for user "postgres"/);
  });

  it('stops completely: the port no longer accepts connections', async () => {
    const other = await startPostgres();
    await other.stop();
    const client = new pg.Client({ connectionString: other.connectionString(), connectionTimeoutMillis: 2000 });
    await expect(client.connect()).rejects.toThrow(/ECONNREFUSED/);
  });
});
