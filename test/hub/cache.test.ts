// Cache replicas behind /rpc and the hub's socket: read-your-writes, a call whose ops the store
// cannot take answers 5xx with nothing half-applied, replicas kept across restarts with their
// replica id, discarded when they do not match the store, bounded by count, and feeding events
// to the hub socket's subscribers.

import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { originOf } from '../../src/core/hlc.js';
import { startHub } from '../../src/hub/server.js';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { silentLogger } from '../../src/ports/logger.js';
import { MAX_PUSH_OPS } from '../../src/protocol/sync.js';
import { seededRandom } from '../../src/ports/random.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { syncOnce } from '../../src/sync/sync-once.js';
import { connect } from '../../src/transport/socket-client.js';
import { useDaemons } from '../daemon/helpers.js';
import { useCleanup } from '../helpers/temp.js';
import { OffsetClock, openSpoke } from '../sync/helpers.js';
import { eventually, hubConfig, makeHub, type MakeHubOptions, type TestHub } from './helpers.js';

const closers = useCleanup();

function dir(): string {
  return closers.dir('heph-cache-');
}

async function hub(opts: MakeHubOptions = {}): Promise<TestHub> {
  const h = await makeHub({ clock: new OffsetClock(), ...opts });
  closers.defer(() => h.close());
  return h;
}

async function rpc(h: TestHub, method: string, params: object = {}) {
  const r = await h.app.inject({
    method: 'POST',
    url: '/rpc',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return { status: r.statusCode, body: r.json<Record<string, unknown>>() };
}

/** Every node's title as /rpc (the cache replica) lists them, sorted. */
async function rpcTitles(h: TestHub): Promise<string[]> {
  const { result } = (await rpc(h, 'node.list', { scope: 'all' })).body;
  return (result as { nodes: { title: string }[] }).nodes.map((n) => n.title).sort();
}

async function log(h: TestHub): Promise<{ id: string; payload: Record<string, unknown> }[]> {
  const page = await h.hubStore.read(HUB_OWNER, { after: 0, limit: 10_000, maxChars: Infinity });
  return page.ops.map((t) => JSON.parse(t) as { id: string; payload: Record<string, unknown> });
}

describe('cache replicas', () => {
  it('serve /rpc with read-your-writes, each write in the log before its reply', async () => {
    const h = await hub();
    await h.listen();
    const made = await rpc(h, 'node.create', { kind: 'doc', title: 'via rpc', body: 'hi\n' });
    const { id } = made.body.result as { id: string };
    // In the log at once: a device's next pull has it.
    const ops = await log(h);
    expect(ops.length).toBeGreaterThan(0);
    const device = openSpoke('device', h.url);
    closers.defer(() => device.close());
    await syncOnce(device.store, device.client);
    expect(device.store.getNode(id).body).toBe('hi\n');
    // A device's change is there for the next call.
    device.store.updateNode(id, { title: 'renamed on a device' });
    await syncOnce(device.store, device.client);
    expect((await rpc(h, 'node.get', { id })).body.result).toMatchObject({
      title: 'renamed on a device',
    });
    // The replica's ops carry its own replica id, which is not the device's.
    const origins = new Set(ops.map((o) => originOf(o.id)));
    expect(origins.size).toBe(1);
    expect(origins.has(device.store.origin)).toBe(false);
  });

  it('answer 5xx when the store cannot take a call’s ops, and keep nothing of that call', async () => {
    const h = await hub();
    const kept = await rpc(h, 'node.create', { kind: 'doc', title: 'kept' });
    expect(kept.status).toBe(200);
    const before = await log(h);
    const append = vi
      .spyOn(h.hubStore, 'append')
      .mockRejectedValueOnce(new HephError('storage', 'the disk is full'));
    const failed = await rpc(h, 'node.create', { kind: 'doc', title: 'lost' });
    expect(append).toHaveBeenCalled();
    append.mockRestore();
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({
      error: {
        code: 'storage',
        message: expect.stringMatching(/could not store this change, so nothing of it was kept/),
        reason: 'not_stored',
      },
    });
    expect(await log(h)).toEqual(before);
    // The replica that held the change was dropped: the next call sees the log only.
    const list = await rpc(h, 'node.list', {});
    const titles = (list.body.result as { nodes: { title: string }[] }).nodes.map((n) => n.title);
    expect(titles).toEqual(['kept']);
    // And a later write stores only its own ops.
    await rpc(h, 'node.create', { kind: 'doc', title: 'later' });
    const after = await log(h);
    expect(after.map((o) => o.payload.value)).not.toContain('lost');
    expect(after.slice(0, before.length)).toEqual(before);
  });

  it('answer a batch call by call: a call that could not be stored says so, the ones before were', async () => {
    const h = await hub();
    const store = h.hubStore;
    const append = store.append.bind(store);
    const spy = vi
      .spyOn(store, 'append')
      .mockImplementationOnce(append)
      .mockRejectedValueOnce(new HephError('storage', 'the disk is full'));
    const r = await h.app.inject({
      method: 'POST',
      url: '/rpc',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(
        ['stored', 'lost'].map((title, i) => ({
          jsonrpc: '2.0',
          id: i + 1,
          method: 'node.create',
          params: { kind: 'doc', title },
        })),
      ),
    });
    spy.mockRestore();
    expect(r.statusCode).toBe(200);
    const [first, second] = r.json<Record<string, unknown>[]>();
    expect(first).toMatchObject({ id: 1, result: { title: 'stored' } });
    expect(second).toMatchObject({
      id: 2,
      error: {
        message: expect.stringMatching(/nothing of it was kept/),
        data: { code: 'storage', reason: 'not_stored' },
      },
    });
    expect((await log(h)).map((o) => o.payload.value)).toContain('stored');
    expect((await h.view()).listNodes().map((n) => n.title)).toEqual(['stored']);
  });

  it('store a call of more ops than one push carries in one append: all of it or none', async () => {
    const h = await hub();
    const before = await log(h);
    const many = (title: string) => (s: SqliteStore) =>
      s.transaction(() => {
        for (let i = 0; s.countOwnOpsSince(0) <= MAX_PUSH_OPS; i++) {
          s.createNode({ kind: 'doc', title: `${title} ${i}` });
        }
        return s.countOwnOpsSince(0);
      });
    const append = vi
      .spyOn(h.hubStore, 'append')
      .mockRejectedValueOnce(new HephError('storage', 'the disk is full'));
    await expect(h.write(many('lost'))).rejects.toMatchObject({
      details: { reason: 'not_stored' },
    });
    expect(append).toHaveBeenCalledTimes(1);
    expect(await log(h)).toEqual(before);
    expect((await h.view()).listNodes()).toEqual([]);
    append.mockClear();
    await h.write(many('kept'));
    expect(append).toHaveBeenCalledTimes(1);
    append.mockRestore();
    const stored = await log(h);
    expect(stored.length).toBeGreaterThan(MAX_PUSH_OPS);
    expect(stored.some((o) => String(o.payload.value).startsWith('lost'))).toBe(false);
  });

  it('are kept on disk across restarts with their replica id, and rebuilt when they do not match', async () => {
    const d = dir();
    const titles = async (h: TestHub) =>
      (await h.view())
        .listNodes()
        .map((n) => n.title)
        .sort();
    let h = await makeHub({ dir: d, clock: new OffsetClock() });
    await rpc(h, 'node.create', { kind: 'doc', title: 'one' });
    const origin = (await h.view()).origin;
    await h.close();
    copyFileSync(join(d, 'hub.db'), join(d, 'early.db'));
    expect(readdirSync(join(d, 'cache'))).toContain(`owner-${HUB_OWNER}.db`);
    h = await makeHub({ dir: d, clock: new OffsetClock() });
    expect(h.hub.caches.size).toBe(1);
    await rpc(h, 'node.create', { kind: 'doc', title: 'two' });
    expect((await h.view()).origin).toBe(origin);
    expect(new Set((await log(h)).map((o) => originOf(o.id)))).toEqual(new Set([origin]));
    await h.close();

    // The hub store restored from an earlier copy: the replica is ahead of its log, and rebuilt.
    copyFileSync(join(d, 'early.db'), join(d, 'hub.db'));
    h = await makeHub({ dir: d, clock: new OffsetClock() });
    expect(await titles(h)).toEqual(['one']);
    expect((await h.view()).origin).not.toBe(origin);
    await h.close();

    // Another hub's store put in its place: the replica belongs to another store, and is rebuilt.
    const other = dir();
    h = await makeHub({ dir: other, clock: new OffsetClock() });
    await rpc(h, 'node.create', { kind: 'doc', title: 'elsewhere' });
    await h.close();
    copyFileSync(join(other, 'hub.db'), join(d, 'hub.db'));
    for (const f of ['hub.db-wal', 'hub.db-shm']) expect(existsSync(join(d, f))).toBe(false);
    h = await makeHub({ dir: d, clock: new OffsetClock() });
    closers.defer(() => h.close());
    expect(await titles(h)).toEqual(['elsewhere']);
  });

  it('are rebuilt when the store was restored and then written again past their cursor', async () => {
    // The replica's cursor is then not ahead of the log, but names another op there: read on
    // from it, the replica would skip the ops written at the reused stamps, and keep showing
    // what the restored log no longer holds (its own change through /rpc among them, which the
    // restore lost: no device pulled it).
    const d = dir();
    let h = await makeHub({ dir: d, clock: new OffsetClock() });
    await rpc(h, 'node.create', { kind: 'doc', title: 'one' });
    await h.close();
    copyFileSync(join(d, 'hub.db'), join(d, 'early.db'));
    // After the copy: a device's change, which the replica catches up past, and one of its own.
    h = await makeHub({ dir: d, clock: new OffsetClock() });
    await h.listen();
    const early = openSpoke('early', h.url);
    closers.defer(() => early.close());
    early.store.createNode({ kind: 'doc', title: 'after the copy' });
    await syncOnce(early.store, early.client);
    await rpc(h, 'node.create', { kind: 'doc', title: 'via rpc after the copy' });
    expect(await rpcTitles(h)).toEqual(['after the copy', 'one', 'via rpc after the copy']);
    const cursor = (await log(h)).length;
    await h.close();
    // Restored; another device then writes past the replica's cursor before anyone calls /rpc.
    copyFileSync(join(d, 'early.db'), join(d, 'hub.db'));
    h = await makeHub({ dir: d, clock: new OffsetClock() });
    closers.defer(() => h.close());
    await h.listen();
    const late = openSpoke('late', h.url);
    closers.defer(() => late.close());
    for (let i = 0; (await log(h)).length <= cursor; i++) {
      late.store.createNode({ kind: 'doc', title: `late ${i}` });
      await syncOnce(late.store, late.client);
    }
    const held = late.store
      .listNodes()
      .map((n) => n.title)
      .sort();
    expect(held).toContain('one');
    expect(held).not.toContain('after the copy');
    expect(await rpcTitles(h)).toEqual(held);
  });

  it('are rebuilt when the store was restored from before their own last change', async () => {
    // The change made through /rpc after the copy is lost with the restore (no device pulled
    // it); the replica must not keep showing it.
    const d = dir();
    let h = await makeHub({ dir: d, clock: new OffsetClock() });
    expect((await rpc(h, 'node.create', { kind: 'doc', title: 'one' })).status).toBe(200);
    expect(await rpcTitles(h)).toEqual(['one']);
    await h.close();
    copyFileSync(join(d, 'hub.db'), join(d, 'early.db'));
    h = await makeHub({ dir: d, clock: new OffsetClock() });
    expect((await rpc(h, 'node.create', { kind: 'doc', title: 'lost' })).status).toBe(200);
    await h.close();
    copyFileSync(join(d, 'early.db'), join(d, 'hub.db'));
    h = await makeHub({ dir: d, clock: new OffsetClock() });
    closers.defer(() => h.close());
    await h.listen();
    const device = openSpoke('device', h.url);
    closers.defer(() => device.close());
    device.store.createNode({ kind: 'doc', title: 'device' });
    await syncOnce(device.store, device.client);
    expect(await rpcTitles(h)).toEqual(['device', 'one']);
  });

  it('keep at most --cache-max-owners replicas, dropping the least recently used', async () => {
    const h = await hub({ cache: { maxOwners: 2 } });
    const owners = [
      HUB_OWNER,
      await h.hubStore.ownerOf({ iss: 'https://id.test', sub: 'bob' }),
      await h.hubStore.ownerOf({ iss: 'https://id.test', sub: 'carol' }),
    ];
    for (const o of owners) await h.write((s) => s.createNode({ kind: 'doc', title: `${o}` }), o);
    const files = () => readdirSync(join(h.dir, 'cache')).filter((f) => f.endsWith('.db'));
    expect(h.hub.caches.size).toBe(2);
    expect(files().sort()).toEqual([`owner-${owners[1]}.db`, `owner-${owners[2]}.db`]);
    // Using the hub owner again drops bob's (now the least recently used), and rebuilds its own.
    expect((await h.view(HUB_OWNER)).listNodes().map((n) => n.title)).toEqual([`${HUB_OWNER}`]);
    expect(files().sort()).toEqual([`owner-${HUB_OWNER}.db`, `owner-${owners[2]}.db`]);
  });

  it('keep at most --cache-max-mb of files, but never evict the replica just used', async () => {
    // A bound smaller than any replica: only the one just used stays, however large it is.
    const h = await hub({ cache: { maxBytes: 1 } });
    const bob = await h.hubStore.ownerOf({ iss: 'https://id.test', sub: 'bob' });
    const files = () => readdirSync(join(h.dir, 'cache')).filter((f) => f.endsWith('.db'));
    await h.write((s) => s.createNode({ kind: 'doc', title: 'hub' }), HUB_OWNER);
    expect(files()).toEqual([`owner-${HUB_OWNER}.db`]);
    expect(h.hub.caches.bytes).toBeGreaterThan(1);
    await h.write((s) => s.createNode({ kind: 'doc', title: 'bob' }), bob);
    expect(files()).toEqual([`owner-${bob}.db`]);
    expect(h.hub.caches.size).toBe(1);
    // Rebuilt from the log when used again, whole.
    expect((await h.view(HUB_OWNER)).listNodes().map((n) => n.title)).toEqual(['hub']);
    expect(files()).toEqual([`owner-${HUB_OWNER}.db`]);
    expect((await h.view(bob)).listNodes().map((n) => n.title)).toEqual(['bob']);
  });
});

describe('client mode against the cache replicas', () => {
  const daemons = useDaemons();

  it('reads its own writes, and a write the hub could not store fails with nothing kept', async () => {
    const h = await hub();
    await h.listen();
    const home = daemons.dir();
    const d = await daemons.start({
      db: join(home, 'unused.db'),
      socket: join(home, 'c.sock'),
      args: ['--mode', 'client', '--hub-url', h.url],
    });
    const c = await daemons.client(d.socket);
    const made = (await c.call('node.create', { kind: 'doc', title: 'through the client' })) as {
      id: string;
    };
    expect(await c.call('node.get', { id: made.id })).toMatchObject({
      title: 'through the client',
    });
    const before = await log(h);
    const append = vi
      .spyOn(h.hubStore, 'append')
      .mockRejectedValueOnce(new HephError('storage', 'the disk is full'));
    await expect(c.call('node.update', { id: made.id, title: 'lost' })).rejects.toMatchObject({
      code: 'storage',
      message: expect.stringMatching(/nothing of it was kept/),
    });
    append.mockRestore();
    expect(await log(h)).toEqual(before);
    expect(await c.call('node.get', { id: made.id })).toMatchObject({
      title: 'through the client',
    });
  });
});

describe('the hub’s own socket', () => {
  it('serves the hub owner’s data and tells subscribers of changes pushed by devices', async () => {
    const d = dir();
    const hubProcess = await startHub(hubConfig(d), {
      clock: { now: () => Date.now() },
      random: seededRandom(3),
      logger: silentLogger,
      version: 'test',
    });
    closers.defer(() => hubProcess.stop());
    const c = await connect(join(d, 's.sock'));
    closers.defer(() => c.close());
    const seen: string[][] = [];
    c.onNotification((m, p) => {
      if (m === 'node.changed') seen.push((p as { ids: string[] }).ids);
    });
    await c.call('events.subscribe', { topics: ['node.changed'] });
    const device = openSpoke('device', hubProcess.url);
    closers.defer(() => device.close());
    const n = device.store.createNode({ kind: 'doc', title: 'from a device' });
    await syncOnce(device.store, device.client);
    await eventually(() => Promise.resolve(seen.flat().includes(n.id)), 'node.changed');
    expect(await c.call('node.get', { id: n.id })).toMatchObject({ title: 'from a device' });
    const mine = (await c.call('node.create', { kind: 'doc', title: 'on the hub' })) as {
      id: string;
    };
    await syncOnce(device.store, device.client);
    expect(device.store.getNode(mine.id).title).toBe('on the hub');
  });
});
