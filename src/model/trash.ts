// The trash: deleted nodes keep every field and their body until restored.

import { prepared, requireNode, type ModelContext } from './nodes.js';
import type { NodeSummary } from './types.js';
import type { NodeKind } from '../core/ids.js';

interface Row {
  id: string;
  kind: NodeKind;
  title: string;
  updated_ms: number;
}

function summary(r: Row, deleted: boolean): NodeSummary {
  return {
    id: r.id,
    kind: r.kind,
    title: r.title,
    deleted,
    updated: new Date(r.updated_ms).toISOString(),
  };
}

/** Deleted nodes, most recently changed first. */
export function trash(ctx: ModelContext): NodeSummary[] {
  const rows = prepared(
    ctx.store,
    `SELECT id, kind, title, updated_ms FROM nodes WHERE kind IS NOT NULL AND deleted = 1
       ORDER BY updated_ms DESC, id`,
  ).all() as Row[];
  return rows.map((r) => summary(r, true));
}

/** Restores a deleted node (restoring a live one changes nothing). */
export function restore(ctx: ModelContext, id: unknown): NodeSummary {
  const node = requireNode(ctx.store, id, 'id', undefined, true);
  const n = ctx.store.restoreNode(node.id);
  return summary({ id: n.id, kind: n.kind, title: n.title, updated_ms: n.updated_ms }, n.deleted);
}
