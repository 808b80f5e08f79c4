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

/**
 * Nodes in the trash whose title or an alias is exactly `name` (at most 10, by id): what
 * `restore NAME` means, since a name of a node in the trash is what someone restoring it knows.
 */
export function trashedNamed(store: SqliteStore, name: string): string[] {
  return prepared(
    store,
    `SELECT id FROM nodes WHERE deleted = 1 AND kind IS NOT NULL
       AND (title = @name OR (aliases != '[]' AND EXISTS (SELECT 1 FROM json_each(aliases) WHERE value = @name)))
     ORDER BY id LIMIT 10`,
  )
    .pluck()
    .all({ name }) as string[];
}

/** Restores a deleted node, a task with its context doc (restoring a live one changes nothing). */
export function restore(ctx: ModelContext, id: unknown): NodeSummary {
  const node = requireNode(ctx.store, id, 'id', undefined, true);
  const n = ctx.store.transaction(() => restoreItem(ctx.store, node.id));
  return summary({ id: n.id, kind: n.kind, title: n.title, updated_ms: n.updated_ms }, n.deleted);
}
