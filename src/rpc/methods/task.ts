import { z } from 'zod';
import { VIEW_NAMES } from '../../core/rank.js';
import { defineMethod, EVERYWHERE } from '../registry.js';
import * as R from './results.js';
import type { Services } from './context.js';
import { withShortIds } from './node.js';
import { NodeRef, resolveRef, shortIds } from './refs.js';
import { TASK_ROW_COLUMNS, taskRow } from '../../protocol/task-rows.js';
import { taskLines } from '../../protocol/task-lines.js';
import { taskSummary } from '../../model/views.js';
import type { TaskView } from '../../model/types.js';
import {
  Aliases,
  BaseVersion,
  Attention,
  DateParam,
  defined,
  Recurrence,
  State,
  TagName,
  Title,
  Today,
} from './schemas.js';

const TaskFields = {
  attention: Attention.optional(),
  do_date: DateParam.nullable().optional(),
  late_on: DateParam.nullable().optional(),
  recurrence: Recurrence.nullable().optional(),
};

export function taskMethods(s: Services) {
  const task = (ref: string) => resolveRef(s.store, ref, { includeDeleted: true, kind: 'task' }).id;
  const short = <T extends { id: string }>(x: T) =>
    withShortIds(s, [x])[0] as T & { short_id: string };
  // A task with its own short id and its context doc's, as `heph show` prints them.
  const shortView = <T extends { id: string; context: string | null }>(t: T) => {
    const ids = shortIds(s.store, t.context === null ? [t.id] : [t.id, t.context]);
    const context_short_id = t.context === null ? null : (ids.get(t.context) ?? t.context);
    return { ...t, short_id: ids.get(t.id) ?? t.id, context_short_id };
  };
  const shortTask = <T extends { task: TaskView }>(r: T) => ({ ...r, task: shortView(r.task) });
  const shortList = <T extends { tasks: { id: string }[] }>(r: T) => ({
    ...r,
    tasks: withShortIds(s, r.tasks),
  });
  return [
    defineMethod({
      name: 'task.create',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Creates a task and its context doc.',
      params: z.strictObject({
        title: Title.min(1),
        body: z.string().optional(),
        ...TaskFields,
        project: z.string().min(1).nullable().optional().describe('a project id or title'),
        tags: z.array(TagName).max(100).optional(),
        today: Today,
      }),
      result: R.CreateTaskResult,
      handler: (p) => {
        const { today, ...input } = p;
        return shortTask(s.model.createTask(defined(input), today));
      },
    }),
    defineMethod({
      name: 'task.get',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'A task with its context doc, log doc, project and tags.',
      params: z.strictObject({ id: NodeRef }),
      result: R.TaskResult,
      handler: (p) => shortView(s.model.getTask(task(p.id))),
    }),
    defineMethod({
      name: 'task.update',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary:
        "Changes a task's title, body, attention, dates, recurrence, aliases or project, as one " +
        'change (a project that does not exist, or any bad field, changes nothing).',
      params: z.strictObject({
        id: NodeRef,
        title: Title.min(1).optional(),
        body: z.string().optional(),
        base_version: BaseVersion.optional(),
        ...TaskFields,
        aliases: Aliases.optional(),
        project: z
          .string()
          .min(1)
          .nullable()
          .optional()
          .describe('a project id or title; null takes the task out of any project'),
        today: Today,
        update_links: z.boolean().optional(),
      }),
      result: R.TaskChanged,
      handler: (p) => {
        const { id, today, update_links, ...patch } = p;
        return shortView(s.model.updateTask(task(id), defined(patch), today, update_links ?? true));
      },
    }),
    defineMethod({
      name: 'task.done',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Completes a task; a recurring one rolls forward to its next date instead.',
      params: z.strictObject({ id: NodeRef, today: Today }),
      result: R.CompleteResult,
      handler: (p) => shortTask(s.model.completeTask(task(p.id), p.today)),
    }),
    defineMethod({
      name: 'task.skip',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Skips this occurrence of a recurring task (nothing is logged).',
      params: z.strictObject({ id: NodeRef, today: Today }),
      result: R.CompleteResult,
      handler: (p) => shortTask(s.model.skipTask(task(p.id), p.today)),
    }),
    defineMethod({
      name: 'task.drop',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Drops a task (ends a recurring one).',
      params: z.strictObject({ id: NodeRef }),
      result: R.TaskResult,
      handler: (p) => shortView(s.model.dropTask(task(p.id))),
    }),
    defineMethod({
      name: 'task.reopen',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Makes a done or dropped task outstanding again.',
      params: z.strictObject({ id: NodeRef }),
      result: R.TaskResult,
      handler: (p) => shortView(s.model.reopenTask(task(p.id))),
    }),
    defineMethod({
      name: 'task.delete',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Moves a task to the trash with its context doc (node.restore brings both back).',
      params: z.strictObject({ id: NodeRef }),
      result: R.TaskResult,
      handler: (p) => shortView(s.model.deleteTask(task(p.id))),
    }),
    defineMethod({
      name: 'task.set_project',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Moves a task into a project, or out of any (project: null).',
      params: z.strictObject({ id: NodeRef, project: z.string().min(1).nullable() }),
      result: R.TaskResult,
      handler: (p) => shortView(s.model.setTaskProject(task(p.id), p.project)),
    }),
    defineMethod({
      name: 'add',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Quick add: "Pay rent tomorrow !red #Home +bills every month".',
      params: z.strictObject({
        text: z.string().min(1).max(2000),
        today: Today,
        strict: z.boolean().optional(),
        dry_run: z.boolean().optional(),
      }),
      result: R.QuickAddResult,
      handler: (p) => {
        const opts = { strict: p.strict === true };
        if (p.dry_run === true) return s.model.previewQuickAdd(p.text, p.today, opts);
        const r = shortTask(s.model.quickAdd(p.text, p.today, opts));
        return { ...r, project: r.project === null ? null : short(r.project) };
      },
    }),
    defineMethod({
      name: 'next',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'What to do next: actionable tasks in rank order (red tasks are never cut).',
      params: z
        .strictObject({
          limit: z.number().int().min(1).max(1000).optional(),
          today: Today,
          form: z
            .enum(['objects', 'rows', 'lines'])
            .optional()
            .describe(
              'rows: each task as an array of the fields a list prints, named once in columns; ' +
                'lines: the list as the CLI prints it, one text (objects, the default: each ' +
                'task an object)',
            ),
          color: z
            .boolean()
            .optional()
            .describe('form lines only: ANSI colours in the text, as on a terminal'),
        })
        .refine((p) => p.color === undefined || p.form === 'lines', {
          path: ['color'],
          message: 'color is only for form "lines"',
        }),
      result: z.union([
        R.TaskListResult.describe('without form, or form objects'),
        R.TaskRowsResult,
        R.TaskLinesResult,
      ]),
      handler: (p) => {
        const { form, color, ...opts } = p;
        // Each form straight from the ranked tasks: no summary made only to be copied.
        const r = s.model.nextTasks(defined(opts));
        const ids = shortIds(
          s.store,
          r.tasks.map((t) => t.id),
        );
        const shortOf = (id: string) => ids.get(id) ?? id;
        // `coming` (present, possibly null, when nothing is actionable) with its short id.
        const coming =
          r.coming === undefined ? {} : { coming: r.coming && short(taskSummary(r.coming)) };
        if (form === 'lines') {
          const text = taskLines(r.tasks, shortOf, color === true, r.today);
          return { today: r.today, count: r.tasks.length, text, ...coming };
        }
        if (form !== 'rows') {
          const tasks = r.tasks.map((t) =>
            Object.assign(taskSummary(t), { short_id: shortOf(t.id) }),
          );
          return { today: r.today, tasks, ...coming };
        }
        return {
          today: r.today,
          columns: TASK_ROW_COLUMNS,
          rows: r.tasks.map((t) => taskRow(t, shortOf(t.id))),
          ...coming,
        };
      },
    }),
    defineMethod({
      name: 'list',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'Tasks matching a filter, in rank order.',
      params: z.strictObject({
        filter: z
          .strictObject({
            attention_include: z.array(Attention).optional(),
            attention_exclude: z.array(Attention).optional(),
            state: z.union([State, z.array(State)]).optional(),
            actionable_today: z.boolean().optional(),
            project: z
              .string()
              .min(1)
              .optional()
              .describe('a project id or title; includes sub-projects'),
          })
          .optional(),
        today: Today,
      }),
      result: R.TaskListResult,
      handler: (p) =>
        shortList(
          s.model.list(
            defined({ filter: p.filter && defined(p.filter), today: p.today }) as Parameters<
              typeof s.model.list
            >[0],
          ),
        ),
    }),
    defineMethod({
      name: 'view',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: `A named view (${VIEW_NAMES.join(', ')}); without a name, the list of views.`,
      params: z.strictObject({ name: z.enum(VIEW_NAMES).optional(), today: Today }),
      result: R.ViewResult,
      handler: (p) => (p.name ? shortList(s.model.view(p.name, p.today)) : s.model.view()),
    }),
  ];
}
