// An editor's save never erases what synced in while it was open. Two devices and a real hub:
// an editor reads a body (node.get → body_version), another device's edit syncs in, the editor
// saves its whole buffer with base_version: both edits are there, on both devices after sync.
// Where both changed the same span, both texts stay, the editor's after the other's. A
// base_version this device cannot honour is refused with nothing changed.

import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { Closers, count, syncAll } from './helpers.js';

const closers = new Closers();
afterEach(() => closers.run());

const TEXT = 'alpha\nbeta\ngamma\n';

async function shared() {
  const hub = await closers.hub();
  const d = closers.device('D', hub.url);
  const e = closers.device('E', hub.url);
  const node = await d.call('node.create', { kind: 'doc', title: 'Shared', body: TEXT });
  await syncAll([d, e]);
  return { hub, d, e, id: node.id as string };
}

describe('a save made from the version the editor read', () => {
  it('keeps the edit that synced in meanwhile, on both devices', async () => {
    const { hub, d, e, id } = await shared();
    const read = await d.call('node.get', { id });
    expect(read.body_version).toMatch(/^[0-9a-f]{12}-[0-9a-f]{4}-[0-9a-f]{16}$/);
    // E edits the last line; it syncs in to D while D's editor is open.
    await e.call('node.update', { id, body: 'alpha\nbeta\ngamma (E)\n' });
    await e.sync();
    await d.sync();
    expect((await d.call('node.get', { id })).body).toBe('alpha\nbeta\ngamma (E)\n');
    // D's editor saves its buffer: the first line changed, the last as it read it.
    const saved = await d.call('node.update', {
      id,
      body: 'alpha (D)\nbeta\ngamma\n',
      base_version: read.body_version,
    });
    const both = 'alpha (D)\nbeta\ngamma (E)\n';
    expect(saved.body).toBe(both);
    expect(saved.body_version).not.toBe(read.body_version);
    const statuses = await syncAll([d, e]);
    for (const st of statuses) expect(st).toMatchObject({ state: 'in_sync', conflicts: 0 });
    for (const dev of [d, e]) {
      const n = await dev.call('node.get', { id });
      expect(n.body, dev.name).toBe(both);
      expect(n.body_version, dev.name).toBe(saved.body_version);
    }
    // The version means the same on the hub (what client mode and /rpc read).
    expect((await hub.view()).getNode(id)).toMatchObject({
      body: both,
      body_version: saved.body_version,
    });
  });

  it('keeps both texts where both changed the same span, the editor’s after the other’s', async () => {
    const { d, e, id } = await shared();
    const read = await d.call('node.get', { id });
    await e.call('node.update', { id, body: 'alpha\nBETA from E\ngamma\n' });
    await syncAll([e, d]);
    const saved = await d.call('node.update', {
      id,
      body: 'alpha\nBeta from D\ngamma\n',
      base_version: read.body_version,
    });
    await syncAll([d, e]);
    for (const dev of [d, e]) {
      const body = (await dev.call('node.get', { id })).body as string;
      expect(body, dev.name).toBe(saved.body);
      expect(count(body, 'BETA from E'), dev.name).toBe(1);
      expect(count(body, 'Beta from D'), dev.name).toBe(1);
      expect(body.indexOf('BETA from E')).toBeLessThan(body.indexOf('Beta from D'));
      // What neither touched is there once; the line both replaced is gone.
      expect(count(body, 'alpha\n'), dev.name).toBe(1);
      expect(count(body, 'gamma\n'), dev.name).toBe(1);
      expect(body, dev.name).not.toContain('beta');
    }
  });

  it('works the same for a task body read with task.get and saved with task.update', async () => {
    const { d, e } = await shared();
    const { task } = await d.call('task.create', { title: 'Fix the fence', body: 'posts\n' });
    expect(task.body_version).toBe((await d.call('node.get', { id: task.id })).body_version);
    await syncAll([d, e]);
    const read = await d.call('task.get', { id: task.id });
    expect(read.body_version).not.toBe('');
    await e.call('task.update', { id: task.id, body: 'posts\npaint (E)\n' });
    await syncAll([e, d]);
    const saved = await d.call('task.update', {
      id: task.id,
      body: 'buy posts (D)\n',
      base_version: read.body_version,
    });
    expect(saved.body).toBe('buy posts (D)\npaint (E)\n');
    expect(saved.body_version).toBe((await d.call('node.get', { id: task.id })).body_version);
    await syncAll([d, e]);
    expect((await e.call('task.get', { id: task.id })).body).toBe(saved.body);
  });

  it('works the same for an editor in client mode, through the hub’s /rpc', async () => {
    const { hub, d, e, id } = await shared();
    const rpc = async (method: string, params: object) => {
      const r = await request(`${hub.url}/rpc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      });
      expect(r.statusCode).toBe(200);
      return ((await r.body.json()) as { result: { body: string; body_version: string } }).result;
    };
    const read = await rpc('node.get', { id });
    // The version names the same ops on the hub as on a device.
    expect(read.body_version).toBe((await d.call('node.get', { id })).body_version);
    await e.call('node.update', { id, body: 'alpha\nbeta\ngamma (E)\n' });
    await e.sync();
    const saved = await rpc('node.update', {
      id,
      body: 'alpha (client)\nbeta\ngamma\n',
      base_version: read.body_version,
    });
    expect(saved.body).toBe('alpha (client)\nbeta\ngamma (E)\n');
    await syncAll([d, e]);
    for (const dev of [d, e]) expect((await dev.call('node.get', { id })).body).toBe(saved.body);
  });

  it('without base_version is a whole-buffer save, as before (the editor must send it)', async () => {
    const { d, e, id } = await shared();
    await e.call('node.update', { id, body: 'alpha\nbeta\ngamma (E)\n' });
    await syncAll([e, d]);
    const saved = await d.call('node.update', { id, body: 'alpha (D)\nbeta\ngamma\n' });
    expect(saved.body).toBe('alpha (D)\nbeta\ngamma\n');
  });

  it('refuses a base_version naming changes this device does not have: conflict, nothing changed', async () => {
    const { d, e, id } = await shared();
    // E's edit is not synced: E's version names an op D has never seen. An editor that read
    // the body there saves here.
    const ahead = await e.call('node.update', { id, body: `${TEXT}delta (E)\n` });
    const save = {
      id,
      body: `alpha (D)\nbeta\ngamma\ndelta (E)\n`,
      base_version: ahead.body_version,
    };
    const ops = d.store.opCount();
    const digest = d.store.digest();
    const err = await d.fail('node.update', save);
    expect(err.data).toMatchObject({ code: 'conflict', field: 'base_version' });
    expect(err.message).toMatch(/are not here yet: sync, then read the body again/);
    expect(d.store.opCount()).toBe(ops);
    expect(d.store.digest()).toBe(digest);
    // Once synced, the same save is accepted, and E's line is there once.
    await syncAll([e, d]);
    expect((await d.call('node.update', save)).body).toBe(save.body);
  });

  it('refuses a malformed base_version, or one that is not of this body: invalid_params, nothing changed', async () => {
    const { d, id } = await shared();
    const other = await d.call('node.create', { kind: 'doc', title: 'Other', body: 'x' });
    const ops = d.store.opCount();
    const digest = d.store.digest();
    const cases: [unknown, RegExp][] = [
      ['banana', /base_version/],
      ['0190000000aa-0000-00000000000000zz', /base_version/],
      [42, /base_version/],
      // A real op id of this log, but another node's body.
      [other.body_version, /is not a change of/],
    ];
    for (const [base_version, message] of cases) {
      const err = await d.fail('node.update', { id, body: 'changed\n', base_version });
      expect(err.data, String(base_version)).toMatchObject({ code: 'invalid_params' });
      expect(err.code).toBe(-32602);
      expect(err.message).toMatch(message);
    }
    expect(d.store.opCount()).toBe(ops);
    expect(d.store.digest()).toBe(digest);
  });
});
