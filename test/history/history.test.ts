/* eslint-disable @typescript-eslint/no-explicit-any -- JSON-RPC replies are read loosely here */
// History through the RPC methods on real devices syncing through a real hub: the same versions
// on both, a node as at an old version, a revert that syncs, and bad input refused with nothing
// changed.

import { afterEach, describe, expect, it } from 'vitest';
import { Closers, syncAll, type Device } from '../merge/helpers.js';

const closers = new Closers();
afterEach(() => closers.run());

async function twoDevices(): Promise<[Device, Device]> {
  const hub = await closers.hub();
  return [closers.device('laptop', hub.url), closers.device('phone', hub.url)];
}

describe('node.history', () => {
  it('lists the same versions on both devices after three edits on two devices', async () => {
    const [a, b] = await twoDevices();
    const doc = await a.call('node.create', { kind: 'doc', title: 'Plan', body: 'one\ntwo\n' });
    await syncAll([a, b]);
    await b.call('node.update', { id: doc.id, body: 'one\ntwo\nthree\n' });
    await syncAll([a, b]);
    await a.call('node.update', { id: doc.id, title: 'Plans' });
    await syncAll([a, b]);
    await b.call('node.update', { id: doc.id, body: 'one\nTWO\nthree\n', title: 'The plan' });
    await syncAll([a, b]);
    const ha = await a.call('node.history', { id: doc.id });
    const hb = await b.call('node.history', { id: doc.id });
    expect(ha.versions).toHaveLength(4);
    const strip = (h: any) =>
      h.versions.map((v: any) => ({ version: v.version, change: v.change, summary: v.summary }));
    expect(strip(ha)).toEqual(strip(hb));
    expect(ha.versions.map((v: any) => v.summary)).toEqual([
      'title: "Plans" → "The plan", +1 −1 lines',
      'title: "Plan" → "Plans"',
      '+1 −0 lines',
      'created doc "Plan"',
    ]);
    expect(ha.versions[0].device).toBe(b.store.origin);
    expect(hb.versions[0].device).toBe('this device');
    expect(ha.more).toBe(false);
    const page = await a.call('node.history', { id: doc.id, limit: 2 });
    expect(page.versions.map((v: any) => v.version)).toEqual(
      ha.versions.slice(0, 2).map((v: any) => v.version),
    );
    expect(page.more).toBe(true);
    const rest = await a.call('node.history', { id: doc.id, before: page.versions[1].version });
    expect(rest.versions.map((v: any) => v.version)).toEqual(
      ha.versions.slice(2).map((v: any) => v.version),
    );
  });
});

/** What a refused call must leave as it was. */
function snapshot(d: Device) {
  return { digest: d.store.digest(), ops: d.store.opCount() };
}

describe('the history of a task', () => {
  it('holds the edits of its note, where its text is kept', async () => {
    const [a] = await twoDevices();
    const t = await a.call('task.create', { title: 'Plan trip', body: 'book\n' });
    await a.call('task.update', { id: t.task.id, body: 'book\ntrain\n' });
    const page = await a.call('node.history', { id: t.task.id });
    expect(page.versions[0].summary).toBe('+1 −0 lines');
    const at = await a.call('node.at', { id: t.task.id, version: page.versions[0].version });
    expect(at.body).toBe('book\ntrain\n');
    const before = await a.call('node.at', { id: t.task.id, version: page.versions[1].version });
    expect(before.body).toBe('book\n');
    await a.call('node.revert', { id: t.task.id, version: page.versions[1].version });
    expect((await a.call('task.get', { id: t.task.id })).body).toBe('book\n');
  });
});

describe('node.at', () => {
  it('gives the node as it was at an old version: fields, body and links', async () => {
    const [a] = await twoDevices();
    const project = await a.call('node.create', { kind: 'project', title: 'Home' });
    const t = await a.call('task.create', {
      title: 'Paint',
      body: '- [ ] buy paint\n',
      attention: 'red',
      project: project.id,
      tags: ['diy'],
    });
    const first = (await a.call('node.history', { id: t.task.id })).versions[0];
    await a.call('task.update', {
      id: t.task.id,
      title: 'Paint the hall',
      attention: 'orange',
      do_date: '2026-07-01',
      body: '- [x] buy paint\n- [ ] paint\n',
    });
    await a.call('task.set_project', { id: t.task.id, project: null });
    await a.call('task.done', { id: t.task.id, today: '2026-06-01' });
    const then = await a.call('node.at', { id: t.task.id, version: first.short_version });
    expect(then).toMatchObject({
      id: t.task.id,
      kind: 'task',
      title: 'Paint',
      body: '- [ ] buy paint\n',
      attention: 'red',
      state: 'outstanding',
      do_date: null,
      deleted: false,
      version: first.version,
      device: 'this device',
      conflicts: [],
      body_conflict: false,
    });
    expect(then.links).toEqual(
      expect.arrayContaining([
        { type: 'in-project', dst: project.id, dst_short_id: project.short_id },
        { type: 'tagged', dst: 'tag:diy', dst_short_id: 'tag:diy' },
      ]),
    );
    const now = await a.call('node.get', { id: t.task.id });
    expect(now.title).toBe('Paint the hall');
    // The newest version is the node as it is.
    const newest = (await a.call('node.history', { id: t.task.id })).versions[0];
    const at = await a.call('node.at', { id: t.task.id, version: newest.version });
    expect(at).toMatchObject({
      title: now.title,
      body: now.body,
      body_version: now.body_version,
      state: 'done',
    });
    expect(at.links.some((l: any) => l.type === 'in-project')).toBe(false);
  });

  it('refuses bad input and changes nothing', async () => {
    const [a, b] = await twoDevices();
    const doc = await a.call('node.create', { kind: 'doc', title: 'One', body: 'x\n' });
    const other = await a.call('node.create', { kind: 'doc', title: 'Two' });
    await a.call('node.update', { id: doc.id, title: 'One!' });
    const otherVersion = (await a.call('node.history', { id: other.id })).versions[0].version;
    const before = snapshot(a);
    const cases: [string, object, string, string | undefined][] = [
      ['node.at', { id: 'NoSuchNote', version: otherVersion }, 'not_found', undefined],
      ['node.at', { id: doc.id, version: otherVersion }, 'invalid_params', 'version'],
      ['node.at', { id: doc.id, version: 'yesterday' }, 'invalid_params', 'version'],
      ['node.at', { id: doc.id, version: '' }, 'invalid_params', 'version'],
      ['node.at', { id: doc.id }, 'invalid_params', 'version'],
      ['node.at', { id: doc.id, version: 'ffffff' }, 'invalid_params', 'version'],
      [
        'node.at',
        { id: doc.id, version: '0000000000ff-0000-0123456789abcdef' },
        'not_found',
        undefined,
      ],
      ['node.revert', { id: doc.id, version: otherVersion }, 'invalid_params', 'version'],
      ['node.revert', { id: doc.id, version: 'zz' }, 'invalid_params', 'version'],
      ['node.revert', { id: 'NoSuchNote', version: otherVersion }, 'not_found', undefined],
      ['node.revert', { id: doc.id, version: otherVersion, extra: 1 }, 'invalid_params', 'extra'],
      ['node.history', { id: doc.id, limit: 0 }, 'invalid_params', 'limit'],
      ['node.history', { id: doc.id, before: 'soon' }, 'invalid_params', 'before'],
      ['node.history', { id: 'NoSuchNote' }, 'not_found', undefined],
    ];
    for (const [method, params, code, field] of cases) {
      const e = await a.fail(method, params);
      expect(e.data.code, `${method} ${JSON.stringify(params)}`).toBe(code);
      if (field !== undefined)
        expect(e.data.field, `${method} ${JSON.stringify(params)}`).toBe(field);
      expect(e.message.length).toBeGreaterThan(10);
    }
    expect(snapshot(a)).toEqual(before);
    // A version made on another device and not synced here yet: not found, and sync is the fix.
    await syncAll([a, b]);
    await b.call('node.update', { id: doc.id, title: 'One?' });
    const elsewhere = (await b.call('node.history', { id: doc.id })).versions[0].version;
    const synced = snapshot(a);
    const e = await a.fail('node.at', { id: doc.id, version: elsewhere });
    expect(e.data.code).toBe('not_found');
    expect(e.message).toContain('sync');
    expect(snapshot(a)).toEqual(synced);
    await syncAll([a, b]);
    expect((await a.call('node.at', { id: doc.id, version: elsewhere })).title).toBe('One?');
  });
});

describe('node.revert', () => {
  it('writes an old version back as one change that syncs to the other device', async () => {
    const [a, b] = await twoDevices();
    const doc = await a.call('node.create', {
      kind: 'doc',
      title: 'Recipe',
      body: 'flour\nwater\nsalt\n',
    });
    const v1 = (await a.call('node.history', { id: doc.id })).versions[0];
    await a.call('node.update', { id: doc.id, title: 'Bread', body: 'flour\nyeast\n' });
    await syncAll([a, b]);
    const r = await b.call('node.revert', { id: doc.id, version: v1.short_version });
    expect(r.changed).toEqual(['title', 'body']);
    expect(r.node).toMatchObject({ title: 'Recipe', body: 'flour\nwater\nsalt\n' });
    await syncAll([a, b]);
    expect(await a.call('node.get', { id: doc.id })).toMatchObject({
      title: 'Recipe',
      body: 'flour\nwater\nsalt\n',
    });
    expect(a.store.digest()).toBe(b.store.digest());
    const h = await a.call('node.history', { id: doc.id });
    expect(h.versions).toHaveLength(3);
    expect(h.versions[0].summary).toBe(
      `reverted to ${v1.short_version}: title: "Bread" → "Recipe", +2 −1 lines`,
    );
    expect(h.versions[0].device).toBe(b.store.origin);
    // Reverting to the version it is already at writes nothing.
    const ops = a.store.opCount();
    expect(
      (await a.call('node.revert', { id: doc.id, version: h.versions[0].version })).changed,
    ).toEqual([]);
    expect(a.store.opCount()).toBe(ops);
  });

  it('keeps text that synced in after the base_version the editor read', async () => {
    const [a, b] = await twoDevices();
    const doc = await a.call('node.create', { kind: 'doc', title: 'List', body: 'a\nb\n' });
    const v1 = (await a.call('node.history', { id: doc.id })).versions[0];
    const read = await a.call('node.update', { id: doc.id, body: 'a\nb\nc\n' });
    await syncAll([a, b]);
    await b.call('node.update', { id: doc.id, body: 'top\na\nb\nc\n' });
    await syncAll([a, b]);
    // a reverts from what it read: the line b added meanwhile stays.
    await a.call('node.revert', {
      id: doc.id,
      version: v1.version,
      base_version: read.body_version,
    });
    expect((await a.call('node.get', { id: doc.id })).body).toBe('top\na\nb\n');
  });
});

describe('node.restore by name', () => {
  it('finds a name in the trash, and prefers it to a live node of the same name', async () => {
    const [a] = await twoDevices();
    const home = await a.call('node.create', { kind: 'doc', title: 'Home', aliases: ['Start'] });
    await a.call('node.delete', { id: home.id });
    const r = await a.call('node.restore', { id: 'Home' });
    expect(r).toMatchObject({ id: home.id, deleted: false, restored: true });
    expect(r.note).toBeUndefined();
    await a.call('node.delete', { id: home.id });
    expect(await a.call('node.restore', { id: 'Start' })).toMatchObject({
      id: home.id,
      restored: true,
    });
    // A new live Home, the old one in the trash: restore Home means the trashed one.
    await a.call('node.delete', { id: home.id });
    const fresh = await a.call('node.create', { kind: 'doc', title: 'Home' });
    const both = await a.call('node.restore', { id: 'Home' });
    expect(both).toMatchObject({ id: home.id, restored: true });
    expect(both.note).toContain(fresh.id);
    // Restoring a live node by name changes nothing and says so.
    const ops = a.store.opCount();
    expect(await a.call('node.restore', { id: fresh.id })).toMatchObject({ restored: false });
    expect(a.store.opCount()).toBe(ops);
    // Two trashed nodes of one name: ambiguous, nothing restored.
    await a.call('node.delete', { id: home.id });
    await a.call('node.delete', { id: fresh.id });
    expect((await a.fail('node.restore', { id: 'Home' })).data.code).toBe('ambiguous');
    expect(a.store.opCount()).toBe(ops + 2);
    expect((await a.fail('node.restore', { id: 'Nowhere' })).data.code).toBe('not_found');
  });
});
