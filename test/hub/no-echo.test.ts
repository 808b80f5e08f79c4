// No echo (protocol PROTOCOL_NO_ECHO): a pull leaves out the caller's own ops up to the
// Heph-Own-High it sends, the cursor moving past them; devices of the previous protocol the hub
// serves (ECHO_PROTOCOL) still get theirs back; a device restored from a plain file copy gets back the own ops its
// copy lacks; a long-poll woken only by the caller's own push goes on waiting.

import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { seededRandom } from '../../src/ports/random.js';
import {
  PROTOCOL_NO_ECHO,
  PROTOCOL_VERSION,
  PullResponse,
  PushResponse,
  type ReplicaInfo,
} from '../../src/protocol/sync.js';
import type { Op } from '../../src/core/op.js';
import { openStore } from '../../src/store/open-store.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { HubClient, type SyncTransport } from '../../src/sync/hub-client.js';
import { syncOnce } from '../../src/sync/sync-once.js';
import { tempDir, useCleanup } from '../helpers/temp.js';
import { opIds, OffsetClock, openSpoke, startTestHub, type Spoke } from '../sync/helpers.js';
import { ECHO_PROTOCOL, httpPull, httpPush, titleOp, type TestHub } from './helpers.js';

const closers = useCleanup();

async function hub(): Promise<TestHub> {
  const h = await startTestHub();
  closers.defer(() => h.close());
  return h;
}

function spoke(name: string, url: string): Spoke {
  const s = openSpoke(name, url);
  closers.defer(() => s.close());
  return s;
}

/** How a device of the previous protocol talks to a hub: no Heph-Own-High, own ops come back. */
function echoing(url: string, store: SqliteStore): SyncTransport {
  const headers = {
    'heph-protocol': ECHO_PROTOCOL,
    'heph-replica': store.origin,
    'content-type': 'application/json',
  };
  return {
    async push(ops: readonly Op[]) {
      const replica: ReplicaInfo = { id: store.origin };
      const r = await request(`${url}/sync/push`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ replica, ops }),
      });
      return PushResponse.parse(await r.body.json());
    },
    async pull(after: string | undefined, limit?: number) {
      const q = new URLSearchParams({
        ...(after !== undefined && { after }),
        ...(limit !== undefined && { limit: String(limit) }),
      });
      const r = await request(`${url}/sync/pull?${q.toString()}`, { headers });
      return PullResponse.parse(await r.body.json());
    },
    clockOffsetMs: () => undefined,
  };
}

describe('no echo', () => {
  it('serves devices of the previous protocol and of no echo on one hub: only the older gets its own ops back', async () => {
    expect(PROTOCOL_VERSION).toBeGreaterThanOrEqual(PROTOCOL_NO_ECHO);
    const h = await hub();
    const modern = spoke('modern', h.url);
    const t = tempDir('heph-old-device-');
    closers.defer(() => t.cleanup());
    const old = openStore(
      { path: join(t.dir, 'old.db') },
      { clock: new OffsetClock(), random: seededRandom(11) },
    );
    closers.defer(() => old.close());
    const oldHub = echoing(h.url, old);

    for (let i = 0; i < 3; i++) modern.store.createNode({ kind: 'doc', title: `modern ${i}` });
    for (let i = 0; i < 2; i++) old.createNode({ kind: 'doc', title: `old ${i}` });
    const modernOwn = modern.store.opCount();
    const oldOwn = old.opCount();
    // Each pushes, then pulls everything.
    expect(await syncOnce(modern.store, modern.client)).toMatchObject({ pulled: 0 });
    expect(await syncOnce(old, oldHub)).toMatchObject({ pulled: modernOwn });
    const again = await syncOnce(modern.store, modern.client);
    // The modern device gets the old one's ops, never its own.
    expect(again).toMatchObject({ pulled: oldOwn, applied: oldOwn });
    // The old device gets everything after its cursor, its own ops included (as duplicates).
    const oldAgain = await syncOnce(old, oldHub);
    expect(oldAgain).toMatchObject({ pulled: oldOwn, applied: 0 });
    expect(modern.store.digest()).toBe(old.digest());
    expect(modern.store.digest()).toBe((await h.view()).digest());
    const titles = (await h.view()).listNodes().map((n) => n.title);
    expect(titles.sort()).toEqual(['modern 0', 'modern 1', 'modern 2', 'old 0', 'old 1']);
  });

  it('pages count only what the caller receives, and the cursor moves past skipped ops', async () => {
    const h = await hub();
    const a = 'aaaaaaaaaaaaaaaa';
    const b = 'bbbbbbbbbbbbbbbb';
    const now = Date.now();
    // a a b a b a a: the caller is a, and holds all of its ops.
    const order = [a, a, b, a, b, a, a].map((o, i) => titleOp(now, i, o));
    for (const op of order) await httpPush(h.url, [op], op.id.slice(-16));
    const high = order.filter((o) => o.id.endsWith(a)).at(-1)!.id;
    const as = { origin: a, protocol: String(PROTOCOL_NO_ECHO), ownHigh: high };
    const p1 = await httpPull(h.url, { limit: 1 }, undefined, as);
    expect(p1.ops.map((o) => o.id)).toEqual([order[2]!.id]);
    expect(p1).toMatchObject({ cursor: '3', more: true, remaining: 1 });
    const p2 = await httpPull(h.url, { after: p1.cursor, limit: 1 }, undefined, as);
    expect(p2.ops.map((o) => o.id)).toEqual([order[4]!.id]);
    expect(p2).toMatchObject({ cursor: '7', more: false, remaining: 0 });
    // The previous protocol from the same replica: everything.
    const echo = await httpPull(h.url, { limit: 10 }, undefined, { origin: a });
    expect(echo.ops).toHaveLength(7);
  });

  it('gives a device restored from a plain file copy the own ops its copy lacks', async () => {
    const h = await hub();
    const t = tempDir('heph-restore-');
    closers.defer(() => t.cleanup());
    const path = join(t.dir, 'heph.db');
    const clock = new OffsetClock();
    const open = () => {
      const store = openStore({ path }, { clock, random: seededRandom(21) });
      const client = new HubClient({
        url: h.url,
        origin: store.origin,
        ownHigh: () => store.ownHigh(),
        clock,
      });
      return { store, client };
    };
    let d = open();
    d.store.createNode({ kind: 'doc', title: 'before the copy' });
    await syncOnce(d.store, d.client);
    const origin = d.store.origin;
    const copied = d.store.opCount();
    await d.client.close();
    d.store.close();
    copyFileSync(path, join(t.dir, 'copy.db'));
    d = open();
    const later = d.store.createNode({ kind: 'doc', title: 'after the copy' });
    d.store.updateNode(later.id, { body: 'lost with the disk\n' });
    await syncOnce(d.store, d.client);
    const all = d.store.opCount();
    await d.client.close();
    d.store.close();

    // The disk dies; the copy comes back under the same replica id.
    copyFileSync(join(t.dir, 'copy.db'), path);
    d = open();
    closers.defer(async () => {
      await d.client.close();
      d.store.close();
    });
    expect(d.store.origin).toBe(origin);
    expect(d.store.opCount()).toBe(copied);
    const r = await syncOnce(d.store, d.client);
    expect(r).toMatchObject({ pulled: all - copied, applied: all - copied, refused: [] });
    expect(d.store.getNode(later.id).body).toBe('lost with the disk\n');
    // Its clock is past the ops it got back: a new op takes a new id, which the hub accepts.
    d.store.updateNode(later.id, { title: 'written after the restore' });
    expect(await syncOnce(d.store, d.client)).toMatchObject({ pushed: 1, refused: [] });
    const view = await h.view();
    expect(opIds(d.store)).toEqual(opIds(view));
    expect(d.store.digest()).toBe(view.digest());
  });

  it('keeps a long-poll waiting when only the caller’s own push arrives', async () => {
    const h = await hub();
    const a = 'aaaaaaaaaaaaaaaa';
    const now = Date.now();
    await httpPush(h.url, [titleOp(now, 0, a)], a);
    const as = { origin: a, protocol: String(PROTOCOL_NO_ECHO), ownHigh: titleOp(now, 0, a).id };
    const waiting = httpPull(h.url, { after: '1', wait: 10 }, undefined, as);
    const old = httpPull(h.url, { after: '1', wait: 10 }, undefined, { origin: a });
    while (h.hubStore.waiting(HUB_OWNER) < 2) await new Promise((r) => setTimeout(r, 5));
    // The caller pushes while its pull waits: the previous protocol's pull wakes with its echo …
    await httpPush(h.url, [titleOp(now, 1, a), titleOp(now, 2, a)], a);
    expect((await old).ops).toHaveLength(2);
    // … the no-echo pull waits on, and wakes for another device's op only.
    await new Promise((r) => setTimeout(r, 100));
    expect(h.hubStore.waiting(HUB_OWNER)).toBe(1);
    const other = titleOp(now, 0, 'bbbbbbbbbbbbbbbb');
    await httpPush(h.url, [other], 'bbbbbbbbbbbbbbbb');
    const page = await waiting;
    expect(page.ops.map((o) => o.id)).toEqual([other.id]);
    expect(page).toMatchObject({ cursor: '4', more: false, remaining: 0 });
  });
});
