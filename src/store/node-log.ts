// Reads of the op-log for history, node.at, revert and undo: a node's ops (its fields, its body
// and the typed links from it), one change's ops, this replica's own changes newest first, and
// the body steps (body-steps.ts) kept in `body_steps`. Guarantees:
// - a node's body steps are complete after fillSteps: every body op of the node has a step made
//   in op-id order; an op that arrived after ops with higher ids gets its step, and theirs are
//   made again, from its place on (the rows before it are still right);
// - nothing here writes the op-log or anything a user sees: `body_steps` is derived, and a
//   rollback of a surrounding transaction only costs making the steps again.

import type Database from 'better-sqlite3';
import type { Json } from '../core/json.js';
import { decodeLinkSet, EMPTY_LINK, type LinkSetState } from '../core/link-set.js';
import { interpretOp, type BodyOp } from '../core/op.js';
import type { RegisterState } from '../core/register.js';
import { union, versionOf, withOp, type Version } from '../core/version.js';
import { StepDocs } from './body-steps.js';
import { chooseShown, type BodyDoc } from './bodies.js';
import { decodeRegs, type ValueRow } from './node-rows.js';

const BODY_KINDS = "('body.update', 'body.init', 'body.edit')";
const FILL_PAGE = 500;

/** An op of a node's log. The payload is left out of body ops (their updates are large). */
export interface LogOp {
  id: string;
  kind: string;
  target: string;
  change: string;
  payload: Record<string, Json> | undefined;
}

export interface StepRow {
  id: string;
  kind: string;
  branch: string;
  step: Uint8Array;
  added: number;
  removed: number;
  resolves: string | null;
}

interface OwnRow {
  id: string;
  kind: string;
  target: string;
  change: string;
  undoes: string | null;
}

/** One of this replica's own changes: its ops (ids, kinds, targets) and what it undoes. */
export interface OwnChange {
  change: string;
  ops: { id: string; kind: string; target: string }[];
  undoes: string | undefined;
}

export class NodeLog {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    const columns = `id, kind, target, coalesce(change, id) AS change,
      CASE WHEN kind IN ${BODY_KINDS} THEN NULL ELSE payload END AS payload`;
    this.stmt = {
      // The node's own ops, and the ops of the typed links from it (ids 'node|type|dst').
      nodeOps: db.prepare(
        `SELECT ${columns} FROM oplog WHERE target = ?
         UNION ALL SELECT ${columns} FROM oplog WHERE target > ? AND target < ?
         ORDER BY id`,
      ),
      firstMissing: db
        .prepare(
          `SELECT o.id FROM oplog o WHERE o.target = ? AND o.kind IN ${BODY_KINDS}
           AND NOT EXISTS (SELECT 1 FROM body_steps s WHERE s.id = o.id) ORDER BY o.id LIMIT 1`,
        )
        .pluck(),
      steps: db.prepare(
        `SELECT o.id, o.kind, s.branch, s.step, s.added, s.removed, s.resolves
         FROM oplog o JOIN body_steps s ON s.id = o.id
         WHERE o.target = ? AND o.kind IN ${BODY_KINDS} AND o.id <= ? ORDER BY o.id`,
      ),
      stepsBefore: db.prepare(
        `SELECT o.id, s.branch, s.step FROM oplog o JOIN body_steps s ON s.id = o.id
         WHERE o.target = ? AND o.kind IN ${BODY_KINDS} AND o.id < ? ORDER BY o.id`,
      ),
      bodyOpsFrom: db.prepare(
        `SELECT id, kind, payload FROM oplog WHERE target = ? AND kind IN ${BODY_KINDS}
         AND id >= ? ORDER BY id LIMIT ${FILL_PAGE}`,
      ),
      bodyOpsAfter: db.prepare(
        `SELECT id, kind, payload FROM oplog WHERE target = ? AND kind IN ${BODY_KINDS}
         AND id > ? ORDER BY id LIMIT ${FILL_PAGE}`,
      ),
      putStep: db.prepare(
        `INSERT OR REPLACE INTO body_steps (id, branch, step, added, removed, resolves)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      op: db.prepare(
        'SELECT id, kind, target, coalesce(change, id) AS change, payload FROM oplog WHERE id = ?',
      ),
      own: db.prepare(
        `SELECT id, kind, target, coalesce(change, id) AS change,
           json_extract(payload, '$.undoes') AS undoes
         FROM oplog WHERE substr(id, -16) = ? ORDER BY seq DESC`,
      ),
      regs: db.prepare(
        `SELECT regs, conflicts, kind, title, aliases, deleted, state, attention, do_date, late_on,
           recurrence, extra FROM nodes WHERE id = ?`,
      ),
      link: db.prepare('SELECT state FROM links WHERE id = ?').pluck(),
    };
  }

  /** A node's ops and those of the typed links from it, oldest first. */
  nodeOps(node: string): LogOp[] {
    type Row = Omit<LogOp, 'payload'> & { payload: string | null };
    const rows = this.stmt.nodeOps.all(node, `${node}|`, `${node}}`) as Row[];
    return rows.map((r) => ({
      ...r,
      payload: r.payload === null ? undefined : (JSON.parse(r.payload) as Record<string, Json>),
    }));
  }

  /** One op by id, with its payload. */
  op(id: string): (LogOp & { payload: Record<string, Json> }) | undefined {
    const r = this.stmt.op.get(id) as (Omit<LogOp, 'payload'> & { payload: string }) | undefined;
    return r && { ...r, payload: JSON.parse(r.payload) as Record<string, Json> };
  }

  /** Makes the body steps a node lacks (see the file comment). */
  fillSteps(node: string): void {
    const missing = this.stmt.firstMissing.get(node) as string | undefined;
    if (missing === undefined) return;
    const docs = new StepDocs();
    try {
      docs.replay(this.stmt.stepsBefore.all(node, missing) as StepRow[]);
      this.db.transaction(() => {
        type Row = { id: string; kind: string; payload: string };
        let page = this.stmt.bodyOpsFrom.all(node, missing) as Row[];
        while (page.length > 0) {
          for (const r of page) {
            const payload = JSON.parse(r.payload) as Record<string, Json>;
            let k: BodyOp | undefined;
            try {
              k = interpretOp({ id: r.id, kind: r.kind, target: node, payload }) as BodyOp;
            } catch {
              k = undefined; // stored ops were checked; an unreadable one changed nothing
            }
            const s = k
              ? docs.apply(k.doc, Buffer.from(k.update, 'base64'))
              : { step: new Uint8Array(0), added: 0, removed: 0 };
            const resolves = k && k.resolves.length > 0 ? JSON.stringify(payload.resolves) : null;
            this.stmt.putStep.run(r.id, k?.doc ?? '', s.step, s.added, s.removed, resolves);
          }
          const last = page[page.length - 1] as Row;
          page = this.stmt.bodyOpsAfter.all(node, last.id) as Row[];
        }
      })();
    } finally {
      docs.destroy();
    }
  }

  /** A node's body steps up to and including op `upTo`, oldest first (call fillSteps first). */
  steps(node: string, upTo = '\uffff'): StepRow[] {
    return this.stmt.steps.all(node, upTo) as StepRow[];
  }

  /**
   * This replica's own changes, newest first, as long as `more` asks for the next one. Ops of
   * one change are adjacent in the log (one transaction wrote them).
   */
  ownChanges(origin: string, more: (c: OwnChange) => boolean): void {
    let cur: OwnChange | undefined;
    for (const r of this.stmt.own.iterate(origin) as IterableIterator<OwnRow>) {
      if (cur && cur.change !== r.change) {
        if (!more(cur)) return;
        cur = undefined;
      }
      cur ??= { change: r.change, ops: [], undoes: undefined };
      cur.ops.unshift({ id: r.id, kind: r.kind, target: r.target });
      if (typeof r.undoes === 'string') cur.undoes = r.undoes;
    }
    if (cur) more(cur);
  }

  /** A node's registers as stored now (field → heads). */
  registers(node: string): Record<string, RegisterState> {
    const row = this.stmt.regs.get(node) as
      (ValueRow & { regs: string; conflicts: number }) | undefined;
    return row ? decodeRegs(row.regs, row.conflicts, row).regs : {};
  }

  /** A link's add-wins set as stored now. */
  link(id: string): LinkSetState {
    const state = this.stmt.link.get(id) as string | undefined;
    return state === undefined ? EMPTY_LINK : decodeLinkSet(state);
  }
}

/** A body as its steps give it: every document's text, the one shown, and its version. */
export interface StepBody {
  /** The branch shown (see bodies.ts), undefined before any body op. */
  shown: string | undefined;
  /** How many documents are not resolved (more than one: a body conflict). */
  heads: number;
  version: Version;
  texts: Map<string, string>;
}

/** The body the given steps make (a prefix of a node's steps, in op-id order). */
export function bodyFromSteps(rows: readonly StepRow[]): StepBody {
  const meta = new Map<string, BodyDoc>();
  for (const r of rows) {
    let d = meta.get(r.branch);
    if (!d) {
      d = { branch: r.branch, since: '', version: new Map(), resolved: new Map() };
      meta.set(r.branch, d);
    }
    d.version = withOp(d.version, r.id);
    const init = r.kind === 'body.init';
    if (init ? r.id > d.since : r.branch === '' && (d.since === '' || r.id < d.since)) {
      d.since = r.id;
    }
    if (r.resolves !== null) {
      for (const [branch, seen] of Object.entries(
        JSON.parse(r.resolves) as Record<string, string[]>,
      )) {
        const t = meta.get(branch);
        if (t) t.resolved = union(t.resolved, versionOf(seen));
      }
    }
  }
  const docs = new StepDocs();
  try {
    docs.replay(rows);
    const { shown, heads } = chooseShown([...meta.values()]);
    const texts = new Map<string, string>();
    for (const b of meta.keys()) texts.set(b, docs.text(b));
    return {
      shown: shown?.branch,
      heads: heads.length,
      version: versionOf(rows.map((r) => r.id)),
      texts,
    };
  } finally {
    docs.destroy();
  }
}
