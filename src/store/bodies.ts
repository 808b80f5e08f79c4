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
// Storage: a document is its parts in body_parts, applied in order: part 0 a whole state, the
// parts after it the updates merged since. A flush appends the batch's updates as parts, and
// compacts (one part 0 made from the document) once the parts after 0 outgrow part 0 (or a
// minimum) or number more than a limit (Compaction), so a save writes about what it changed, and
// loading a document costs at most about twice its state. Documents live in a BodyCache between
// batches, so a save neither decodes nor encodes the note (body-cache.ts says when an entry may
// be kept).

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
import { docText, newBodyDoc } from './body-crdt.js';
import type { BodyCache, LiveDoc } from './body-cache.js';
import { OPS_OF_TARGET } from './op-targets.js';

/** When a document's parts are compacted (see the file comment). */
export interface Compaction {
  /** More parts than this after part 0 are compacted. */
  maxTailParts: number;
  /** Parts after part 0 may hold this many bytes before they are compacted, however small it is. */
  minTailBytes: number;
}

export const DEFAULT_COMPACTION: Compaction = { maxTailParts: 200, minTailBytes: 64 * 1024 };

/** Where a batch's documents come from and how they are stored. */
interface Source {
  cache: BodyCache;
  stmt: BodyStatements;
  compaction: Compaction;
}

export interface DocRow {
  branch: string;
  since: string;
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
      'SELECT branch, since, version, resolved FROM body_docs WHERE node_id = ? ORDER BY branch',
    ),
    // A node's body row (its heads; null when it has none) and documents, in one statement: a
    // batch reads it once per node it touches, where it used to take three.
    node: db.prepare(
      `SELECT b.heads AS heads, d.branch AS branch, d.since AS since, d.version AS version,
         d.resolved AS resolved
       FROM (SELECT ? AS id) AS k LEFT JOIN bodies AS b ON b.node_id = k.id
         LEFT JOIN body_docs AS d ON d.node_id = k.id`,
    ),
    putDoc: db.prepare(
      `INSERT INTO body_docs (node_id, branch, since, version, resolved) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (node_id, branch) DO UPDATE SET since = excluded.since,
       version = excluded.version, resolved = excluded.resolved`,
    ),
    parts: db.prepare(
      'SELECT part, data FROM body_parts WHERE node_id = ? AND branch = ? ORDER BY part',
    ),
    addPart: db.prepare('INSERT INTO body_parts (node_id, branch, part, data) VALUES (?, ?, ?, ?)'),
    dropParts: db.prepare('DELETE FROM body_parts WHERE node_id = ? AND branch = ?'),
    // An upsert updates the row in place; INSERT OR REPLACE would delete it and write it again,
    // which for a long body costs twice its pages.
    putBody: db.prepare(
      `INSERT INTO bodies (node_id, body, version, heads) VALUES (?, ?, ?, ?)
       ON CONFLICT (node_id) DO UPDATE SET body = excluded.body, version = excluded.version,
       heads = excluded.heads`,
    ),
    putBodyVersion: db.prepare('UPDATE bodies SET version = ?, heads = ? WHERE node_id = ?'),
    heads: db.prepare('SELECT heads FROM bodies WHERE node_id = ?').pluck(),
    conflicted: db.prepare('SELECT node_id FROM bodies WHERE heads > 1 ORDER BY node_id').pluck(),
    nodeOps: db.prepare(
      `SELECT o.id, o.kind, o.payload FROM ${OPS_OF_TARGET}
       WHERE t.target = ? AND o.kind IN ('body.update', 'body.init', 'body.edit') ORDER BY o.id`,
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

/** A document as stored: its parts applied in order. */
export function loadDoc(stmt: BodyStatements, node: string, branch: string): LiveDoc {
  const rows = stmt.parts.all(node, branch) as { part: number; data: Buffer }[];
  const doc = newBodyDoc();
  const live: LiveDoc = { doc, text: '', base: 0, tailBytes: 0, tailParts: 0, next: 0 };
  // One transaction: Yjs then cleans up and merges once, not once per part.
  doc.transact(() => {
    for (const r of rows) {
      Y.applyUpdate(doc, r.data);
      if (r.part === 0) live.base = r.data.length;
      else {
        live.tailBytes += r.data.length;
        live.tailParts++;
      }
      live.next = r.part + 1;
    }
  });
  live.text = docText(doc);
  return live;
}

/** A node's document as the open batch or the store holds it: its metadata, its text on demand. */
class PendingDoc implements BodyDoc {
  private loaded: LiveDoc | undefined;
  /** Updates merged in this batch, to store at flush. */
  private applied: Uint8Array[] = [];
  /** Whether an update merged since the text was last read (the text must be read again). */
  private stale = false;
  /** The text when the batch took the document, for comparing with at flush. */
  private textThen: string | undefined;
  /** The metadata when the batch took the document (undefined: it was not stored). */
  readonly then: BodyDoc | undefined;

  constructor(
    private readonly node: string,
    readonly branch: string,
    row: DocRow | undefined,
    private readonly source: Source,
  ) {
    const d = row ? docOf(row) : undefined;
    this.then = d;
    this.since = d?.since ?? '';
    this.version = d?.version ?? new Map();
    this.resolved = d?.resolved ?? new Map();
  }

  since: string;
  version: Version;
  resolved: Version;

  /** The live document, taken from the cache or loaded (an unstored one starts empty). */
  get live(): LiveDoc {
    if (!this.loaded) {
      const { cache, stmt } = this.source;
      this.loaded =
        cache.take(this.node, this.branch) ??
        (this.then
          ? loadDoc(stmt, this.node, this.branch)
          : { doc: newBodyDoc(), text: '', base: 0, tailBytes: 0, tailParts: 0, next: 0 });
      this.textThen = this.loaded.text;
    }
    return this.loaded;
  }

  get doc(): Y.Doc {
    return this.live.doc;
  }

  /** Merges an update; throws invalid_op (leaving the document as it was) when Yjs cannot. */
  merge(update: Uint8Array): void {
    const live = this.live;
    try {
      Y.applyUpdate(live.doc, update);
    } catch (e) {
      // Yjs may have taken in part of it: start again from what is stored and merged.
      live.doc.destroy();
      this.loaded = this.then
        ? loadDoc(this.source.stmt, this.node, this.branch)
        : { doc: newBodyDoc(), text: '', base: 0, tailBytes: 0, tailParts: 0, next: 0 };
      for (const u of this.applied) Y.applyUpdate(this.loaded.doc, u);
      this.stale = true;
      throw new HephError(
        'invalid_op',
        `body update is not a valid Yjs update: ${(e as Error).message}`,
      );
    }
    this.applied.push(update);
    this.stale = true;
  }

  /** Records an edit already made on the live document (a local save), whose text is `text`. */
  edited(update: Uint8Array, text: string): void {
    this.applied.push(update);
    this.live.text = text;
  }

  text(): string {
    const live = this.live;
    if (this.stale) {
      live.text = docText(live.doc);
      this.stale = false;
    }
    return live.text;
  }

  /** The text when the batch took the document (it is loaded for that). */
  textBefore(): string {
    void this.live;
    return this.textThen ?? '';
  }

  /** Whether the document holds no item at all (not even deleted ones). */
  isEmpty(): boolean {
    return this.live.doc.store.clients.size === 0;
  }

  /** The document's whole state, encoded (for the edits that start from an encoded state). */
  state(): Uint8Array {
    return Y.encodeStateAsUpdate(this.live.doc);
  }

  /** Writes the metadata and the updates merged; the document may then go back to the cache. */
  store(): void {
    const { stmt, compaction } = this.source;
    stmt.putDoc.run(
      this.node,
      this.branch,
      this.since,
      formatVersion(this.version),
      formatVersion(this.resolved),
    );
    if (this.applied.length === 0) return;
    const live = this.live;
    let added = 0;
    for (const u of this.applied) added += u.length;
    if (live.next === 0 && this.applied.length === 1) {
      stmt.addPart.run(this.node, this.branch, 0, this.applied[0]);
      live.base = added;
      live.next = 1;
    } else if (
      live.next === 0 ||
      live.tailParts + this.applied.length > compaction.maxTailParts ||
      live.tailBytes + added > Math.max(compaction.minTailBytes, live.base)
    ) {
      const state = Y.encodeStateAsUpdate(live.doc);
      stmt.dropParts.run(this.node, this.branch);
      stmt.addPart.run(this.node, this.branch, 0, state);
      live.base = state.length;
      live.tailBytes = 0;
      live.tailParts = 0;
      live.next = 1;
    } else {
      for (const u of this.applied) stmt.addPart.run(this.node, this.branch, live.next++, u);
      live.tailBytes += added;
      live.tailParts += this.applied.length;
    }
    this.applied = [];
  }

  /** Hands the live document back to the cache (after store()), or drops it. */
  release(keep: boolean): void {
    const live = this.loaded;
    if (!live) return;
    if (keep) this.text();
    this.loaded = undefined;
    if (keep) this.source.cache.put(this.node, this.branch, live);
    else live.doc.destroy();
  }
}

export interface FlushResult {
  /** Nodes whose body conflict began or ended. */
  conflictsChanged: boolean;
}

/** How a body batch derives wiki links (see SqliteStoreDeps). */
export interface WikiDeps {
  extractWikiTargets: ((body: string) => string[]) | undefined;
  wikiTargetsMayDiffer: ((before: string, after: string) => boolean) | undefined;
  clear: Database.Statement;
  add: Database.Statement;
}

/**
 * A node's body row and documents as stored when the batch first asked for them. Only a flush
 * writes them, and a flush forgets these, so they stay true until then.
 */
interface StoredNode {
  /** The body row's heads; undefined when the node has no body row. */
  heads: number | undefined;
  /** Its documents by branch, in branch order. */
  docs: Map<string, DocRow>;
}

/** Body ops of one batch: merged per document, written once. */
export class BodyBatch {
  private readonly pending = new Map<string, Map<string, PendingDoc>>();
  private readonly stored = new Map<string, StoredNode>();
  /** Nodes whose resolutions changed (a document may now be resolved). */
  private readonly touched = new Set<string>();
  /** A local edit already made on its live document: its op merges nothing more. */
  private own: { node: string; branch: string; update: string } | undefined;

  private readonly stmt: BodyStatements;
  private readonly cache: BodyCache;

  constructor(
    private readonly source: Source,
    private readonly wiki: WikiDeps,
  ) {
    this.stmt = source.stmt;
    this.cache = source.cache;
  }

  /** A node's body row and documents as stored (read once until the next flush). */
  private storedOf(node: string): StoredNode {
    let st = this.stored.get(node);
    if (!st) {
      const rows = this.stmt.node.all(node) as (Partial<DocRow> & { heads: number | null })[];
      // Sorted here: ORDER BY over the join would cost a temporary b-tree per node.
      if (rows.length > 1) rows.sort((a, b) => ((a.branch ?? '') < (b.branch ?? '') ? -1 : 1));
      st = { heads: rows[0]?.heads ?? undefined, docs: new Map() };
      for (const r of rows) if (r.branch != null) st.docs.set(r.branch, r as DocRow);
      this.stored.set(node, st);
    }
    return st;
  }

  /** A node's document, taken into this batch (metadata now, the document when asked). */
  doc(node: string, branch: string): PendingDoc {
    let docs = this.pending.get(node);
    if (!docs) this.pending.set(node, (docs = new Map<string, PendingDoc>()));
    let d = docs.get(branch);
    if (!d) {
      d = new PendingDoc(node, branch, this.storedOf(node).docs.get(branch), this.source);
      docs.set(branch, d);
    }
    return d;
  }

  /** A node's documents as they are now, pending changes included (metadata). */
  docsNow(node: string): BodyDoc[] {
    const pending = this.pending.get(node);
    const out: BodyDoc[] = [...(pending?.values() ?? [])];
    for (const r of this.storedOf(node).docs.values()) {
      if (!pending?.has(r.branch)) out.push(docOf(r));
    }
    return out;
  }

  /**
   * Marks an edit made on a document's live copy (PendingDoc.edited): the op that carries
   * `update` (base64) is applied without merging it again.
   */
  expectOwn(node: string, branch: string, update: string): void {
    this.own = { node, branch, update };
  }

  /** Applies one body op; throws invalid_op, changing nothing, when its update cannot be read. */
  apply(k: BodyOp): void {
    const fresh = this.pending.get(k.target)?.has(k.doc) !== true;
    const d = this.doc(k.target, k.doc);
    const own = this.own;
    this.own = undefined;
    if (own && own.node === k.target && own.branch === k.doc && own.update === k.update) {
      // Already in the document (PendingDoc.edited recorded it).
    } else {
      try {
        d.merge(Buffer.from(k.update, 'base64'));
      } catch (e) {
        if (fresh) {
          d.release(false);
          this.pending.get(k.target)?.delete(k.doc);
        }
        throw e;
      }
    }
    d.version = withOp(d.version, k.id);
    if (k.init) {
      if (k.id > d.since) d.since = k.id;
    } else if (k.doc === '' && (d.since === '' || k.id < d.since)) {
      d.since = k.id;
    }
    for (const [branch, seen] of k.resolves) {
      const r = this.doc(k.target, branch);
      r.resolved = union(r.resolved, parseVersion(seen.join(','), 'resolves'));
    }
    this.touched.add(k.target);
  }

  /** The text of a node's document now: from this batch, the cache or the store. */
  private textOf(node: string, d: BodyDoc): string {
    if (d instanceof PendingDoc) return d.text();
    const cached = this.cache.text(node, d.branch);
    if (cached !== undefined) return cached;
    const live = loadDoc(this.stmt, node, d.branch);
    this.cache.put(node, d.branch, live);
    return live.text;
  }

  /** The text a node's document had before this batch. */
  private textBefore(node: string, d: BodyDoc): string {
    return d instanceof PendingDoc ? d.textBefore() : this.textOf(node, d);
  }

  /** How many nodes' bodies wait to be written. */
  get nodes(): number {
    return this.touched.size;
  }

  /**
   * Writes every touched document and body row, and hands the documents back to the cache. Call
   * inside the batch's transaction: at its end, or between ops (the ops after it then take
   * their documents afresh, from the cache or the store).
   */
  flush(): FlushResult {
    let conflictsChanged = false;
    for (const node of this.touched) {
      const pending = this.pending.get(node) ?? new Map<string, PendingDoc>();
      const stored = this.storedOf(node);
      for (const d of pending.values()) d.store();
      // The node's other documents, as stored, take part in choosing what is shown.
      const all: BodyDoc[] = [...pending.values()];
      const before: BodyDoc[] = [];
      for (const d of pending.values()) if (d.then) before.push(d);
      for (const r of stored.docs.values()) {
        if (!pending.has(r.branch)) {
          const d = docOf(r);
          all.push(d);
          before.push(d);
        }
      }
      const { shown, heads } = chooseShown(all);
      const text = shown ? this.textOf(node, shown) : '';
      let version: Version = new Map();
      for (const d of all) version = union(version, d.version);
      const headsBefore = stored.heads;
      const count = Math.max(1, heads.length);
      if ((headsBefore ?? 1) > 1 !== count > 1) conflictsChanged = true;
      // What was shown before (the body row's text): chosen the same way from the documents as
      // they were, so the row and the wiki links need not be read to be compared.
      const was = chooseShown(
        before.map((d) => (d instanceof PendingDoc ? { ...(d.then as BodyDoc), d } : { ...d, d })),
      ).shown?.d;
      const textWas = headsBefore === undefined || !was ? '' : this.textBefore(node, was);
      if (headsBefore !== undefined && textWas === text) {
        this.stmt.putBodyVersion.run(formatVersion(version), count, node);
      } else {
        this.stmt.putBody.run(node, text, formatVersion(version), count);
      }
      const { extractWikiTargets, wikiTargetsMayDiffer } = this.wiki;
      if (extractWikiTargets && (!wikiTargetsMayDiffer || wikiTargetsMayDiffer(textWas, text))) {
        this.wiki.clear.run(node);
        for (const t of new Set(extractWikiTargets(text))) this.wiki.add.run(node, t);
      }
    }
    this.release(true);
    this.touched.clear();
    this.stored.clear();
    return { conflictsChanged };
  }

  /** Drops what is pending (the transaction is rolling back). */
  discard(): void {
    this.release(false);
    this.touched.clear();
    this.stored.clear();
    this.own = undefined;
  }

  private release(keep: boolean): void {
    for (const docs of this.pending.values()) for (const d of docs.values()) d.release(keep);
    this.pending.clear();
  }
}

/** A node's documents as stored, with their texts (from the cache where it holds them). */
export function storedDocs(
  stmt: BodyStatements,
  cache: BodyCache,
  node: string,
): (BodyDoc & { text: string })[] {
  return (stmt.docs.all(node) as DocRow[]).map((r) => {
    let text = cache.text(node, r.branch);
    if (text === undefined) {
      const live = loadDoc(stmt, node, r.branch);
      text = live.text;
      cache.put(node, r.branch, live);
    }
    return { ...docOf(r), text };
  });
}

/** A node's documents as stored, each loaded afresh from its parts (bypassing the cache). */
export function storedTexts(stmt: BodyStatements, node: string): (BodyDoc & { text: string })[] {
  return (stmt.docs.all(node) as DocRow[]).map((r) => {
    const live = loadDoc(stmt, node, r.branch);
    live.doc.destroy();
    return { ...docOf(r), text: live.text };
  });
}

/** The latest op of a document: the one a conflict head names. */
export function latestOp(d: Pick<BodyDoc, 'version'>): string {
  const ids = versionIds(d.version);
  return ids[ids.length - 1] ?? '';
}
