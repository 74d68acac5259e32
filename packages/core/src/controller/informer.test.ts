/**
 * The informer's loop under a fake clock with a scripted list and watch: what it does on every
 * way a stream can end (close, 410 as HTTP status or ERROR event, other errors, a hang), the
 * restart backoff, the relist diff, and sync state. The integration test covers the real
 * apiserver; this one covers timing and the paths a live server cannot be made to take.
 */
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../observability/logger.js';
import { FakeTimers, flush } from './fakeTimers.js';
import { Informer } from './informer.js';

interface WatchCall {
  params: Record<string, unknown>;
  event: (type: string, obj: unknown) => void;
  done: (err: unknown) => void;
  /** Completes the connect (watch() resolves with an AbortController). */
  connect: () => void;
  aborted: boolean;
}

function fakeWatch() {
  const calls: WatchCall[] = [];
  return {
    calls,
    watch: {
      watch(_path: string, params: Record<string, unknown>, cb: (type: string, obj: unknown) => void, done: (err: unknown) => void): Promise<AbortController> {
        return new Promise<AbortController>((resolve) => {
          const ctl = new AbortController();
          const call: WatchCall = { params, event: cb, done, connect: () => resolve(ctl), aborted: false };
          ctl.signal.addEventListener('abort', () => (call.aborted = true));
          calls.push(call);
        });
      },
    },
  };
}

const obj = (name: string, rv: string, v = ''): KubernetesObject & { v: string } => ({ metadata: { name, namespace: 'ns', resourceVersion: rv }, v });

function setup(o: { lists?: Array<() => { items: KubernetesObject[]; resourceVersion: string }>; watchdogMs?: number } = {}) {
  const t = new FakeTimers();
  const w = fakeWatch();
  const events: string[] = [];
  const restarts: unknown[] = [];
  let listCalls = 0;
  const lists = o.lists ?? [];
  const inf = new Informer<KubernetesObject>(
    new KubeConfig(),
    {
      path: '/api/v1/namespaces/ns/configmaps',
      list: async () => {
        const f = lists[Math.min(listCalls, lists.length - 1)];
        listCalls++;
        if (!f) return { items: [], resourceVersion: '10' };
        return f();
      },
    },
    { name: 't', log: silentLogger, timers: t, watch: w.watch, restartBackoff: { baseMs: 1000, maxMs: 30_000 }, onRestart: (e) => restarts.push(e), ...(o.watchdogMs ? { watchdogMs: o.watchdogMs } : {}) },
  );
  inf.addHandlers({
    onAdd: (x) => events.push(`add:${x.metadata?.name}`),
    onUpdate: (_, x) => events.push(`update:${x.metadata?.name}`),
    onDelete: (x) => events.push(`delete:${x.metadata?.name}`),
  });
  return { t, w, inf, events, restarts, lists: () => listCalls };
}

describe('Informer loop', () => {
  it('lists, watches from the list resourceVersion and applies events; bookmarks move the resourceVersion', async () => {
    const s = setup({ lists: [() => ({ items: [obj('a', '5')], resourceVersion: '10' })] });
    s.inf.start();
    await flush();
    expect(s.inf.hasSynced()).toBe(true);
    expect(s.w.calls[0]!.params).toMatchObject({ resourceVersion: '10', allowWatchBookmarks: true });
    const c = s.w.calls[0]!;
    c.connect();
    c.event('ADDED', { ...obj('b', '11'), metadata: { ...obj('b', '11').metadata, managedFields: [{ manager: 'kubectl' }] } });
    expect(s.inf.get('ns', 'b')?.metadata?.managedFields).toBeUndefined(); // not worth the memory
    c.event('MODIFIED', obj('a', '12', 'x'));
    c.event('DELETED', obj('b', '13'));
    c.event('BOOKMARK', { metadata: { resourceVersion: '20' } });
    expect(s.events).toEqual(['add:a', 'add:b', 'update:a', 'delete:b']);
    expect((s.inf.get('ns', 'a') as { v: string }).v).toBe('x');
    c.done(null); // normal close → watch again from the bookmark
    await flush();
    expect(s.w.calls[1]!.params['resourceVersion']).toBe('20');
    expect(s.lists()).toBe(1);
    await s.inf.stop();
  });

  it('410 (ERROR event or HTTP status) → relist with a diff, no restart counted', async () => {
    const s = setup({
      lists: [() => ({ items: [obj('a', '5'), obj('b', '6')], resourceVersion: '10' }), () => ({ items: [obj('a', '7'), obj('c', '8')], resourceVersion: '30' })],
    });
    s.inf.start();
    await flush();
    s.w.calls[0]!.connect();
    s.w.calls[0]!.event('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
    await flush();
    expect(s.lists()).toBe(2);
    expect(s.events).toEqual(['add:a', 'add:b', 'delete:b', 'update:a', 'add:c']);
    expect(s.w.calls[0]!.aborted).toBe(true);
    expect(s.w.calls[1]!.params['resourceVersion']).toBe('30');
    s.w.calls[1]!.done(Object.assign(new Error('Gone'), { statusCode: 410 }));
    await flush();
    expect(s.lists()).toBe(3);
    expect(s.restarts).toHaveLength(0);
    await s.inf.stop();
  });

  it('any other error → backoff (1 s, 2 s, 4 s…) and relist; a healthy stream resets the backoff', async () => {
    const s = setup();
    s.inf.start();
    await flush();
    const fail = async (i: number) => {
      s.w.calls[i]!.done(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
      await flush();
    };
    await fail(0);
    expect(s.restarts).toHaveLength(1);
    await s.t.advance(799);
    expect(s.lists()).toBe(1); // jitter ≤ 20 %: not before 800 ms
    await s.t.advance(201);
    expect(s.lists()).toBe(2);
    await fail(1);
    await s.t.advance(1599);
    expect(s.lists()).toBe(2);
    await s.t.advance(401);
    expect(s.lists()).toBe(3);
    // a stream that delivers events is healthy: the next error starts at 1 s again
    s.w.calls[2]!.connect();
    s.w.calls[2]!.event('ADDED', obj('z', '50'));
    s.w.calls[2]!.done(null);
    await flush();
    await fail(3);
    await s.t.advance(1000);
    expect(s.lists()).toBe(4);
    await s.inf.stop();
  });

  it('a failing LIST keeps it unsynced and retrying; it syncs once a LIST succeeds', async () => {
    let n = 0;
    const s = setup({
      lists: [
        () => {
          n++;
          if (n < 3) throw Object.assign(new Error('forbidden'), { statusCode: 403 });
          return { items: [obj('a', '1')], resourceVersion: '2' };
        },
      ],
    });
    let synced: boolean | undefined;
    void s.inf.waitForSync(60_000).then((v) => (synced = v));
    s.inf.start();
    await flush();
    expect(s.inf.hasSynced()).toBe(false);
    await s.t.advance(1000);
    expect(s.inf.hasSynced()).toBe(false);
    await s.t.advance(2000);
    expect(s.inf.hasSynced()).toBe(true);
    expect(synced).toBe(true);
    expect(s.restarts).toHaveLength(2);
    await s.inf.stop();
  });

  it('the watchdog restarts a watch that hangs without a sign of life', async () => {
    const s = setup({ watchdogMs: 60_000 });
    s.inf.start();
    await flush();
    expect(s.w.calls).toHaveLength(1); // connecting… forever
    await s.t.advance(59_000);
    expect(s.lists()).toBe(1);
    await s.t.advance(20_000);
    expect(s.restarts).toHaveLength(1);
    expect(s.lists()).toBe(2);
    expect(s.w.calls).toHaveLength(2);
    // a late connect of the abandoned request is aborted at once
    s.w.calls[0]!.connect();
    await flush();
    expect(s.w.calls[0]!.aborted).toBe(true);
    await s.inf.stop();
  });

  it('streams that close at once again and again are slowed down', async () => {
    const s = setup();
    s.inf.start();
    await flush();
    for (let i = 0; i < 4; i++) {
      s.w.calls[i]!.connect();
      s.w.calls[i]!.done(null);
      await flush();
    }
    // three quick closes are tolerated, the fourth waits
    expect(s.w.calls).toHaveLength(4);
    await s.t.advance(1000);
    expect(s.w.calls).toHaveLength(5);
    await s.inf.stop();
  });

  it('stop() ends the loop: no more requests', async () => {
    const s = setup();
    s.inf.start();
    await flush();
    await s.inf.stop();
    expect(s.w.calls[0]!.aborted).toBe(false); // never connected; the late connect is aborted
    s.w.calls[0]!.connect();
    await flush();
    expect(s.w.calls[0]!.aborted).toBe(true);
    await s.t.advance(120_000);
    expect(s.w.calls).toHaveLength(1);
    expect(s.lists()).toBe(1);
  });
});
