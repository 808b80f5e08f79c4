// Tasks: creation with their context doc, edits, and the state changes. A recurring task is
// one node that rolls forward in place: completing it resets the checklist boxes, logs the
// occurrence and moves do_date to the first instance strictly after both today and the current
// do_date (core/recur), computed from the series start remembered in the extra field
// `recurrence_anchor` — so two devices completing the same occurrence compute the same date.

import { HephError } from '../core/errors.js';
import { uncheckBoxes } from '../core/extract.js';
import { isValidDate, type LinkType } from '../core/ids.js';
import { firstDoDate, nextDoDate } from '../core/recur.js';
import type { NodeInput, NodePatch, NodeView } from '../ports/store.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { noteOf, restoreItem, trashItem, updateItemLinked } from './items.js';
import type { LinkRewrites } from './rename.js';
import { sameTitleWarning } from './names.js';
import { firstLinkDst, requireNode, setOnlyLink, type ModelContext } from './nodes.js';
import { findProject } from './projects.js';
import { applyTag, tagName } from './tags.js';
import { appendToLog } from './task-log.js';
import type { CompleteResult, CreateTaskResult, TaskView } from './types.js';
import {
  bad,
  checkAttention,
  checkBody,
  checkDateOrNull,
  checkList,
  checkObject,
  checkRecurrence,
  checkTagName,
  checkTitle,
} from './validate.js';

export const ANCHOR_FIELD = 'recurrence_anchor';

export function taskView(store: SqliteStore, n: NodeView): TaskView {
  const anchor = n.extra[ANCHOR_FIELD];
  // One query for every outgoing link (in id order, so per type in destination order, as
  // firstLinkDst and tagsOf would read them) instead of one per link type.
  const out = store.links(n.id);
  const first = (type: LinkType): string | null => out.find((l) => l.type === type)?.dst ?? null;
  const note = noteOf(store, n);
  return {
    id: n.id,
    title: n.title,
    body: note.body,
    body_version: note.body_version,
    ...(note !== n && n.body !== '' && { own_body: n.body }),
    state: n.state ?? 'outstanding',
    attention: n.attention ?? 'white',
    do_date: n.do_date ?? null,
    late_on: n.late_on ?? null,
    recurrence: n.recurrence ?? null,
    recurrence_anchor: typeof anchor === 'string' ? anchor : null,
    context: first('canonical-context'),
    log: store.backlinks(n.id, 'log-of')[0]?.src ?? null,
    project: first('in-project'),
    tags: out.filter((l) => l.type === 'tagged').map((l) => tagName(l.dst)),
    deleted: n.deleted,
    created: n.created,
    updated: n.updated,
  };
}

/** A task creation request after every check, with its project resolved. */
export interface NewTask {
  title: string;
  body: string | undefined;
  attention: NodeView['attention'];
  do_date: string | null;
  late_on: string | null;
  recurrence: string | null;
  project: { id: string; title: string } | null;
  tags: string[];
}

const CREATE_KEYS = [
  'title',
  'body',
  'attention',
  'do_date',
  'late_on',
  'recurrence',
  'project',
  'tags',
] as const;

/** The first do_date of a rule set on a task without one; invalid_params when there is none. */
function startOf(rule: string, today: string): string {
  const first = firstDoDate(rule, today);
  if (first === null) throw bad('recurrence', `the rule has no dates on or after ${today}`);
  return first;
}

export function checkNewTask(store: SqliteStore, input: unknown, today: string): NewTask {
  const p = checkObject(input, 'params', CREATE_KEYS);
  const recurrence = p.recurrence === undefined ? null : checkRecurrence(p.recurrence);
  let doDate = p.do_date === undefined ? null : checkDateOrNull(p.do_date, 'do_date');
  if (recurrence !== null && doDate === null) doDate = startOf(recurrence, today);
  return {
    title: checkTitle(p.title),
    body: p.body === undefined ? undefined : checkBody(p.body),
    attention: p.attention === undefined ? undefined : checkAttention(p.attention),
    do_date: doDate,
    late_on: p.late_on === undefined ? null : checkDateOrNull(p.late_on, 'late_on'),
    recurrence,
    project: p.project == null ? null : findProject(store, p.project, 'project'),
    tags: p.tags === undefined ? [] : [...new Set(checkList(p.tags, 'tags', checkTagName, 100))],
  };
}

/** Writes a checked task, its context doc and its links. Call inside a transaction. */
export function insertTask(store: SqliteStore, t: NewTask): CreateTaskResult {
  const input: NodeInput = { kind: 'task', title: t.title };
  if (t.attention !== undefined) input.attention = t.attention;
  if (t.do_date !== null) input.do_date = t.do_date;
  if (t.late_on !== null) input.late_on = t.late_on;
  if (t.recurrence !== null) {
    input.recurrence = t.recurrence;
    if (t.do_date !== null) input.extra = { [ANCHOR_FIELD]: t.do_date };
  }
  const task = store.createNodeId(input);
  // The task's text is its context doc's body: the note people read and edit.
  const doc = store.createNodeId({
    kind: 'doc',
    title: t.title,
    ...(t.body !== undefined && { body: t.body }),
  });
  store.addLink(task, doc, 'canonical-context');
  if (t.project) store.addLink(task, t.project.id, 'in-project');
  for (const tag of t.tags) applyTag(store, task, tag);
  return { task: taskView(store, store.getNode(task)), context: doc };
}

export function createTask(ctx: ModelContext, input: unknown, today: unknown): CreateTaskResult {
  const t = checkNewTask(ctx.store, input, ctx.today(today));
  const warning = sameTitleWarning(ctx.store, t.title);
  const r = ctx.store.transaction(() => insertTask(ctx.store, t));
  return warning === undefined ? r : { ...r, warnings: [warning] };
}

export function getTask(ctx: ModelContext, id: unknown): TaskView {
  return taskView(ctx.store, requireNode(ctx.store, id, 'id', 'task', true));
}

const PATCH_KEYS = [
  'title',
  'body',
  'base_version',
  'attention',
  'do_date',
  'late_on',
  'recurrence',
  'aliases',
  'project',
] as const;

/**
 * Edits a task's fields, its aliases and its project (null: out of any) as one change: every
 * argument is checked (and the project found) before anything is written. Setting a recurrence
 * (re)starts its series at the do_date it will have (or, with none, at the rule's first date
 * from today); clearing it forgets the start.
 */
export function updateTask(
  ctx: ModelContext,
  id: unknown,
  patch: unknown,
  today: unknown,
  updateLinks = true,
): TaskView & Partial<LinkRewrites> {
  const day = ctx.today(today);
  const p = checkObject(patch, 'patch', PATCH_KEYS);
  if (!Object.values(p).some((v) => v !== undefined)) throw bad('patch', 'changes no field');
  const out: NodePatch = {};
  if (p.title !== undefined) out.title = checkTitle(p.title, 'patch.title');
  if (p.body !== undefined) out.body = checkBody(p.body, 'patch.body');
  if (p.base_version !== undefined) {
    if (typeof p.base_version !== 'string') throw bad('patch.base_version', 'must be a string');
    out.base_version = p.base_version;
  }
  if (p.attention !== undefined) out.attention = checkAttention(p.attention, 'patch.attention');
  if (p.do_date !== undefined) out.do_date = checkDateOrNull(p.do_date, 'patch.do_date');
  if (p.late_on !== undefined) out.late_on = checkDateOrNull(p.late_on, 'patch.late_on');
  if (p.aliases !== undefined) out.aliases = checkList(p.aliases, 'patch.aliases', checkAlias, 100);
  const rule =
    p.recurrence === undefined ? undefined : checkRecurrence(p.recurrence, 'patch.recurrence');
  const node = requireNode(ctx.store, id, 'id', 'task');
  const project =
    p.project === undefined || p.project === null
      ? p.project
      : findProject(ctx.store, p.project, 'project');
  if (rule === null) {
    out.recurrence = null;
    out.extra = { [ANCHOR_FIELD]: null };
  } else if (rule !== undefined) {
    const start = (out.do_date === undefined ? node.do_date : out.do_date) ?? startOf(rule, day);
    out.recurrence = rule;
    out.do_date = start;
    out.extra = { [ANCHOR_FIELD]: start };
  }
  // The text is the note's; the context doc's title follows the task's by itself.
  return ctx.store.transaction(() => {
    let rewrites: LinkRewrites = { links_updated: 0 };
    if (Object.keys(out).length > 0) {
      const { node: _after, ...r } = updateItemLinked(ctx.store, node, out, updateLinks);
      rewrites = r;
    }
    if (project !== undefined) moveToProject(ctx.store, node.id, project);
    const view = taskView(ctx.store, ctx.store.getNode(node.id));
    return out.title === undefined ? view : { ...view, ...rewrites };
  });
}

function checkAlias(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') throw bad(field, 'must be a non-empty string');
  if (v.length > 1024) throw bad(field, 'must be at most 1024 characters');
  return v;
}

/** Puts a task in `target` (null: in no project). Call inside a transaction. */
function moveToProject(store: SqliteStore, taskId: string, target: { id: string } | null): void {
  setOnlyLink(store, taskId, 'in-project', target?.id ?? null);
}

/** The next do_date of a recurring task, or null when its series has ended. */
function nextOccurrence(node: NodeView, today: string): string | null {
  const raw = node.extra[ANCHOR_FIELD];
  const current = node.do_date ?? null;
  const anchor = typeof raw === 'string' && isValidDate(raw) ? raw : (current ?? today);
  try {
    return nextDoDate({ rule: node.recurrence ?? '', anchor, current_do_date: current, today });
  } catch (e) {
    if (!(e instanceof HephError)) throw e;
    throw new HephError(
      'invalid_params',
      `task ${node.id} has a recurrence that cannot be evaluated (${e.message}); ` +
        'set a new one with a task update',
      { field: 'recurrence', id: node.id },
    );
  }
}

function resetBoxes(store: SqliteStore, id: string): void {
  const n = store.findNode(id);
  if (!n) return;
  const body = uncheckBoxes(n.body);
  if (body !== n.body) store.updateNode(id, { body });
}

function result(store: SqliteStore, id: string, next: string | null): CompleteResult {
  return { task: taskView(store, store.getNode(id)), rolled: next !== null, next_do_date: next };
}

/**
 * Done. A recurring outstanding task rolls forward instead: boxes in its context doc (and its
 * own body) are unchecked, the occurrence is logged, do_date moves on; when the series has no
 * more dates the task is done. Completing a done task changes nothing.
 */
export function completeTask(ctx: ModelContext, id: unknown, today: unknown): CompleteResult {
  const day = ctx.today(today);
  const node = requireNode(ctx.store, id, 'id', 'task');
  const store = ctx.store;
  if (node.recurrence == null || node.state !== 'outstanding') {
    if (node.state !== 'done') store.updateNode(node.id, { state: 'done' });
    return result(store, node.id, null);
  }
  const next = nextOccurrence(node, day);
  return store.transaction(() => {
    const context = firstLinkDst(store, node.id, 'canonical-context');
    if (context !== null) resetBoxes(store, context);
    resetBoxes(store, node.id);
    const due = node.do_date == null ? '' : ` (do date ${node.do_date})`;
    appendToLog(store, node, { date: day, text: `done${due}` });
    store.updateNode(node.id, next === null ? { state: 'done' } : { do_date: next });
    return result(store, node.id, next);
  });
}

/**
 * Skips a recurring task's current occurrence: do_date moves on as for completing, with no log
 * entry and the boxes as they are. When the series has no more dates the task is dropped.
 */
export function skipTask(ctx: ModelContext, id: unknown, today: unknown): CompleteResult {
  const day = ctx.today(today);
  const node = requireNode(ctx.store, id, 'id', 'task');
  if (node.recurrence == null) {
    throw bad('id', `task ${node.id} does not recur; complete or drop it instead`);
  }
  if (node.state !== 'outstanding') {
    throw bad('id', `task ${node.id} is ${node.state}; reopen it to skip an occurrence`);
  }
  const next = nextOccurrence(node, day);
  ctx.store.updateNode(node.id, next === null ? { state: 'dropped' } : { do_date: next });
  return result(ctx.store, node.id, next);
}

function setState(ctx: ModelContext, id: unknown, state: 'outstanding' | 'dropped'): TaskView {
  const node = requireNode(ctx.store, id, 'id', 'task');
  const n = node.state === state ? node : ctx.store.updateNode(node.id, { state });
  return taskView(ctx.store, n);
}

/** Dropped: the task leaves every list of things to do, and a recurring one stops rolling. */
export function dropTask(ctx: ModelContext, id: unknown): TaskView {
  return setState(ctx, id, 'dropped');
}

export function reopenTask(ctx: ModelContext, id: unknown): TaskView {
  return setState(ctx, id, 'outstanding');
}

/** Moves the task to the trash with its context doc (one item); its log doc stays. */
export function deleteTask(ctx: ModelContext, id: unknown): TaskView {
  const node = requireNode(ctx.store, id, 'id', 'task', true);
  return ctx.store.transaction(() => taskView(ctx.store, trashItem(ctx.store, node.id)));
}

/** Brings the task back from the trash with its context doc. */
export function restoreTask(ctx: ModelContext, id: unknown): TaskView {
  const node = requireNode(ctx.store, id, 'id', 'task', true);
  return ctx.store.transaction(() => taskView(ctx.store, restoreItem(ctx.store, node.id)));
}

/** Puts a task in a project (null: in none), replacing any project it was in. */
export function setTaskProject(ctx: ModelContext, taskId: unknown, project: unknown): TaskView {
  const task = requireNode(ctx.store, taskId, 'id', 'task');
  const target = project === null ? null : findProject(ctx.store, project, 'project');
  return ctx.store.transaction(() => {
    moveToProject(ctx.store, task.id, target);
    return taskView(ctx.store, ctx.store.getNode(task.id));
  });
}
