import { z } from 'zod';
import { defineMethod, EVERYWHERE } from '../registry.js';
import * as R from './results.js';
import type { Services } from './context.js';
import { withShortIds } from './node.js';
import { NodeRef, resolveRef } from './refs.js';
import { DateParam, TagName, Title, Today } from './schemas.js';

/** Projects, tags, journals and task logs. */
export function organizeMethods(s: Services) {
  const node = (ref: string) => resolveRef(s.store, ref, { includeDeleted: true }).id;
  const project = (ref: string) => resolveRef(s.store, ref, { kind: 'project' }).id;
  // Each project (or tagged node) with the short id every other list shows for it.
  const short = <T extends { id: string }>(p: T) => withShortIds(s, [p])[0]!;
  return [
    defineMethod({
      name: 'project.create',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Creates a project, optionally inside another.',
      params: z.strictObject({ title: Title.min(1), parent: z.string().min(1).optional() }),
      result: R.ProjectResult,
      handler: (p) =>
        short(
          s.model.createProject(
            p.parent === undefined ? { title: p.title } : { title: p.title, parent: p.parent },
          ),
        ),
    }),
    defineMethod({
      name: 'project.get',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'A project with its parent and task counts.',
      params: z.strictObject({ id: NodeRef }),
      result: R.ProjectResult,
      handler: (p) => short(s.model.getProject(project(p.id))),
    }),
    defineMethod({
      name: 'project.move',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Moves a project under another, or to the top (parent: null); cycles are refused.',
      params: z.strictObject({ id: NodeRef, parent: NodeRef.nullable() }),
      result: R.ProjectResult,
      handler: (p) =>
        short(s.model.moveProject(project(p.id), p.parent === null ? null : project(p.parent))),
    }),
    defineMethod({
      name: 'project.delete',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Moves a project to the trash.',
      params: z.strictObject({ id: NodeRef }),
      result: R.ProjectResult,
      handler: (p) => short(s.model.deleteProject(project(p.id))),
    }),
    defineMethod({
      name: 'project.list',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'Every project with its parent and task counts.',
      params: z.strictObject({}),
      result: R.ProjectList,
      handler: () => ({ projects: withShortIds(s, s.model.listProjects().projects) }),
    }),
    defineMethod({
      name: 'tag.add',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Tags a node (the tag is created if needed).',
      params: z.strictObject({ id: NodeRef, name: TagName }),
      result: R.NodeTags,
      handler: (p) => short(s.model.tagAdd(node(p.id), p.name)),
    }),
    defineMethod({
      name: 'tag.remove',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Removes a tag from a node.',
      params: z.strictObject({ id: NodeRef, name: TagName }),
      result: R.TagRemoved,
      handler: (p) => short(s.model.tagRemove(node(p.id), p.name)),
    }),
    defineMethod({
      name: 'tag.list',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: "All tags with counts, or one node's tags.",
      params: z.strictObject({ id: NodeRef.optional() }),
      result: R.TagList,
      handler: (p) => s.model.tagList(p.id === undefined ? undefined : node(p.id)),
    }),
    defineMethod({
      name: 'journal.open',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: "Opens (creating if needed) a day's journal; today by default.",
      params: z.strictObject({ date: DateParam.optional() }),
      result: R.JournalResult,
      handler: (p) => s.model.openJournal(p.date),
    }),
    defineMethod({
      name: 'journal.append',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary:
        "Adds text at the end of a day's journal, on a line of its own, creating the journal " +
        'if needed; today by default.',
      params: z.strictObject({ date: DateParam.optional(), text: z.string().min(1) }),
      result: R.JournalResult,
      handler: (p) => s.model.appendJournal(p.date, p.text),
    }),
    defineMethod({
      name: 'log.append',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: "Appends a dated line to a task's log doc.",
      params: z.strictObject({ id: NodeRef, text: z.string().min(1).max(10_000), today: Today }),
      result: R.LogEntry,
      handler: (p) => s.model.logAppend(node(p.id), p.text, p.today),
    }),
    defineMethod({
      name: 'log.tail',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: "The last entries of a task's log.",
      params: z.strictObject({ id: NodeRef, n: z.number().int().min(1).max(1000).optional() }),
      result: R.LogTail,
      handler: (p) => s.model.logTail(node(p.id), p.n),
    }),
  ];
}
