/* eslint-disable @typescript-eslint/no-explicit-any -- JSON-RPC replies are read loosely here */
// Links follow renames: a title change rewrites, in the notes whose links resolved to the item,
// every link that named it by its old title, in the same change; receivers never rewrite again;
// a title in conflict rewrites nothing until resolving it, which is the rename.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changeOf } from '../../src/core/op.js';
import { ManualClock } from '../../src/ports/clock.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { exchange } from '../model/helpers.js';
import { ok, setup, type Env } from './env.js';

let a: Env;
beforeEach(() => {
  a = setup();
});
afterEach(() => a.cleanup());

const body = async (env: Env, id: string): Promise<string> =>
  (await ok(env, 'node.get', { id })).body;

const ownOps = (s: SqliteStore) =>
  s.opsSince(0, 100_000).ops.filter((o) => o.id.endsWith(s.origin));

describe('links follow renames', () => {
  it('rewrites every form that named the old title, and nothing else', async () => {
    const target = await ok(a, 'node.create', {
      kind: 'doc',
      title: 'Old Title',
      aliases: ['Nick'],
      extra: { vault_path: 'folder/Old Title.md' },
    });
    const text = [
      'plain [[Old Title]] and lower [[old title]]',
      'shown [[Old Title|the old one]], heading [[Old Title#Part two]], both [[old title#Part|p]]',
      'path [[folder/Old Title]], with .md [[Old Title.md]], embed ![[Old Title]]',
      `by id [[${target.id}]], by alias [[Nick]], elsewhere [[Other]]`,
      'in code `[[Old Title]]`',
      '```',
      '[[Old Title]]',
      '```',
      '',
    ].join('\n');
    const linker = await ok(a, 'node.create', { kind: 'doc', title: 'Linker', body: text });
    const { task } = await ok(a, 'task.create', { title: 'Read it', body: 'see [[Old Title]]' });
    await ok(a, 'node.create', { kind: 'doc', title: 'Other', body: 'nothing here' });

    const r = await ok(a, 'node.update', { id: target.id, title: 'New Name' });
    expect(r.title).toBe('New Name');
    // The linking note and the task (its note is its text) were updated.
    expect(r.links_updated).toBe(2);
    expect(await body(a, linker.id)).toBe(
      [
        'plain [[New Name]] and lower [[New Name]]',
        'shown [[New Name|the old one]], heading [[New Name#Part two]], both [[New Name#Part|p]]',
        'path [[folder/New Name]], with .md [[New Name.md]], embed ![[New Name]]',
        `by id [[${target.id}]], by alias [[Nick]], elsewhere [[Other]]`,
        'in code `[[Old Title]]`',
        '```',
        '[[Old Title]]',
        '```',
        '',
      ].join('\n'),
    );
    expect(await body(a, task.id)).toBe('see [[New Name]]');
    // Every rewritten link resolves to the renamed note.
    const out = (await ok(a, 'wiki.links', { id: linker.id })).links;
    for (const l of out.filter((x: any) => x.target.includes('New Name'))) {
      expect(l.node?.id).toBe(target.id);
    }
    const back = (await ok(a, 'wiki.backlinks', { id: target.id })).backlinks;
    expect(back.map((b: any) => b.id).sort()).toEqual([linker.id, task.id].sort());
  });

  it('leaves links that resolved to another note of the same old name', async () => {
    const note = (title: string, path: string, body = '') =>
      ok(a, 'node.create', { kind: 'doc', title, body, extra: { vault_path: path } });
    const mine = await note('Index', 'a/Index.md');
    const theirs = await note('Index', 'b/Index.md');
    const inA = await note('A note', 'a/A note.md', 'up: [[Index]]');
    const inB = await note('B note', 'b/B note.md', 'up: [[Index]] and [[a/Index]]');
    const r = await ok(a, 'node.update', { id: mine.id, title: 'Contents' });
    expect(r.links_updated).toBe(2);
    expect(await body(a, inA.id)).toBe('up: [[Contents]]');
    // [[Index]] in b/ means b/Index; the path form named the renamed one.
    expect(await body(a, inB.id)).toBe('up: [[Index]] and [[a/Contents]]');
    expect(
      (await ok(a, 'wiki.backlinks', { id: theirs.id })).backlinks.map((b: any) => b.id),
    ).toEqual([inB.id]);
  });

  it('is one change with the rename, and a receiving device does not rewrite again', async () => {
    const b = setup({ seed: 7, clock: new ManualClock(Date.UTC(2026, 10, 22, 9)) });
    try {
      const n = await ok(a, 'node.create', { kind: 'doc', title: 'Alpha' });
      const l1 = await ok(a, 'node.create', { kind: 'doc', title: 'L1', body: '[[Alpha]]' });
      const l2 = await ok(a, 'node.create', { kind: 'doc', title: 'L2', body: 'x [[alpha|a]] y' });
      exchange(a.store, b.store);
      const before = a.store.opCount();
      const r = await ok(a, 'node.update', { id: n.id, title: 'Beta' });
      expect(r.links_updated).toBe(2);
      const ops = a.store.opsSince(0, 100_000).ops.slice(before);
      expect(new Set(ops.map((o) => o.target))).toEqual(new Set([n.id, l1.id, l2.id]));
      // One change: the rename and its rewrites are undone together.
      expect(new Set(ops.map(changeOf)).size).toBe(1);
      const bOwn = ownOps(b.store).length;
      exchange(a.store, b.store);
      expect(ownOps(b.store).length).toBe(bOwn);
      expect(await body(b, l1.id)).toBe('[[Beta]]');
      expect(await body(b, l2.id)).toBe('x [[Beta|a]] y');
      expect(b.store.digest()).toBe(a.store.digest());
      // Renaming back is a rename like any other.
      const back = await ok(b, 'node.update', { id: n.id, title: 'Alpha' });
      expect(back.links_updated).toBe(2);
      expect(await body(b, l2.id)).toBe('x [[Alpha|a]] y');
    } finally {
      b.cleanup();
    }
  });

  it('keeps links when asked, and says so when the title cannot be linked', async () => {
    const n = await ok(a, 'node.create', { kind: 'doc', title: 'Gamma' });
    const l = await ok(a, 'node.create', { kind: 'doc', title: 'L', body: '[[Gamma]]' });
    const kept = await ok(a, 'node.update', { id: n.id, title: 'Delta', update_links: false });
    expect(kept.links_updated).toBe(0);
    expect(await body(a, l.id)).toBe('[[Gamma]]');
    const m = await ok(a, 'node.create', { kind: 'doc', title: 'Eps' });
    const l2 = await ok(a, 'node.create', { kind: 'doc', title: 'L2', body: '[[Eps]]' });
    const odd = await ok(a, 'node.update', { id: m.id, title: 'Eps | two' });
    expect(odd).toMatchObject({ links_updated: 0, links_kept: 1 });
    expect(await body(a, l2.id)).toBe('[[Eps]]');
    // A body-only save says nothing about links.
    expect((await ok(a, 'node.update', { id: l.id, body: 'x' })).links_updated).toBeUndefined();
  });

  it('rewrites a task rename through task.update too', async () => {
    const { task } = await ok(a, 'task.create', { title: 'Call mum' });
    const l = await ok(a, 'node.create', { kind: 'doc', title: 'Week', body: '- [[Call mum]]' });
    const r = await ok(a, 'task.update', { id: task.id, title: 'Call mom' });
    expect(r.links_updated).toBe(1);
    expect(await body(a, l.id)).toBe('- [[Call mom]]');
  });

  it('rewrites nothing while two renames conflict; resolving is the rename', async () => {
    const b = setup({ seed: 99, clock: new ManualClock(Date.UTC(2026, 10, 22, 9)) });
    const c = setup({ seed: 42, clock: new ManualClock(Date.UTC(2026, 10, 22, 9)) });
    try {
      const n = await ok(a, 'node.create', { kind: 'doc', title: 'Trip' });
      const l = await ok(a, 'node.create', { kind: 'doc', title: 'Plans', body: 'go: [[Trip]].' });
      exchange(a.store, b.store);
      exchange(a.store, c.store);
      // Each device rewrites the link it sees, not knowing of the other.
      expect((await ok(a, 'node.update', { id: n.id, title: 'Ferry trip' })).links_updated).toBe(1);
      expect((await ok(b, 'node.update', { id: n.id, title: 'Train trip' })).links_updated).toBe(1);
      exchange(a.store, b.store);
      const cOwn = ownOps(c.store).length;
      exchange(a.store, c.store);
      exchange(b.store, c.store);
      // In conflict: each link stands whole, once, and still finds the note; no one rewrote more.
      expect(ownOps(c.store).length).toBe(cOwn);
      for (const env of [a, b, c]) {
        // (Which stands first is Yjs's order of the two devices, the same on every replica.)
        expect([
          'go: [[Ferry trip]][[Train trip]].',
          'go: [[Train trip]][[Ferry trip]].',
        ]).toContain(await body(env, l.id));
        expect(await body(env, l.id)).toBe(await body(a, l.id));
        const cs = (await ok(env, 'conflicts.list', {})).conflicts;
        expect(cs.map((x: any) => [x.target, x.field])).toEqual([[n.id, 'title']]);
        const links = (await ok(env, 'wiki.links', { id: l.id })).links;
        expect(links.map((x: any) => x.node?.id)).toEqual([n.id, n.id]);
      }
      expect(b.store.digest()).toBe(a.store.digest());
      expect(c.store.digest()).toBe(a.store.digest());
      // Resolving on c is the rename: the pair becomes one link to the kept title.
      const r = await ok(c, 'conflicts.resolve', { target: n.id, field: 'title', value: 'Trip' });
      expect(r.links_updated).toBe(1);
      exchange(a.store, c.store);
      exchange(b.store, c.store);
      for (const env of [a, b, c]) {
        expect(await body(env, l.id)).toBe('go: [[Trip]].');
        expect((await ok(env, 'conflicts.list', {})).conflicts).toEqual([]);
      }
    } finally {
      b.cleanup();
      c.cleanup();
    }
  });
});
