// Changes: the ops of one local command (one outermost transaction) share a change id, the id of
// their first op, carried in every later op's payload so every replica groups them alike. The
// count of own changes after a cursor is what "changes waiting to upload" reads.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changeOf, type Op } from '../../src/core/op.js';
import { History } from '../../src/model/history.js';
import { Undo } from '../../src/model/undo.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { openTestStore } from '../helpers/store.js';

function allOps(s: SqliteStore): Op[] {
  return s.opsSince(0, 100_000).ops;
}

/** Own changes after a cursor by a plain scan of the log. */
function scanChanges(s: SqliteStore, cursor: number): number {
  return new Set(
    s
      .opsSince(cursor, 100_000)
      .ops.filter((o) => o.id.endsWith(s.origin))
      .map((o) => changeOf(o)),
  ).size;
}

describe('changes', () => {
  it('groups the ops of one command, and nothing else', () => {
    const h = openTestStore();
    try {
      const s = h.store;
      const task = s.createNode({ kind: 'task', title: 'Pay rent', attention: 'red', body: 'x' });
      const ops = allOps(s);
      expect(ops.length).toBeGreaterThan(3);
      const [first, ...rest] = ops;
      expect(first!.payload.change).toBeUndefined();
      for (const o of rest) expect(o.payload.change).toBe(first!.id);
      expect(new Set(ops.map(changeOf))).toEqual(new Set([first!.id]));
      // Transactions nested in one command join its change.
      s.transaction(() => {
        s.updateNode(task.id, { title: 'Pay the rent' });
        s.transaction(() => s.deleteNode(task.id));
      });
      expect(s.countOwnChangesSince(0)).toBe(2);
      // A command that failed leaves no change behind, and the next one starts its own.
      expect(() =>
        s.transaction(() => {
          s.restoreNode(task.id);
          throw new Error('boom');
        }),
      ).toThrow('boom');
      s.restoreNode(task.id);
      const last = allOps(s).at(-1)!;
      expect(last.payload.change).toBeUndefined();
      expect(s.countOwnChangesSince(0)).toBe(3);
      expect(scanChanges(s, 0)).toBe(3);
    } finally {
      h.close();
    }
  });

  it('reads a change id only where it is an earlier stamp of the same replica', () => {
    const id = '000190000000-0002-0123456789abcdef';
    const earlier = '000190000000-0001-0123456789abcdef';
    const elsewhere = '000190000000-0001-fedcba9876543210';
    const later = '000190000001-0000-0123456789abcdef';
    expect(changeOf({ id, payload: { change: earlier } })).toBe(earlier);
    for (const bad of [elsewhere, later, id, 'x', 7, null, ['a']]) {
      expect(changeOf({ id, payload: { change: bad } })).toBe(id);
    }
    expect(changeOf({ id, payload: {} })).toBe(id);
  });

  it('keeps changes of other replicas together, and counts only own ones as waiting', () => {
    const a = openTestStore();
    const b = openTestStore();
    try {
      b.store.createNode({ kind: 'task', title: 'theirs' });
      a.store.createNode({ kind: 'doc', title: 'mine', body: 'words' });
      a.store.applyOps(allOps(b.store));
      expect(a.store.countOwnChangesSince(0)).toBe(1);
      const theirs = allOps(a.store).filter((o) => o.id.endsWith(b.store.origin));
      expect(new Set(theirs.map(changeOf)).size).toBe(1);
      // A malformed change id from elsewhere is not refused: that op is a change of its own, on
      // every replica alike.
      const wall = (b.store.clockState().wall + 1000).toString(16).padStart(12, '0');
      const odd: Op = {
        id: `${wall}-0000-${b.store.origin}`,
        kind: 'node.set',
        target: theirs[0]!.target,
        payload: { field: 'title', value: 'renamed', prev: [], change: 'not a stamp' },
      };
      expect(a.store.applyOps([odd]).refused).toEqual([]);
      expect(
        a.store.connection.prepare('SELECT change FROM oplog WHERE id = ?').pluck().get(odd.id),
      ).toBeNull();
      expect(a.store.countOwnChangesSince(0)).toBe(1);
    } finally {
      a.close();
      b.close();
    }
  });

  it('keeps each change together when its ops are re-stamped', () => {
    const h = openTestStore();
    try {
      const s = h.store;
      s.createNode({ kind: 'task', title: 'one' });
      s.createNode({ kind: 'doc', title: 'two', body: 'b' });
      const before = allOps(s);
      const renamed = s.restampOps(before.map((o) => o.id));
      const after = allOps(s);
      expect(after).toHaveLength(before.length);
      const groupsBefore = before.map((o) => renamed.get(changeOf(o)));
      expect(after.map(changeOf)).toEqual(groupsBefore);
      expect(s.countOwnChangesSince(0)).toBe(2);
    } finally {
      h.close();
    }
  });

  it('keeps what an undo and a revert name when both sides are re-stamped', () => {
    const h = openTestStore();
    try {
      const s = h.store;
      const history = new History(s);
      const undo = new Undo(history);
      const n = s.createNode({ kind: 'doc', title: 'first' });
      s.updateNode(n.id, { title: 'second' });
      const second = history.list(n.id).versions[0]!.version;
      undo.undo();
      s.updateNode(n.id, { title: 'third' });
      history.revert(n.id, second);
      h.clock.advance(60_000); // the clock is right again: every op gets a new id
      const renamed = s.restampOps(allOps(s).map((o) => o.id));
      expect([...renamed].every(([a, b]) => a !== b)).toBe(true);
      // The undone rename stays undone: undo would take back the revert, the third title, the
      // creation, and never the rename again.
      expect(undo.list().changes.map((c) => c.summary)).toEqual([
        '"second": title: "third" → "second"',
        '"second": title: "first" → "third"',
        'created doc "first"',
      ]);
      const versions = history.list(n.id).versions;
      expect(versions.map((v) => v.summary)).toEqual([
        `reverted to ${versions[3]!.short_version}: title: "third" → "second"`,
        'title: "first" → "third"',
        'undo: title: "second" → "first"',
        'title: "first" → "second"',
        'created doc "first"',
      ]);
    } finally {
      h.close();
    }
  });

  it('counts own changes after any cursor as a scan does, however the log grows (property)', () => {
    const seed = 20261205;
    console.log(`changes count property: seed ${seed}`);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.constantFrom('own', 'foreign', 'rollback', 'count'),
            size: fc.integer({ min: 1, max: 4 }),
            cursorPick: fc.nat(),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        (steps) => {
          const a = openTestStore();
          const b = openTestStore();
          try {
            const s = a.store;
            let cursor = 0;
            let taken = 0;
            for (const st of steps) {
              if (st.kind === 'own') {
                s.transaction(() => {
                  for (let i = 0; i < st.size; i++) s.createNode({ kind: 'doc', title: `d${i}` });
                });
              } else if (st.kind === 'foreign') {
                b.store.createNode({ kind: 'task', title: 'f' });
                s.applyOps(allOps(b.store).slice(taken));
                taken = allOps(b.store).length;
              } else if (st.kind === 'rollback') {
                try {
                  s.transaction(() => {
                    s.createNode({ kind: 'doc', title: 'gone' });
                    expect(s.countOwnChangesSince(cursor)).toBe(scanChanges(s, cursor));
                    throw new Error('roll back');
                  });
                } catch {
                  // rolled back on purpose
                }
              } else {
                cursor = st.cursorPick % (s.lastSeq() + 1);
              }
              expect(s.countOwnChangesSince(cursor)).toBe(scanChanges(s, cursor));
            }
          } finally {
            a.close();
            b.close();
          }
        },
      ),
      { seed, numRuns: 40 },
    );
  });
});
