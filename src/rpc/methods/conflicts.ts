import { z } from 'zod';
import { invalid } from '../../core/errors.js';
import { singleLinkTypeOf } from '../../core/ids.js';
import { asItem, noteOf, resolveItemConflict, taskOf } from '../../model/items.js';
import { defineMethod, EVERYWHERE } from '../registry.js';
import * as R from './results.js';
import type { Services } from './context.js';
import { NodeRef, resolveRef, shortIds } from './refs.js';
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
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary:
        'Fields, bodies, projects and parents set concurrently to different values on different ' +
        'devices, with every value.',
      params: z.strictObject({
        target: NodeRef.optional().describe(
          "only this node's conflicts (a task's: its note's too)",
        ),
      }),
      result: R.ConflictsResult,
      handler: (p) => {
        const only =
          p.target === undefined
            ? undefined
            : resolveRef(s.store, p.target, { includeDeleted: true }).id;
        const listed = s.store.conflicts().map((c) => {
          const task = c.field === 'body' ? taskOf(s.store, c.target) : undefined;
          return { c, target: task ?? c.target, names: singleLinkTypeOf(c.field) !== undefined };
        });
        // Short ids as every list shows them: of each node, and of each project a head names.
        const ids = new Set<string>();
        for (const { c, target, names } of listed) {
          ids.add(target);
          if (names) for (const h of c.heads) if (typeof h.value === 'string') ids.add(h.value);
        }
        const short = shortIds(s.store, [...ids]);
        const all = listed.map(({ c, target, names }) => {
          const heads = c.heads.map((h) => ({
            ...h,
            device: s.history.device(h.origin),
            ...(names &&
              typeof h.value === 'string' && {
                title: titleOf(s, h.value),
                short_id: short.get(h.value) ?? h.value,
              }),
          }));
          const short_id = short.get(target) ?? target;
          return { ...c, heads, target, short_id, title: titleOf(s, target) };
        });
        return { conflicts: only === undefined ? all : all.filter((c) => c.target === only) };
      },
    }),
    defineMethod({
      name: 'conflicts.resolve',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary:
        'Resolves a conflict by writing the value to keep (for "body", the text; for "project" ' +
        'and "parent", a project or null); every device then agrees on it.',
      params: z.strictObject({
        target: NodeRef,
        field: z.string().min(1).max(64),
        value: z
          .json()
          .describe(
            'the value to keep; for "project" and "parent", the project by id or title (null: ' +
              'none, the top level)',
          ),
        update_links: z.boolean().optional(),
      }),
      result: R.NodeChanged,
      handler: (p) => {
        const target = resolveRef(s.store, p.target, { includeDeleted: true });
        if (p.field === 'title' && (typeof p.value !== 'string' || p.value.trim() === '')) {
          throw invalid('value', 'a title must be text that is not empty');
        }
        // A task's body is its note (an earlier version's text in the task itself is its own).
        const note = p.field === 'body' ? noteOf(s.store, target) : target;
        const holder =
          note !== target &&
          s.store.conflicts().some((c) => c.target === target.id && c.field === 'body')
            ? target
            : note;
        const links = resolveItemConflict(s.store, holder, p.field, p.value, p.update_links);
        const out = withShortIds(s, [asItem(s.store, s.store.getNode(target.id))])[0];
        return p.field === 'title' ? { ...out, ...links } : out;
      },
    }),
  ];
}
