import { describe, expect, it } from 'vitest';
import type { RDSClient } from '@aws-sdk/client-rds';
import { EngineVersionCatalog } from './versions.js';

function client(pages: Array<() => unknown>) {
  let calls = 0;
  const c = {
    calls: () => calls,
    send: async () => {
      const page = pages[calls++];
      if (!page) throw new Error('unexpected call');
      return page();
    },
  };
  return c as unknown as RDSClient & { calls(): number };
}

describe('EngineVersionCatalog', () => {
  it('pages through DescribeDBEngineVersions, keeps available numeric versions, caches', async () => {
    let now = 0;
    const c = client([
      () => ({ DBEngineVersions: [{ EngineVersion: '16.3', Status: 'available' }, { EngineVersion: '16.4-limitless' }], Marker: 'm' }),
      () => ({ DBEngineVersions: [{ EngineVersion: '17.2' }, { EngineVersion: '15.1', Status: 'deprecated' }] }),
      () => ({ DBEngineVersions: [{ EngineVersion: '17.5' }] }),
    ]);
    const catalog = new EngineVersionCatalog(c, 1000, 100, () => now);
    expect(await catalog.versions('postgres')).toEqual(['16.3', '17.2']);
    expect(await catalog.versions('postgres')).toEqual(['16.3', '17.2']);
    expect(c.calls()).toBe(2);
    now = 1001;
    expect(await catalog.versions('postgres')).toEqual(['17.5']);
  });

  it('remembers a failure for a shorter time and reports it', async () => {
    let now = 0;
    const errors: unknown[] = [];
    const c = client([
      () => Promise.reject(Object.assign(new Error('not implemented'), { name: 'UnknownError' })),
      () => ({ DBEngineVersions: [{ EngineVersion: '16.3' }] }),
    ]);
    const catalog = new EngineVersionCatalog(c, 1000, 100, () => now);
    expect(await catalog.versions('postgres', (e) => errors.push(e))).toBeUndefined();
    expect(await catalog.versions('postgres')).toBeUndefined();
    expect(errors).toHaveLength(1);
    now = 101;
    expect(await catalog.versions('postgres')).toEqual(['16.3']);
  });
});
