// The shapes the model returns. Field names are snake_case because they go on the wire as-is.

import type { Attention, TaskState } from '../core/fields.js';
import type { NodeKind } from '../core/ids.js';
import type { ViewName } from '../core/rank.js';

/** A task with everything linked to it. */
export interface TaskView {
  id: string;
  title: string;
  /** The task's note: its context doc's body (see model/items.ts). */
  body: string;
  /** The note's version: what an editor sends back as `base_version` when it saves. */
  body_version: string;
  /**
   * Text an earlier version stored in the task itself, when the note is the context doc and this
   * is not empty (shown so it is not lost from sight).
   */
  own_body?: string;
  state: TaskState;
  attention: Attention;
  do_date: string | null;
  late_on: string | null;
  recurrence: string | null;
  /** The series start: the do_date when the recurrence was set. */
  recurrence_anchor: string | null;
  /** The context doc's id. */
  context: string | null;
  /** The log doc's id, once something has been logged. */
  log: string | null;
  project: string | null;
  /** Tag names. */
  tags: string[];
  deleted: boolean;
  created: string;
  updated: string;
}

/** A task as lists show it (read in bulk, without links or body). */
export interface TaskSummary {
  id: string;
  title: string;
  state: TaskState;
  attention: Attention;
  do_date: string | null;
  late_on: string | null;
  recurrence: string | null;
  created: string;
}

export interface CreateTaskInput {
  title: string;
  body?: string;
  attention?: Attention;
  do_date?: string | null;
  late_on?: string | null;
  recurrence?: string | null;
  /** A project id or exact title. */
  project?: string | null;
  tags?: string[];
}

export interface TaskPatch {
  title?: string;
  body?: string;
  /** The body_version the body was read at (see NodePatch). */
  base_version?: string;
  attention?: Attention;
  do_date?: string | null;
  late_on?: string | null;
  recurrence?: string | null;
  aliases?: string[];
  /** A project id or title; null takes the task out of any project. */
  project?: string | null;
}

export interface CreateTaskResult {
  task: TaskView;
  /** The context doc's id. */
  context: string;
  /** Said when another item already has the title (lookups by it then find more than one). */
  warnings?: string[];
}

export interface CompleteResult {
  task: TaskView;
  /** True when a recurring task rolled forward instead of being closed. */
  rolled: boolean;
  /** The new do_date after a roll; null otherwise. */
  next_do_date: string | null;
}

export interface ProjectView {
  id: string;
  title: string;
  parent: string | null;
  /** Live tasks directly in this project, whatever their state. */
  tasks: number;
  /** Of those, the outstanding ones. */
  outstanding: number;
}

export interface CreateProjectInput {
  title: string;
  /** A project id or exact title. */
  parent?: string | null;
}

export interface TagInfo {
  name: string;
  id: string;
  /** Live nodes carrying the tag. */
  count: number;
}

export interface NodeTags {
  id: string;
  tags: string[];
}

export interface JournalView {
  id: string;
  date: string;
  title: string;
  body: string;
  /** The body's version: what an editor sends back as `base_version` when it saves. */
  body_version: string;
  created: string;
  updated: string;
}

export interface OpenJournalResult {
  journal: JournalView;
  created: boolean;
  restored: boolean;
}

export interface LogEntry {
  date: string;
  text: string;
}

export interface TaskListResult {
  today: string;
  tasks: TaskSummary[];
  /** `next` only, when nothing is actionable: the first task whose do date is ahead, or null. */
  coming?: TaskSummary | null;
}

export interface ListFilter {
  attention_include?: Attention[];
  attention_exclude?: Attention[];
  state?: TaskState | TaskState[];
  actionable_today?: boolean;
  /** A project id or exact title; the scope includes its sub-projects. */
  project?: string;
}

export interface ViewInfo {
  name: ViewName;
  description: string;
}

export interface ViewResult extends TaskListResult {
  view: ViewName;
}

export interface QuickAddResult extends CreateTaskResult {
  project: { id: string; title: string } | null;
  created_project: boolean;
  /** Words after `every`, `on` or `due` kept in the title, and why. */
  warnings: string[];
}

/** What a quick add would create (dry run): nothing is written, so there are no ids yet. */
export interface QuickAddPreview {
  dry_run: true;
  task: {
    title: string;
    state: 'outstanding';
    attention: Attention;
    do_date: string | null;
    late_on: string | null;
    recurrence: string | null;
    tags: string[];
  };
  /** The project it would go in; id null when it would be created. */
  project: { id: string | null; title: string } | null;
  created_project: boolean;
  warnings: string[];
}

export interface NodeSummary {
  id: string;
  kind: NodeKind;
  title: string;
  deleted: boolean;
  updated: string;
}
