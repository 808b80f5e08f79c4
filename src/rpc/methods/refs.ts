// How methods find the node a user means: a full id, a short id (a unique suffix of at least 6
// characters of a ULID, as the CLI shows them), an alias, or a title — exact, never fuzzy.

import type { Statement } from 'better-sqlite3';
import { z } from 'zod';
import { HephError } from '../../core/errors.js';
import { isNodeId, type NodeKind } from '../../core/ids.js';
import type { NodeView } from '../../ports/store.js';
import type { SqliteStore } from '../../store/sqlite-store.js';

export const MIN_SHORT_ID = 6;

export const NodeRef = z.string().min(1).max(1024).describe('a node id, short id, alias or title');

export interface RefOptions {
  includeDeleted?: boolean;
  /**
   * The kind the caller wants: when a name matches several nodes and exactly one is of this
   * kind, that one is meant (a task and its context doc share a title; `task.done` means the task).
   */
  kind?: NodeKind;
}

export function resolveRef(store: SqliteStore, ref: string, opts: RefOptions = {}): NodeView {
  if (isNodeId(ref)) {
    const n = store.findNode(ref);
    if (n && (opts.includeDeleted || !n.deleted)) return n;
  }
  if (/^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{6,25}$/.test(ref)) {
    const suffix = ref.toUpperCase();
    const rows = bySuffix(store, suffix).filter(
      (r) => r.id.endsWith(suffix) && r.kind !== null && (opts.includeDeleted || r.deleted === 0),
    );
    if (rows.length === 1) return store.getNode((rows[0] as SuffixRow).id);
    if (rows.length > 1) {
      const ids = rows.map((r) => r.id);
      throw new HephError(
        'ambiguous',
        `short id ${ref} matches several nodes (${ids.join(', ')}); use more characters`,
        {
          ids,
        },
      );
    }
  }
  try {
    return store.resolveNode(ref);
  } catch (e) {
    if (e instanceof HephError && e.code === 'ambiguous' && opts.kind) {
      const ids = Array.isArray(e.details.ids) ? (e.details.ids as string[]) : [];
      const ofKind = ids.filter((id) => store.findNode(id)?.kind === opts.kind);
      if (ofKind.length === 1) return store.getNode(ofKind[0] as string);
    }
    if (e instanceof HephError && e.code === 'not_found') {
      throw new HephError(
        'not_found',
        `no node matches ${JSON.stringify(ref)} (by id, short id, alias or title)`,
        {
          ref,
        },
      );
    }
    throw e;
  }
}

interface SuffixRow {
  id: string;
  kind: string | null;
  deleted: number;
}

/** ULID nodes whose last 6 characters match `suffix`'s (found by the nodes_id_suffix index). */
const suffixQueries = new WeakMap<SqliteStore, Statement>();

function bySuffix(store: SqliteStore, suffix: string): SuffixRow[] {
  let q = suffixQueries.get(store);
  if (!q) {
    q = store.connection.prepare(
      'SELECT id, kind, deleted FROM nodes WHERE substr(id, -6) = ? AND length(id) = 26',
    );
    suffixQueries.set(store, q);
  }
  return q.all(suffix.slice(-MIN_SHORT_ID)) as SuffixRow[];
}

/**
 * Short ids already computed, by the last MIN_SHORT_ID characters of the id: only a node whose
 * id ends the same way can change another's short id, so a committed write to a node (its row
 * may be new) drops that node's whole bucket. A change that touches conflicts drops everything
 * (a rebuild reports one, and it deletes and rewrites every row). Nothing is read from or added
 * to the cache inside a transaction, whose rows may still roll back without a change event.
 * Correct only while this store is the database's one writer, as the daemon's exclusive lock
 * makes it.
 */
class ShortIdCache {
  private readonly buckets = new Map<string, Map<string, string>>();

  constructor(store: SqliteStore) {
    store.onChange((c) => {
      if (c.conflicts) this.buckets.clear();
      else for (const id of c.nodes) this.buckets.delete(id.slice(-MIN_SHORT_ID));
    });
  }

  get(id: string): string | undefined {
    return this.buckets.get(id.slice(-MIN_SHORT_ID))?.get(id);
  }

  set(id: string, short: string): void {
    const key = id.slice(-MIN_SHORT_ID);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= SHORT_ID_CACHE_LIMIT) this.dropOldest();
      bucket = new Map();
      this.buckets.set(key, bucket);
    }
    bucket.set(id, short);
  }

  /** Drops the oldest quarter (a Map iterates in insertion order), not everything. */
  private dropOldest(): void {
    let drop = SHORT_ID_CACHE_LIMIT / 4;
    for (const key of this.buckets.keys()) {
      if (drop-- <= 0) break;
      this.buckets.delete(key);
    }
  }
}

const SHORT_ID_CACHE_LIMIT = 20_000;
const shortIdCaches = new WeakMap<SqliteStore, ShortIdCache>();

function shortIdCache(store: SqliteStore): ShortIdCache {
  let c = shortIdCaches.get(store);
  if (!c) {
    c = new ShortIdCache(store);
    shortIdCaches.set(store, c);
  }
  return c;
}

/** The shortest suffix of at least MIN_SHORT_ID characters that names only this node. */
export function shortIds(store: SqliteStore, ids: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const cache = store.connection.inTransaction ? undefined : shortIdCache(store);
  for (const id of ids) {
    if (id.length !== 26) {
      out.set(id, id);
      continue;
    }
    const known = cache?.get(id);
    if (known !== undefined) {
      out.set(id, known);
      continue;
    }
    const short = computeShortId(store, id);
    cache?.set(id, short);
    out.set(id, short);
  }
  return out;
}

function computeShortId(store: SqliteStore, id: string): string {
  const others = bySuffix(store, id)
    .map((r) => r.id)
    .filter((o) => o !== id);
  let len = MIN_SHORT_ID;
  while (len < 26 && others.some((o) => o.endsWith(id.slice(-len)))) len++;
  return id.slice(-len).toLowerCase();
}
