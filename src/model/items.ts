// A task and its context doc are one item (docs/model.md, "A task is one thing"): the doc is the
// task's note. Its title is the task's (store/context-docs.ts); lists, lookups and search show
// the task only; deleting or restoring the task takes the doc with it; the task's text is read
// and written in the doc.
//
// Tasks made by earlier versions may hold their text in the task itself (task.create's `body`
// went there) beside an empty context doc. Such a task keeps that text as its note until its
// context doc has text of its own, so nothing written before becomes hard to find.

import { SINGLE_LINK_FIELDS, singleLinkTypeOf } from '../core/ids.js';
import type { Json } from '../core/json.js';
import type { NodePatch, NodeView } from '../ports/store.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { loopOf, resolveLinkConflict } from './projects.js';
import { applyRename, planRename, type LinkRewrites } from './rename.js';

/** The task's context docs (one, unless links were made by hand), lowest link first. */
export function contextDocIds(store: SqliteStore, taskId: string): string[] {
  return store
    .links(taskId, 'canonical-context')
    .map((l) => l.dst)
    .filter((id) => store.findNode(id)?.kind === 'doc');
}

/** The node whose body is the item's note: for a task its context doc (see above), else itself. */
export function noteOf(store: SqliteStore, node: NodeView): NodeView {
  if (node.kind !== 'task') return node;
  const first = contextDocIds(store, node.id)[0];
  const doc = first === undefined ? undefined : store.findNode(first);
  if (!doc) return node;
  return doc.body === '' && node.body !== '' ? node : doc;
}

/**
 * A node as an item: a task shows its note's body and body_version (what an editor reads and
 * sends back); other nodes are shown as they are.
 */
export function asItem(store: SqliteStore, node: NodeView): NodeView {
  const note = noteOf(store, node);
  if (note === node) return node;
  return { ...node, body: note.body, body_version: note.body_version };
}

/** Moves a node to the trash; a task's context docs go with it. Call inside a transaction. */
export function trashItem(store: SqliteStore, id: string): NodeView {
  const node = store.deleteNode(id);
  if (node.kind === 'task') {
    for (const doc of contextDocIds(store, id)) store.deleteNode(doc);
  }
  return node;
}

/** Brings a node back from the trash; a task's context docs come back with it. */
export function restoreItem(store: SqliteStore, id: string): NodeView {
  const node = store.restoreNode(id);
  if (node.kind === 'task') {
    for (const doc of contextDocIds(store, id)) store.restoreNode(doc);
  }
  return node;
}

/**
 * Changes a node as an item (call inside a transaction): a task's body goes to its note, with
 * the base_version it was read at; every other field to the node itself.
 */
export function updateItem(
  store: SqliteStore,
  node: NodeView,
  patch: NodePatch,
  opts: { imported?: boolean } = {},
): NodeView {
  const { body, base_version, ...fields } = patch;
  const note = noteOf(store, node);
  if (body !== undefined && note !== node) {
    store.updateNode(note.id, { body, ...(base_version !== undefined && { base_version }) }, opts);
    return Object.keys(fields).length > 0 ? store.updateNode(node.id, fields, opts) : node;
  }
  return store.updateNode(node.id, patch, opts);
}

/** The task whose context doc `docId` is (the lowest link's), or undefined. */
export function taskOf(store: SqliteStore, docId: string): string | undefined {
  return store
    .backlinks(docId, 'canonical-context')
    .find((l) => store.findNode(l.src)?.kind === 'task')?.src;
}

/**
 * updateItem in a transaction of its own, and when the title changes (and `updateLinks` is not
 * false) the links that named the item by its old title rewritten in the same change.
 */
export function updateItemLinked(
  store: SqliteStore,
  node: NodeView,
  patch: NodePatch,
  updateLinks = true,
): { node: NodeView } & LinkRewrites {
  return store.transaction(() => {
    const title = patch.title;
    const plan = title !== undefined && updateLinks ? planRename(store, node, title) : undefined;
    const after = updateItem(store, node, patch);
    if (title === undefined) return { node: after, links_updated: 0 };
    return { node: after, ...applyRename(store, plan, title, (h) => taskOf(store, h)) };
  });
}

/**
 * Resolves a field's conflict; for a title it is the rename, so links follow it. A node in two
 * projects (field 'project') or under two parents ('parent') keeps the project `value` names.
 */
export function resolveItemConflict(
  store: SqliteStore,
  holder: NodeView,
  field: string,
  value: Json,
  updateLinks = true,
): LinkRewrites {
  const type = singleLinkTypeOf(field);
  if (
    type !== undefined &&
    (store.links(holder.id, type).length > 1 || (type === 'parent' && loopOf(store, holder.id)))
  ) {
    resolveLinkConflict(store, holder, SINGLE_LINK_FIELDS[type], value);
    return { links_updated: 0 };
  }
  return store.transaction(() => {
    const title = field === 'title' && typeof value === 'string' ? value : undefined;
    const plan = title !== undefined && updateLinks ? planRename(store, holder, title) : undefined;
    store.resolveConflict(holder.id, field, value);
    if (title === undefined) return { links_updated: 0 };
    return applyRename(store, plan, title, (h) => taskOf(store, h));
  });
}
