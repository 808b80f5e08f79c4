// The index of ops by target (op_targets, see schema.sql), brought up to date by a cursor rather
// than with every op. An applied page of ops from elsewhere names nodes all over the store; an
// index written with each op dirtied a page of it per op, in every commit. Caught up in target
// order, many pages of ops cost one pass over the index instead.
//
// Guarantees:
// - every op with a seq at or below the cursor (meta 'op_targets_seq') has its row;
// - readers call catchUpOpTargets first, and join op_targets to oplog on seq and target, so a
//   row left behind by a deleted op (or by a seq SQLite handed out again) never shows;
// - a deleted op lowers the cursor below its seq (forgetOpTarget): SQLite may give that seq to
//   the next op, which the catch-up must then index.

import type Database from 'better-sqlite3';

export const OP_TARGETS_CURSOR = 'op_targets_seq';

/** FROM clause of a read of ops by target: filter on t.target, read o.* (after a catch-up). */
export const OPS_OF_TARGET = 'op_targets t JOIN oplog o ON o.seq = t.seq AND o.target = t.target';

function prepare(db: Database.Database) {
  return {
    cursor: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
    putCursor: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    maxSeq: db.prepare('SELECT coalesce(max(seq), 0) FROM oplog').pluck(),
    fill: db.prepare(
      `INSERT OR IGNORE INTO op_targets (target, seq)
       SELECT target, seq FROM oplog WHERE seq > ? AND seq <= ? ORDER BY target, seq`,
    ),
  };
}

const prepared = new WeakMap<Database.Database, ReturnType<typeof prepare>>();

function statements(db: Database.Database): ReturnType<typeof prepare> {
  let p = prepared.get(db);
  if (!p) {
    p = prepare(db);
    prepared.set(db, p);
  }
  return p;
}

function cursorOf(p: ReturnType<typeof prepare>): number {
  return Number((p.cursor.get(OP_TARGETS_CURSOR) as string | undefined) ?? 0);
}

/**
 * Indexes every op past the cursor. Cheap when nothing is new (two indexed reads). Joins the
 * open transaction, else runs in one of its own. Returns how many ops it indexed.
 */
export function catchUpOpTargets(db: Database.Database): number {
  const p = statements(db);
  const to = p.maxSeq.get() as number;
  if (to <= cursorOf(p)) return 0;
  const run = (): number => {
    const from = cursorOf(p);
    const n = p.fill.run(from, to).changes;
    p.putCursor.run(OP_TARGETS_CURSOR, String(to));
    return n;
  };
  return db.inTransaction ? run() : db.transaction(run)();
}

/** Call in the transaction that deletes the op-log row with this seq. */
export function forgetOpTarget(db: Database.Database, seq: number): void {
  const p = statements(db);
  if (seq <= cursorOf(p)) p.putCursor.run(OP_TARGETS_CURSOR, String(seq - 1));
}
