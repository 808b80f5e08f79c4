/* eslint-disable @typescript-eslint/no-explicit-any -- JSON-RPC replies are read loosely here */
// A task and its context doc are one item, through the methods people and editors call: name
// lookup, lists, search, the conflict list, reading and editing the note, deleting and
// restoring.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/ports/clock.js';
import { exchange } from '../model/helpers.js';
import { ok, setup, type Env } from './env.js';

let a: Env;
beforeEach(() => {
  a = setup();
});
afterEach(() => a.cleanup());

describe('a task is one thing', () => {
  it('is found once by its name, in lists and in search (its note included)', async () => {
    const { task, context } = await ok(a, 'task.create', {
      title: 'Buy milk',
      body: 'oat, two litres',
    });
    await ok(a, 'node.create', { kind: 'doc', title: 'Shopping', body: 'see [[Buy milk]]' });
    expect((await ok(a, 'node.resolve', { name: 'Buy milk' })).id).toBe(task.id);
    expect((await ok(a, 'node.get', { id: 'Buy milk' })).id).toBe(task.id);
    const all = (await ok(a, 'node.list', {})).nodes.map((n: any) => n.id);
    expect(all).toContain(task.id);
    expect(all).not.toContain(context);
    const docs = (await ok(a, 'node.list', { kind: 'doc' })).nodes.map((n: any) => n.title);
    expect(docs).toEqual(['Shopping']);
    const hits = (await ok(a, 'search', { query: 'milk' })).results.map((r: any) => r.id);
    expect(hits.filter((id: string) => id === task.id)).toHaveLength(1);
    expect(hits).not.toContain(context);
    // Words of the note find the task.
    expect((await ok(a, 'search', { query: 'litres' })).results.map((r: any) => r.id)).toEqual([
      task.id,
    ]);
    // A link by the task's title goes to the task, and the task lists it as a backlink.
    const back = await ok(a, 'wiki.backlinks', { id: task.id });
    expect(back.backlinks.map((b: any) => b.title)).toEqual(['Shopping']);
  });

  it('reads and edits its note (the context doc) through node.get, node.update and task.*', async () => {
    const { task, context } = await ok(a, 'task.create', { title: 'Plan trip', body: 'ferry\n' });
    const got = await ok(a, 'node.get', { id: task.id });
    expect(got).toMatchObject({ id: task.id, kind: 'task', body: 'ferry\n' });
    expect(got.body_version).toBe(a.store.getNode(context).body_version);
    // A save from that version, as `heph edit-body` makes it, lands in the note.
    const saved = await ok(a, 'node.update', {
      id: task.id,
      body: 'ferry\ntrain\n',
      base_version: got.body_version,
    });
    expect(saved.body).toBe('ferry\ntrain\n');
    expect(a.store.getNode(context).body).toBe('ferry\ntrain\n');
    expect(a.store.getNode(task.id).body).toBe('');
    expect((await ok(a, 'task.get', { id: task.id })).body).toBe('ferry\ntrain\n');
    const t = await ok(a, 'task.update', {
      id: task.id,
      body: 'ferry\ntrain\nbus\n',
      base_version: saved.body_version,
    });
    expect(t.body).toBe('ferry\ntrain\nbus\n');
    expect(a.store.getNode(context).body).toBe('ferry\ntrain\nbus\n');
  });

  it('keeps text an earlier version stored in the task itself as its note until the doc has text', async () => {
    const { task, context } = await ok(a, 'task.create', { title: 'Old style' });
    a.store.updateNode(task.id, { body: 'written by an earlier version' });
    expect((await ok(a, 'node.get', { id: task.id })).body).toBe('written by an earlier version');
    await ok(a, 'node.update', { id: task.id, body: 'edited' });
    expect(a.store.getNode(task.id).body).toBe('edited');
    expect(a.store.getNode(context).body).toBe('');
    // Once the doc has text of its own it is the note, and the task's own text is still shown.
    a.store.updateNode(context, { body: 'the doc' });
    const t = await ok(a, 'task.get', { id: task.id });
    expect(t).toMatchObject({ body: 'the doc', own_body: 'edited' });
  });

  it('is one conflict when two devices rename it at once', async () => {
    const b = setup({ seed: 99, clock: new ManualClock(Date.UTC(2026, 10, 22, 9)) });
    try {
      const { task } = await ok(a, 'task.create', { title: 'Plan trip' });
      exchange(a.store, b.store);
      await ok(a, 'task.update', { id: task.id, title: 'Plan the trip' });
      await ok(b, 'task.update', { id: task.id, title: 'Plan a trip' });
      exchange(a.store, b.store);
      for (const env of [a, b]) {
        const cs = (await ok(env, 'conflicts.list', {})).conflicts;
        expect(cs.map((c: any) => [c.target, c.field])).toEqual([[task.id, 'title']]);
      }
      expect(a.store.digest()).toBe(b.store.digest());
      // Resolving it (on either device) ends it everywhere; the doc never had one of its own.
      await ok(b, 'conflicts.resolve', { target: task.id, field: 'title', value: 'Plan trip' });
      exchange(a.store, b.store);
      expect((await ok(a, 'conflicts.list', {})).conflicts).toEqual([]);
    } finally {
      b.cleanup();
    }
  });

  it('goes to the trash with its context doc and comes back with it, by any method', async () => {
    for (const [del, res] of [
      ['task.delete', 'node.restore'],
      ['node.delete', 'node.restore'],
    ] as const) {
      const { task, context } = await ok(a, 'task.create', { title: `T ${del}`, body: 'x' });
      await ok(a, del, { id: task.id });
      expect(a.store.getNode(context).deleted).toBe(true);
      const trash = (await ok(a, 'trash', {})).nodes.map((n: any) => n.id);
      expect(trash).toEqual([task.id]);
      expect((await a.call('node.get', { id: `T ${del}` })).error.data.code).toBe('not_found');
      await ok(a, res, { id: task.id });
      expect(a.store.getNode(context).deleted).toBe(false);
      expect((await ok(a, 'trash', {})).nodes).toEqual([]);
      expect((await ok(a, 'task.get', { id: task.id })).body).toBe('x');
    }
  });
});
