import { describe, expect, it } from 'vitest';
import { credentialsData, decodeSecret, desiredSecret, encodeData, foreignController, PENDING_PASSWORD_KEY } from './secret.js';

const owner = { apiVersion: 'hybridcloud.maibornwolff.de/v1alpha1', kind: 'PostgreSQLDatabase', name: 'db', uid: 'u1' };

describe('credentials secret', () => {
  it('writes host and hostname, encoded URIs', () => {
    const d = credentialsData({ host: 'pg.example', port: 5432, dbname: 'my db', username: 'us@r', password: 'p:w/?#', sslmode: 'require' });
    expect(d['host']).toBe('pg.example');
    expect(d['hostname']).toBe('pg.example');
    expect(d['port']).toBe('5432');
    expect(d['uri']).toBe('postgresql://us%40r:p%3Aw%2F%3F%23@pg.example:5432/my%20db?sslmode=require');
    expect(d['jdbc-uri']).toBe('jdbc:postgresql://pg.example:5432/my%20db?sslmode=require&user=us%40r&password=p%3Aw%2F%3F%23');
    expect(new URL(d['uri']!).password).toBe('p%3Aw%2F%3F%23');
  });

  it('adopts a Python-operator secret: keeps the password, adds keys and the owner', () => {
    const old = { metadata: { name: 's', namespace: 'n', resourceVersion: '7' }, data: encodeData({ host: 'h', port: '5432', dbname: 'db', username: 'db', password: 'old', sslmode: 'disable' }) };
    const next = desiredSecret(old, { namespace: 'n', name: 's', owner, data: credentialsData({ host: 'h', port: 5432, dbname: 'db', username: 'db', password: 'old', sslmode: 'disable' }) });
    expect(next).toBeDefined();
    expect(decodeSecret(next)['hostname']).toBe('h');
    expect(decodeSecret(next)['password']).toBe('old');
    expect(next!.metadata!.ownerReferences![0]!.uid).toBe('u1');
    expect(next!.metadata!.resourceVersion).toBe('7');
  });

  it('returns undefined when nothing changes and removes the pending key on promotion', () => {
    const data = credentialsData({ host: 'h', port: 1, dbname: 'd', username: 'u', password: 'p', sslmode: 'disable' });
    const first = desiredSecret(undefined, { namespace: 'n', name: 's', owner, data: { [PENDING_PASSWORD_KEY]: 'p' } })!;
    const promoted = desiredSecret(first, { namespace: 'n', name: 's', owner, data: { ...data, [PENDING_PASSWORD_KEY]: null } })!;
    expect(decodeSecret(promoted)[PENDING_PASSWORD_KEY]).toBeUndefined();
    expect(desiredSecret(promoted, { namespace: 'n', name: 's', owner, data })).toBeUndefined();
  });

  it('detects a Secret controlled by another object', () => {
    const s = { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'other', controller: true }] } };
    expect(foreignController(s, owner)?.uid).toBe('other');
    expect(foreignController({ metadata: {} }, owner)).toBeUndefined();
  });
});
