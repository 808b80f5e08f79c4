// Node bodies as one or more Yjs documents (docs/ops-and-merge.md, Bodies). Guarantees, each a
// function of the set of body ops applied, whatever their order or grouping:
// - every node's body ops land in its documents: `body.update` in the document '' (the only one
//   most nodes ever have), `body.init` and `body.edit` in the branch they name; identical first
//   texts are one Yjs item, so they appear once;
// - a document is resolved when a conflict resolution saw every op of it; the text shown is the
//   unresolved document with the highest `since` (a branch's highest init id; the '' document's
//   lowest op id), so different first texts are never concatenated, and more than one unresolved
//   document is a body conflict (`heads` > 1), listed with each document's text;
// - each node's body version (core/version.ts) covers exactly the body ops applied to it.
// While a batch is open (the store's apply loop) documents merge in memory and each touched
// document and body row is written once, at flush.

import type Database from 'better-sqlite3';
import * as Y from 'yjs';
import { HephError } from '../core/errors.js';
import type { BodyOp } from '../core/op.js';
import {
  formatVersion,
  parseVersion,
  union,
  versionIds,
  within,
  withOp,
  type Version,
} from '../core/version.js';
import { bodyText } from './body-crdt.js';

const TEXT = 'body';

export interface DocRow {
  branch: string;
  since: string;
  ystate: Buffer;
  version: string;
  resolved: string;
}

/** One of a node's documents, as the store knows it now. */
export interface BodyDoc {
  branch: string;
  since: string;
  version: Version;
  resolved: Version;
}

export function prepareBodyStatements(db: Database.Database) {
  return {
    docs: db.prepare(
      'SELECT branch, since, ystate, version, resolved FROM body_docs WHERE node_id = ? ORDER BY branch',
    ),
    doc: db.prepare(
      'SELECT branch, since, ystate, version, resolved FROM body_docs WHERE node_id = ? AND branch = ?',
    ),
    putDoc: db.prepare(
      `INSERT OR REPLACE INTO body_docs (node_id, branch, since, ystate, version, resolved)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    putBody: db.prepare(
      'INSERT OR REPLACE INTO bodies (node_id, body, version, heads) VALUES (?, ?, ?, ?)',
    ),
    heads: db.prepare('SELECT heads FROM bodies WHERE node_id = ?').pluck(),
    conflicted: db.prepare('SELECT node_id FROM bodies WHERE heads > 1 ORDER BY node_id').pluck(),
    nodeOps: db.prepare(
      `SELECT id, kind, payload FROM oplog WHERE target = ? AND kind IN ('body.update', 'body.init', 'body.edit')
       ORDER BY id`,
    ),
  };
}

export type BodyStatements = ReturnType<typeof prepareBodyStatements>;

function docOf(r: DocRow): BodyDoc {
  return {
    branch: r.branch,
    since: r.since,
    version: parseVersion(r.version, 'version'),
    resolved: parseVersion(r.resolved, 'resolved'),
  };
}

export function isResolved(d: Pick<BodyDoc, 'version' | 'resolved'>): boolean {
  return d.resolved.size > 0 && within(d.version, d.resolved);
}

/** The documents not resolved, and the one shown (see the file comment). */
export function chooseShown<T extends Pick<BodyDoc, 'since' | 'version' | 'resolved'>>(
  docs: readonly T[],
): { shown: T | undefined; heads: T[] } {
  const heads = docs.filter((d) => !isResolved(d));
  const pool = heads.length > 0 ? heads : docs;
  let shown: T | undefined;
  for (const d of pool) if (shown === undefined || d.since > shown.since) shown = d;
  return { shown, heads };
}

/** A document merging ops in memory until the batch is written. */
class PendingDoc implements BodyDoc {
  doc: Y.Doc;
  private readonly applied: Uint8Array[] = [];
  constructor(
    readonly branch: string,
    public since: string,
    private readonly base: Uint8Array | undefined,
    public version: Version,
    public resolved: Version,
  ) {
    this.doc = PendingDoc.load(base);
  }

  private static load(state: Uint8Array | undefined): Y.Doc {
    // A fixed guid: these documents live for one batch, and a random one costs a system call.
    const doc = new Y.Doc({ gc: true, guid: 'heph-body' });
    if (state) Y.applyUpdate(doc, state);
    return doc;
  }

  /** Merges an update; throws invalid_op (leaving the document as it was) when Yjs cannot. */
  merge(update: Uint8Array): void {
    try {
      Y.applyUpdate(this.doc, update);
    } catch (e) {
      // Yjs may have taken in part of it: start again from what was accepted.
      this.doc.destroy();
      this.doc = PendingDoc.load(this.base);
      for (const u of this.applied) Y.applyUpdate(this.doc, u);
      throw new HephError(
        'invalid_op',
        `body update is not a valid Yjs update: ${(e as Error).message}`,
      );
    }
    this.applied.push(update);
  }

  text(): string {
    return this.doc.getText(TEXT).toJSON();
  }

  state(): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc);
  }
}

export interface FlushResult {
  /** Nodes whose body conflict began or ended. */
  conflictsChanged: boolean;
}

/** Body ops of one batch: merged per document, written once. */
export class BodyBatch {
  private readonly pending = new Map<string, Map<string, PendingDoc>>();
  /** Nodes whose resolutions changed (a document may now be resolved). */
  private readonly touched = new Set<string>();

  constructor(
    private readonly stmt: BodyStatements,
    private readonly extractWikiTargets: ((body: string) => string[]) | undefined,
    private readonly wiki: { clear: Database.Statement; add: Database.Statement },
  ) {}

  private pendingDoc(node: string, branch: string): PendingDoc {
    let docs = this.pending.get(node);
    if (!docs) this.pending.set(node, (docs = new Map<string, PendingDoc>()));
    let d = docs.get(branch);
    if (!d) {
      const row = this.stmt.doc.get(node, branch) as DocRow | undefined;
      d = row
        ? new PendingDoc(
            branch,
            row.since,
            row.ystate,
            parseVersion(row.version, 'version'),
            parseVersion(row.resolved, 'resolved'),
          )
        : new PendingDoc(branch, '', undefined, new Map(), new Map());
      docs.set(branch, d);
    }
    return d;
  }

  /** A node's documents as they are now, pending changes included. */
  docsNow(node: string): (BodyDoc & { state: Uint8Array })[] {
    const pending = this.pending.get(node);
    const out: (BodyDoc & { state: Uint8Array })[] = [];
    for (const d of pending?.values() ?? []) {
      out.push({
        branch: d.branch,
        since: d.since,
        version: d.version,
        resolved: d.resolved,
        state: d.state(),
      });
    }
    for (const r of this.stmt.docs.all(node) as DocRow[]) {
      if (!pending?.has(r.branch)) out.push({ ...docOf(r), state: r.ystate });
    }
    return out;
  }

  /** Applies one body op; throws invalid_op, changing nothing, when its update cannot be read. */
  apply(k: BodyOp): void {
    const fresh = this.pending.get(k.target)?.has(k.doc) !== true;
    const d = this.pendingDoc(k.target, k.doc);
    try {
      d.merge(Buffer.from(k.update, 'base64'));
    } catch (e) {
      if (fresh) {
        d.doc.destroy();
        this.pending.get(k.target)?.delete(k.doc);
      }
      throw e;
    }
    d.version = withOp(d.version, k.id);
    if (k.init) {
      if (k.id > d.since) d.since = k.id;
    } else if (k.doc === '' && (d.since === '' || k.id < d.since)) {
      d.since = k.id;
    }
    for (const [branch, seen] of k.resolves) {
      const r = this.pendingDoc(k.target, branch);
      r.resolved = union(r.resolved, parseVersion(seen.join(','), 'resolves'));
    }
    this.touched.add(k.target);
  }

  /** Writes every touched document and body row. Call inside the batch's transaction, once. */
  flush(): FlushResult {
    let conflictsChanged = false;
    for (const node of this.touched) {
      const pending = this.pending.get(node) ?? new Map<string, PendingDoc>();
      for (const d of pending.values()) {
        this.stmt.putDoc.run(
          node,
          d.branch,
          d.since,
          d.state(),
          formatVersion(d.version),
          formatVersion(d.resolved),
        );
      }
      // The node's other documents, as stored, take part in choosing what is shown.
      const all: BodyDoc[] = [...pending.values()];
      for (const r of this.stmt.docs.all(node) as DocRow[]) {
        if (!pending.has(r.branch)) all.push(docOf(r));
      }
      const { shown, heads } = chooseShown(all);
      let text = '';
      if (shown instanceof PendingDoc) text = shown.text();
      else if (shown) text = bodyText((this.stmt.doc.get(node, shown.branch) as DocRow).ystate);
      let version: Version = new Map();
      for (const d of all) version = union(version, d.version);
      const before = (this.stmt.heads.get(node) as number | undefined) ?? 1;
      const count = Math.max(1, heads.length);
      if (before > 1 !== count > 1) conflictsChanged = true;
      this.stmt.putBody.run(node, text, formatVersion(version), count);
      if (this.extractWikiTargets) {
        this.wiki.clear.run(node);
        for (const t of new Set(this.extractWikiTargets(text))) this.wiki.add.run(node, t);
      }
    }
    this.discard();
    return { conflictsChanged };
  }

  /** Drops what is pending (the transaction is rolling back, or was written). */
  discard(): void {
    for (const docs of this.pending.values()) for (const d of docs.values()) d.doc.destroy();
    this.pending.clear();
    this.touched.clear();
  }
}

/** A node's documents as stored, with their texts. */
export function storedDocs(
  stmt: BodyStatements,
  node: string,
): (BodyDoc & { state: Buffer; text: string })[] {
  return (stmt.docs.all(node) as DocRow[]).map((r) => ({
    ...docOf(r),
    state: r.ystate,
    text: bodyText(r.ystate),
  }));
}

/** The latest op of a document: the one a conflict head names. */
export function latestOp(d: Pick<BodyDoc, 'version'>): string {
  const ids = versionIds(d.version);
  return ids[ids.length - 1] ?? '';
}
