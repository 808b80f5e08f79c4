// Write-back of what a batch of ops does to node rows and bodies. While the store applies a batch
// (a pulled page, a push, a replay page) the registers still change op by op, in order, exactly
// as without a batch; only the SQL writes wait: each touched node's row is written once with its
// final registers, visible values and time bounds, and each touched body is merged in one Yjs
// document and written once. Guarantees:
// - the rows and bodies written at flush are those op-by-op writes would leave: a column holds
//   the last visible value set, created_ms/updated_ms the min/max over the batch, each body
//   document the merge of every accepted update (CRDT merges do not depend on grouping; see
//   bodies.ts); a body document taken from the store's cache goes back to it at flush, and is
//   dropped if the batch is discarded;
// - nothing reads a pending row or body through SQL before the flush: the batch covers the
//   store's apply loop only, which reads node registers from the write-through cache, bodies
//   from here, and the op-log (which is written at once);
// - rows may stay pending past the batch (PendingRows, kept by the store across the
//   transactions of applyOps): the store then writes them before anything reads or writes node
//   rows through SQL (SqliteStore.catchUpRows), and marks the database so that a crash before
//   that rebuilds them from the op-log;
// - an update Yjs cannot decode leaves the merged document as it was before that update.

import type Database from 'better-sqlite3';
import { isKnownField, type KnownField } from '../core/fields.js';
import type { Json } from '../core/json.js';
import type { BodyOp } from '../core/op.js';
import type { BodyCache } from './body-cache.js';
import { BodyBatch, type BodyStatements, type Compaction, type WikiDeps } from './bodies.js';
import { columnValue, encodeRegs, type NodeState } from './node-rows.js';
import type { Statements } from './statements.js';

/** How many nodes' bodies a long batch holds before writing them (flushBodiesIfMany). */
export const BODY_FLUSH_NODES = 32;

export interface PendingRow {
  /** Set once a field op touched the node (else only its times change: a body update). */
  state: NodeState | undefined;
  /**
   * Known fields whose visible value changed: the value's canonical JSON (the register's own
   * string, so a pending row holds no copy), turned into the column's value when written.
   */
  cols: Map<KnownField, string>;
  /** Unknown fields whose visible value changed: canonical JSON for `extra`. */
  extra: Map<string, string>;
  minWall: number;
  maxWall: number;
}

/** Node rows not written yet: each touched node's final registers, values and time bounds. */
export class PendingRows {
  private readonly rows = new Map<string, PendingRow>();
  /** Pending rows whose registers hold a conflict (kept as field ops set them). */
  private readonly conflicted = new Set<string>();

  get size(): number {
    return this.rows.size;
  }

  has(id: string): boolean {
    return this.rows.has(id);
  }

  row(target: string, wall: number): PendingRow {
    let r = this.rows.get(target);
    if (!r) {
      r = { state: undefined, cols: new Map(), extra: new Map(), minWall: wall, maxWall: wall };
      this.rows.set(target, r);
    } else {
      if (wall < r.minWall) r.minWall = wall;
      if (wall > r.maxWall) r.maxWall = wall;
    }
    return r;
  }

  /** Records the registers a field op left on a pending row (`r`, the row of `id`). */
  setState(id: string, r: PendingRow, state: NodeState): void {
    r.state = state;
    if (state.conflicts > 0) this.conflicted.add(id);
    else this.conflicted.delete(id);
  }

  /** The registers a pending row will hold, when a field op touched it (else its row has them). */
  state(id: string): NodeState | undefined {
    return this.rows.get(id)?.state;
  }

  /**
   * Calls `fn` with the registers of each pending row in conflict. Allocates nothing and visits
   * only those rows: the sync status asks for conflicts many times a second while pages are
   * applied, with up to 10,000 rows pending (MAX_PENDING_ROWS, sqlite-store.ts).
   */
  forEachConflicted(fn: (id: string, state: NodeState) => void): void {
    for (const id of this.conflicted) {
      const s = this.rows.get(id)?.state;
      if (s && s.conflicts > 0) fn(id, s);
    }
  }

  /** Forgets every pending row (written, or lost with a rollback). */
  clear(): void {
    this.rows.clear();
    this.conflicted.clear();
  }

  /** Writes every pending row (inside a transaction) and forgets them. */
  write(stmt: Statements, db: Database.Database): void {
    for (const [id, r] of this.rows) writeRow(stmt, db, id, r);
    this.clear();
  }
}

export class ApplyBatch {
  readonly bodies: BodyBatch;

  /** `rows`: where node rows wait (the store's, when they may stay pending past the batch). */
  constructor(
    private readonly stmt: Statements,
    private readonly db: Database.Database,
    bodies: { stmt: BodyStatements; cache: BodyCache; compaction: Compaction },
    wiki: Omit<WikiDeps, 'clear' | 'add'>,
    private readonly rows: PendingRows = new PendingRows(),
  ) {
    this.bodies = new BodyBatch(bodies, {
      ...wiki,
      clear: stmt.clearWiki,
      add: stmt.addWiki,
    });
  }

  /**
   * Records a field write already applied to `state` (the cached registers). `visible` is the
   * field's visible value when the write changed it, else undefined.
   */
  field(
    target: string,
    state: NodeState,
    field: string,
    visible: string | undefined,
    wall: number,
  ): void {
    const r = this.rows.row(target, wall);
    this.rows.setState(target, r, state);
    if (visible === undefined) return;
    if (isKnownField(field)) r.cols.set(field, visible);
    else r.extra.set(field, visible);
  }

  /** Merges a body op into the node's pending documents; throws invalid_op when Yjs cannot. */
  body(k: BodyOp, wall: number): void {
    this.bodies.apply(k);
    this.rows.row(k.target, wall);
  }

  /** Records an op's time on a node's row, and nothing else (a body op already applied). */
  touch(target: string, wall: number): void {
    this.rows.row(target, wall);
  }

  /**
   * Writes the pending bodies once `BODY_FLUSH_NODES` nodes' bodies wait, between ops of a long
   * batch. A page holds hundreds of bodies; kept to its end, each document (a few KB of Yjs
   * structs) outlives the young generation and is copied into the old one, which cost a new
   * device's first sync more CPU in garbage collection than the documents' own work. Written
   * early, they go back to the cache (or are dropped) and die young; a body touched again later
   * in the batch is taken again from the cache. Returns whether a body conflict began or ended.
   */
  flushBodiesIfMany(): boolean {
    if (this.bodies.nodes < BODY_FLUSH_NODES) return false;
    return this.bodies.flush().conflictsChanged;
  }

  /**
   * Writes every pending body and, unless `keepRows`, every pending row. Call inside the batch's
   * transaction, once. Returns whether a body conflict began or ended.
   */
  flush(keepRows = false): boolean {
    const { conflictsChanged } = this.bodies.flush();
    if (!keepRows) this.rows.write(this.stmt, this.db);
    return conflictsChanged;
  }

  /** Drops what is pending (the transaction is rolling back). */
  discard(): void {
    this.bodies.discard();
    this.rows.clear();
  }
}

function writeRow(stmt: Statements, db: Database.Database, id: string, r: PendingRow): void {
  const s = r.state;
  if (!s) {
    stmt.touchNode.run(id, r.minWall, r.maxWall);
    return;
  }
  const cols = [...r.cols.keys()];
  const values: (string | number | null)[] = [];
  for (const [f, v] of r.cols) values.push(columnValue(f, JSON.parse(v) as Json));
  const regs = encodeRegs(s);
  if (s.exists) {
    if (s.created === undefined || r.minWall < s.created) {
      rowUpdate(db, cols, true).run(...values, regs, s.conflicts, r.minWall, r.maxWall, id);
      s.created = Math.min(s.created ?? r.minWall, r.minWall);
    } else {
      rowUpdate(db, cols, false).run(...values, regs, s.conflicts, r.maxWall, id);
    }
  } else {
    rowUpsert(db, cols).run(id, r.minWall, r.maxWall, regs, s.conflicts, ...values);
    s.exists = true;
    s.created = Math.min(s.created ?? r.minWall, r.minWall);
  }
  for (const [f, v] of r.extra) stmt.setExtra.run(`$."${f}"`, v, id);
}

// Row writes for each set of changed columns, prepared once per connection and column set.
const updates = new WeakMap<Database.Database, Map<string, Database.Statement>>();
const upserts = new WeakMap<Database.Database, Map<string, Database.Statement>>();

function cached(
  cache: WeakMap<Database.Database, Map<string, Database.Statement>>,
  db: Database.Database,
  cols: readonly string[],
  sql: () => string,
): Database.Statement {
  let m = cache.get(db);
  if (!m) {
    m = new Map();
    cache.set(db, m);
  }
  const key = cols.join(',');
  let s = m.get(key);
  if (!s) {
    s = db.prepare(sql());
    m.set(key, s);
  }
  return s;
}

/**
 * UPDATE of an existing row: cols…, regs, conflicts, [created bound,] updated bound, id. Without
 * `created` the statement leaves created_ms out of its SET list: SQLite rewrites the entries of
 * every index holding a column that is SET, changed or not.
 */
function rowUpdate(
  db: Database.Database,
  cols: readonly string[],
  created: boolean,
): Database.Statement {
  return cached(updates, db, [...cols, created ? '+created' : '-created'], () => {
    const set = cols.map((c) => `${c} = ?, `).join('');
    const bound = created ? 'created_ms = min(created_ms, ?), ' : '';
    return `UPDATE nodes SET ${set}regs = ?, conflicts = ?, ${bound}updated_ms = max(updated_ms, ?)
      WHERE id = ?`;
  });
}

/** Upsert of a row that may not exist: id, created, updated, regs, conflicts, cols…. */
function rowUpsert(db: Database.Database, cols: readonly string[]): Database.Statement {
  return cached(upserts, db, cols, () => {
    const names = cols.map((c) => `, ${c}`).join('');
    const marks = cols.map(() => ', ?').join('');
    const set = cols.map((c) => `${c} = excluded.${c}, `).join('');
    return `INSERT INTO nodes (id, created_ms, updated_ms, regs, conflicts${names})
      VALUES (?, ?, ?, ?, ?${marks}) ON CONFLICT (id) DO UPDATE SET ${set}
      created_ms = min(created_ms, excluded.created_ms),
      updated_ms = max(updated_ms, excluded.updated_ms),
      regs = excluded.regs, conflicts = excluded.conflicts`;
  });
}
