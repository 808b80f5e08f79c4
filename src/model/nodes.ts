// Small helpers over the store shared by the model's parts: the context every part receives,
// typed lookups, and get-or-create for nodes with deterministic ids.

import { HephError, notFound } from '../core/errors.js';
import type { LinkType, NodeKind } from '../core/ids.js';
import type { NodeView } from '../ports/store.js';
import type { Statement } from 'better-sqlite3';
import type { SqliteStore } from '../store/sqlite-store.js';
import { bad, checkId } from './validate.js';

export interface ModelContext {
  readonly store: SqliteStore;
  /** The given day after checking it, or the clock's day in the model's zone. */
  today(given: unknown): string;
}

/**
 * The node `id` names, of `kind` when given. Missing: not_found. Another kind: invalid_params
 * naming `field`. Deleted: not_found saying to restore it, unless `allowDeleted`.
 */
export function requireNode(
  store: SqliteStore,
  id: unknown,
  field: string,
  kind?: NodeKind,
  allowDeleted = false,
): NodeView {
  const nid = checkId(id, field);
  const n = store.findNode(nid);
  if (!n) throw notFound(kind ?? 'node', nid);
  if (kind !== undefined && n.kind !== kind)
    throw bad(field, `${nid} is a ${n.kind}, not a ${kind}`);
  if (n.deleted && !allowDeleted) {
    throw new HephError(
      'not_found',
      `${field}: ${n.kind} ${nid} is in the trash; restore it first`,
      { field, id: nid },
    );
  }
  return n;
}

/**
 * The destination of `src`'s `type` link. Links made concurrently on two devices can leave more
 * than one where the model keeps one (a task's project, a project's parent); every replica then
 * picks the same: the lowest link id, which for one source and type is the lowest destination id.
 */
export function firstLinkDst(store: SqliteStore, src: string, type: LinkType): string | null {
  return store.links(src, type)[0]?.dst ?? null;
}

/**
 * A project's parent as every reader shows it: firstLinkDst, except in a loop of parents made by
 * concurrent moves, where the one link the store names left out is not shown (projectParents).
 */
export function parentOf(store: SqliteStore, id: string): string | null {
  return store.parentBreaks().has(id) ? null : firstLinkDst(store, id, 'parent');
}

/**
 * Makes `dst` the one live `type` link out of `src` (null: none). Nothing is written when that
 * is so already; otherwise every live one is removed and `dst`'s is added anew, so the move is a
 * write no other device has seen: one made elsewhere meanwhile (a move to another project)
 * leaves both links, a conflict the user is told of, instead of quietly undoing this one.
 */
export function setOnlyLink(
  store: SqliteStore,
  src: string,
  type: LinkType,
  dst: string | null,
): void {
  const live = store.links(src, type);
  if (dst === null ? live.length === 0 : live.length === 1 && live[0]?.dst === dst) return;
  for (const l of live) store.removeLink(l.src, l.dst, type);
  if (dst !== null) store.addLink(src, dst, type);
}

export interface Ensured {
  node: NodeView;
  created: boolean;
  restored: boolean;
}

/** Gets a node with a deterministic id, creating it if missing and restoring it if deleted. */
export function ensureNode(store: SqliteStore, id: string, kind: NodeKind, title: string): Ensured {
  const n = store.findNode(id);
  if (!n) return { node: store.createNode({ id, kind, title }), created: true, restored: false };
  if (n.kind !== kind) {
    throw new HephError('conflict', `${id} exists as a ${n.kind}, not a ${kind}`, { id });
  }
  if (n.deleted) return { node: store.restoreNode(id), created: false, restored: true };
  return { node: n, created: false, restored: false };
}

const statements = new WeakMap<SqliteStore, Map<string, Statement>>();

/** A prepared statement on the store's connection, prepared once per store and SQL text. */
export function prepared(store: SqliteStore, sql: string): Statement {
  let cache = statements.get(store);
  if (!cache) {
    cache = new Map();
    statements.set(store, cache);
  }
  let s = cache.get(sql);
  if (!s) {
    s = store.connection.prepare(sql);
    cache.set(sql, s);
  }
  // The statement is run at once: node rows applyOps left pending are written first.
  store.catchUpRows();
  return s;
}
