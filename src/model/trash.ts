// The trash: deleted nodes keep every field and their body until restored.

import { restoreItem } from './items.js';
import { prepared, requireNode, type ModelContext } from './nodes.js';
import { IS_CONTEXT_DOC } from '../store/context-docs.js';
import type { NodeSummary } from './types.js';
import type { NodeKind } from '../core/ids.js';
import type { SqliteStore } from '../store/sqlite-store.js';

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

/** Deleted items, most recently changed first (a task's context doc is part of its task). */
export function trash(ctx: ModelContext): NodeSummary[] {
  const rows = prepared(
    ctx.store,
    `SELECT id, kind, title, updated_ms FROM nodes n WHERE kind IS NOT NULL AND deleted = 1
       AND NOT ${IS_CONTEXT_DOC} ORDER BY updated_ms DESC, id`,
  ).all() as Row[];
  return rows.map((r) => summary(r, true));
}

/** Restores a deleted node, a task with its context doc (restoring a live one changes nothing). */
export function restore(ctx: ModelContext, id: unknown): NodeSummary {
  const node = requireNode(ctx.store, id, 'id', undefined, true);
  const n = ctx.store.transaction(() => restoreItem(ctx.store, node.id));
  return summary({ id: n.id, kind: n.kind, title: n.title, updated_ms: n.updated_ms }, n.deleted);
}
