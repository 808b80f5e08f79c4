import { afterEach, describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { originOf } from '../../src/core/hlc.js';
import { seededRandom, type Random } from '../../src/ports/random.js';
import { syncOnce, FAILPOINTS, type Failpoint } from '../../src/sync/sync-once.js';
import { pendingCount, quarantine } from '../../src/sync/sync-state.js';
import {
  opIds,
  openSpoke,
  startProxy,
  startTestHub,
  type Proxy,
  type Spoke,
  type TestHub,
} from './helpers.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function hub(opts: Parameters<typeof startTestHub>[0] = {}): Promise<TestHub> {
  const h = await startTestHub(opts);
  closers.push(() => h.close());
  return h;
}

function spoke(name: string, url: string, seed?: number): Spoke {
  const s = openSpoke(name, url, seed);
  closers.push(() => s.close());
  return s;
}

function pick<T>(r: Random, xs: readonly T[]): T {
  return xs[Math.floor(r.next() * xs.length)] as T;
}

/** One random user edit: titles, bodies, tasks, links, deletes. */
function randomEdit(s: Spoke, r: Random, n: number): void {
  const nodes = s.store.listNodes({ scope: 'all', limit: 10_000 });
  const roll = r.next();
  if (nodes.length < 3 || roll < 0.2) {
    s.store.createNode({
      kind: r.next() < 0.5 ? 'task' : 'doc',
      title: `${s.name} ${n}`,
      body: `line one\nline two ${n}\n`,
    });
    return;
  }
  const node = pick(r, nodes);
  if (roll < 0.4) s.store.updateNode(node.id, { title: `${s.name} renamed ${n}` });
  else if (roll < 0.6) s.store.updateNode(node.id, { body: `${node.body}${s.name} adds ${n}\n` });
  else if (roll < 0.7 && node.kind === 'task') {
    s.store.updateNode(node.id, { state: pick(r, ['done', 'outstanding', 'dropped'] as const) });
  } else if (roll < 0.8) {
    const other = pick(r, nodes);
    if (other.id !== node.id) s.store.addLink(node.id, other.id, 'parent');
  } else if (roll < 0.9) {
    if (node.deleted) s.store.restoreNode(node.id);
    else s.store.deleteNode(node.id);
  } else {
    s.store.updateNode(node.id, { attention: 'red' } as never);
  }
}

function safeEdit(s: Spoke, r: Random, n: number): void {
  try {
    randomEdit(s, r, n);
  } catch (e) {
    if (!(e instanceof HephError) || e.code !== 'invalid_params') throw e;
  }
}

describe('syncOnce', () => {
  it('moves one spoke’s edits to another through the hub', async () => {
    const h = await hub();
    const a = spoke('a', h.url);
    const b = spoke('b', h.url);
    const n = a.store.createNode({ kind: 'doc', title: 'hello', body: 'world\n' });
    const ra = await syncOnce(a.store, a.client);
    expect(ra.pushed).toBe(a.store.opCount());
    expect(pendingCount(a.store)).toBe(0);
    const rb = await syncOnce(b.store, b.client);
    expect(rb.applied).toBe(a.store.opCount());
    expect(b.store.getNode(n.id).body).toBe('world\n');
    expect(b.store.digest()).toBe((await h.view()).digest());
    // Nothing new: a second run moves nothing.
    const again = await syncOnce(b.store, b.client);
    expect(again).toMatchObject({ applied: 0, pushed: 0 });
  });

  it('pulls in pages and pushes in batches', async () => {
    const h = await hub();
    const a = spoke('a', h.url);
    const b = spoke('b', h.url);
    for (let i = 0; i < 40; i++) a.store.createNode({ kind: 'doc', title: `n${i}` });
    const ra = await syncOnce(a.store, a.client, { pushLimit: 7 });
    expect(ra.pushed).toBe(a.store.opCount());
    const progress: number[] = [];
    const rb = await syncOnce(b.store, b.client, {
      pullLimit: 9,
      onProgress: (p) => progress.push(p.done),
    });
    expect(rb.applied).toBe(a.store.opCount());
    expect(progress.length).toBeGreaterThan(5);
    expect(b.store.digest()).toBe(a.store.digest());
  });

  for (const seed of [1, 2, 3]) {
    it(`three spokes editing offline converge within two rounds (seed ${seed})`, async () => {
      const h = await hub();
      const r = seededRandom(seed);
      const spokes = ['a', 'b', 'c'].map((n, i) => spoke(n, h.url, seed * 10 + i));
      let edit = 0;
      for (let round = 0; round < 4; round++) {
        for (const s of spokes) {
          const k = Math.floor(r.next() * 8);
          for (let i = 0; i < k; i++) safeEdit(s, r, edit++);
        }
        const order = [...spokes].sort(() => r.next() - 0.5);
        for (const s of order) if (r.next() < 0.7) await syncOnce(s.store, s.client);
      }
      // After the last edit: two full rounds in random orders.
      for (let round = 0; round < 2; round++) {
        const order = [...spokes].sort(() => r.next() - 0.5);
        for (const s of order) await syncOnce(s.store, s.client);
      }
      const digest = (await h.view()).digest();
      for (const s of spokes) {
        expect(s.store.digest(), s.name).toBe(digest);
        expect(opIds(s.store)).toEqual(opIds(await h.view()));
        expect(pendingCount(s.store)).toBe(0);
      }
    });
  }

  it('a spoke whose clock runs 10 minutes behind still reaches everyone', async () => {
    const h = await hub();
    const a = spoke('a', h.url);
    const b = spoke('b', h.url);
    const late = spoke('late', h.url);
    late.clock.offsetMs = -10 * 60_000;
    const old = late.store.createNode({ kind: 'task', title: 'written on a slow clock' });
    a.store.createNode({ kind: 'doc', title: 'from a' });
    await syncOnce(a.store, a.client);
    await syncOnce(b.store, b.client);
    b.store.createNode({ kind: 'doc', title: 'from b' });
    await syncOnce(b.store, b.client);
    await syncOnce(a.store, a.client);
    // a and b have pulled past the authoring time of late's ops; late pushes only now.
    await syncOnce(late.store, late.client);
    await syncOnce(a.store, a.client);
    await syncOnce(b.store, b.client);
    expect(a.store.findNode(old.id)?.title).toBe('written on a slow clock');
    expect(b.store.findNode(old.id)?.title).toBe('written on a slow clock');
    expect(a.store.digest()).toBe((await h.view()).digest());
    expect(b.store.digest()).toBe((await h.view()).digest());
    expect(late.store.digest()).toBe((await h.view()).digest());
  });

  for (const fp of FAILPOINTS) {
    it(`a crash at ${fp} loses and doubles nothing`, async () => {
      const h = await hub();
      const a = spoke('a', h.url);
      const b = spoke('b', h.url);
      b.store.createNode({ kind: 'doc', title: 'b was here' });
      await syncOnce(b.store, b.client);
      for (let i = 0; i < 5; i++) a.store.createNode({ kind: 'task', title: `t${i}` });
      const crash = (name: Failpoint): void => {
        throw new Error(`crashed at ${name}`);
      };
      await expect(
        syncOnce(a.store, a.client, { failpoint: fp, crash, pushLimit: 4 }),
      ).rejects.toThrow(`crashed at ${fp}`);
      // Retry without the failpoint, as the restarted daemon would.
      await syncOnce(a.store, a.client);
      await syncOnce(b.store, b.client);
      const ids = opIds(await h.view());
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(opIds(a.store));
      expect(ids).toEqual(opIds(b.store));
      expect((await h.view()).opCount()).toBe(a.store.opCount());
      expect(a.store.digest()).toBe((await h.view()).digest());
      expect(b.store.digest()).toBe((await h.view()).digest());
      expect(quarantine(a.store)).toEqual([]);
    });
  }

  it('a reply lost after the hub committed: the retry changes nothing on the hub', async () => {
    const h = await hub();
    const proxy: Proxy = await startProxy(h.url);
    closers.push(() => proxy.close());
    const a = spoke('a', proxy.url);
    for (let i = 0; i < 3; i++) a.store.createNode({ kind: 'doc', title: `d${i}` });
    proxy.dropNextPushReply();
    const err = await syncOnce(a.store, a.client).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HephError);
    expect((err as HephError).code).toBe('unavailable');
    expect(proxy.dropped).toBe(1);
    expect(pendingCount(a.store)).toBe(a.store.opCount());
    const before = {
      ids: opIds(await h.view()),
      digest: (await h.view()).digest(),
      last: await h.hubStore.head(HUB_OWNER),
    };
    expect(before.ids).toEqual(opIds(a.store));
    const r = await syncOnce(a.store, a.client);
    expect(r.pushed).toBe(a.store.opCount());
    expect(opIds(await h.view())).toEqual(before.ids);
    expect(await h.hubStore.head(HUB_OWNER)).toBe(before.last);
    expect((await h.view()).digest()).toBe(before.digest);
    expect(pendingCount(a.store)).toBe(0);
  });

  it('ops refused for clock drift are quarantined, then re-stamped once the clock is right', async () => {
    const h = await hub({ maxDriftMs: 5 * 60_000 });
    const fast = spoke('fast', h.url);
    const b = spoke('b', h.url);
    fast.clock.offsetMs = 10 * 60_000;
    const task = fast.store.createNode({ kind: 'task', title: 'from the future' });
    fast.store.updateNode(task.id, { title: 'from the future, renamed', body: 'body\n' });
    const r1 = await syncOnce(fast.store, fast.client);
    expect(r1.refused.length).toBeGreaterThan(0);
    expect(r1.refused.every((x) => x.code === 'clock_drift')).toBe(true);
    expect(quarantine(fast.store).map((q) => q.code)).toContain('clock_drift');
    expect((await h.view()).findNode(task.id)).toBeUndefined();
    // Still off: held back, nothing re-stamped, later edits wait too.
    fast.store.updateNode(task.id, { body: 'body\nmore\n' });
    const r2 = await syncOnce(fast.store, fast.client);
    expect(r2).toMatchObject({ driftHeld: true, restamped: 0, pushed: 0 });
    // The clock is fixed: re-stamped, accepted, and everyone agrees.
    fast.clock.offsetMs = 0;
    const r3 = await syncOnce(fast.store, fast.client);
    expect(r3.driftHeld).toBe(false);
    expect(r3.restamped).toBe(fast.store.opCount());
    expect(r3.refused).toEqual([]);
    expect(quarantine(fast.store)).toEqual([]);
    const view = fast.store.getNode(task.id);
    expect(view).toMatchObject({ title: 'from the future, renamed', body: 'body\nmore\n' });
    for (const id of opIds(fast.store)) {
      expect(originOf(id)).toBe(fast.store.origin);
      expect(Number.parseInt(id.slice(0, 12), 16)).toBeLessThan(Date.now() + 60_000);
    }
    await syncOnce(b.store, b.client);
    expect(b.store.getNode(task.id)).toMatchObject({ title: view.title, body: view.body });
    expect(b.store.digest()).toBe((await h.view()).digest());
    expect(fast.store.digest()).toBe((await h.view()).digest());
  });
});
