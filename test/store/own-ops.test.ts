// countOwnOpsSince (kept and extended between calls) and ownOpsSince: what a spoke's push and
// its "waiting to upload" count read.

import { describe, expect, it } from 'vitest';
import type { Op } from '../../src/core/op.js';
import { originOf } from '../../src/core/hlc.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { openTestStore } from '../helpers/store.js';

function allOps(s: SqliteStore): Op[] {
  return s.opsSince(0, 100_000).ops;
}

/** The answer by a plain scan, to compare the kept count with. */
function scanCount(s: SqliteStore, cursor: number): number {
  return s.connection
    .prepare('SELECT count(*) FROM oplog WHERE seq > ? AND substr(id, -16) = ?')
    .pluck()
    .get(cursor, s.origin) as number;
}

describe('own ops after a cursor', () => {
  it('counts own ops as they are written and received, across cursors, rollbacks and re-stamps', () => {
    const a = openTestStore();
    const b = openTestStore();
    try {
      const s = a.store;
      expect(s.countOwnOpsSince(0)).toBe(0);
      const n = s.createNode({ kind: 'task', title: 'one' });
      expect(s.countOwnOpsSince(0)).toBe(scanCount(s, 0));
      b.store.createNode({ kind: 'doc', title: 'foreign' });
      s.applyOps(allOps(b.store));
      s.updateNode(n.id, { title: 'two' });
      expect(s.countOwnOpsSince(0)).toBe(scanCount(s, 0));
      const mid = s.lastSeq();
      s.updateNode(n.id, { state: 'done' });
      expect(s.countOwnOpsSince(mid)).toBe(1);
      expect(s.countOwnOpsSince(0)).toBe(scanCount(s, 0));

      // A rolled-back transaction that counted inside it: its seqs are handed out again (here
      // to own ops, where the rolled-back ones were another replica's).
      b.store.createNode({ kind: 'doc', title: 'foreign 2' });
      expect(() =>
        s.transaction(() => {
          expect(s.applyOps(allOps(b.store)).applied.length).toBeGreaterThan(1);
          expect(s.countOwnOpsSince(0)).toBe(scanCount(s, 0));
          throw new Error('roll back');
        }),
      ).toThrow('roll back');
      for (let i = 0; i < 4; i++) s.updateNode(n.id, { title: `again ${i}` });
      expect(s.countOwnOpsSince(0)).toBe(scanCount(s, 0));

      // Re-stamping deletes and re-inserts own ops.
      const own = allOps(s)
        .filter((o) => originOf(o.id) === s.origin)
        .map((o) => o.id);
      s.restampOps(own.slice(-2));
      expect(s.countOwnOpsSince(0)).toBe(scanCount(s, 0));
      expect(s.countOwnOpsSince(mid)).toBe(scanCount(s, mid));
    } finally {
      a.close();
      b.close();
    }
  });

  it('pages own ops only, and reaches the end of the log when no more are left', () => {
    const a = openTestStore();
    const b = openTestStore();
    try {
      const s = a.store;
      for (let i = 0; i < 3; i++) s.createNode({ kind: 'doc', title: `mine ${i}` });
      b.store.createNode({ kind: 'doc', title: 'foreign' });
      s.applyOps(allOps(b.store));
      const own = allOps(s).filter((o) => originOf(o.id) === s.origin);
      expect(own.length).toBeGreaterThan(4);

      const first = s.ownOpsSince(0, 4);
      expect(first.ops).toEqual(own.slice(0, 4));
      expect(first.more).toBe(true);
      const rest = s.ownOpsSince(first.cursor, 1000);
      expect(rest.ops).toEqual(own.slice(4));
      expect(rest.more).toBe(false);
      // The foreign ops at the end of the log are passed over too.
      expect(rest.cursor).toBe(s.lastSeq());
      expect(s.ownOpsSince(rest.cursor, 10)).toEqual({ ops: [], cursor: s.lastSeq(), more: false });
      expect(() => s.ownOpsSince(-1, 10)).toThrow();
      expect(() => s.ownOpsSince(0, 0)).toThrow();
    } finally {
      a.close();
      b.close();
    }
  });
});
