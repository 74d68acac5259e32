import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUTS, PoolManager } from './pools.js';

describe('PoolManager.slot: the per-server session bound', () => {
  it('lets at most maxConnectionsPerPool sessions to one server run; the next waits for a release, in order; other servers are not affected', async () => {
    const pools = new PoolManager({ maxPools: 4, maxConnectionsPerPool: 2, timeouts: DEFAULT_TIMEOUTS });
    const a = { host: 'a', port: 5432 };
    const r1 = await pools.slot(a);
    const r2 = await pools.slot(a);
    const order: string[] = [];
    const third = pools.slot(a).then((r) => (order.push('third'), r));
    const fourth = pools.slot(a).then((r) => (order.push('fourth'), r));
    const other = await pools.slot({ host: 'b', port: 5432 }); // another server: at once
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    r1();
    r1(); // twice is once
    const r3 = await third;
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['third']);
    r2();
    const r4 = await fourth;
    expect(order).toEqual(['third', 'fourth']);
    r3();
    r4();
    other();
  });
});
