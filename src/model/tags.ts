// Tags: nodes with deterministic ids (`tag:<name>`), so the same tag made on two devices is one
// node; a node carries a tag by a 'tagged' link (node → tag). Adding a tag creates its node if
// missing and restores it if it was deleted.

import { tagId } from '../core/ids.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { ensureNode, prepared, requireNode, type ModelContext } from './nodes.js';
import type { NodeTags, TagInfo } from './types.js';
import { bad, checkTagName } from './validate.js';
import { kindSql, linksFromSql } from '../store/index-terms.js';

/** The name of the tag node `id` (`tag:<name>`). */
export function tagName(id: string): string {
  return id.slice('tag:'.length);
}

/** The tag names on a node, sorted. */
export function tagsOf(store: SqliteStore, id: string): string[] {
  return store.links(id, 'tagged').map((l) => tagName(l.dst));
}

/** Tags `nodeId` with `name`; call inside a transaction when part of a larger change. */
export function applyTag(store: SqliteStore, nodeId: string, name: string): void {
  const id = tagId(name);
  ensureNode(store, id, 'tag', name);
  store.addLink(nodeId, id, 'tagged');
}

function taggable(ctx: ModelContext, nodeId: unknown): string {
  const node = requireNode(ctx.store, nodeId, 'id');
  if (node.kind === 'tag') throw bad('id', `${node.id} is a tag; tags cannot be tagged`);
  return node.id;
}

export function tagAdd(ctx: ModelContext, nodeId: unknown, name: unknown): NodeTags {
  const tag = checkTagName(name);
  const id = taggable(ctx, nodeId);
  ctx.store.transaction(() => applyTag(ctx.store, id, tag));
  return { id, tags: tagsOf(ctx.store, id) };
}

/** Removes the tag from the node; removing a tag the node does not carry changes nothing. */
export function tagRemove(
  ctx: ModelContext,
  nodeId: unknown,
  name: unknown,
): NodeTags & { removed: boolean } {
  const tag = checkTagName(name);
  const id = requireNode(ctx.store, nodeId, 'id', undefined, true).id;
  const tid = tagId(tag);
  const removed = ctx.store.links(id, 'tagged').some((l) => l.dst === tid);
  if (removed) ctx.store.transaction(() => ctx.store.removeLink(id, tid, 'tagged'));
  return { id, tags: tagsOf(ctx.store, id), removed };
}

const COUNTS = `SELECT t.id AS id, count(n.id) AS count FROM nodes t
  LEFT JOIN links l ON l.dst = t.id AND l.type = 'tagged' AND l.live = 1
  LEFT JOIN nodes n ON n.id = l.src AND n.deleted = 0 AND n.kind IS NOT NULL
  WHERE ${kindSql('t', 'tag')}`;

/** Every live tag with how many live nodes carry it, or (given a node) that node's tags. */
export function tagList(ctx: ModelContext, nodeId: unknown): TagInfo[] {
  const store = ctx.store;
  let rows: { id: string; count: number }[];
  if (nodeId === undefined) {
    rows = prepared(store, `${COUNTS} AND t.deleted = 0 GROUP BY t.id ORDER BY t.id`).all() as {
      id: string;
      count: number;
    }[];
  } else {
    const id = requireNode(ctx.store, nodeId, 'id', undefined, true).id;
    rows = prepared(
      store,
      `${COUNTS} AND t.id IN (SELECT dst FROM links WHERE ${linksFromSql('', '@src', 'tagged')}
           AND type = 'tagged' AND live = 1)
         GROUP BY t.id ORDER BY t.id`,
    ).all({ src: id }) as { id: string; count: number }[];
  }
  return rows.map((r) => ({ name: r.id.slice('tag:'.length), id: r.id, count: r.count }));
}
