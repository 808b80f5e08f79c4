// The search and name indexes (search_fts, search_nodes, node_names), kept in step with the
// op-log by cursor rather than on the apply path, so applying ops from other devices costs
// nothing extra. Guarantees:
// - after catchUpSearchIndex, the indexes hold exactly the live nodes (kind set, not deleted)
//   with their current title, body, aliases and vault path, whatever order ops arrived in;
// - the reindexing and the cursor move commit in one transaction, so a crash leaves either the
//   old cursor (the work is redone) or the new one with its rows;
// - the cursor (meta `search_seq`) is the highest oplog seq whose effects are indexed. Only ops
//   that can change what is indexed (title, aliases, kind, deleted, vault_path, body, and
//   canonical-context links) are read;
// - a task and its context doc are one item (context-docs.ts): the task's row holds its own body
//   and its context doc's, its names are its title and aliases and the doc's aliases, and the
//   doc has no row or name of its own;
// - while a title is in conflict every one of its values is a name of the node, so a link
//   written with either name (two devices renamed it at once) still finds it.

import type Database from 'better-sqlite3';
import type { NodeKind } from '../core/ids.js';
import { IS_CONTEXT_DOC } from './context-docs.js';
import type { SqliteStore } from './sqlite-store.js';
import { catchUpOpTargets } from './op-targets.js';
import { linksFromSql } from './index-terms.js';

export const SEARCH_CURSOR_KEY = 'search_seq';

/** Node fields whose change can change the indexes. */
const INDEXED_FIELDS = ['title', 'aliases', 'kind', 'deleted', 'vault_path'];

/** Snippet highlight markers around matched words. */
export const SNIPPET_OPEN = '**';
export const SNIPPET_CLOSE = '**';

function prepare(db: Database.Database) {
  return {
    getCursor: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
    putCursor: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    maxSeq: db.prepare('SELECT coalesce(max(seq), 0) FROM oplog').pluck(),
    touched: db
      .prepare(
        `SELECT DISTINCT target FROM oplog WHERE seq > ? AND seq <= ?
         AND (kind IN ('body.update', 'body.init', 'body.edit') OR (kind = 'node.set'
           AND json_extract(payload, '$.field') IN (SELECT value FROM json_each(?)))
           OR (kind IN ('link.add', 'link.remove') AND target LIKE '%|canonical-context|%'))`,
      )
      .pluck(),
    node: db.prepare(
      `SELECT n.kind, n.title, n.aliases, n.deleted, json_extract(n.extra, '$.vault_path') AS path,
         json_extract(n.regs, '$.title') AS title_reg, b.body, ${IS_CONTEXT_DOC} AS context_doc
       FROM nodes n LEFT JOIN bodies b ON b.node_id = n.id WHERE n.id = ?`,
    ),
    /** A task's context docs (live links), with their aliases and bodies. */
    contextDocs: db.prepare(
      `SELECT d.id, d.aliases, b.body FROM links l JOIN nodes d ON d.id = l.dst
         LEFT JOIN bodies b ON b.node_id = d.id
       WHERE ${linksFromSql('l', '@src', 'canonical-context')} AND l.type = 'canonical-context'
         AND l.live = 1 AND d.kind = 'doc'
       ORDER BY l.id`,
    ),
    /** The tasks whose context doc a doc is. */
    tasksOf: db
      .prepare(
        `SELECT l.src FROM links l JOIN nodes t ON t.id = l.src
         WHERE l.dst = ? AND l.type = 'canonical-context' AND l.live = 1 AND t.kind = 'task'`,
      )
      .pluck(),
    rowOf: db.prepare('SELECT id FROM search_nodes WHERE node_id = ?').pluck(),
    delFts: db.prepare('DELETE FROM search_fts WHERE rowid = ?'),
    delDoc: db.prepare('DELETE FROM search_nodes WHERE id = ?'),
    delNames: db.prepare('DELETE FROM node_names WHERE node_id = ?'),
    addDoc: db.prepare('INSERT INTO search_nodes (node_id, kind) VALUES (?, ?)'),
    addFts: db.prepare('INSERT INTO search_fts (rowid, title, body) VALUES (?, ?, ?)'),
    addName: db.prepare('INSERT OR IGNORE INTO node_names (name, node_id, how) VALUES (?, ?, ?)'),
    search: db.prepare(
      `SELECT s.node_id AS id, s.kind, n.title,
         snippet(search_fts, 1, '${SNIPPET_OPEN}', '${SNIPPET_CLOSE}', '…', 16) AS snippet,
         bm25(search_fts, 10.0, 1.0) AS bm25
       FROM search_fts JOIN search_nodes s ON s.id = search_fts.rowid
         JOIN nodes n ON n.id = s.node_id
       WHERE search_fts MATCH @match
         AND (@kinds IS NULL OR s.kind IN (SELECT value FROM json_each(@kinds)))
       ORDER BY bm25, s.node_id LIMIT @limit`,
    ),
  };
}

type Prepared = ReturnType<typeof prepare>;
const prepared = new WeakMap<Database.Database, Prepared>();

function statements(store: SqliteStore): Prepared {
  const db = store.connection;
  let p = prepared.get(db);
  if (!p) {
    p = prepare(db);
    prepared.set(db, p);
  }
  return p;
}

interface NodeRow {
  kind: string | null;
  title: string;
  aliases: string;
  deleted: number;
  path: unknown;
  /** The title register as stored: a head id, or `[[[id, value], …], pending]` when not one. */
  title_reg: string | null;
  body: string | null;
  context_doc: number;
}

/** Every value a title register holds (more than one while it is in conflict). */
function titleValues(row: NodeRow): string[] {
  const out = [row.title];
  const reg = row.title_reg;
  if (reg === null || !reg.startsWith('[')) return out;
  try {
    const [heads] = JSON.parse(reg) as [[string, unknown][]];
    for (const [, v] of heads) if (typeof v === 'string' && !out.includes(v)) out.push(v);
  } catch {
    // A register this version cannot read names nothing more.
  }
  return out;
}

function aliasNames(json: string): string[] {
  const out: string[] = [];
  for (const a of JSON.parse(json) as unknown[]) {
    if (typeof a === 'string' && a.trim() !== '') out.push(a.trim());
  }
  return out;
}

/** A vault path without its `.md` extension. */
export function stripMd(path: string): string {
  return /\.md$/i.test(path) ? path.slice(0, -3) : path;
}

/** What one catch-up writes: the nodes whose rows go, then the rows that replace them. */
interface Reindex {
  drop: Set<string>;
  add: { id: string; kind: string; title: string; body: string; names: [string, string][] }[];
}

/**
 * Reads one node afresh into `out`. A context doc is indexed as part of its task (the task is
 * indexed instead, once per catch-up: `done`).
 */
function reindexNode(p: Prepared, id: string, done: Set<string>, out: Reindex): void {
  if (done.has(id)) return;
  done.add(id);
  out.drop.add(id);
  const n = p.node.get(id) as NodeRow | undefined;
  if (!n || n.kind === null) return;
  if (n.context_doc === 1) {
    for (const task of p.tasksOf.all(id) as string[]) reindexNode(p, task, done, out);
    return;
  }
  const docs =
    n.kind === 'task'
      ? (p.contextDocs.all({ src: id }) as { id: string; aliases: string; body: string | null }[])
      : [];
  // The task's context docs have no rows of their own, however they were indexed before.
  for (const d of docs) {
    out.drop.add(d.id);
    done.add(d.id);
  }
  if (n.deleted !== 0) return;
  const body = [n.body ?? '', ...docs.map((d) => d.body ?? '')].filter((b) => b !== '').join('\n');
  const names: [string, string][] = [];
  for (const t of titleValues(n)) if (t.trim() !== '') names.push([t.trim(), 'title']);
  for (const a of [n.aliases, ...docs.map((d) => d.aliases)].flatMap(aliasNames)) {
    names.push([a, 'alias']);
  }
  if (typeof n.path === 'string' && n.path !== '') {
    const path = stripMd(n.path);
    names.push([path, 'path'], [path.slice(path.lastIndexOf('/') + 1), 'file']);
  }
  out.add.push({ id, kind: n.kind, title: n.title, body, names });
}

/**
 * Writes a catch-up's rows: every old row goes first, in ascending FTS rowid order, then the
 * new rows take new (higher) rowids in order. FTS5 keeps its pending changes in memory only
 * while the rowids written in a transaction ascend; a write below the last one flushes them as a
 * new segment, so deleting and re-adding node by node flushed (and merged) once per node.
 */
function writeReindex(p: Prepared, r: Reindex): void {
  const old: [number, string][] = [];
  for (const id of r.drop) {
    const row = p.rowOf.get(id) as number | undefined;
    if (row !== undefined) old.push([row, id]);
    p.delNames.run(id);
  }
  old.sort((a, b) => a[0] - b[0]);
  for (const [row] of old) {
    p.delFts.run(row);
    p.delDoc.run(row);
  }
  for (const a of r.add) {
    const row = Number(p.addDoc.run(a.id, a.kind).lastInsertRowid);
    p.addFts.run(row, a.title, a.body);
    for (const [name, how] of a.names) p.addName.run(name, a.id, how);
  }
}

/** The nodes an op target names: a node id, or both ends of a link id. */
function nodesOfTarget(target: string): string[] {
  const parts = target.split('|');
  return parts.length === 3 ? [parts[0] as string, parts[2] as string] : [target];
}

/**
 * Reindexes every node touched by ops past the cursor and moves the cursor to the end of the
 * log. Cheap when nothing changed (two indexed reads). The daemon may call it after syncs.
 */
export function catchUpSearchIndex(store: SqliteStore): { nodes: number; cursor: number } {
  const p = statements(store);
  const read = (): number =>
    Number((p.getCursor.get(SEARCH_CURSOR_KEY) as string | undefined) ?? 0);
  if ((p.maxSeq.get() as number) <= read()) return { nodes: 0, cursor: read() };
  return store.transaction(() => {
    const from = read();
    const to = p.maxSeq.get() as number;
    if (to <= from) return { nodes: 0, cursor: from };
    // The daemon calls this after syncs: the index of ops by target catches up with it.
    catchUpOpTargets(store.connection);
    const targets = p.touched.all(from, to, JSON.stringify(INDEXED_FIELDS)) as string[];
    const done = new Set<string>();
    const reindex: Reindex = { drop: new Set(), add: [] };
    for (const id of new Set(targets.flatMap(nodesOfTarget))) reindexNode(p, id, done, reindex);
    writeReindex(p, reindex);
    p.putCursor.run(SEARCH_CURSOR_KEY, String(to));
    return { nodes: done.size, cursor: to };
  });
}

export interface SearchRow {
  id: string;
  kind: NodeKind;
  title: string;
  snippet: string;
  /** Higher is better (the negated bm25 rank). */
  score: number;
}

/** Runs an FTS5 match expression (already built safely) against the caught-up index. */
export function runSearch(
  store: SqliteStore,
  match: string,
  limit: number,
  kinds: readonly NodeKind[] | undefined,
): SearchRow[] {
  catchUpSearchIndex(store);
  const rows = statements(store).search.all({
    match,
    limit,
    kinds: kinds ? JSON.stringify(kinds) : null,
  }) as { id: string; kind: NodeKind; title: string; snippet: string; bm25: number }[];
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    title: r.title,
    snippet: r.snippet,
    score: -r.bm25,
  }));
}

export interface NameRow {
  node_id: string;
  name: string;
  how: 'title' | 'alias' | 'path' | 'file';
  kind: NodeKind;
  title: string;
  path: string | null;
}

const namesStmts = new WeakMap<Database.Database, Database.Statement>();

/** Live nodes one of whose names equals `name`, ignoring ASCII case. Call catchUp first. */
export function nodesNamed(store: SqliteStore, name: string): NameRow[] {
  const db = store.connection;
  let s = namesStmts.get(db);
  if (!s) {
    s = db.prepare(
      `SELECT nn.node_id, nn.name, nn.how, n.kind, n.title,
         json_extract(n.extra, '$.vault_path') AS path
       FROM node_names nn JOIN nodes n ON n.id = nn.node_id
       WHERE nn.name = ? AND n.deleted = 0 AND n.kind IS NOT NULL`,
    );
    namesStmts.set(db, s);
  }
  return s.all(name) as NameRow[];
}

export interface NameMatch {
  name: string;
  how: 'title' | 'alias';
}

const likeStmts = new WeakMap<Database.Database, Database.Statement>();
const likeEscape = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Titles and aliases of live nodes containing `typed` (ignoring ASCII case), those starting
 * with it first, then shorter names, then by name; each name once. Call catchUp first.
 */
export function namesContaining(store: SqliteStore, typed: string, limit: number): NameMatch[] {
  const db = store.connection;
  let s = likeStmts.get(db);
  if (!s) {
    // node_names holds live nodes only.
    s = db.prepare(
      `SELECT nn.name, max(nn.how) AS how FROM node_names nn
       WHERE nn.how IN ('title', 'alias') AND nn.name LIKE @contains ESCAPE '\\'
       GROUP BY nn.name
       ORDER BY nn.name LIKE @prefix ESCAPE '\\' DESC, length(nn.name), nn.name
       LIMIT @limit`,
    );
    likeStmts.set(db, s);
  }
  const t = likeEscape(typed);
  return s.all({ prefix: `${t}%`, contains: `%${t}%`, limit }) as NameMatch[];
}
