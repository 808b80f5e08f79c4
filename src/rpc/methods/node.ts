import { z } from 'zod';
import { HephError } from '../../core/errors.js';
import { trashedNamed } from '../../model/trash.js';
import { isNodeId, NODE_KINDS } from '../../core/ids.js';
import { asItem, restoreItem, trashItem, updateItemLinked } from '../../model/items.js';
import { checkProjectName, sameTitleWarning } from '../../model/names.js';
import { parentOf } from '../../model/nodes.js';
import type { NodeView } from '../../ports/store.js';
import { defineMethod, EVERYWHERE } from '../registry.js';
import * as R from './results.js';
import type { Services } from './context.js';
import { NodeRef, resolveRef, shortIds } from './refs.js';
import { Aliases, BaseVersion, Title } from './schemas.js';
const Extra = z.record(z.string(), z.json());

/** Adds each node's short id, the form the CLI shows and accepts. */
export function withShortIds<T extends { id: string }>(
  s: Services,
  nodes: T[],
): (T & { short_id: string })[] {
  const short = shortIds(
    s.store,
    nodes.map((n) => n.id),
  );
  return nodes.map((n) => ({ ...n, short_id: short.get(n.id) ?? n.id }));
}

/**
 * withShortIds for one node the caller owns (a store read returns a new object each time):
 * sets the field in place, which a node.get spent 2 to 3 µs copying the node to add.
 */
function withOwnShortId<T extends { id: string }>(s: Services, node: T): T & { short_id: string } {
  const out = node as T & { short_id: string };
  out.short_id = shortIds(s.store, [node.id]).get(node.id) ?? node.id;
  return out;
}

/**
 * The node `node.restore` means: an id or short id as usual; otherwise a node in the trash with
 * that title or alias before a live one (restoring a live node does nothing).
 */
function restoreTarget(s: Services, ref: string): { id: string; note?: string } {
  const exact = isNodeId(ref) ? s.store.findNode(ref) : undefined;
  if (exact) return { id: exact.id };
  const trashed = trashedNamed(s.store, ref);
  if (trashed.length > 1) {
    throw new HephError(
      'ambiguous',
      `${JSON.stringify(ref)} names ${trashed.length} nodes in the trash: ${trashed.join(', ')}; restore one by its id (heph trash lists them)`,
      { ids: trashed },
    );
  }
  const [id] = trashed;
  if (id === undefined) return { id: resolveRef(s.store, ref, { includeDeleted: true }).id };
  let live: string | undefined;
  try {
    live = resolveRef(s.store, ref).id;
  } catch {
    live = undefined;
  }
  return live === undefined
    ? { id }
    : {
        id,
        note: `${JSON.stringify(ref)} also names ${live}, which is not in the trash; restored the one that was`,
      };
}

export function nodeMethods(s: Services) {
  return [
    defineMethod({
      name: 'node.get',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'A node with all its fields and its body.',
      params: z.strictObject({ id: NodeRef, include_deleted: z.boolean().optional() }),
      result: R.NodeResult,
      handler: (p) =>
        withOwnShortId(
          s,
          asItem(s.store, resolveRef(s.store, p.id, { includeDeleted: p.include_deleted ?? true })),
        ),
    }),
    defineMethod({
      name: 'node.create',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Creates a doc, project or other node (tasks: task.create).',
      params: z.strictObject({
        kind: z.enum(
          NODE_KINDS.filter((k) => k !== 'task') as ['doc', 'project', 'tag', 'journal'],
        ),
        title: Title,
        body: z.string().optional(),
        aliases: Aliases.optional(),
        id: z.string().optional(),
        extra: Extra.optional(),
      }),
      result: R.NodeChanged,
      handler: (p) => {
        if (p.kind === 'project') checkProjectName(s.store, p.title, null);
        const warning = p.kind === 'doc' ? sameTitleWarning(s.store, p.title) : undefined;
        const node = withShortIds(s, [
          s.store.createNode({
            kind: p.kind,
            title: p.title,
            ...(p.body !== undefined && { body: p.body }),
            ...(p.aliases !== undefined && { aliases: p.aliases }),
            ...(p.id !== undefined && { id: p.id }),
            ...(p.extra !== undefined && { extra: p.extra }),
          }),
        ])[0];
        return warning === undefined ? node : { ...node, warnings: [warning] };
      },
    }),
    defineMethod({
      name: 'node.update',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary:
        "Changes a node's title, aliases, body or extra fields; the body is a whole-buffer save.",
      params: z.strictObject({
        id: NodeRef,
        title: Title.optional(),
        body: z.string().optional(),
        base_version: BaseVersion.optional(),
        aliases: Aliases.optional(),
        extra: Extra.optional(),
        update_links: z.boolean().optional(),
      }),
      result: R.NodeChanged,
      handler: (p) => {
        const { id, update_links, ...patch } = p;
        const n = resolveRef(s.store, id);
        if (n.kind === 'project' && patch.title !== undefined) {
          checkProjectName(s.store, patch.title, parentOf(s.store, n.id), n.id);
        }
        const { node, ...links } = updateItemLinked(
          s.store,
          n,
          patch as Parameters<typeof s.store.updateNode>[1],
          update_links ?? true,
        );
        const out = withOwnShortId(s, asItem(s.store, s.store.getNode(node.id)));
        return patch.title === undefined ? out : { ...out, ...links };
      },
    }),
    defineMethod({
      name: 'node.append',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary:
        "Adds text at the end of a node's body, on a line of its own (read and written in one " +
        'transaction, so nothing written meanwhile is lost).',
      params: z.strictObject({ id: NodeRef, text: z.string().min(1) }),
      result: R.NodeResult,
      handler: (p) =>
        withShortIds(s, [s.model.appendToNode(resolveRef(s.store, p.id).id, p.text)])[0],
    }),
    defineMethod({
      name: 'node.delete',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary:
        'Moves a node to the trash, a task with its context doc (nothing is destroyed; ' +
        'node.restore brings it back).',
      params: z.strictObject({ id: NodeRef }),
      result: R.NodeResult,
      handler: (p) => {
        const id = resolveRef(s.store, p.id).id;
        return withOwnShortId(
          s,
          s.store.transaction((): NodeView => trashItem(s.store, id)),
        );
      },
    }),
    defineMethod({
      name: 'node.restore',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary:
        'Brings a node back from the trash, a task with its context doc. A name means a node in ' +
        'the trash first (the one a live node shares it with is then named in `note`).',
      params: z.strictObject({ id: NodeRef }),
      result: R.RestoreResult,
      handler: (p) => {
        const { id, note } = restoreTarget(s, p.id);
        const was = s.store.getNode(id).deleted;
        const restored = s.store.transaction((): NodeView => restoreItem(s.store, id));
        const n = withShortIds(s, [restored])[0]!;
        return { ...n, restored: was, ...(note !== undefined && { note }) };
      },
    }),
    defineMethod({
      name: 'node.list',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: "Nodes, most recently changed first (a task's context doc is part of its task).",
      params: z.strictObject({
        kind: z.enum(NODE_KINDS).optional(),
        scope: z.enum(['live', 'trash', 'all']).optional(),
        limit: z.number().int().min(1).max(10_000).optional(),
        offset: z.number().int().min(0).optional(),
      }),
      result: R.NodeList,
      handler: (p) => ({
        nodes: withShortIds(
          s,
          s.store.listNodes({
            items: true,
            ...(p.kind && { kind: p.kind }),
            ...(p.scope && { scope: p.scope }),
            ...(p.limit !== undefined && { limit: p.limit }),
            ...(p.offset !== undefined && { offset: p.offset }),
          }),
        ),
      }),
    }),
    defineMethod({
      name: 'node.resolve',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'Finds the node a name means: id, short id, alias, then title (exact).',
      params: z.strictObject({ name: NodeRef }),
      result: R.NodeResult,
      handler: (p) => withShortIds(s, [resolveRef(s.store, p.name)])[0],
    }),
    defineMethod({
      name: 'trash',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'Deleted nodes, which node.restore can bring back.',
      params: z.strictObject({ limit: z.number().int().min(1).max(10_000).optional() }),
      result: R.NodeList,
      handler: (p) => ({
        nodes: withShortIds(
          s,
          s.store.listNodes({ scope: 'trash', items: true, limit: p.limit ?? 1000 }),
        ),
      }),
    }),
  ];
}
