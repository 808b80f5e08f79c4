// History methods: a node's versions, the node at a version, reverting to one, and undo of this
// device's own changes (model/history.ts, model/undo.ts).

import { z } from 'zod';
import { HephError } from '../../core/errors.js';
import { trashedNamed } from '../../model/trash.js';
import { defineMethod, EVERYWHERE } from '../registry.js';
import * as H from './history-results.js';
import type { Services } from './context.js';
import { withShortIds } from './node.js';
import { NodeRef, resolveRef, shortIds } from './refs.js';
import { BaseVersion, defined } from './schemas.js';

const VersionRef = z
  .string()
  .min(1)
  .max(64)
  .describe('a version as node.history lists it, or its short form (a unique suffix)');

/**
 * The node a history method means: as other methods find it (a task before its context doc of
 * the same title), or else a node in the trash with that title or alias, whose history is what
 * someone who lost it wants.
 */
function historyNode(s: Services, ref: string): string {
  try {
    return resolveRef(s.store, ref, { includeDeleted: true, kind: 'task' }).id;
  } catch (e) {
    if (!(e instanceof HephError) || e.code !== 'not_found') throw e;
    const trashed = trashedNamed(s.store, ref);
    if (trashed.length === 1) return trashed[0] as string;
    if (trashed.length === 0) throw e;
    throw new HephError(
      'ambiguous',
      `${JSON.stringify(ref)} names ${trashed.length} nodes in the trash: ${trashed.join(', ')}; use an id (heph trash lists them)`,
      { ids: trashed },
    );
  }
}

/** Undo takes back this replica's own changes: a hub's copy or client mode has none to take. */
function needsOwnReplica(s: Services): void {
  if (s.config.mode !== 'local') {
    throw new HephError(
      'invalid_params',
      'undo needs a device with its own replica: this hephd runs in server mode, and the ' +
        'changes its copy holds were made on devices; run heph undo on the device that made them',
      { mode: s.config.mode },
    );
  }
}

export function historyMethods(s: Services) {
  return [
    defineMethod({
      name: 'node.history',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary:
        "A node's versions, newest first: one per change to it, with when, which device and " +
        'what changed. Paged by `before`.',
      params: z.strictObject({
        id: NodeRef,
        limit: z.number().int().min(1).max(1000).optional(),
        before: z.string().max(64).optional().describe('list versions older than this one'),
      }),
      result: H.HistoryResult,
      handler: (p) => {
        const n = withShortIds(s, [s.store.getNode(historyNode(s, p.id))])[0]!;
        const page = s.history.list(n.id, defined({ limit: p.limit, before: p.before }));
        return { ...page, short_id: n.short_id, title: n.title };
      },
    }),
    defineMethod({
      name: 'node.at',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary:
        'A node as it was at a version: every op on it up to that version applied in op-id ' +
        'order (with concurrent edits, possibly a state no single device showed).',
      params: z.strictObject({ id: NodeRef, version: VersionRef }),
      result: H.NodeAtResult,
      handler: (p) => {
        const node = withShortIds(s, [s.history.at(historyNode(s, p.id), p.version)])[0]!;
        const ids = shortIds(
          s.store,
          node.links.map((l) => l.dst),
        );
        const links = node.links.map((l) => ({ ...l, dst_short_id: ids.get(l.dst) ?? l.dst }));
        return { ...node, links };
      },
    }),
    defineMethod({
      name: 'node.revert',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary:
        'Writes a node back as it was at a version, as one new change that syncs like any edit ' +
        '(later versions stay in the history; nothing is moved to the trash).',
      params: z.strictObject({
        id: NodeRef,
        version: VersionRef,
        base_version: BaseVersion.optional(),
      }),
      result: H.RevertResult,
      handler: (p) => {
        const id = historyNode(s, p.id);
        const r = s.history.revert(id, p.version, p.base_version);
        return { ...r, node: withShortIds(s, [r.node])[0] };
      },
    }),
    defineMethod({
      name: 'undo',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary:
        "Takes back this device's last change (or `change`) as a new change; a second undo goes " +
        'further back. What another device changed since is left alone and listed in skipped.',
      params: z.strictObject({
        change: z.string().min(1).max(64).optional().describe('a change from undo.list'),
      }),
      result: H.UndoResult,
      handler: (p) => {
        needsOwnReplica(s);
        return s.undo.undo(p.change);
      },
    }),
    defineMethod({
      name: 'undo.list',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'The changes undo can take back on this device, the next one first.',
      params: z.strictObject({ limit: z.number().int().min(1).max(100).optional() }),
      result: H.UndoListResult,
      handler: (p) => {
        needsOwnReplica(s);
        return s.undo.list(p.limit);
      },
    }),
  ];
}
