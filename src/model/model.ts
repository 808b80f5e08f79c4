// The notes-and-tasks model: one facade over the store for the RPC layer and the CLI. Each
// method checks its arguments first (bad input: invalid_params naming the field, and nothing is
// written) and runs every multi-step change in one store transaction, so it commits whole or
// not at all. Methods whose answer depends on the day take an optional `today` (YYYY-MM-DD);
// without it, today is the clock's date in the model's time zone.

import { type ViewName } from '../core/rank.js';
import type { LinkRewrites } from './rename.js';
import type { Clock } from '../ports/clock.js';
import type { NodeView } from '../ports/store.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { appendToNode } from './append.js';
import { appendJournal, openJournal } from './journals.js';
import type { ModelContext } from './nodes.js';
import { createProject, deleteProject, getProject, listProjects, moveProject } from './projects.js';
import { previewQuickAdd, quickAdd, type QuickAddOptions } from './quick.js';
import { tagAdd, tagList, tagRemove } from './tags.js';
import { logAppend, logTail } from './task-log.js';
import {
  completeTask,
  createTask,
  deleteTask,
  dropTask,
  getTask,
  reopenTask,
  restoreTask,
  setTaskProject,
  skipTask,
  updateTask,
} from './tasks.js';
import { calendarDay, checkTimeZone, processTimeZone } from './today.js';
import { restore, trash } from './trash.js';
import type {
  CompleteResult,
  CreateProjectInput,
  CreateTaskInput,
  CreateTaskResult,
  ListFilter,
  LogEntry,
  NodeSummary,
  NodeTags,
  OpenJournalResult,
  ProjectView,
  QuickAddPreview,
  QuickAddResult,
  TagInfo,
  TaskListResult,
  TaskPatch,
  TaskView,
  ViewInfo,
  ViewResult,
} from './types.js';
import { checkDate } from './validate.js';
import { list, next, nextTasks, view, viewList, type NextTasks } from './views.js';

export type * from './types.js';

export interface ModelDeps {
  clock: Clock;
  /** IANA zone that defines "today"; default: the process's zone. */
  timeZone?: string;
}

export class Model {
  readonly store: SqliteStore;
  private zone: string | undefined;
  private readonly clock: Clock;
  private readonly ctx: ModelContext;

  constructor(store: SqliteStore, deps: ModelDeps) {
    this.store = store;
    this.clock = deps.clock;
    // A zone given is checked now; the process's own is looked up when first needed (the CLI
    // sends its day with every call, and the time zone data costs a daemon several MB).
    if (deps.timeZone !== undefined) this.zone = checkTimeZone(deps.timeZone);
    this.ctx = { store, today: (given) => this.today(given) };
  }

  /** The IANA zone that defines "today" when a call does not say. */
  get timeZone(): string {
    return (this.zone ??= checkTimeZone(processTimeZone()));
  }

  /** `given` after checking it, or the clock's calendar day in the model's zone. */
  today(given?: unknown): string {
    if (given === undefined) return calendarDay(this.timeZone, this.clock.now());
    return checkDate(given, 'today');
  }

  // ---- tasks ---------------------------------------------------------------------------------

  createTask(input: CreateTaskInput, today?: string): CreateTaskResult {
    return createTask(this.ctx, input, today);
  }

  getTask(id: string): TaskView {
    return getTask(this.ctx, id);
  }

  updateTask(
    id: string,
    patch: TaskPatch,
    today?: string,
    updateLinks = true,
  ): TaskView & Partial<LinkRewrites> {
    return updateTask(this.ctx, id, patch, today, updateLinks);
  }

  completeTask(id: string, today?: string): CompleteResult {
    return completeTask(this.ctx, id, today);
  }

  skipTask(id: string, today?: string): CompleteResult {
    return skipTask(this.ctx, id, today);
  }

  dropTask(id: string): TaskView {
    return dropTask(this.ctx, id);
  }

  reopenTask(id: string): TaskView {
    return reopenTask(this.ctx, id);
  }

  deleteTask(id: string): TaskView {
    return deleteTask(this.ctx, id);
  }

  restoreTask(id: string): TaskView {
    return restoreTask(this.ctx, id);
  }

  setTaskProject(taskId: string, project: string | null): TaskView {
    return setTaskProject(this.ctx, taskId, project);
  }

  // ---- projects ------------------------------------------------------------------------------

  createProject(input: CreateProjectInput): ProjectView {
    return createProject(this.ctx, input);
  }

  getProject(id: string): ProjectView {
    return getProject(this.ctx, id);
  }

  moveProject(id: string, parent: string | null): ProjectView {
    return moveProject(this.ctx, id, parent);
  }

  deleteProject(id: string): ProjectView {
    return deleteProject(this.ctx, id);
  }

  listProjects(): { projects: ProjectView[] } {
    return { projects: listProjects(this.store) };
  }

  // ---- tags ----------------------------------------------------------------------------------

  tagAdd(nodeId: string, name: string): NodeTags {
    return tagAdd(this.ctx, nodeId, name);
  }

  tagRemove(nodeId: string, name: string): NodeTags & { removed: boolean } {
    return tagRemove(this.ctx, nodeId, name);
  }

  tagList(nodeId?: string): { tags: TagInfo[] } {
    return { tags: tagList(this.ctx, nodeId) };
  }

  // ---- journals and task logs ----------------------------------------------------------------

  openJournal(date?: string): OpenJournalResult {
    return openJournal(this.ctx, date);
  }

  appendJournal(date: string | undefined, text: string): OpenJournalResult {
    return appendJournal(this.ctx, date, text);
  }

  /** Adds text at the end of a node's body, on a line of its own. */
  appendToNode(id: string, text: string): NodeView {
    return appendToNode(this.ctx, id, text);
  }

  logAppend(taskId: string, text: string, today?: string): LogEntry {
    return logAppend(this.ctx, taskId, text, today);
  }

  logTail(taskId: string, n?: number): { entries: LogEntry[] } {
    return { entries: logTail(this.ctx, taskId, n) };
  }

  // ---- lists and views -----------------------------------------------------------------------

  next(opts?: { limit?: number; today?: string }): TaskListResult {
    return next(this.ctx, opts);
  }

  /** `next` as task rows, for a caller that builds its own form of them (the row form). */
  nextTasks(opts?: { limit?: number; today?: string }): NextTasks {
    return nextTasks(this.ctx, opts);
  }

  list(opts?: { filter?: ListFilter; today?: string }): TaskListResult {
    return list(this.ctx, opts);
  }

  /** Without a name: the views there are. With one: its tasks in rank order. */
  view(): { views: ViewInfo[] };
  view(name: ViewName, today?: string): ViewResult;
  view(name?: ViewName, today?: string): { views: ViewInfo[] } | ViewResult {
    if (name === undefined) {
      if (today !== undefined) this.today(today);
      return { views: viewList() };
    }
    return view(this.ctx, name, today);
  }

  quickAdd(text: string, today?: string, opts?: QuickAddOptions): QuickAddResult {
    return quickAdd(this.ctx, text, today, opts);
  }

  previewQuickAdd(text: string, today?: string, opts?: QuickAddOptions): QuickAddPreview {
    return previewQuickAdd(this.ctx, text, today, opts);
  }

  // ---- trash ---------------------------------------------------------------------------------

  trash(): { nodes: NodeSummary[] } {
    return { nodes: trash(this.ctx) };
  }

  restore(id: string): NodeSummary {
    return restore(this.ctx, id);
  }
}
