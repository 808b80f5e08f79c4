import {
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { exportVault, fileNameToId, idToFileName, MANIFEST } from '../../src/model/export.js';
import { importVault } from '../../src/model/vault-import.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/temp.js';
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
    title: 'Pay rent — context',
    aliases: ['- rent', 'Überblick'],
    body: '---\nnot: front matter\n---\n\n- [ ] call [[House]]\n\ttabs\r\nCRLF\nno final newline',
  });
  s.addLink(task.id, ctx.id, 'canonical-context');
  s.addLink(task.id, project.id, 'in-project');
  s.addLink(task.id, tag.id, 'tagged');
  s.createNode({ kind: 'journal', id: 'journal:2026-11-22', title: '2026-11-22', body: 'today' });
  s.createNode({ kind: 'doc', id: `log:${task.id}`, title: 'log', body: '' });
  const gone = s.createNode({ kind: 'doc', title: 'deleted', body: 'x' });
  s.addLink(task.id, gone.id, 'parent');
  s.deleteNode(gone.id);
  return { project, tag, task, ctx, gone };
}

function files(dir: string): Record<string, string> {
  const res: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else res[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return res;
}

describe('export', () => {
  it('writes live nodes as <kind>/<id>.md with front matter and the exact body', () => {
    const { task, ctx, gone } = fill(a.store);
    const dir = join(out.dir, 'vault');
    expect(exportVault(a.store, dir)).toEqual({ written: 6, unchanged: 0, removed: 0 });
    const f = files(dir);
    expect(Object.keys(f).sort()).toEqual(
      [
        MANIFEST,
        `doc/${ctx.id}.md`,
        `doc/log%3A${task.id}.md`,
        'journal/journal%3A2026-11-22.md',
        `project/${Object.keys(f)
          .find((k) => k.startsWith('project/'))!
          .slice(8)}`,
        'tag/tag%3Ahome.md',
        `task/${task.id}.md`,
      ].sort(),
    );
    expect(f[`doc/${ctx.id}.md`]).toBe(
      `---\nid: ${ctx.id}\nkind: doc\ntitle: "Pay rent: \\"March\\""\naliases:\n  - "- rent"\n  - Überblick\n---\n` +
        ctx.body,
    );
    const t = f[`task/${task.id}.md`]!;
    expect(t).toContain('attention: red\n');
    expect(t).toContain('title: "Pay rent: \\"March\\""\n');
    expect(t).toContain(`  - canonical-context ${ctx.id}\n`);
    expect(t).toContain('  - tagged tag:home\n');
    expect(t).not.toContain(gone.id); // links to nodes that are not exported are left out
    expect(t).toContain('extra: {"nested":{"a":[1,"x: y"]},"recurrence_anchor":"2026-11-01"}\n');
  });

  it('round-trips through import into an empty store, and re-exports byte-identically', () => {
    fill(a.store);
    const dir1 = join(out.dir, 'one');
    const dir2 = join(out.dir, 'two');
    exportVault(a.store, dir1);
    expect(importVault(b.store, dir1)).toEqual({
      created: 6,
      updated: 0,
      unchanged: 0,
      skipped: 0,
      errors: [],
    });
    expect(contentDigest(b.store)).toBe(contentDigest(a.store));
    exportVault(b.store, dir2);
    expect(files(dir2)).toEqual(files(dir1));
    const ops = b.store.opCount();
    const digest = b.store.digest();
    expect(importVault(b.store, dir1)).toEqual({
      created: 0,
      updated: 0,
      unchanged: 6,
      skipped: 0,
      errors: [],
    });
    expect(b.store.opCount()).toBe(ops);
    expect(b.store.digest()).toBe(digest);
  });

  it('re-exports idempotently: unchanged files untouched, dead nodes’ files removed', () => {
    const { ctx, project } = fill(a.store);
    const dir = out.dir;
    exportVault(a.store, dir);
    const ctxFile = join(dir, 'doc', `${ctx.id}.md`);
    const old = new Date(Date.UTC(2020, 0, 1));
    utimesSync(ctxFile, old, old);
    expect(exportVault(a.store, dir)).toEqual({ written: 0, unchanged: 6, removed: 0 });
    expect(statSync(ctxFile).mtimeMs).toBe(old.getTime());

    a.store.updateNode(ctx.id, { body: 'changed' });
    a.store.deleteNode(project.id);
    const projectFile = join(dir, 'project', `${project.id}.md`);
    writeFileSync(join(dir, 'mine.md'), 'a file of the user');
    expect(exportVault(a.store, dir)).toEqual({ written: 2, unchanged: 3, removed: 1 });
    expect(existsSync(projectFile)).toBe(false);
    expect(readFileSync(ctxFile, 'utf8').endsWith('---\nchanged')).toBe(true);
    expect(existsSync(join(dir, 'mine.md'))).toBe(true);

    // A file changed by someone after the export is not removed.
    const tagFile = join(dir, 'tag', 'tag%3Ahome.md');
    writeFileSync(tagFile, 'edited by hand');
    a.store.deleteNode('tag:home');
    expect(exportVault(a.store, dir).removed).toBe(0);
    expect(readFileSync(tagFile, 'utf8')).toBe('edited by hand');
  });

  it('names files reversibly', () => {
    for (const id of [
      '01KAF3Q7Z8N3V6J5X2M4R9T0WB',
      'tag:a/b.c',
      'vault:x+y/%C3%A9~/z',
      'journal:2026-01-01',
    ])
      expect(fileNameToId(idToFileName(id))).toBe(id);
    expect(idToFileName('tag:a/b')).toBe('tag%3Aa%2Fb');
    const long = `vault:${'é'.repeat(150)}`;
    expect(idToFileName(long).length).toBeLessThanOrEqual(200);
    expect(fileNameToId(idToFileName(long))).toBeUndefined();
  });

  it('refuses a destination that is a file', () => {
    const f = join(out.dir, 'file');
    writeFileSync(f, 'x');
    expect(() => exportVault(a.store, f)).toThrow(HephError);
    expect(() => exportVault(a.store, f)).toThrow(f);
  });
});
