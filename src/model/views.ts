// Task lists: "what is next", filtered lists and the named views. Task rows are read with one
// SELECT on the nodes table (no per-task lookups) and ordered by core/rank, so a list over ten
// thousand tasks costs one query and one sort. "What is next" reads only what it can show: the
// best few candidates by an ORDER BY ... LIMIT over a covering partial index and the red ones
// (never cut), so its cost follows what it returns, not how many tasks are candidates.

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

export interface TaskRow extends RankTask {
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

// The candidates for "next": what core/rank's isActionable keeps, narrowed in SQL. The terms
// before the do_date test repeat the partial index nodes_next_candidates word for word (SQLite
// only uses a partial index whose WHERE the query contains).
const CANDIDATE = `kind = 'task' AND deleted = 0
  AND coalesce(state, 'outstanding') = 'outstanding' AND coalesce(attention, 'white') != 'blue'
  AND (do_date IS NULL OR do_date <= @today)`;

/**
 * core/rank's RANK_ORDER in SQL, for the candidates as of @today: a late_on before today first,
 * the earliest first (most days overdue; dates are YYYY-MM-DD, so text order is day order),
 * then attention (red, orange, white), then the oldest, then the id. It only picks which
 * candidates reach core/rank, which orders what is shown; the property test in
 * test/model/next-rank.property.test.ts keeps the two equal.
 */
const RANK_ORDER_SQL = `CASE WHEN late_on < @today THEN late_on END IS NULL,
  CASE WHEN late_on < @today THEN late_on END,
  CASE attention WHEN 'red' THEN 0 WHEN 'orange' THEN 1 ELSE 2 END, created_ms, id`;

// What "next" can show, and no more: the first @top candidates in rank order (those that are
// not red), and every red candidate (red tasks are never cut). All of it is read from the
// covering index, never from the table's rows: the first part keeps @top rows in SQLite's
// sorter; the reds are found by state and attention, the index's own columns (a candidate's
// state is NULL or 'outstanding'). So a call reads and allocates in proportion to what it
// returns, not to the candidates: core/rank then ranks these rows exactly as it would rank all
// of them (the best @top of all candidates are among them, and so is every red one). Exported
// for the test of its query plan.
const SHOWN_COLUMNS =
  'id, state, attention, do_date, late_on, recurrence, created_ms, deleted, title';
export const SELECT_SHOWABLE = `SELECT * FROM (SELECT ${SHOWN_COLUMNS} FROM nodes WHERE ${CANDIDATE}
    ORDER BY ${RANK_ORDER_SQL} LIMIT @top) WHERE coalesce(attention, 'white') != 'red'
  UNION ALL
  SELECT ${SHOWN_COLUMNS} FROM nodes WHERE ${CANDIDATE} AND state IS NULL AND attention = 'red'
  UNION ALL
  SELECT ${SHOWN_COLUMNS} FROM nodes WHERE ${CANDIDATE} AND state = 'outstanding' AND attention = 'red'`;
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

function readTasks(store: SqliteStore, sql: string, ...params: string[]): TaskRow[] {
  const rows = prepared(store, sql)
    .raw()
    .all(...params) as RawRow[];
  return rows.map(toRow);
}

/** A task row as the summary lists return. */
export function taskSummary(t: TaskRow): TaskSummary {
  return {
    id: t.id,
    title: t.title,
    state: t.state,
    attention: t.attention,
    do_date: t.do_date,
    late_on: t.late_on,
    recurrence: t.recurrence,
    created: new Date(t.created_ms).toISOString(),
  };
}

function liveTasks(store: SqliteStore): TaskRow[] {
  return readTasks(store, SELECT_TASKS);
}

/** "What is next" as task rows (the fields a summary or a row form is made of). */
export interface NextTasks {
  today: string;
  tasks: TaskRow[];
  /** Present when nothing is next: the first task whose do date is ahead, or null. */
  coming?: TaskRow | null;
}

export function nextTasks(ctx: ModelContext, opts: unknown): NextTasks {
  const o = checkObject(opts, 'params', ['limit', 'today']);
  const limit = o.limit === undefined ? DEFAULT_NEXT_LIMIT : checkInt(o.limit, 'limit', 0, 10_000);
  const today = ctx.today(o.today);
  const { store } = ctx;
  // At least one row past a limit of 0, so no rows means no candidates (then `coming` is read).
  const params = { today, top: Math.max(limit, 1) };
  // One read transaction, so `coming` is read from the same snapshot as the candidates.
  return store.connection.transaction((): NextTasks => {
    const rows = prepared(store, SELECT_SHOWABLE).raw().all(params) as RawRow[];
    if (rows.length > 0) return { today, tasks: rankNext(rows.map(toRow), today, limit) };
    const first = readTasks(store, SELECT_COMING, today)[0];
    return { today, tasks: [], coming: first ?? null };
  })();
}

export function next(ctx: ModelContext, opts: unknown): TaskListResult {
  const r = nextTasks(ctx, opts);
  const tasks = r.tasks.map(taskSummary);
  if (r.coming === undefined) return { today: r.today, tasks };
  return { today: r.today, tasks, coming: r.coming && taskSummary(r.coming) };
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
  return { today, tasks: sortByRank(rows, today).map(taskSummary) };
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
    tasks: applyView(liveTasks(ctx.store), name, day).map(taskSummary),
  };
}
