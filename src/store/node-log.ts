// Reads of the op-log for history, node.at, revert and undo: a node's ops (its fields, its body
// and the typed links from it) read from the index of a node's ops without the body ops' large
// payloads, one op, this replica's own changes newest first, a node's registers and a link's
// state as stored; and the body steps (step-log.ts). Nothing here writes what a user sees.

import type Database from 'better-sqlite3';
import type { Json } from '../core/json.js';
import { decodeLinkSet, EMPTY_LINK, type LinkSetState } from '../core/link-set.js';
import type { RegisterState } from '../core/register.js';
import { StepLog } from './step-log.js';
import { decodeRegs, type ValueRow } from './node-rows.js';
import { catchUpOpTargets, OPS_OF_TARGET } from './op-targets.js';

const BODY_KINDS = "('body.update', 'body.init', 'body.edit')";

/** An op of a node's log. The payload is left out of body ops (their updates are large). */
export interface LogOp {
  id: string;
  kind: string;
  target: string;
  change: string;
  payload: Record<string, Json> | undefined;
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
  private readonly rowsCurrent: () => void;
  /** The body steps of nodes (step-log.ts). */
  readonly steps: StepLog;

  /**
   * `rowsCurrent` writes the node rows the store holds pending (SqliteStore.catchUpRows), before
   * registers() reads them.
   */
  constructor(
    private readonly db: Database.Database,
    options: { markEvery?: number; rowsCurrent?: () => void } = {},
  ) {
    this.rowsCurrent = options.rowsCurrent ?? (() => undefined);
    this.steps = new StepLog(db, options.markEvery);
    // op_targets is caught up before these run (op-targets.ts).
    const from = OPS_OF_TARGET;
    const ops = (where: string) =>
      `SELECT o.id, o.kind, o.target, coalesce(o.change, o.id) AS change FROM ${from} WHERE ${where}`;
    const payloads = (where: string) =>
      `SELECT o.id, o.payload FROM ${from} WHERE ${where} AND o.kind NOT IN ${BODY_KINDS}`;
    this.stmt = {
      // The node's own ops and those of the typed links from it (ids 'node|type|dst'), from the
      // index alone; then the payloads of those that are not body ops.
      nodeOps: db
        .prepare(
          `${ops('t.target = ?')} UNION ALL ${ops('t.target > ? AND t.target < ?')} ORDER BY id`,
        )
        .raw(true),
      payloads: db
        .prepare(
          `${payloads('t.target = ?')} UNION ALL ${payloads('t.target > ? AND t.target < ?')}`,
        )
        .raw(true),
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
    catchUpOpTargets(this.db);
    const range = [node, `${node}|`, `${node}}`];
    const payloads = new Map<string, string>();
    for (const [id, payload] of this.stmt.payloads.all(...range) as [string, string][]) {
      payloads.set(id, payload);
    }
    const rows = this.stmt.nodeOps.all(...range) as [string, string, string, string][];
    const out: LogOp[] = new Array<LogOp>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [id, kind, target, change] = rows[i] as [string, string, string, string];
      const p = payloads.get(id);
      out[i] = {
        id,
        kind,
        target,
        change,
        payload: p === undefined ? undefined : (JSON.parse(p) as Record<string, Json>),
      };
    }
    return out;
  }

  /** One op by id, with its payload. */
  op(id: string): (LogOp & { payload: Record<string, Json> }) | undefined {
    const r = this.stmt.op.get(id) as (Omit<LogOp, 'payload'> & { payload: string }) | undefined;
    return r && { ...r, payload: JSON.parse(r.payload) as Record<string, Json> };
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
    this.rowsCurrent();
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
