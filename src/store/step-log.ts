// A node's body steps (body-steps.ts) as stored in `body_steps`, with a saved state of its
// documents every MARK_EVERY steps in `body_marks`, so a body at any version is one saved state
// and at most MARK_EVERY steps. Guarantees:
// - after fill(node), every body op of the node has its step, made in op-id order: an op that
//   arrived after ops with higher ids gets its step, and theirs and the saved states after it
//   are made again (the rows before it are still right);
// - bodyAt(node, v) is the body the node's body ops with ids at or below v make, shown by the
//   rule of bodies.ts;
// - both tables are derived from the op-log (a rebuild drops them) and hold nothing a user sees:
//   a rollback of a surrounding transaction only costs making them again.

import type Database from 'better-sqlite3';
import { originOf } from '../core/hlc.js';
import type { Json } from '../core/json.js';
import { interpretOp, type BodyOp } from '../core/op.js';
import { union, versionOf, type Version } from '../core/version.js';
import { StepDocs } from './body-steps.js';
import { chooseShown, type BodyDoc } from './bodies.js';
import { catchUpOpTargets, OPS_OF_TARGET } from './op-targets.js';

const BODY_KINDS = "('body.update', 'body.init', 'body.edit')";
const FILL_PAGE = 500;
/** Steps between saved states: bounds the work of showing any version. */
export const MARK_EVERY = 500;

/** A step without its update: what choosing the document shown needs. */
export interface StepMeta {
  id: string;
  kind: string;
  branch: string;
  resolves: string | null;
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

export class StepLog {
  private readonly stmt;

  constructor(
    private readonly db: Database.Database,
    /** Steps between saved states (tests make it small). */
    private readonly markEvery = MARK_EVERY,
  ) {
    this.stmt = {
      bodyOpCount: db
        .prepare(
          `SELECT count(*) FROM ${OPS_OF_TARGET} WHERE t.target = ? AND o.kind IN ${BODY_KINDS}`,
        )
        .pluck(),
      stepCount: db.prepare('SELECT count(*) FROM body_steps WHERE node = ?').pluck(),
      stepsBefore: db.prepare('SELECT count(*) FROM body_steps WHERE node = ? AND id < ?').pluck(),
      firstMissing: db
        .prepare(
          `SELECT o.id FROM ${OPS_OF_TARGET} WHERE t.target = @node AND o.kind IN ${BODY_KINDS}
           AND NOT EXISTS (SELECT 1 FROM body_steps s WHERE s.node = @node AND s.id = o.id)
           ORDER BY o.id LIMIT 1`,
        )
        .pluck(),
      meta: db.prepare(
        'SELECT id, kind, branch, resolves FROM body_steps WHERE node = ? AND id <= ? ORDER BY id',
      ),
      updatesTo: db
        .prepare(
          `SELECT branch, step FROM body_steps WHERE node = ? AND id > ? AND id <= ?
           AND length(step) > 0 ORDER BY id`,
        )
        .raw(true),
      updatesBefore: db
        .prepare(
          `SELECT branch, step FROM body_steps WHERE node = ? AND id > ? AND id < ?
           AND length(step) > 0 ORDER BY id`,
        )
        .raw(true),
      lines: db.prepare(
        'SELECT id, added, removed FROM body_steps WHERE node = ? AND id >= ? AND id <= ?',
      ),
      bodyOpsFrom: db.prepare(
        `SELECT o.id, o.kind, o.payload FROM ${OPS_OF_TARGET} WHERE t.target = ?
         AND o.kind IN ${BODY_KINDS} AND o.id >= ? ORDER BY o.id LIMIT ${FILL_PAGE}`,
      ),
      bodyOpsAfter: db.prepare(
        `SELECT o.id, o.kind, o.payload FROM ${OPS_OF_TARGET} WHERE t.target = ?
         AND o.kind IN ${BODY_KINDS} AND o.id > ? ORDER BY o.id LIMIT ${FILL_PAGE}`,
      ),
      putStep: db.prepare(
        `INSERT OR REPLACE INTO body_steps (node, id, kind, branch, step, added, removed, resolves)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      markTo: db.prepare('SELECT max(id) FROM body_marks WHERE node = ? AND id <= ?').pluck(),
      markBefore: db.prepare('SELECT max(id) FROM body_marks WHERE node = ? AND id < ?').pluck(),
      marks: db.prepare('SELECT branch, state FROM body_marks WHERE node = ? AND id = ?').raw(true),
      dropMarks: db.prepare('DELETE FROM body_marks WHERE node = ? AND id >= ?'),
      putMark: db.prepare(
        'INSERT OR REPLACE INTO body_marks (node, id, branch, state) VALUES (?, ?, ?, ?)',
      ),
    };
  }

  /** Makes the steps a node lacks (see the file comment). */
  fill(node: string): void {
    catchUpOpTargets(this.db);
    // Steps are kept only for ops in the log (a rebuild drops them all), so equal counts mean
    // every op has its step.
    if (this.stmt.bodyOpCount.get(node) === this.stmt.stepCount.get(node)) return;
    const missing = this.stmt.firstMissing.get({ node }) as string | undefined;
    if (missing === undefined) return;
    let position = this.stmt.stepsBefore.get(node, missing) as number;
    const docs = this.docs(node, missing, false);
    try {
      this.db.transaction(() => {
        this.stmt.dropMarks.run(node, missing);
        type Row = { id: string; kind: string; payload: string };
        let page = this.stmt.bodyOpsFrom.all(node, missing) as Row[];
        while (page.length > 0) {
          for (const r of page) {
            this.makeStep(docs, node, r);
            if (++position % this.markEvery === 0) {
              for (const [branch, state] of docs.states()) {
                this.stmt.putMark.run(node, r.id, branch, state);
              }
            }
          }
          const last = page[page.length - 1] as Row;
          page = this.stmt.bodyOpsAfter.all(node, last.id) as Row[];
        }
      })();
    } finally {
      docs.destroy();
    }
  }

  private makeStep(docs: StepDocs, node: string, r: { id: string; kind: string; payload: string }) {
    const payload = JSON.parse(r.payload) as Record<string, Json>;
    let k: BodyOp | undefined;
    try {
      k = interpretOp({ id: r.id, kind: r.kind, target: node, payload }) as BodyOp;
    } catch {
      k = undefined; // stored ops were checked; one that cannot be read changed nothing
    }
    const s = k
      ? docs.apply(k.doc, Buffer.from(k.update, 'base64'))
      : { step: new Uint8Array(0), added: 0, removed: 0 };
    const resolves = k && k.resolves.length > 0 ? JSON.stringify(payload.resolves) : null;
    this.stmt.putStep.run(node, r.id, r.kind, k?.doc ?? '', s.step, s.added, s.removed, resolves);
  }

  /**
   * The node's documents after its steps up to `bound` (including it when `inclusive`): the
   * latest saved state before, then the steps after it. The caller destroys them.
   */
  private docs(node: string, bound: string, inclusive: boolean): StepDocs {
    const docs = new StepDocs();
    const mark = (inclusive ? this.stmt.markTo : this.stmt.markBefore).get(node, bound) as
      string | null;
    if (mark !== null) {
      for (const [branch, state] of this.stmt.marks.all(node, mark) as [string, Uint8Array][]) {
        docs.load(branch, state);
      }
    }
    const updates = inclusive ? this.stmt.updatesTo : this.stmt.updatesBefore;
    const rows = updates.all(node, mark ?? '', bound) as [string, Uint8Array][];
    docs.replay(rows.map(([branch, step]) => ({ branch, step })));
    return docs;
  }

  /** Lines each body op of a node with an id in [from, to] touched (call fill first). */
  lines(node: string, from: string, to: string): Map<string, { added: number; removed: number }> {
    type Row = { id: string; added: number; removed: number };
    const out = new Map<string, { added: number; removed: number }>();
    for (const r of this.stmt.lines.all(node, from, to) as Row[]) out.set(r.id, r);
    return out;
  }

  /** The node's steps up to and including `upTo`, without their updates (call fill first). */
  meta(node: string, upTo = '\uffff'): StepMeta[] {
    return this.stmt.meta.all(node, upTo) as StepMeta[];
  }

  /** The body the node's body ops up to and including `upTo` make (call fill first). */
  bodyAt(node: string, upTo: string): StepBody {
    const rows = this.meta(node, upTo);
    const meta = new Map<string, BodyDoc & { version: Map<string, string> }>();
    for (const r of rows) {
      let d = meta.get(r.branch);
      if (!d) {
        d = { branch: r.branch, since: '', version: new Map(), resolved: new Map() };
        meta.set(r.branch, d);
      }
      // The version as it grows (withOp would copy it for every op).
      const o = originOf(r.id);
      const had = d.version.get(o);
      if (had === undefined || r.id > had) d.version.set(o, r.id);
      const init = r.kind === 'body.init';
      if (init ? r.id > d.since : r.branch === '' && (d.since === '' || r.id < d.since)) {
        d.since = r.id;
      }
      if (r.resolves !== null) {
        const resolves = JSON.parse(r.resolves) as Record<string, string[]>;
        for (const [branch, seen] of Object.entries(resolves)) {
          const t = meta.get(branch);
          if (t) t.resolved = union(t.resolved, versionOf(seen));
        }
      }
    }
    const last = rows[rows.length - 1];
    const docs = last === undefined ? new StepDocs() : this.docs(node, last.id, true);
    try {
      const { shown, heads } = chooseShown([...meta.values()]);
      const texts = new Map<string, string>();
      let version: Version = new Map();
      for (const [b, d] of meta) {
        texts.set(b, docs.text(b));
        version = union(version, d.version);
      }
      return { shown: shown?.branch, heads: heads.length, version, texts };
    } finally {
      docs.destroy();
    }
  }
}
