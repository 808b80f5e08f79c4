// Task lists: "what is next", filtered lists and the named views. Task rows are read with one
// SELECT on the nodes table (no per-task lookups) and ordered by core/rank, so a list over ten
// thousand tasks costs one query and one sort. "What is next" reads only the columns ranking
// needs, from a covering partial index over the candidates, and fetches titles for the few
// tasks it returns.

import { ATTENTIONS, TASK_STATES, type Attention, type TaskState } from '../core/fields.js';
import {
  applyView,
  DEFAULT_NEXT_LIMIT,
  filterTasks,
  isViewName,
  rankNext,
  sortByRank,
  VIEW_NAMES,
  VIEWS,
  type RankTask,
  type TaskFilter,
} from '../core/rank.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { prepared, type ModelContext } from './nodes.js';
import { findProject, projectScope, taskProjects } from './projects.js';
import type { TaskListResult, TaskSummary, ViewInfo, ViewResult } from './types.js';
import {
  bad,
  checkAttention,
  checkBoolean,
  checkInt,
  checkList,
  checkObject,
  checkState,
} from './validate.js';
import { kindSql } from '../store/index-terms.js';

interface TaskRow extends RankTask {
  title: string;
  recurrence: string | null;
}

/** A row as the SELECT below returns it, read in raw (array) mode: no per-row key objects. */
type RawRow = [
  id: string,
  state: string | null,
  attention: string | null,
  do_date: string | null,
  late_on: string | null,
  recurrence: string | null,
  created_ms: number,
  deleted: number,
  title: string,
];

const SELECT_TASKS = `SELECT id, state, attention, do_date, late_on, recurrence, created_ms, deleted,
  title FROM nodes WHERE ${kindSql('', 'task')} AND deleted = 0`;

/** The columns ranking reads. */
type RankRow = [
  id: string,
  state: string | null,
  attention: string | null,
  do_date: string | null,
  late_on: string | null,
  created_ms: number,
  deleted: number,
];

// The candidates for "next", narrowed in SQL; core/rank applies the same test again and does
// all the ordering. The WHERE terms before the do_date test repeat the partial index
// nodes_next_candidates word for word (SQLite only uses a partial index whose WHERE the query
// contains), and the selected columns are all in that index, so no table row is read. The rows
// come back as one JSON array: handing thousands of rows to JavaScript value by value costs
// about twice as much as one string and JSON.parse.
const SELECT_CANDIDATES = `SELECT json_group_array(
    json_array(id, state, attention, do_date, late_on, created_ms, deleted))
  FROM nodes WHERE kind = 'task' AND deleted = 0
  AND coalesce(state, 'outstanding') = 'outstanding' AND coalesce(attention, 'white') != 'blue'
  AND (do_date IS NULL OR do_date <= ?)`;
const SELECT_SHOWN = `SELECT id, title, recurrence FROM nodes
  WHERE id IN (SELECT value FROM json_each(?))`;
// When nothing is next: the first task whose do date is still ahead (the same candidates).
const SELECT_COMING = `SELECT id, state, attention, do_date, late_on, recurrence, created_ms, deleted,
  title FROM nodes WHERE kind = 'task' AND deleted = 0
  AND coalesce(state, 'outstanding') = 'outstanding' AND coalesce(attention, 'white') != 'blue'
  AND do_date > ? ORDER BY do_date, created_ms, id LIMIT 1`;

function toRow(r: RawRow): TaskRow {
  return {
    id: r[0],
    state: (r[1] ?? 'outstanding') as TaskState,
    attention: (r[2] ?? 'white') as Attention,
    do_date: r[3],
    late_on: r[4],
    recurrence: r[5],
    created_ms: r[6],
    deleted: r[7] === 1,
    title: r[8],
  };
}

function toRankTask(r: RankRow): RankTask {
  return {
    id: r[0],
    state: (r[1] ?? 'outstanding') as TaskState,
    attention: (r[2] ?? 'white') as Attention,
    do_date: r[3],
    late_on: r[4],
    created_ms: r[5],
    deleted: r[6] === 1,
  };
}

function readTasks(store: SqliteStore, sql: string, ...params: string[]): TaskRow[] {
  const rows = prepared(store, sql)
    .raw()
    .all(...params) as RawRow[];
  return rows.map(toRow);
}

function summary(t: RankTask, title: string, recurrence: string | null): TaskSummary {
  return {
    id: t.id,
    title,
    state: t.state,
    attention: t.attention,
    do_date: t.do_date,
    late_on: t.late_on,
    recurrence,
    created: new Date(t.created_ms).toISOString(),
  };
}

const fullSummary = (t: TaskRow): TaskSummary => summary(t, t.title, t.recurrence);

function liveTasks(store: SqliteStore): TaskRow[] {
  return readTasks(store, SELECT_TASKS);
}

export function next(ctx: ModelContext, opts: unknown): TaskListResult {
  const o = checkObject(opts, 'params', ['limit', 'today']);
  const limit = o.limit === undefined ? DEFAULT_NEXT_LIMIT : checkInt(o.limit, 'limit', 0, 10_000);
  const today = ctx.today(o.today);
  const { store } = ctx;
  // One read transaction, so the titles come from the same snapshot as the candidates.
  let coming: TaskSummary | null | undefined;
  const tasks = store.connection.transaction(() => {
    const json = prepared(store, SELECT_CANDIDATES).pluck().get(today) as string;
    const rows = JSON.parse(json) as RankRow[];
    if (rows.length === 0) {
      const first = readTasks(store, SELECT_COMING, today)[0];
      coming = first === undefined ? null : fullSummary(first);
      return [];
    }
    const ranked = rankNext(rows.map(toRankTask), today, limit);
    if (ranked.length === 0) return [];
    const shown = prepared(store, SELECT_SHOWN)
      .raw()
      .all(JSON.stringify(ranked.map((t) => t.id))) as [string, string, string | null][];
    const text = new Map(shown.map((r) => [r[0], r]));
    return ranked.map((t) => {
      const r = text.get(t.id)!;
      return summary(t, r[1], r[2]);
    });
  })();
  return coming === undefined ? { today, tasks } : { today, tasks, coming };
}

const FILTER_KEYS = [
  'attention_include',
  'attention_exclude',
  'state',
  'actionable_today',
  'project',
] as const;

const oneAttention = (v: unknown, f: string): Attention => checkAttention(v, f);
const oneState = (v: unknown, f: string): TaskState => checkState(v, f);

export function list(ctx: ModelContext, opts: unknown): TaskListResult {
  const o = checkObject(opts, 'params', ['filter', 'today']);
  const f = checkObject(o.filter, 'filter', FILTER_KEYS);
  const filter: TaskFilter = {};
  if (f.attention_include !== undefined) {
    filter.attention_include = checkList(
      f.attention_include,
      'filter.attention_include',
      oneAttention,
      ATTENTIONS.length,
    );
  }
  if (f.attention_exclude !== undefined) {
    filter.attention_exclude = checkList(
      f.attention_exclude,
      'filter.attention_exclude',
      oneAttention,
      ATTENTIONS.length,
    );
  }
  if (f.state !== undefined) {
    filter.state = Array.isArray(f.state)
      ? checkList(f.state, 'filter.state', oneState, TASK_STATES.length)
      : checkState(f.state, 'filter.state');
  }
  if (f.actionable_today !== undefined) {
    filter.actionable_today = checkBoolean(f.actionable_today, 'filter.actionable_today');
  }
  const today = ctx.today(o.today);
  const project =
    f.project === undefined ? null : findProject(ctx.store, f.project, 'filter.project');
  let rows = filterTasks(liveTasks(ctx.store), filter, today);
  if (project) {
    const scope = projectScope(ctx.store, project.id);
    const placed = taskProjects(ctx.store);
    rows = rows.filter((t) => {
      const p = placed.get(t.id)?.project;
      return p !== undefined && scope.has(p);
    });
  }
  return { today, tasks: sortByRank(rows, today).map(fullSummary) };
}

export function viewList(): ViewInfo[] {
  return VIEW_NAMES.map((name) => ({ name, description: VIEWS[name].description }));
}

export function view(ctx: ModelContext, name: unknown, today: unknown): ViewResult {
  if (!isViewName(name)) throw bad('name', `must be one of ${VIEW_NAMES.join(', ')}`);
  const day = ctx.today(today);
  return {
    view: name,
    today: day,
    tasks: applyView(liveTasks(ctx.store), name, day).map(fullSummary),
  };
}
