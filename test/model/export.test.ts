// Export gives back a vault: imported notes at their paths byte for byte, heph's items in their
// folders with fields as front matter, heph's own data in .heph/; export → import → export is a
// fixed point; an export made before vault exports still imports.

import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { exportVault, SIDECAR } from '../../src/model/export.js';
import { updateItemLinked } from '../../src/model/items.js';
import { importVault, vaultNoteId } from '../../src/model/vault-import.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { readTree, tempDir } from '../helpers/temp.js';
import { contentDigest } from '../fixtures/content-digest.js';
import { openWikiStore, type WikiTestStore } from '../fixtures/wiki-store.js';

let a: WikiTestStore;
let b: WikiTestStore;
let out: { dir: string; cleanup(): void };
beforeEach(() => {
  a = openWikiStore();
  b = openWikiStore();
  out = tempDir('heph-export-');
});
afterEach(() => {
  a.close();
  b.close();
  out.cleanup();
});

/** heph's own items: a task with its note, a project, a tag, a journal, a log, a doc. */
function fill(s: SqliteStore) {
  const project = s.createNode({ kind: 'project', title: 'House', body: '# House\n' });
  const tag = s.createNode({ kind: 'tag', id: 'tag:home', title: 'home' });
  const task = s.createNode({
    kind: 'task',
    title: 'Pay rent: "March"',
    state: 'outstanding',
    attention: 'red',
    do_date: '2026-11-20',
    late_on: '2026-12-01',
    recurrence: 'FREQ=MONTHLY;BYMONTHDAY=1',
    extra: { recurrence_anchor: '2026-11-01', nested: { a: [1, 'x: y'] } },
  });
  const ctx = s.createNode({
    kind: 'doc',
    title: 'Pay rent: "March"',
    aliases: ['- rent', 'Überblick'],
    body: '---\nnot: front matter\n---\n\n- [ ] call [[House]]\n\ttabs\r\nCRLF\nno final newline',
  });
  s.addLink(task.id, ctx.id, 'canonical-context');
  s.addLink(task.id, project.id, 'in-project');
  s.addLink(task.id, tag.id, 'tagged');
  s.createNode({ kind: 'journal', id: 'journal:2026-11-22', title: '2026-11-22', body: 'today' });
  s.createNode({ kind: 'doc', id: `log:${task.id}`, title: 'Log: rent', body: '- paid\n' });
  const doc = s.createNode({ kind: 'doc', title: 'Ideas', aliases: ['Thoughts'], body: 'x\n' });
  const gone = s.createNode({ kind: 'doc', title: 'deleted', body: 'x' });
  s.addLink(task.id, gone.id, 'parent');
  s.deleteNode(gone.id);
  return { project, tag, task, ctx, doc, gone };
}

function write(dir: string, rel: string, text: string | Buffer): void {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), text);
}

/** A small vault: front matter, nested folders, unicode names, links of every form, an image. */
function smallVault(dir: string): Record<string, string> {
  const notes: Record<string, string> = {
    'Home.md': '---\naliases:\n  - Start\ntags: [a, b]\n---\n# Home\n\nSee [[Ünïcødé note]].\n',
    'a/b/Ünïcødé note.md': 'Café ☕ — [[Deep#Part|deep]]\n',
    'a/b/c/Deep.md':
      '## Part\nup: [[Ünïcødé note]], [[a/b/Ünïcødé note|there]], ![[Ünïcødé note]]\n',
    '日本語/メモ.md': '---\ntitle: 覚え書き\n---\n本文 [[Home]]',
    'x/Home.md': 'another Home: [[Home]]\n',
  };
  for (const [rel, text] of Object.entries(notes)) write(dir, rel, text);
  write(dir, 'a/b/picture.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  write(dir, '.obsidian/app.json', '{}');
  return notes;
}

describe('export as a vault', () => {
  it('writes heph items by kind with their fields as front matter, heph data in .heph/', () => {
    const { task, ctx, doc, project } = fill(a.store);
    const dir = join(out.dir, 'vault');
    expect(exportVault(a.store, dir)).toEqual({
      written: 5,
      unchanged: 0,
      removed: 0,
      collisions: [],
    });
    const f = readTree(dir);
    expect(Object.keys(f).sort()).toEqual(
      [
        SIDECAR,
        'Ideas.md',
        'Journal/2026-11-22.md',
        'Projects/House.md',
        'Tasks/Log- rent.md',
        'Tasks/Pay rent- -March-.md',
      ].sort(),
    );
    // The task's file is its note's text below its fields.
    expect(f['Tasks/Pay rent- -March-.md']).toBe(
      '---\nstate: outstanding\nattention: red\ndo_date: 2026-11-20\nlate_on: 2026-12-01\n' +
        'recurrence: FREQ=MONTHLY;BYMONTHDAY=1\n---\n' +
        ctx.body,
    );
    expect(f['Ideas.md']).toBe('---\naliases:\n  - Thoughts\n---\nx\n');
    expect(f['Projects/House.md']).toBe('# House\n');
    expect(f['Journal/2026-11-22.md']).toBe('today');
    const side = JSON.parse(f[SIDECAR]!);
    expect(side.format).toBe('heph-vault');
    expect(side.files['Tasks/Pay rent- -March-.md']).toMatchObject({
      id: task.id,
      kind: 'task',
      title: 'Pay rent: "March"',
      note: { id: ctx.id, aliases: ['- rent', 'Überblick'] },
      front_matter: true,
      extra: { nested: { a: [1, 'x: y'] }, recurrence_anchor: '2026-11-01' },
    });
    // Links to nodes not exported (the deleted one) are left out.
    expect(side.files['Tasks/Pay rent- -March-.md'].links).toEqual(
      [`canonical-context ${ctx.id}`, `in-project ${project.id}`, 'tagged tag:home'].sort(),
    );
    expect(side.files['Ideas.md']).toMatchObject({ id: doc.id, kind: 'doc', title: 'Ideas' });
    expect(side.nodes).toEqual({ 'tag:home': { kind: 'tag', title: 'home' } });
  });

  it('round-trips heph items through import into an empty store, byte-identically', () => {
    fill(a.store);
    const dir1 = join(out.dir, 'one');
    const dir2 = join(out.dir, 'two');
    exportVault(a.store, dir1);
    expect(importVault(b.store, dir1)).toMatchObject({ created: 7, skipped: 0, errors: [] });
    expect(contentDigest(b.store)).toBe(contentDigest(a.store));
    exportVault(b.store, dir2);
    expect(readTree(dir2)).toEqual(readTree(dir1));
    const ops = b.store.opCount();
    expect(importVault(b.store, dir1)).toMatchObject({ created: 0, updated: 0, unchanged: 7 });
    expect(b.store.opCount()).toBe(ops);
  });

  it('gives back an imported vault as it came in, renames included, ids kept', () => {
    const src = join(out.dir, 'src');
    const notes = smallVault(src);
    expect(importVault(a.store, src)).toMatchObject({ created: 5, skipped: 1, errors: [] });
    const one = join(out.dir, 'one');
    exportVault(a.store, one);
    // Every note byte for byte at its path; only heph's sidecar is added.
    const got = readTree(one);
    const { [SIDECAR]: side, ...md } = got;
    expect(md).toEqual(notes);
    expect(side).toBeDefined();

    // Rename a note in heph: its file follows in its folder, the links to it too.
    const id = vaultNoteId('a/b/Ünïcødé note.md');
    const r = a.store.transaction(() =>
      updateItemLinked(a.store, a.store.getNode(id), { title: 'Renamed ü' }),
    );
    expect(r.links_updated).toBe(2);
    expect(exportVault(a.store, one)).toMatchObject({ written: 3, removed: 1, collisions: [] });
    const after = readTree(one);
    expect(after['a/b/Ünïcødé note.md']).toBeUndefined();
    expect(after['a/b/Renamed ü.md']).toBe(notes['a/b/Ünïcødé note.md']);
    expect(after['a/b/c/Deep.md']).toBe(
      '## Part\nup: [[Renamed ü]], [[a/b/Renamed ü|there]], ![[Renamed ü]]\n',
    );
    expect(after['Home.md']).toContain('See [[Renamed ü]].');
    expect(after['x/Home.md']).toBe(notes['x/Home.md']);

    // Into an empty store: the same ids, and the next export is the same folder.
    expect(importVault(b.store, one)).toMatchObject({ created: 5, errors: [] });
    expect(b.store.getNode(id).title).toBe('Renamed ü');
    expect(contentDigest(b.store)).toBe(contentDigest(a.store));
    const two = join(out.dir, 'two');
    exportVault(b.store, two);
    expect(readTree(two)).toEqual(after);
  });

  it('gives colliding names a visible suffix and reports them', () => {
    const x = a.store.createNode({ kind: 'doc', title: 'Same' });
    const y = a.store.createNode({ kind: 'doc', title: 'same' });
    const z = a.store.createNode({ kind: 'doc', title: 'a/b: c?' });
    const r = exportVault(a.store, out.dir);
    expect(r.collisions).toEqual([{ id: y.id, title: 'same', path: 'same (2).md' }]);
    const f = readTree(out.dir);
    expect(Object.keys(f).sort()).toEqual([SIDECAR, 'Same.md', 'a-b- c-.md', 'same (2).md']);
    const side = JSON.parse(f[SIDECAR]!).files;
    expect([side['Same.md'].id, side['same (2).md'].id, side['a-b- c-.md'].title]).toEqual([
      x.id,
      y.id,
      z.title,
    ]);
    importVault(b.store, out.dir);
    expect(b.store.getNode(z.id).title).toBe('a/b: c?');
  });

  it('re-exports idempotently, removes only what it wrote, and never overwrites a file in the way', () => {
    const { doc, project } = fill(a.store);
    const dir = out.dir;
    exportVault(a.store, dir);
    const ideas = join(dir, 'Ideas.md');
    const old = new Date(Date.UTC(2020, 0, 1));
    utimesSync(ideas, old, old);
    expect(exportVault(a.store, dir)).toMatchObject({ written: 0, unchanged: 5, removed: 0 });
    expect(statSync(ideas).mtimeMs).toBe(old.getTime());

    a.store.updateNode(doc.id, { body: 'changed' });
    a.store.deleteNode(project.id);
    writeFileSync(join(dir, 'mine.md'), 'a file of the user');
    expect(exportVault(a.store, dir)).toMatchObject({ written: 1, unchanged: 3, removed: 1 });
    expect(existsSync(join(dir, 'Projects/House.md'))).toBe(false);
    expect(readFileSync(ideas, 'utf8').endsWith('---\nchanged')).toBe(true);
    expect(existsSync(join(dir, 'mine.md'))).toBe(true);

    // A file changed by someone after the export is neither removed nor overwritten.
    writeFileSync(join(dir, 'Journal/2026-11-22.md'), 'edited by hand');
    a.store.updateNode('journal:2026-11-22', { body: 'from heph' });
    const before = readTree(dir);
    expect(() => exportVault(a.store, dir)).toThrow(/in the way.*nothing was written/);
    expect(readTree(dir)).toEqual(before);
    a.store.deleteNode('journal:2026-11-22');
    expect(exportVault(a.store, dir).removed).toBe(0);
    expect(readFileSync(join(dir, 'Journal/2026-11-22.md'), 'utf8')).toBe('edited by hand');
    // A note of the user's name in the way of a new heph note.
    a.store.createNode({ kind: 'doc', title: 'mine' });
    expect(() => exportVault(a.store, dir)).toThrow(/mine\.md is in the way/);
  });

  it('refuses a destination that is a file, and a sidecar it cannot read, storing nothing', () => {
    const f = join(out.dir, 'file');
    writeFileSync(f, 'x');
    expect(() => exportVault(a.store, f)).toThrow(HephError);
    expect(() => exportVault(a.store, f)).toThrow(f);
    fill(a.store);
    const dir = join(out.dir, 'v');
    exportVault(a.store, dir);
    const side = join(dir, SIDECAR);
    const good = readFileSync(side, 'utf8');
    for (const [bad, msg] of [
      ['{', /is not JSON/],
      ['{"format":"other","version":1,"files":{},"nodes":{}}', /is not heph's export data/],
      ['{"format":"heph-vault","version":9,"files":{},"nodes":{}}', /version 9.*upgrade heph/],
      [good.replace('"kind": "task"', '"kind": "thing"'), /kind is not a node kind/],
    ] as const) {
      writeFileSync(side, bad);
      const ops = b.store.opCount();
      expect(() => importVault(b.store, dir)).toThrow(msg);
      expect(b.store.opCount()).toBe(ops);
    }
  });
});

describe('an export made before vault exports', () => {
  // Written by the export of the version before (doc/<id>.md, task/…, .heph-export.json).
  const OLD = resolve(import.meta.dirname, '../fixtures/export-v1');
  const TASK = '01M81J18G0AV27ZF386S08QR9X';
  const CONTEXT = '01M81J18G0AV27ZF386S08QR9Y';
  const PROJECT = '01M81J18G0AV27ZF386S08QR9W';

  it('imports with its ids, fields and links, and exports again as a vault in its place', () => {
    const dir = join(out.dir, 'old');
    cpSync(OLD, dir, { recursive: true });
    expect(importVault(a.store, dir)).toEqual({
      created: 6,
      updated: 0,
      unchanged: 0,
      skipped: 0,
      errors: [],
    });
    const task = a.store.getNode(TASK);
    expect(task).toMatchObject({ kind: 'task', title: 'Pay rent', attention: 'red' });
    expect(a.store.links(TASK).map((l) => `${l.type} ${l.dst}`)).toEqual(
      [`canonical-context ${CONTEXT}`, `in-project ${PROJECT}`, 'tagged tag:home'].sort(),
    );
    expect(a.store.getNode(CONTEXT).body).toBe('- [ ] call [[House]]\n');
    expect(a.store.getNode('journal:2026-11-22').body).toBe('paid [[Pay rent]]\n');
    // Exporting into the old export replaces its files with the vault form.
    expect(exportVault(a.store, dir)).toMatchObject({ removed: 6 });
    expect(Object.keys(readTree(dir)).sort()).toEqual(
      [
        SIDECAR,
        'Journal/2026-11-22.md',
        'Projects/House.md',
        'Tasks/Pay rent.md',
        'Über Notizen.md',
      ].sort(),
    );
    expect(readFileSync(join(dir, 'Über Notizen.md'), 'utf8')).toBe(
      '---\naliases:\n  - Notes\n---\n---\nmine: yes\n---\nsee [[House]]\n',
    );
    expect(importVault(b.store, dir)).toMatchObject({ created: 6, errors: [] });
    expect(contentDigest(b.store)).toBe(contentDigest(a.store));
  });
});
