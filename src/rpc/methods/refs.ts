// How methods find the node a user means: a full id, a short id (a unique suffix of at least 6
// characters of a ULID, as the CLI shows them), an alias, or a title — exact, never fuzzy.

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
    const rows = store.connection
      .prepare(
        `SELECT id FROM nodes WHERE kind IS NOT NULL AND length(id) = 26 AND substr(id, -@len) = @suffix
         ${opts.includeDeleted ? '' : 'AND deleted = 0'} LIMIT 3`,
      )
      .pluck()
      .all({ len: suffix.length, suffix }) as string[];
    if (rows.length === 1) return store.getNode(rows[0] as string);
    if (rows.length > 1) {
      throw new HephError(
        'ambiguous',
        `short id ${ref} matches several nodes (${rows.join(', ')}); use more characters`,
        {
          ids: rows,
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

/** The shortest suffix of at least MIN_SHORT_ID characters that names only this node. */
export function shortIds(store: SqliteStore, ids: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const stmt = store.connection
    .prepare('SELECT count(*) FROM nodes WHERE length(id) = 26 AND substr(id, -@len) = @suffix')
    .pluck();
  for (const id of ids) {
    if (id.length !== 26) {
      out.set(id, id);
      continue;
    }
    let len = MIN_SHORT_ID;
    while (len < 26 && (stmt.get({ len, suffix: id.slice(-len) }) as number) > 1) len++;
    out.set(id, id.slice(-len).toLowerCase());
  }
  return out;
}
