// Short ids: a ULID's shortest suffix of at least 6 characters that names only that node, the
// form the CLI shows and accepts. Found by the nodes_id_suffix index, cached per store.

import type { Statement } from 'better-sqlite3';
import type { SqliteStore } from './sqlite-store.js';

export const MIN_SHORT_ID = 6;

export interface SuffixRow {
  id: string;
  kind: string | null;
  deleted: number;
}

/** ULID nodes whose last 6 characters match `suffix`'s (found by the nodes_id_suffix index). */
const suffixQueries = new WeakMap<SqliteStore, Statement>();

export function bySuffix(store: SqliteStore, suffix: string): SuffixRow[] {
  let q = suffixQueries.get(store);
  if (!q) {
    q = store.connection.prepare(
      'SELECT id, kind, deleted FROM nodes WHERE substr(id, -6) = ? AND length(id) = 26',
    );
    suffixQueries.set(store, q);
  }
  store.catchUpRows();
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
  /**
   * By suffix: the one node whose short id is that suffix itself (no other node ends the same
   * way, by far the usual case: kept as the bare id, a tenth of a map's memory), or a map of
   * ids to their longer short ids.
   */
  private readonly buckets = new Map<string, string | Map<string, string>>();

  constructor(store: SqliteStore) {
    store.onChange((c) => {
      if (c.conflicts) this.buckets.clear();
      else for (const id of c.nodes) this.buckets.delete(id.slice(-MIN_SHORT_ID));
    });
  }

  get(id: string): string | undefined {
    const bucket = this.buckets.get(id.slice(-MIN_SHORT_ID));
    if (typeof bucket === 'string') {
      return bucket === id ? id.slice(-MIN_SHORT_ID).toLowerCase() : undefined;
    }
    return bucket?.get(id);
  }

  set(id: string, short: string): void {
    const key = id.slice(-MIN_SHORT_ID);
    const bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= SHORT_ID_CACHE_LIMIT) this.dropOldest();
      // A short id of MIN_SHORT_ID characters means no other node ends with this suffix.
      this.buckets.set(key, short.length === MIN_SHORT_ID ? id : new Map([[id, short]]));
    } else if (typeof bucket === 'string') {
      // Not reached while the cache is right (a unique suffix's bucket has no other id); kept
      // correct anyway.
      if (bucket !== id) this.buckets.set(key, new Map([[id, short]]));
    } else {
      bucket.set(id, short);
    }
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
