import { z } from 'zod';
import { defineMethod } from '../registry.js';
import * as R from './results.js';
import type { Services } from './context.js';
import { NodeRef, resolveRef } from './refs.js';
import { withShortIds } from './node.js';

/** The title of a conflict's node, so a list names what it is about; '' if it is not here. */
function titleOf(s: Services, id: string): string {
  try {
    return s.store.getNode(id).title;
  } catch {
    return '';
  }
}

export function conflictMethods(s: Services) {
  return [
    defineMethod({
      name: 'conflicts.list',
      summary:
        'Fields and bodies written concurrently to different values on different devices, with ' +
        'every value.',
      params: z.strictObject({}),
      result: R.ConflictsResult,
      handler: () => ({
        conflicts: s.store.conflicts().map((c) => ({ ...c, title: titleOf(s, c.target) })),
      }),
    }),
    defineMethod({
      name: 'conflicts.resolve',
      summary:
        'Resolves a conflict by writing the value to keep (for "body", the text); every device ' +
        'then agrees on it.',
      params: z.strictObject({
        target: NodeRef,
        field: z.string().min(1).max(64),
        value: z.json(),
      }),
      result: R.NodeResult,
      handler: (p) =>
        withShortIds(s, [
          s.store.resolveConflict(
            resolveRef(s.store, p.target, { includeDeleted: true }).id,
            p.field,
            p.value,
          ),
        ])[0],
    }),
  ];
}
