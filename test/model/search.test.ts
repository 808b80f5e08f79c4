import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/ports/clock.js';
import { seededRandom } from '../../src/ports/random.js';
import { catchUpSearchIndex, ftsQuery, search } from '../../src/model/search.js';
import { openStore } from '../../src/store/open-store.js';
import { SEARCH_CURSOR_KEY } from '../../src/store/search.js';
import { openWikiStore, type WikiTestStore } from '../fixtures/wiki-store.js';

let h: WikiTestStore;
beforeEach(() => {
  h = openWikiStore();
});
afterEach(() => h.close());

const ids = (q: string, extra: { kinds?: ('doc' | 'task')[]; limit?: number } = {}) =>
  search(h.store, { query: q, ...extra }).map((r) => r.id);

describe('search', () => {
  it('finds words in titles and bodies, title matches ranked first, with snippets', () => {
    const s = h.store;
    const a = s.createNode({ kind: 'doc', title: 'Gardening', body: 'tomatoes and basil' });
    const b = s.createNode({ kind: 'doc', title: 'Recipes', body: 'gardening notes: pesto' });
    const t = s.createNode({ kind: 'task', title: 'Water the basil' });
    expect(ids('gardening')).toEqual([a.id, b.id]);
    expect(ids('basil')).toEqual([t.id, a.id]);
    expect(ids('basil', { kinds: ['doc'] })).toEqual([a.id]);
    expect(ids('basil', { limit: 1 })).toEqual([t.id]);
    const [r] = search(s, { query: 'pesto' });
    expect(r).toMatchObject({ id: b.id, kind: 'doc', title: 'Recipes' });
    expect(r!.snippet).toContain('**pesto**');
    expect(r!.score).toBeGreaterThan(0);
  });

  it('keeps unicode words whole and ignores case and diacritics', () => {
    const n = h.store.createNode({
      kind: 'doc',
      title: 'Überblick',
      body: 'Das soll vieles ermöglichen. 日本語',
    });
    for (const q of [
      'ermöglichen',
      'ERMÖGLICHEN',
      'ermoglichen',
      'überblick',
      'Uberblick',
      'ermög',
    ])
      expect(ids(q), q).toEqual([n.id]);
    // Whole words only (except the last word while typing): a word's inside is not a word.
    expect(ids('möglichen')).toEqual([]);
    expect(ids('erm ')).toEqual([]);
    expect(ids('Über blick')).toEqual([]);
  });

  it('treats every input as text: no FTS syntax errors, ever', () => {
    const n = h.store.createNode({ kind: 'doc', title: 'Syntax', body: 'and or not near foo-bar' });
    for (const q of [
      '"',
      '""',
      'AND(',
      'foo AND',
      'NOT',
      '*',
      'foo*bar',
      'title:foo',
      '(((',
      '^',
      'NEAR(a b)',
      '-',
      "'",
      '\\',
      '"unbalanced',
      '{x}',
      ':',
      '\u0000',
      '   ',
      '',
    ]) {
      expect(() => search(h.store, { query: q }), JSON.stringify(q)).not.toThrow();
    }
    expect(ids('AND(')).toEqual([n.id]);
    expect(ids('"foo-bar"')).toEqual([n.id]);
    expect(ids('foo-ba')).toEqual([n.id]);
    expect(ids('"bar foo"')).toEqual([]);
    expect(ids('"')).toEqual([]);
  });

  it('builds quoted match expressions', () => {
    expect(ftsQuery('hello wor')).toBe('"hello" "wor"*');
    expect(ftsQuery('hello wor ')).toBe('"hello" "wor"');
    expect(ftsQuery('"a phrase" x"y')).toBe('"a phrase" "x" "y"*');
    expect(ftsQuery('say "hi')).toBe('"say" "hi"*');
    expect(ftsQuery('AND(')).toBe('"AND("');
    expect(ftsQuery('" - ()')).toBeUndefined();
  });

  it('follows edits, deletes, restores and ops from another device, by cursor', () => {
    const s = h.store;
    const n = s.createNode({ kind: 'doc', title: 'First', body: 'alpha' });
    expect(ids('alpha')).toEqual([n.id]);
    s.updateNode(n.id, { body: 'beta', title: 'Second' });
    expect(ids('alpha')).toEqual([]);
    expect(ids('beta')).toEqual([n.id]);
    expect(ids('second')).toEqual([n.id]);
    s.deleteNode(n.id);
    expect(ids('beta')).toEqual([]);
    s.restoreNode(n.id);
    expect(ids('beta')).toEqual([n.id]);

    // Another replica's ops arrive through applyOps; the index catches up on the next query.
    const other = openStore(
      { path: ':memory:' },
      { clock: new ManualClock(Date.UTC(2026, 10, 22, 13)), random: seededRandom(99) },
    );
    try {
      const m = other.createNode({ kind: 'doc', title: 'Remote', body: 'gamma' });
      const { ops } = other.opsSince(0);
      const before = Number(
        s.connection.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(SEARCH_CURSOR_KEY),
      );
      s.applyOps(ops);
      // Applying did not index anything.
      expect(
        Number(
          s.connection
            .prepare('SELECT value FROM meta WHERE key = ?')
            .pluck()
            .get(SEARCH_CURSOR_KEY),
        ),
      ).toBe(before);
      expect(catchUpSearchIndex(h.store).nodes).toBe(1);
      expect(catchUpSearchIndex(h.store).nodes).toBe(0);
      expect(ids('gamma')).toEqual([m.id]);
    } finally {
      other.close();
    }
  });

  it('indexes nothing but live nodes, and survives a reopen and an index wiped to seq 0', () => {
    const s = h.store;
    const live = s.createNode({ kind: 'doc', title: 'kept', body: 'delta' });
    const gone = s.createNode({ kind: 'doc', title: 'gone', body: 'delta' });
    s.deleteNode(gone.id);
    expect(ids('delta')).toEqual([live.id]);
    const count = (db: Database.Database) =>
      db.prepare('SELECT count(*) FROM search_nodes').pluck().get();
    expect(count(s.connection)).toBe(1);
    h.reopen();
    h.store.connection.exec(
      `DELETE FROM search_nodes; DELETE FROM search_fts; DELETE FROM node_names;
       DELETE FROM meta WHERE key = '${SEARCH_CURSOR_KEY}'`,
    );
    expect(ids('delta')).toEqual([live.id]);
    expect(count(h.store.connection)).toBe(1);
  });

  it('one catch-up over many renamed, deleted and new nodes leaves exactly their new rows', () => {
    const s = h.store;
    const nodes = Array.from({ length: 300 }, (_, i) =>
      s.createNode({ kind: i % 3 === 0 ? 'task' : 'doc', title: `old${i} zeta`, body: `b${i}` }),
    );
    expect(ids('zeta', { limit: 1000 })).toHaveLength(300);
    // Renames in an order unrelated to the rows' order in the index, deletes, new nodes.
    for (let i = 299; i >= 0; i -= 2) s.updateNode(nodes[i]!.id, { title: `new${i} eta` });
    for (let i = 0; i < 300; i += 10) s.deleteNode(nodes[i]!.id);
    const added = s.createNode({ kind: 'doc', title: 'added eta' });
    expect(catchUpSearchIndex(s).nodes).toBe(150 + 30 + 1);
    const live = (i: number) => i % 10 !== 0;
    for (let i = 0; i < 300; i++) {
      const id = nodes[i]!.id;
      const renamed = i % 2 === 1;
      expect(ids(`"new${i}"`), `node ${i}`).toEqual(live(i) && renamed ? [id] : []);
      expect(ids(`"old${i}"`), `node ${i}`).toEqual(live(i) && !renamed ? [id] : []);
      expect(ids(`"b${i}"`), `node ${i}`).toEqual(live(i) ? [id] : []);
    }
    expect(ids('added')).toEqual([added.id]);
    const db = s.connection;
    expect(db.prepare('SELECT count(*) FROM search_nodes').pluck().get()).toBe(270 + 1);
    const names = db.prepare(`SELECT name FROM node_names WHERE how = 'title'`).pluck().all();
    expect(new Set(names)).toEqual(
      new Set([
        ...nodes.flatMap((_, i) => (live(i) ? [i % 2 === 1 ? `new${i} eta` : `old${i} zeta`] : [])),
        'added eta',
      ]),
    );
    expect(names).toHaveLength(271);
    // FTS5's own check that its index matches its rows.
    expect(() =>
      db.exec(`INSERT INTO search_fts (search_fts) VALUES ('integrity-check')`),
    ).not.toThrow();
  });

  it('validates its parameters', () => {
    expect(() => search(h.store, { query: 1 as unknown as string })).toThrow(/query/);
    expect(() => search(h.store, { query: 'x', limit: 0 })).toThrow(/limit/);
    expect(() => search(h.store, { query: 'x', kinds: ['nope' as 'doc'] })).toThrow(/kinds/);
    expect(() => search(h.store, { query: 'x'.repeat(1001) })).toThrow(/query/);
  });
});
