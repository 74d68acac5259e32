import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeBinary, ensureBinary } from './binaries.js';

describe('binaries', () => {
  const saved = process.env['HYBRIDCLOUD_CACHE'];
  afterEach(() => {
    if (saved === undefined) delete process.env['HYBRIDCLOUD_CACHE'];
    else process.env['HYBRIDCLOUD_CACHE'] = saved;
  });

  it('names the cache entry by version and a hash of the wrapper module', () => {
    const api = describeBinary('kube-apiserver');
    const ctl = describeBinary('kubectl');
    expect(api.version).toMatch(/^v1\.(3[5-9]|[4-9]\d)\.\d+$/);
    expect(api.path).toMatch(new RegExp(`/bin/kube-apiserver-${api.version.replace(/\./g, '\\.')}-[0-9a-f]{12}/kube-apiserver$`));
    expect(ctl.path.split('/').at(-2)!.split('-').at(-1)).toBe(api.path.split('/').at(-2)!.split('-').at(-1)); // same module, same hash
    expect(describeBinary('etcd').version).toMatch(/^v3\.(5\.(1[1-9]|[2-9]\d)|6\.\d+)$/);
  });

  it('builds a missing binary once even when two callers race, and it runs', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'testenv-cache-'));
    process.env['HYBRIDCLOUD_CACHE'] = cache;
    try {
      const logs: string[] = [];
      const [a, b] = await Promise.all([ensureBinary('etcd', (l) => logs.push(l)), ensureBinary('etcd', (l) => logs.push(l))]);
      expect(a).toBe(b);
      expect(a.startsWith(cache)).toBe(true);
      expect(logs.filter((l) => l.startsWith('[testenv] building etcd'))).toHaveLength(1);
      expect(logs.some((l) => l.includes('waiting for another process building etcd'))).toBe(true);
      expect(execFileSync(a, ['--version']).toString()).toContain(`etcd Version: ${describeBinary('etcd').version.slice(1)}`);
      // Only the final binary is left: no temp file, no lock.
      expect(readdirSync(join(a, '..'))).toEqual(['etcd']);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }, 300_000);
});
