// The published Obsidian help vault goes out as it came in: import then export gives every note
// back byte for byte at its path (only heph's .heph/ is added); export → import into an empty
// database → export is a fixed point; renaming a much-linked note (and one whose name another
// note shares) rewrites exactly the links that resolved to it, and the export follows.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportVault, SIDECAR } from '../../src/model/export.js';
import { updateItemLinked } from '../../src/model/items.js';
import { importVault, vaultNoteId } from '../../src/model/vault-import.js';
import { outgoingWikiLinks } from '../../src/model/wiki.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { contentDigest } from '../fixtures/content-digest.js';
import { openWikiStore, type WikiTestStore } from '../fixtures/wiki-store.js';
import { readTree, tempDir } from '../helpers/temp.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const VAULT = resolve(repoRoot, '../shared/corpus/obsidian-help-en');

/** Every link of every live note: holder → [target as written, what it resolves to]. */
function allLinks(s: SqliteStore): Map<string, [string, string | null][]> {
  const out = new Map<string, [string, string | null][]>();
  for (const n of s.listNodes({ limit: 10_000 })) {
    out.set(
      n.id,
      outgoingWikiLinks(s, n.id).map((l) => [l.target, l.node?.id ?? null]),
    );
  }
  return out;
}

let a: WikiTestStore;
let b: WikiTestStore;
let c: WikiTestStore;
let tmp: { dir: string; cleanup(): void };
let source: Record<string, string>;

beforeAll(() => {
  if (!existsSync(VAULT)) return;
  source = readTree(VAULT);
  a = openWikiStore();
  b = openWikiStore();
  c = openWikiStore();
  tmp = tempDir('heph-corpus-export-');
});
afterAll(() => {
  a?.close();
  b?.close();
  c?.close();
  tmp?.cleanup();
});

function needCorpus(): void {
  if (!existsSync(VAULT)) throw new Error(`the test corpus is missing at ${VAULT}`);
}

describe('the Obsidian help vault, exported', () => {
  it('comes back byte for byte at its paths, with only .heph/ added', () => {
    needCorpus();
    const notes = Object.keys(source).filter((p) => p.endsWith('.md'));
    expect(notes.length).toBeGreaterThan(100);
    const r = importVault(a.store, VAULT);
    expect(r).toMatchObject({ created: notes.length, errors: [] });
    expect(r.skipped).toBe(Object.keys(source).length - notes.length);
    const out = join(tmp.dir, 'one');
    expect(exportVault(a.store, out)).toMatchObject({
      written: notes.length,
      removed: 0,
      collisions: [],
    });
    const got = readTree(out);
    const { [SIDECAR]: side, ...md } = got;
    expect(side).toBeDefined();
    const want = Object.fromEntries(notes.map((p) => [p, source[p]]));
    expect(Object.keys(md).sort()).toEqual(Object.keys(want).sort());
    for (const p of notes) expect(md[p], p).toBe(want[p]);
  });

  it('is a fixed point: export → import into an empty database → export', () => {
    needCorpus();
    const one = join(tmp.dir, 'one');
    expect(importVault(b.store, one)).toMatchObject({ errors: [] });
    expect(contentDigest(b.store)).toBe(contentDigest(a.store));
    const two = join(tmp.dir, 'two');
    exportVault(b.store, two);
    expect(readTree(two)).toEqual(readTree(one));
  });

  it('renames notes: exactly the links that resolved to them follow, and the export too', () => {
    needCorpus();
    const before = allLinks(a.store);
    const renames = [
      ['Linking notes and files/Internal links.md', 'Wiki links'],
      // Two notes are named "Templates": links to the other one stay as they are.
      ['Plugins/Templates.md', 'Template plugin'],
    ] as const;
    for (const [rel, title] of renames) {
      const id = vaultNoteId(rel);
      const holders = [...before].filter(([, ls]) => ls.some(([, to]) => to === id));
      expect(holders.length, rel).toBeGreaterThan(3);
      const r = a.store.transaction(() =>
        updateItemLinked(a.store, a.store.getNode(id), { title }),
      );
      // Holders whose every link to it went by id or alias need no rewrite.
      expect(r.links_updated, rel).toBeGreaterThan(0);
      expect(r.links_updated, rel).toBeLessThanOrEqual(holders.length);
    }
    const ids = new Map(renames.map(([rel, title]) => [vaultNoteId(rel), title]));
    const after = allLinks(a.store);
    let rewritten = 0;
    for (const [holder, links] of before) {
      const now = new Map(after.get(holder));
      for (const [target, to] of links) {
        const title = to === null ? undefined : ids.get(to);
        if (title !== undefined && now.get(target) !== to) {
          // Rewritten: some link of the holder now names the new title and resolves to it.
          const renamedLink = [...now].find(
            ([t, id]) => id === to && t.toLowerCase().includes(title.toLowerCase()),
          );
          expect(renamedLink, `${holder}: [[${target}]]`).toBeDefined();
          rewritten++;
        } else {
          // Every other link resolves as it did.
          expect(now.get(target), `${holder}: [[${target}]]`).toBe(to);
        }
      }
    }
    expect(rewritten).toBeGreaterThan(10);
    const unresolved = (m: Map<string, [string, string | null][]>) =>
      [...m.values()].flat().filter(([, to]) => to === null).length;
    expect(unresolved(after)).toBe(unresolved(before));

    const out = join(tmp.dir, 'one');
    exportVault(a.store, out);
    const got = readTree(out);
    expect(got['Linking notes and files/Internal links.md']).toBeUndefined();
    expect(got['Linking notes and files/Wiki links.md']).toBe(
      source['Linking notes and files/Internal links.md'],
    );
    expect(got['Plugins/Template plugin.md']).toBe(source['Plugins/Templates.md']);
    // Into an empty database: the same ids after the renames, and the same folder again.
    expect(importVault(c.store, out)).toMatchObject({ errors: [] });
    expect(c.store.getNode(vaultNoteId('Plugins/Templates.md')).title).toBe('Template plugin');
    expect(contentDigest(c.store)).toBe(contentDigest(a.store));
    const three = join(tmp.dir, 'three');
    exportVault(c.store, three);
    expect(readTree(three)).toEqual(got);
  });
});
