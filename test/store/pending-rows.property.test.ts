// Node rows applyOps leaves pending across its transactions (SqliteStore.catchUpRows) against a
// store that writes them at every call: whatever comes between pulled pages (reads through every
// kind of method and through SQL, local writes, a crash, an apply that fails and rolls back),
// every read shows what the other store shows, and the materialized tables end equal. Seeded:
// a failure prints the seed and the counterexample path; HEPH_PROPERTY_SEED / HEPH_PROPERTY_RUNS
// replay or widen it.

import type Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/ports/clock.js';
import { seededRandom } from '../../src/ports/random.js';
import { openStore } from '../../src/store/open-store.js';
import { ROWS_PENDING_KEY, type SqliteStore } from '../../src/store/sqlite-store.js';
import { Model } from '../../src/model/model.js';
import { search } from '../../src/model/search.js';
import { History } from '../../src/model/history.js';
import { shortIds } from '../../src/store/short-ids.js';
import { edit, editArb } from '../helpers/edits.js';
import { allOps, materializedTables, openTestStore, type TestStore } from '../helpers/store.js';

const SEED = Number(process.env.HEPH_PROPERTY_SEED ?? 20261205);
const RUNS = Number(process.env.HEPH_PROPERTY_RUNS ?? 40);

type Between =
  'nothing' | 'read' | 'sql' | 'local' | 'crash' | 'crash-in-page' | 'crash-in-catch-up' | 'fail';

/** The store's connection as it is, without writing pending rows (what a crash leaves). */
function raw(s: SqliteStore): Database.Database {
  return (s as unknown as { db: Database.Database }).db;
}

/** A task whose title `a` and `c` then set each its own way (a conflict once both meet). */
function divergedTitles(a: TestStore, c: TestStore): { id: string } {
  const x = a.store.createNode({ kind: 'task', title: 'start' });
  c.store.applyOps(allOps(a.store));
  a.store.updateNode(x.id, { title: 'from a' });
  c.store.updateNode(x.id, { title: 'from c' });
  return x;
}

function pendingMark(s: SqliteStore): unknown {
  return raw(s).prepare('SELECT value FROM meta WHERE key = ?').pluck().get(ROWS_PENDING_KEY);
}

/**
 * What a user reads, each reader on its own (so each is the first to read after a page, as any
 * of them can be): the store's methods, the model (its cached statements), search, short ids and
 * history's registers. `ids`: the nodes to read.
 */
const READERS: ((s: SqliteStore, clock: ManualClock, ids: string[]) => unknown)[] = [
  (s) => s.listNodes({ scope: 'all', limit: 1000 }),
  (s, _c, ids) => ids.map((id) => s.findNode(id)),
  (s) => s.conflicts(),
  (s, clock) => new Model(s, { clock, timeZone: 'UTC' }).trash(),
  (s, clock) => new Model(s, { clock, timeZone: 'UTC' }).list({ today: '2026-12-01' }),
  (s, clock) =>
    new Model(s, { clock, timeZone: 'UTC' })
      .next({ today: '2026-12-01', limit: 1000 })
      .tasks.map((t) => t.id),
  (s) =>
    search(s, { query: 'title', limit: 1000 })
      .map((r) => r.id)
      .sort(),
  (s, _c, ids) => [...shortIds(s, ids)],
  (s, _c, ids) => {
    const log = new History(s).log;
    return ids.map((id) => log.registers(id));
  },
];

function reads(s: SqliteStore, clock: ManualClock, ids: string[], which: number): unknown {
  return READERS[which % READERS.length]!(s, clock, ids);
}

describe('node rows left pending between applied pages (property)', () => {
  let fails = 0;
  it(`every read, local write, crash and failed apply sees the rows written at once (${RUNS} runs, seed ${SEED})`, () => {
    fc.assert(
      fc.property(
        fc.array(editArb(), { minLength: 10, maxLength: 40 }),
        fc.array(
          fc.record({
            size: fc.integer({ min: 1, max: 25 }),
            reader: fc.nat(READERS.length - 1),
            then: fc.constantFrom<Between>(
              'nothing',
              'nothing',
              'read',
              'sql',
              'local',
              'crash',
              'crash-in-page',
              'crash-in-catch-up',
              'fail',
            ),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        (edits, pages) => {
          fails += pages.some((x) => x.then === 'fail') ? 1 : 0;
          const clock = new ManualClock(Date.UTC(2026, 10, 23));
          const makers = [0, 1].map((i) =>
            openTestStore({
              clock: new ManualClock(Date.UTC(2026, 10, 23) + i * 3),
              seed: 800 + i,
            }),
          );
          const sub: TestStore = openTestStore({ clock, seed: 810 });
          const ref = openTestStore({ clock, seed: 811 });
          try {
            for (const e of edits) edit(makers, e);
            const union = [...allOps(makers[0]!.store), ...allOps(makers[1]!.store)];
            const both = (fn: (s: SqliteStore) => void): void => {
              fn(sub.store);
              fn(ref.store);
              ref.store.catchUpRows();
            };
            // Every reader once first, so its cached statements are made before rows are pending.
            for (let r = 0; r < READERS.length; r++) reads(sub.store, clock, [], r);
            let at = 0;
            for (let p = 0; at < union.length; p++) {
              const { size, then, reader } = pages[p % pages.length]!;
              const ids = ref.store.listNodes({ scope: 'all', limit: 1000 }).map((n) => n.id);
              const page = union.slice(at, at + size);
              at += size;
              both((s) => s.applyOps(page));
              expect(pendingMark(sub.store) !== undefined).toBe(
                (sub.store as unknown as { pendingRows: { size: number } }).pendingRows.size > 0,
              );
              switch (then) {
                case 'read':
                  expect(reads(sub.store, clock, ids, reader)).toEqual(
                    reads(ref.store, clock, ids, reader),
                  );
                  break;
                case 'sql':
                  expect(materializedTables(sub.store)).toEqual(materializedTables(ref.store));
                  expect(pendingMark(sub.store)).toBeUndefined();
                  break;
                case 'local': {
                  const nodes = sub.store.listNodes({ scope: 'all', limit: 1000 });
                  if (nodes.length === 0) break;
                  const from = sub.store.lastSeq();
                  clock.advance(5);
                  sub.store.updateNode(nodes[p % nodes.length]!.id, { title: `title local ${p}` });
                  // The local op names the heads it saw: the same ops must leave the same rows.
                  ref.store.applyOps(sub.store.opsSince(from, 1000).ops);
                  ref.store.catchUpRows();
                  break;
                }
                case 'fail': {
                  // A real SQLite failure on the next page's last op: that page rolls back whole,
                  // while this one's rows are pending.
                  const next = union.slice(at, at + size);
                  if (next.length === 0) break;
                  raw(sub.store).exec(
                    `CREATE TRIGGER fail_once BEFORE INSERT ON oplog
                     WHEN NEW.id = '${next[next.length - 1]!.id}'
                     BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
                  );
                  expect(() => sub.store.applyOps(next)).toThrow(/injected failure/);
                  raw(sub.store).exec('DROP TRIGGER fail_once');
                  // The sync status reads conflicts first after a failed page.
                  expect(sub.store.conflicts()).toEqual(ref.store.conflicts());
                  break;
                }
                case 'crash':
                case 'crash-in-page':
                case 'crash-in-catch-up': {
                  // The process dies after its last commit (rows still pending are lost), or in
                  // the middle of the next page's transaction (at a random op of it), or while
                  // the pending rows are being written: what was not committed is gone.
                  const db = raw(sub.store);
                  const next = union.slice(at, at + size);
                  if (then === 'crash-in-page' && next.length > 0) {
                    db.exec(
                      `CREATE TRIGGER die BEFORE INSERT ON oplog
                       WHEN NEW.id = '${next[reader % next.length]!.id}'
                       BEGIN SELECT RAISE(ABORT, 'killed'); END`,
                    );
                    expect(() => sub.store.applyOps(next)).toThrow(/killed/);
                  }
                  if (then === 'crash-in-catch-up' && pendingMark(sub.store) !== undefined) {
                    db.exec(
                      `CREATE TRIGGER die BEFORE UPDATE ON nodes BEGIN SELECT RAISE(ABORT, 'killed'); END;
                       CREATE TRIGGER die2 BEFORE INSERT ON nodes BEGIN SELECT RAISE(ABORT, 'killed'); END`,
                    );
                    expect(() => sub.store.catchUpRows()).toThrow(/killed/);
                    db.exec('DROP TRIGGER die2');
                  }
                  db.exec('DROP TRIGGER IF EXISTS die');
                  db.close();
                  sub.store = openStore({ path: sub.path }, { clock, random: seededRandom(812) });
                  expect(pendingMark(sub.store)).toBeUndefined();
                  expect(materializedTables(sub.store)).toEqual(materializedTables(ref.store));
                  break;
                }
              }
            }
            const ids = ref.store.listNodes({ scope: 'all', limit: 1000 }).map((n) => n.id);
            for (let r = 0; r < READERS.length; r++) {
              expect(reads(sub.store, clock, ids, r)).toEqual(reads(ref.store, clock, ids, r));
            }
            expect(materializedTables(sub.store)).toEqual(materializedTables(ref.store));
            expect(sub.store.digest()).toBe(ref.store.digest());
            // Not only agreement: every op the makers wrote is in the log once, and nothing else
            // but the local writes made here (under sub's own origin).
            const sorted = (ids: string[]) => [...ids].sort();
            const own = `-${sub.store.origin}`;
            expect(
              sorted(
                allOps(sub.store)
                  .map((o) => o.id)
                  .filter((id) => !id.endsWith(own)),
              ),
            ).toEqual(sorted([...new Set(union.map((o) => o.id))]));
            sub.reopen();
            expect(materializedTables(sub.store)).toEqual(materializedTables(ref.store));
          } finally {
            for (const h of [...makers, sub, ref]) h.close();
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`pending rows property: seed ${SEED}, ${RUNS} runs, ${fails} with a failed page`);
    // The runs covered pages that fail and roll back over rows others left pending (about four
    // runs in ten have one; a short run asked for by HEPH_PROPERTY_RUNS may have none).
    if (RUNS >= 20) expect(fails).toBeGreaterThan(0);
  }, 240_000);
});

describe('node rows left pending', () => {
  it('a crash with rows pending makes again only the rows of nodes the ops since the marker touched', () => {
    const a = openTestStore({ seed: 860 });
    const b = openTestStore({ seed: 861 });
    const ref = openTestStore({ seed: 862 });
    try {
      const x = a.store.createNode({ kind: 'task', title: 'x', body: 'x body' });
      const y = a.store.createNode({ kind: 'task', title: 'y' });
      a.store.updateNode(x.id, { title: 'x two' });
      const early = allOps(a.store);
      for (const h of [b, ref]) h.store.applyOps(early);
      b.store.catchUpRows();
      // x changes elsewhere (a field and its body); that page's rows stay pending here.
      a.store.updateNode(x.id, { title: 'x three', body: 'x body two' });
      const late = allOps(a.store).slice(early.length);
      const from = b.store.lastSeq() + 1;
      for (const h of [b, ref]) h.store.applyOps(late);
      ref.store.catchUpRows();
      expect(pendingMark(b.store)).toBe(String(from));
      // y's row, written before, is marked so that a replay of y's ops would show.
      raw(b.store).prepare('UPDATE nodes SET updated_ms = 1 WHERE id = ?').run(y.id);
      raw(b.store).close();
      b.store = openStore({ path: b.path }, { clock: b.clock, random: seededRandom(863) });
      expect(pendingMark(b.store)).toBeUndefined();
      expect(b.store.getNode(x.id).title).toBe('x three');
      const rows = (s: SqliteStore, id: string): unknown =>
        raw(s).prepare('SELECT * FROM nodes WHERE id = ?').get(id);
      expect(rows(b.store, x.id)).toEqual(rows(ref.store, x.id));
      // y was not made again: its row is as it was left.
      expect(b.store.getNode(y.id).updated_ms).toBe(1);
    } finally {
      a.close();
      b.close();
      ref.close();
    }
  });

  it('a page that fails after others left rows pending loses nothing the others committed', () => {
    const a = openTestStore({ seed: 820 });
    const b = openTestStore({ seed: 821 });
    try {
      const x = a.store.createNode({ kind: 'task', title: 'first' });
      const y = a.store.createNode({ kind: 'task', title: 'other' });
      const early = allOps(a.store);
      a.store.updateNode(x.id, { title: 'second' });
      a.store.updateNode(y.id, { title: 'other two' });
      const late = allOps(a.store).slice(early.length);
      b.store.applyOps(early);
      expect(pendingMark(b.store)).toBeDefined();
      raw(b.store).exec(
        `CREATE TRIGGER fail_once BEFORE INSERT ON oplog WHEN NEW.id = '${late[1]!.id}'
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
      );
      expect(() => b.store.applyOps(late)).toThrow(/injected failure/);
      raw(b.store).exec('DROP TRIGGER fail_once');
      expect(b.store.getNode(x.id).title).toBe('first');
      expect(b.store.getNode(y.id).title).toBe('other');
      b.store.applyOps(late);
      expect(b.store.getNode(x.id).title).toBe('second');
      expect(materializedTables(b.store)).toEqual(materializedTables(a.store));
    } finally {
      a.close();
      b.close();
    }
  });

  it('conflicts() after a page failed while rows were pending still shows the committed conflicts', () => {
    const a = openTestStore({ seed: 843 });
    const c = openTestStore({ seed: 844 });
    const b = openTestStore({ seed: 845 });
    try {
      const x = divergedTitles(a, c);
      // Two pulled pages commit; the title conflict lives only in pending rows.
      b.store.applyOps(allOps(a.store));
      b.store.applyOps(allOps(c.store));
      expect(b.store.conflicts().map((v) => [v.target, v.field])).toEqual([[x.id, 'title']]);
      // The next page fails and rolls back: the pending rows are lost.
      const y = a.store.createNode({ kind: 'doc', title: 'later' });
      const next = allOps(a.store).filter((o) => o.target === y.id);
      raw(b.store).exec(
        `CREATE TRIGGER fail_once BEFORE INSERT ON oplog WHEN NEW.id = '${next[0]!.id}'
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
      );
      expect(() => b.store.applyOps(next)).toThrow(/injected failure/);
      raw(b.store).exec('DROP TRIGGER fail_once');
      // conflicts.list, status and sync.status read this before anything else.
      expect(b.store.conflicts().map((v) => [v.target, v.field])).toEqual([[x.id, 'title']]);
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });

  // Ops a version before this one stored unchecked (a kind it did not know, a check it did not
  // make): the incremental path never applied them, so a rebuild must not either.
  const OLD_OPS = [
    ['device.name', '00000000000000aa', '{"name":42}'],
    ['body.update', 'NODE', '{"update":"/////w=="}'],
  ] as const;
  for (const pending of [false, true]) {
    it(`a log holding ops an older version stored unchecked reopens after a crash, as applied (rows pending: ${pending})`, () => {
      const a = openTestStore({ seed: 850 });
      const b = openTestStore({ seed: 851 });
      const ref = openTestStore({ seed: 853 });
      try {
        const x = a.store.createNode({ kind: 'task', title: 'one' });
        const [first] = allOps(a.store);
        for (const h of [b, ref]) {
          OLD_OPS.forEach(([kind, target, payload], i) => {
            const id = `${first!.id.slice(0, -16)}00000000000000a${i}`;
            raw(h.store)
              .prepare('INSERT INTO oplog (id, kind, target, payload) VALUES (?, ?, ?, ?)')
              .run(id, kind, target === 'NODE' ? x.id : target, payload);
          });
          expect(h.store.deviceNames().size).toBe(0);
        }
        // Today's apply path refuses the same body update.
        const bad = { ...allOps(a.store)[0]!, id: `${first!.id.slice(0, -16)}00000000000000b0` };
        const refused = ref.store.applyOps([
          { ...bad, kind: 'body.update', payload: { update: '/////w==' } },
        ]);
        expect(refused.refused).toHaveLength(1);
        for (const h of [b, ref]) h.store.applyOps(allOps(a.store));
        ref.store.catchUpRows();
        if (!pending) b.store.catchUpRows();
        expect(pendingMark(b.store) !== undefined).toBe(pending);
        // The daemon is killed (no close()).
        raw(b.store).close();
        b.store = openStore({ path: b.path }, { clock: b.clock, random: seededRandom(852) });
        expect(b.store.listNodes().map((n) => n.title)).toEqual(['one']);
        expect(materializedTables(b.store)).toEqual(materializedTables(ref.store));
        // A rebuild asked for gives the same too.
        ref.store.rebuild();
        expect(materializedTables(ref.store)).toEqual(materializedTables(b.store));
      } finally {
        a.close();
        b.close();
        ref.close();
      }
    });
  }

  it('reads through statements cached before the rows were pending see the pending rows', () => {
    const a = openTestStore({ seed: 830 });
    const b = openTestStore({ seed: 831 });
    try {
      const model = new Model(b.store, { clock: b.clock, timeZone: 'UTC' });
      const x = a.store.createNode({ kind: 'doc', title: 'kept' });
      b.store.applyOps(allOps(a.store));
      expect(model.trash().nodes).toEqual([]);
      const seen = a.store.lastSeq();
      a.store.deleteNode(x.id);
      b.store.applyOps(a.store.opsSince(seen, 100).ops);
      expect(pendingMark(b.store)).toBeDefined();
      expect(model.trash().nodes.map((n) => n.id)).toEqual([x.id]);
      expect(pendingMark(b.store)).toBeUndefined();
    } finally {
      a.close();
      b.close();
    }
  });

  it('conflicts() lists every pending conflict when a doc among them makes it write the rows', () => {
    const a = openTestStore({ seed: 843 });
    const c = openTestStore({ seed: 844 });
    const b = openTestStore({ seed: 845 });
    try {
      // A doc first (the context-doc check of its title conflict writes pending rows), then a
      // task, both in conflict; and a task whose conflict is in a written row.
      const d = a.store.createNode({ kind: 'doc', title: 'doc' });
      const x = divergedTitles(a, c);
      const y = a.store.createNode({ kind: 'task', title: 'written' });
      c.store.applyOps(allOps(a.store));
      a.store.updateNode(d.id, { title: 'doc from a' });
      c.store.updateNode(d.id, { title: 'doc from c' });
      a.store.updateNode(y.id, { title: 'y from a' });
      c.store.updateNode(y.id, { title: 'y from c' });
      b.store.applyOps(allOps(a.store));
      b.store.catchUpRows();
      b.store.applyOps(c.store.opsSince(0, 1000).ops.filter((o) => o.target === y.id));
      b.store.catchUpRows();
      b.store.applyOps(allOps(c.store));
      expect(pendingMark(b.store)).toBeDefined();
      a.store.applyOps(allOps(c.store));
      const want = a.store.conflicts();
      expect(want.map((v) => v.target).sort()).toEqual([d.id, x.id, y.id].sort());
      expect(b.store.conflicts()).toEqual(want);
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });

  it('conflicts are read from pending rows without writing them, as written rows show them', () => {
    const a = openTestStore({ seed: 840 });
    const c = openTestStore({ seed: 841 });
    const b = openTestStore({ seed: 842 });
    try {
      const x = divergedTitles(a, c);
      // A conflict that begins in pending rows.
      b.store.applyOps(allOps(a.store));
      b.store.applyOps(allOps(c.store));
      expect(pendingMark(b.store)).toBeDefined();
      const during = b.store.conflicts();
      expect(during.map((v) => [v.target, v.field, v.heads.length])).toEqual([[x.id, 'title', 2]]);
      expect(pendingMark(b.store)).toBeDefined();
      a.store.applyOps(allOps(c.store));
      expect(during).toEqual(a.store.conflicts());
      // A conflict written to the row, then resolved in pending rows.
      b.store.catchUpRows();
      expect(b.store.conflicts()).toEqual(during);
      const before = a.store.lastSeq();
      a.store.resolveConflict(x.id, 'title', 'settled');
      b.store.applyOps(a.store.opsSince(before, 100).ops);
      expect(pendingMark(b.store)).toBeDefined();
      expect(b.store.conflicts()).toEqual([]);
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });
});
