// The published Obsidian help vault, imported whole: every note arrives, every link to a note
// that exists resolves to it (expected targets worked out here from the files alone), backlinks
// and search work, and importing again changes nothing.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractWikiLinks } from '../../src/core/extract.js';
import { search } from '../../src/model/search.js';
import { importVault, vaultNoteId, type ImportReport } from '../../src/model/vault-import.js';
import { outgoingWikiLinks, wikiBacklinks } from '../../src/model/wiki.js';
import { openWikiStore, type WikiTestStore } from '../fixtures/wiki-store.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const VAULT = resolve(repoRoot, '../shared/corpus/obsidian-help-en');

interface Note {
  rel: string;
  text: string;
  aliases: string[];
}

function scan(dir: string, rel = '', out: Note[] = []): Note[] {
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) scan(dir, r, out);
    else if (e.name.endsWith('.md')) {
      const text = readFileSync(join(dir, r), 'utf8');
      out.push({ rel: r, text, aliases: aliasesOf(text) });
    }
  }
  return out;
}

/** `aliases:` as a block list in the front matter (the only form this vault uses), or inline. */
function aliasesOf(text: string): string[] {
  const fm = /^---\n([\s\S]*?)\n---/.exec(text)?.[1];
  if (!fm) return [];
  const lines = fm.split('\n');
  const i = lines.findIndex((l) => /^aliases:/.test(l));
  if (i < 0) return [];
  const inline = lines[i]!.slice('aliases:'.length).trim();
  if (inline !== '') return [inline.replace(/^["']|["']$/g, '')];
  const out: string[] = [];
  for (const l of lines.slice(i + 1)) {
    const m = /^\s*-\s+(.*)$/.exec(l);
    if (!m) break;
    out.push(m[1]!.trim().replace(/^["']|["']$/g, ''));
  }
  return out;
}

const stem = (rel: string) => rel.replace(/\.md$/, '');
const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const lc = (s: string) => s.toLowerCase();

/** The notes a target can mean, by the vault editor's rules: path, file name, then alias. */
function expectedTargets(notes: Note[], target: string): string[] {
  const t = lc(target.replace(/\.md$/i, ''));
  const byPath = notes.filter((n) => lc(stem(n.rel)) === t || lc(stem(n.rel)).endsWith('/' + t));
  if (byPath.length > 0) return byPath.map((n) => n.rel);
  const byName = notes.filter((n) => lc(base(stem(n.rel))) === lc(base(t)));
  if (byName.length > 0) return byName.map((n) => n.rel);
  return notes.filter((n) => n.aliases.some((a) => lc(a) === t)).map((n) => n.rel);
}

let h: WikiTestStore;
let notes: Note[];
let report: ImportReport;

const MISSING = `the test corpus is missing: expected the Obsidian help vault at ${VAULT}`;

// A missing corpus fails every test (with its path), rather than skipping them.
function needCorpus(): void {
  if (!existsSync(VAULT)) throw new Error(MISSING);
}

beforeAll(() => {
  if (!existsSync(VAULT)) return;
  notes = scan(VAULT);
  h = openWikiStore();
  report = importVault(h.store, VAULT);
});
afterAll(() => h?.close());

describe('the Obsidian help vault', () => {
  it('arrives whole: one doc per markdown file, bodies exact, aliases kept', () => {
    needCorpus();
    expect(notes.length).toBeGreaterThan(100);
    expect(report).toMatchObject({ created: notes.length, updated: 0, unchanged: 0, errors: [] });
    const vaultNodes = h.store
      .listNodes({ limit: 10_000 })
      .filter((n) => n.id.startsWith('vault:'));
    expect(vaultNodes).toHaveLength(notes.length);
    let withAliases = 0;
    for (const n of notes) {
      const node = h.store.getNode(vaultNoteId(n.rel));
      expect(node.body).toBe(n.text);
      expect(node.title).toBe(base(stem(n.rel)));
      expect(node.aliases).toEqual(n.aliases.filter((a) => a !== ''));
      if (n.aliases.length > 0) withAliases++;
    }
    expect(withAliases).toBeGreaterThan(20);
  });

  it('resolves every link whose target exists to it, by path, name or alias', () => {
    needCorpus();
    let resolved = 0;
    let ambiguous = 0;
    for (const n of notes) {
      const out = new Map(
        outgoingWikiLinks(h.store, vaultNoteId(n.rel)).map((l) => [l.target, l.node?.id ?? null]),
      );
      for (const link of extractWikiLinks(n.text)) {
        const want = expectedTargets(notes, link.target).map(vaultNoteId);
        const got = out.get(link.target);
        if (want.length === 0) continue;
        expect(want, `${n.rel}: [[${link.target}]]`).toContain(got);
        if (want.length === 1) expect(got, `${n.rel}: [[${link.target}]]`).toBe(want[0]);
        else {
          // The nearest note wins: one in the linking note's own folder, if there is one.
          const folder = n.rel.slice(0, n.rel.lastIndexOf('/') + 1);
          const near = want.filter(
            (w) => vaultNoteId(folder + 'x').slice(0, -1) === w.slice(0, w.lastIndexOf('/') + 1),
          );
          if (near.length === 1) expect(got, `${n.rel}: [[${link.target}]]`).toBe(near[0]);
          ambiguous++;
        }
        resolved++;
      }
    }
    expect(resolved).toBeGreaterThan(1000);
    // Duplicate names (two "Templates", two "Security and privacy"): the nearest note wins.
    expect(ambiguous).toBeGreaterThan(0);
  });

  it('answers backlinks for known notes exactly as the links resolve', () => {
    needCorpus();
    for (const rel of [
      'Linking notes and files/Internal links.md',
      'Linking notes and files/Aliases.md',
      'Obsidian Sync/Security and privacy.md',
      'Plugins/Templates.md',
    ]) {
      const id = vaultNoteId(rel);
      const expected = new Set<string>();
      for (const n of notes) {
        for (const l of outgoingWikiLinks(h.store, vaultNoteId(n.rel))) {
          if (l.node?.id === id) expected.add(vaultNoteId(n.rel));
        }
      }
      const got = wikiBacklinks(h.store, id).map((b) => b.id);
      expect(new Set(got), rel).toEqual(expected);
      expect(got.length, rel).toBeGreaterThan(0);
    }
    const internal = wikiBacklinks(
      h.store,
      vaultNoteId('Linking notes and files/Internal links.md'),
    );
    expect(internal.length).toBeGreaterThan(10);
  });

  it('finds known words', () => {
    needCorpus();
    const top = (q: string) => search(h.store, { query: q, limit: 5 }).map((r) => r.id);
    expect(top('callouts')).toContain(vaultNoteId('Editing and formatting/Callouts.md'));
    expect(top('bookmarks')).toContain(vaultNoteId('Plugins/Bookmarks.md'));
    expect(top('internal links')).toContain(
      vaultNoteId('Linking notes and files/Internal links.md'),
    );
    expect(top('permalin')).toContain(vaultNoteId('Obsidian Publish/Permalinks.md'));
    expect(search(h.store, { query: '"AND(' }).length).toBeGreaterThanOrEqual(0);
  });

  it('changes nothing when imported again', () => {
    needCorpus();
    const ops = h.store.opCount();
    const digest = h.store.digest();
    expect(importVault(h.store, VAULT)).toMatchObject({
      created: 0,
      updated: 0,
      unchanged: notes.length,
      errors: [],
    });
    expect(h.store.opCount()).toBe(ops);
    expect(h.store.digest()).toBe(digest);
  });
});
