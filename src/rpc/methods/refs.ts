// How methods find the node a user means: a full id, a short id (a unique suffix of at least 6
// characters of a ULID, as the CLI shows them), an alias, or a title — exact, never fuzzy.

import { z } from 'zod';
import { HephError } from '../../core/errors.js';
import { isNodeId, type NodeKind } from '../../core/ids.js';
import type { NodeView } from '../../ports/store.js';
import { ambiguousError } from '../../model/names.js';
import { bySuffix, type SuffixRow } from '../../store/short-ids.js';
import type { SqliteStore } from '../../store/sqlite-store.js';

export { MIN_SHORT_ID, shortIds } from '../../store/short-ids.js';

export const NodeRef = z.string().min(1).max(1024).describe('a node id, short id, alias or title');

export interface RefOptions {
  includeDeleted?: boolean;
  /**
   * The kind the caller wants: when a name matches several nodes and exactly one is of this
   * kind, that one is meant (`task.done "Plan"` means the task when a note is titled so too).
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
      throw ambiguousError(
        store,
        `short id ${ref}`,
        rows.map((r) => r.id),
      );
    }
  }
  try {
    return store.resolveNode(ref);
  } catch (e) {
    if (e instanceof HephError && e.code === 'ambiguous') {
      const ids = Array.isArray(e.details.ids) ? (e.details.ids as string[]) : [];
      const ofKind = ids.filter((id) => store.findNode(id)?.kind === opts.kind);
      if (opts.kind && ofKind.length === 1) return store.getNode(ofKind[0] as string);
      throw ambiguousError(store, JSON.stringify(ref), ids);
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
