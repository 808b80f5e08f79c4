/* eslint-disable @typescript-eslint/no-explicit-any -- JSON-RPC replies are read loosely here */
// Undo through the RPC methods on devices syncing through a real hub: a quick add taken back as
// one change (task and context doc to the trash), an edit taken back where its text is now, a
// field another device changed meanwhile left alone and named, undo walking back like an
// editor's, and the refusals (nothing to undo, a hub's copy, bad input) that change nothing.

import { afterEach, describe, expect, it } from 'vitest';
import { changeOf, type Op } from '../../src/core/op.js';
import { Closers, syncAll, type Device } from '../merge/helpers.js';

const closers = new Closers();
afterEach(() => closers.run());

async function twoDevices(): Promise<[Device, Device]> {
  const hub = await closers.hub();
  return [closers.device('laptop', hub.url), closers.device('phone', hub.url)];
}

/** The ops of a device's log after a cursor. */
function opsAfter(d: Device, cursor: number): Op[] {
  return d.store.opsSince(cursor, 10_000).ops;
}

describe('undo', () => {
  it('takes back heph add as one change: the task and its context doc go to the trash', async () => {
    const [a, b] = await twoDevices();
    const added = await a.call('add', { text: 'Pay rent tomorrow !red #Home +bills' });
    await syncAll([a, b]);
    const next = (await a.call('undo.list', { limit: 1 })).changes[0];
    expect(next.nodes.map((n: any) => n.id).sort()).toEqual(
      [added.task.id, added.context, added.project.id, 'tag:bills'].sort(),
    );
    const cursor = a.store.lastSeq();
    const r = await a.call('undo');
    expect(r.undone).toBe(next.change);
    expect(r.skipped).toEqual([]);
    expect(r.summary).toContain('created task "Pay rent"');
    const ops = opsAfter(a, cursor);
    // One change, every op marked with the change it undoes.
    expect(new Set(ops.map(changeOf)).size).toBe(1);
    expect(ops.every((o) => o.payload.undoes === r.undone)).toBe(true);
    await syncAll([a, b]);
    for (const d of [a, b]) {
      expect((await d.call('node.get', { id: added.task.id })).deleted).toBe(true);
      expect((await d.call('node.get', { id: added.context })).deleted).toBe(true);
      expect((await d.call('next', { today: '2026-01-01' })).tasks).toEqual([]);
    }
    // The project and tag the add created went too; restoring brings the task back whole.
    expect((await a.call('node.get', { id: added.project.id })).deleted).toBe(true);
    expect((await a.call('node.get', { id: 'tag:bills' })).deleted).toBe(true);
    await a.call('node.restore', { id: added.task.id });
    expect((await a.call('task.get', { id: added.task.id })).context).toBe(added.context);
  });

  it('takes back an edit where its text is now, keeping edits made since elsewhere', async () => {
    const [a, b] = await twoDevices();
    const doc = await a.call('node.create', {
      kind: 'doc',
      title: 'Notes',
      body: 'alpha\nbeta\ngamma\n',
    });
    await a.call('node.update', {
      id: doc.id,
      title: 'Notes!',
      body: 'alpha\nBETA\ngamma\ndelta\n',
    });
    await syncAll([a, b]);
    await b.call('node.update', { id: doc.id, body: 'top\nalpha\nBETA\ngamma\ndelta\n' });
    await syncAll([a, b]);
    const r = await a.call('undo');
    expect(r.skipped).toEqual([]);
    expect(r.nodes).toEqual([
      expect.objectContaining({ id: doc.id, summary: 'title: "Notes" → "Notes!", +2 −1 lines' }),
    ]);
    await syncAll([a, b]);
    for (const d of [a, b]) {
      expect(await d.call('node.get', { id: doc.id })).toMatchObject({
        title: 'Notes',
        body: 'top\nalpha\nbeta\ngamma\n',
      });
    }
    const h = await b.call('node.history', { id: doc.id });
    expect(h.versions[0].summary).toBe('undo: title: "Notes!" → "Notes", +1 −2 lines');
  });

  it('leaves a field another device changed meanwhile, names it, and undoes the rest', async () => {
    const [a, b] = await twoDevices();
    const t = await a.call('task.create', { title: 'Call mum', body: 'ask about sunday\n' });
    await a.call('task.update', {
      id: t.task.id,
      title: 'Call mum tonight',
      attention: 'red',
      body: 'ask about sunday\nand the car\n',
    });
    await syncAll([a, b]);
    await b.call('task.update', { id: t.task.id, title: 'Call mum at 7' });
    await syncAll([a, b]);
    const r = await a.call('undo');
    // The title changed on the phone: left alone, and named once (the context doc's title is
    // the task's, not a register of its own that changed).
    expect(r.skipped).toEqual([
      {
        id: t.task.id,
        title: 'Call mum at 7',
        what: 'title',
        reason: `was changed on ${b.store.origin} since`,
        device: b.store.origin,
      },
    ]);
    await syncAll([a, b]);
    for (const d of [a, b]) {
      expect(await d.call('task.get', { id: t.task.id })).toMatchObject({
        title: 'Call mum at 7',
        attention: 'white',
        body: 'ask about sunday\n',
      });
    }
    expect(a.store.conflicts()).toEqual([]);
  });

  it('walks back like an editor, and says when nothing is left or nothing can be undone', async () => {
    const [a, b] = await twoDevices();
    const doc = await a.call('node.create', { kind: 'doc', title: 'v1' });
    await a.call('node.update', { id: doc.id, title: 'v2' });
    await a.call('node.update', { id: doc.id, title: 'v3' });
    const list = await a.call('undo.list');
    expect(list.changes.map((c: any) => c.summary)).toEqual([
      '"v3": title: "v2" → "v3"',
      '"v3": title: "v1" → "v2"',
      'created doc "v1"',
    ]);
    expect(list.changes.every((c: any) => c.undoable)).toBe(true);
    await a.call('undo');
    expect((await a.call('node.get', { id: doc.id })).title).toBe('v2');
    await a.call('undo');
    expect((await a.call('node.get', { id: doc.id })).title).toBe('v1');
    expect((await a.call('undo.list')).changes).toHaveLength(1);
    await a.call('undo');
    expect((await a.call('node.get', { id: doc.id })).deleted).toBe(true);
    const ops = a.store.opCount();
    const none = await a.fail('undo');
    expect(none.data.code).toBe('not_found');
    expect(none.message).toContain('nothing to undo');
    expect(a.store.opCount()).toBe(ops);

    // Another device changed the only field of the last change: nothing can be undone.
    const other = await a.call('node.create', { kind: 'doc', title: 'mine' });
    await syncAll([a, b]);
    await a.call('node.update', { id: other.id, title: 'mine!' });
    await syncAll([a, b]);
    await b.call('node.update', { id: other.id, title: 'theirs' });
    await syncAll([a, b]);
    const before = { digest: a.store.digest(), ops: a.store.opCount() };
    const stuck = await a.fail('undo');
    expect(stuck.data.code).toBe('conflict');
    expect(stuck.message).toContain(`changed on ${b.store.origin}`);
    expect(stuck.data.skipped).toHaveLength(1);
    expect({ digest: a.store.digest(), ops: a.store.opCount() }).toEqual(before);
    const listed = (await a.call('undo.list')).changes;
    expect(listed[0]).toMatchObject({ undoable: false });
    // An older change can still be undone by naming it.
    const r = await a.call('undo', { change: listed[1].short_change });
    expect(r.undone).toBe(listed[1].change);
    expect((await a.call('node.get', { id: other.id })).deleted).toBe(true);
  });

  it('refuses bad input, and is not served by a hub (its copy is not a device)', async () => {
    const hub = await closers.hub();
    const a = closers.device('laptop', hub.url);
    await a.call('node.create', { kind: 'doc', title: 'x' });
    await syncAll([a]);
    const before = { digest: a.store.digest(), ops: a.store.opCount() };
    for (const [params, code, field] of [
      [{ change: 'nope' }, 'invalid_params', 'change'],
      [{ change: '' }, 'invalid_params', 'change'],
      [{ change: 'ffffff' }, 'invalid_params', 'change'],
      [{ change: '0190f0f0f0f0-0000-0123456789abcdef' }, 'invalid_params', 'change'],
      [{ extra: true }, 'invalid_params', 'extra'],
    ] as const) {
      const e = await a.fail('undo', params);
      expect(e.data.code, JSON.stringify(params)).toBe(code);
      expect(e.data.field, JSON.stringify(params)).toBe(field);
    }
    expect((await a.fail('undo.list', { limit: 0 })).data.code).toBe('invalid_params');
    expect({ digest: a.store.digest(), ops: a.store.opCount() }).toEqual(before);
    // The hub's /rpc: its cache replica is not a device.
    const res = await fetch(`${hub.url}/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'undo', params: {} }),
    });
    const reply = (await res.json()) as any;
    expect(reply.error.data.code).toBe('invalid_params');
    expect(reply.error.message).toContain('undo needs a device with its own replica');
  });
});
