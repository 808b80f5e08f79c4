// Devices of different versions against one real hub. A device of sync protocol 1 would neither
// apply the body ops of protocol 2 nor leave the bodies they write alone: the hub refuses it,
// over real HTTP, with 409, the versions it speaks and what to do, and stores nothing it sent.
// An op of a kind this version does not know (from a later version) is stored and forwarded by
// the hub and every device, never applied, so a later version can replay it.

import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeHlc } from '../../src/core/hlc.js';
import type { Op } from '../../src/core/op.js';
import { HubClient } from '../../src/sync/hub-client.js';
import { OffsetClock } from '../sync/helpers.js';
import { Closers, syncAll } from './helpers.js';
import { PROTOCOL_VERSION, SUPPORTED_PROTOCOLS } from '../../src/protocol/sync.js';

const closers = new Closers();
afterEach(() => closers.run());

const OLD = '0000000000000b01';
const LATER = '0000000000000c02';

describe('a device of protocol 1', () => {
  it('is refused on push and pull with 409, the supported versions and "upgrade heph on this device"', async () => {
    const hub = await closers.hub();
    const d = closers.device('D', hub.url);
    const node = await d.call('node.create', { kind: 'doc', title: 'Shared', body: 'text\n' });
    await d.sync();
    const ops = (await hub.view()).opCount();
    const digest = (await hub.view()).digest();
    // What a device of that version sends: its headers, and an edit in its op form.
    const headers = {
      'heph-protocol': '1',
      'heph-replica': OLD,
      accept: 'application/json',
      'content-type': 'application/json',
    };
    const oldEdit = {
      id: encodeHlc({ wall: Date.now(), counter: 0, origin: OLD }),
      kind: 'node.set',
      target: node.id,
      payload: { field: 'title', value: 'renamed by an old device', prev: [] },
    };
    const push = await request(`${hub.url}/sync/push`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ replica: { id: OLD, name: 'old laptop' }, ops: [oldEdit] }),
    });
    const pull = await request(`${hub.url}/sync/pull?limit=10`, { headers });
    for (const r of [push, pull]) {
      expect(r.statusCode).toBe(409);
      const body = (await r.body.json()) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({
        code: 'protocol_mismatch',
        supported: [...SUPPORTED_PROTOCOLS],
      });
      expect(body.error.message).toMatch(
        /"1", too old for this hub .*: upgrade heph on this device$/,
      );
    }
    expect((await hub.view()).opCount()).toBe(ops);
    expect((await hub.view()).digest()).toBe(digest);
    // The device of this version, beside it, syncs as before.
    await d.call('node.update', { id: node.id, title: 'renamed here' });
    expect(await d.sync()).toMatchObject({ state: 'in_sync' });
    expect((await hub.view()).getNode(node.id).title).toBe('renamed here');
  });
});

describe('a device of this version against a hub of an older protocol', () => {
  for (const served of [[2, 3], [2]]) {
    it(`speaks the highest protocol both do (hub serving ${served.join(' and ')}), both ways`, async () => {
      const hub = await closers.hub({ protocols: served });
      // The refusal a device of this version gets first names what the hub serves.
      const refused = await request(`${hub.url}/sync/pull?limit=10`, {
        headers: { 'heph-protocol': String(PROTOCOL_VERSION), 'heph-replica': OLD },
      });
      expect(refused.statusCode).toBe(409);
      expect(((await refused.body.json()) as { error: unknown }).error).toMatchObject({
        code: 'protocol_mismatch',
        supported: served,
      });
      const d = closers.device('D', hub.url);
      const e = closers.device('E', hub.url);
      const node = await d.call('node.create', { kind: 'doc', title: 'Shared', body: 'text\n' });
      await d.call('node.update', { id: node.id, title: 'renamed on D' });
      expect(await d.sync()).toMatchObject({ state: 'in_sync' });
      expect(await e.sync()).toMatchObject({ state: 'in_sync' });
      await e.call('node.update', { id: node.id, title: 'renamed on E', body: 'text\nmore\n' });
      const statuses = await syncAll([d, e]);
      for (const s of statuses) expect(s).toMatchObject({ state: 'in_sync' });
      const view = await hub.view();
      for (const [where, store] of [
        ['hub', view],
        ['D', d.store],
        ['E', e.store],
      ] as const) {
        const n = store.getNode(node.id);
        expect(n.title, where).toBe('renamed on E');
        expect(n.body, where).toBe('text\nmore\n');
        // Every op once: the hub's log and each device's hold the same ops.
        expect(store.opCount(), where).toBe(view.opCount());
      }
      expect(d.store.digest()).toBe(view.digest());
      expect(e.store.digest()).toBe(view.digest());
    });
  }

  it('moves down once, to the version named in the refusal, and pushes in its op form', async () => {
    const hub = await closers.hub({ protocols: [2, 3] });
    const client = new HubClient({ url: hub.url, origin: LATER, clock: new OffsetClock() });
    closers.add(() => client.close());
    expect(client.protocol).toBe(PROTOCOL_VERSION);
    const titled: Op = {
      id: encodeHlc({ wall: Date.now(), counter: 0, origin: LATER }),
      kind: 'node.set',
      target: '01J0000000000000000000000A',
      payload: { field: 'title', value: 'pushed in protocol 3', prev: [] },
    };
    expect(await client.push([titled])).toEqual({ accepted: 1, duplicates: 0, refused: [] });
    expect(client.protocol).toBe(3);
    expect((await hub.view()).findOp(titled.id)).toEqual(titled);
    // Pulled back (no Heph-Own-High sent) in protocol 3's form, decoded as it was.
    expect((await client.pull(undefined, 10)).ops).toEqual([titled]);
  });
});

describe('an op of a kind this version does not know', () => {
  it('is stored and forwarded by the hub and the devices, never applied', async () => {
    const hub = await closers.hub();
    const d = closers.device('D', hub.url);
    const e = closers.device('E', hub.url);
    const node = await d.call('node.create', { kind: 'doc', title: 'Shared', body: 'text\n' });
    await syncAll([d, e]);
    const digest = d.store.digest();
    // A device of a later version sends an op of a new body kind, and a known one carrying a
    // payload field this version does not know.
    const later = new HubClient({ url: hub.url, origin: LATER, clock: new OffsetClock() });
    closers.add(() => later.close());
    const wall = Date.now();
    const future: Op = {
      id: encodeHlc({ wall, counter: 0, origin: LATER }),
      kind: 'body.splice',
      target: node.id,
      payload: { branch: 'ab'.repeat(16), at: 0, text: 'from the future\n' },
    };
    const titled: Op = {
      id: encodeHlc({ wall, counter: 1, origin: LATER }),
      kind: 'node.set',
      target: node.id,
      payload: { field: 'title', value: 'Shared, later', prev: [], pinned: true },
    };
    expect(await later.push([future, titled])).toEqual({
      accepted: 2,
      duplicates: 0,
      refused: [],
    });
    await syncAll([d, e]);
    for (const [where, store] of [
      ['hub', await hub.view()],
      ['D', d.store],
      ['E', e.store],
    ] as const) {
      // Kept as it came, for a later version to replay.
      expect(store.findOp(future.id), where).toEqual(future);
      const n = store.getNode(node.id);
      expect(n.body, where).toBe('text\n');
      expect(n.title, where).toBe('Shared, later');
    }
    expect(e.store.digest()).toBe(d.store.digest());
    expect((await hub.view()).digest()).toBe(d.store.digest());
    // Replaying the log from scratch (what an upgrade does) gives the same state here.
    const before = e.store.digest();
    e.store.rebuild();
    expect(e.store.digest()).toBe(before);
    expect(digest).not.toBe(before); // the title did change
  });
});
