// Wiki-link resolution, the way vault editors resolve `[[links]]`. A target (the text before
// any `#heading` or `|label`, with a trailing `.md` dropped) names, in order of preference:
//   0. a node id (exactly);
//   1. an imported note's vault path, whole (`folder/Note`) or as its tail (`Note` is the tail
//      of `a/folder/Note`, `folder/Note` too); relative targets (`./x`, `../x`) are taken from
//      the linking note's folder;
//   2. a title equal to the whole target;
//   3. a title equal to the target's last path segment (`folder/Note` → title `Note`);
//   4. an alias equal to the whole target.
// Names compare ignoring ASCII case. Among several nodes at the best level the nearest wins: the
// one sharing the most folders with the linking note, then the shallowest path, then the
// smallest id. Deleted nodes are never targets. Backlinks are exactly the live nodes whose links
// resolve to the node, so the two directions always agree. A task and its context doc are one
// item: the task's links are those in its own body and its note's, a link written in the note
// is the task's, and the doc's aliases name the task.

import { extractWikiLinks } from '../core/extract.js';
import { isNodeId, type NodeKind } from '../core/ids.js';
import type { NodeView } from '../ports/store.js';
import { contextDocIds, taskOf } from './items.js';
import { catchUpSearchIndex, nodesNamed, stripMd, type NameRow } from '../store/search.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import type Database from 'better-sqlite3';

export interface WikiNodeRef {
  id: string;
  kind: NodeKind;
  title: string;
}

export interface OutgoingWikiLink {
  /** The target as written. */
  target: string;
  /** The node it resolves to, or null when no live node has that id or name. */
  node: WikiNodeRef | null;
}

export interface WikiBacklink extends WikiNodeRef {
  /** The targets, as written in this node's body, that resolve to the node asked about. */
  targets: string[];
}

interface Candidate {
  ref: WikiNodeRef;
  level: number;
  path: string | null;
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function folders(path: string | null): string[] {
  if (path === null) return [];
  const parts = path.split('/');
  parts.pop();
  return parts;
}

/** Normalizes `.`/`..` segments; undefined when the path climbs out of the vault. */
function normalizePath(path: string): string | undefined {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(seg);
  }
  return out.join('/');
}

function vaultPath(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Resolves targets for one store, caching the folders of linking notes. */
class Resolver {
  private readonly paths = new Map<string, string | null>();
  private readonly byId: Database.Statement;

  constructor(private readonly store: SqliteStore) {
    catchUpSearchIndex(store);
    this.byId = store.connection.prepare(
      `SELECT id, kind, title FROM nodes WHERE id = ? AND deleted = 0 AND kind IS NOT NULL`,
    );
  }

  pathOf(id: string): string | null {
    let p = this.paths.get(id);
    if (p === undefined) {
      const n = this.store.findNode(id);
      p = n ? vaultPath(n.extra.vault_path) : null;
      this.paths.set(id, p);
    }
    return p;
  }

  resolve(rawTarget: string, fromId: string | undefined): WikiNodeRef | null {
    let t = stripMd(rawTarget.trim());
    if (t === '') return null;
    if (isNodeId(t)) {
      const row = this.byId.get(t) as WikiNodeRef | undefined;
      if (row) return row;
    }
    const from = fromId === undefined ? null : this.pathOf(fromId);
    if (t.startsWith('./') || t.startsWith('../')) {
      const base = from === null ? '' : folders(from).join('/');
      const joined = normalizePath(base === '' ? t : `${base}/${t}`);
      if (joined === undefined || joined === '') return null;
      t = joined;
    } else if (t.startsWith('/')) {
      t = t.replace(/^\/+/, '');
      if (t === '') return null;
    }
    const slash = t.lastIndexOf('/');
    const last = t.slice(slash + 1);
    const lt = asciiLower(t);
    const candidates = new Map<string, Candidate>();
    const consider = (r: NameRow, level: number): void => {
      const c = candidates.get(r.node_id);
      if (c && c.level <= level) return;
      candidates.set(r.node_id, {
        ref: { id: r.node_id, kind: r.kind, title: r.title },
        level,
        path: vaultPath(r.path),
      });
    };
    for (const r of nodesNamed(this.store, t)) {
      if (r.how === 'path') consider(r, 1);
      else if (r.how === 'file' && slash < 0) consider(r, 1);
      else if (r.how === 'title') consider(r, 2);
      else if (r.how === 'alias') consider(r, 4);
    }
    if (slash >= 0 && last !== '') {
      for (const r of nodesNamed(this.store, last)) {
        if (r.how === 'file') {
          const p = r.path === null ? '' : asciiLower(stripMd(r.path));
          if (p.endsWith('/' + lt)) consider(r, 1);
        } else if (r.how === 'title') consider(r, 3);
      }
    }
    return nearest([...candidates.values()], folders(from));
  }
}

function nearest(cs: Candidate[], fromFolders: string[]): WikiNodeRef | null {
  if (cs.length === 0) return null;
  const best = Math.min(...cs.map((c) => c.level));
  const shared = (c: Candidate): number => {
    const f = folders(c.path);
    let i = 0;
    while (i < f.length && i < fromFolders.length && f[i] === fromFolders[i]) i++;
    return i;
  };
  const ranked = cs
    .filter((c) => c.level === best)
    .map((c) => ({ c, shared: shared(c), depth: folders(c.path).length }))
    .sort(
      (a, b) =>
        b.shared - a.shared ||
        a.depth - b.depth ||
        (a.c.ref.id < b.c.ref.id ? -1 : a.c.ref.id > b.c.ref.id ? 1 : 0),
    );
  return ranked[0]?.c.ref ?? null;
}

/** The node a wiki-link target resolves to, seen from the node `fromId` (for relative paths). */
export function resolveWikiTarget(
  store: SqliteStore,
  target: string,
  fromId?: string,
): WikiNodeRef | null {
  return new Resolver(store).resolve(target, fromId);
}

/** The nodes whose bodies are an item's text: itself, and for a task its context docs. */
function bodiesOf(store: SqliteStore, id: string, kind: NodeKind): NodeView[] {
  const own = store.getNode(id);
  if (kind !== 'task') return [own];
  return [own, ...contextDocIds(store, id).flatMap((d) => store.findNode(d) ?? [])];
}

/** A node's wiki links in document order (each target once), resolved or not. */
export function outgoingWikiLinks(store: SqliteStore, id: string): OutgoingWikiLink[] {
  const node = store.getNode(id);
  const r = new Resolver(store);
  const seen = new Set<string>();
  const out: OutgoingWikiLink[] = [];
  for (const holder of bodiesOf(store, id, node.kind)) {
    for (const link of extractWikiLinks(holder.body)) {
      if (seen.has(link.target)) continue;
      seen.add(link.target);
      out.push({ target: link.target, node: r.resolve(link.target, holder.id) });
    }
  }
  return out;
}

const BASE_EXPR = "substr(w.target, length(rtrim(w.target, replace(w.target, '/', ''))) + 1)";

/**
 * For each live node whose body links to `id` (by id, title, alias or path): the targets, as
 * written there, that resolve to it. Holders are the nodes whose bodies hold the links (a task's
 * note, not the task). Candidates come from the wiki_links index by the last path segment of the
 * target; each is then resolved exactly as outgoingWikiLinks would. Needs a store opened with
 * openStore (which keeps wiki_links).
 */
export function wikiLinkHolders(store: SqliteStore, id: string): Map<string, Set<string>> {
  const node = store.getNode(id);
  const r = new Resolver(store);
  const names = new Set<string>([node.id, node.title, ...node.aliases]);
  // A title in conflict: each of its values is a name (see store/search.ts).
  for (const h of store.fieldHeads(id, 'title'))
    if (typeof h.value === 'string') names.add(h.value);
  for (const doc of bodiesOf(store, id, node.kind).slice(1)) {
    for (const a of doc.aliases) names.add(a);
  }
  const path = vaultPath(node.extra.vault_path);
  if (path !== null) names.add(stripMd(path));
  // The index compares ignoring ASCII case, so keys differing only so are one query.
  const keys = new Map<string, string>();
  for (const n of names) {
    const t = n.trim();
    const base = t.slice(t.lastIndexOf('/') + 1);
    if (base === '') continue;
    for (const k of [base, base + '.md']) keys.set(asciiLower(k), k);
  }
  const stmt = store.connection.prepare(
    `SELECT w.src, w.target FROM wiki_links w JOIN nodes s ON s.id = w.src
     WHERE ${BASE_EXPR} = ? COLLATE NOCASE AND s.deleted = 0 AND s.kind IS NOT NULL`,
  );
  const found = new Map<string, Set<string>>();
  for (const key of keys.values()) {
    for (const row of stmt.all(key) as { src: string; target: string }[]) {
      if (r.resolve(row.target, row.src)?.id !== node.id) continue;
      let set = found.get(row.src);
      if (!set) found.set(row.src, (set = new Set()));
      set.add(row.target);
    }
  }
  return found;
}

/** The live nodes whose bodies link to `id` (a link in a task's note is the task's), by title. */
export function wikiBacklinks(store: SqliteStore, id: string): WikiBacklink[] {
  const found = new Map<string, Set<string>>();
  for (const [holder, targets] of wikiLinkHolders(store, id)) {
    const src = taskOf(store, holder) ?? holder;
    const set = found.get(src) ?? new Set<string>();
    for (const t of targets) set.add(t);
    found.set(src, set);
  }
  const out: WikiBacklink[] = [];
  for (const [src, targets] of found) {
    const n = store.findNode(src);
    if (!n) continue;
    out.push({ id: n.id, kind: n.kind, title: n.title, targets: [...targets].sort() });
  }
  return out.sort((a, b) =>
    a.title < b.title ? -1 : a.title > b.title ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
}
