// "What is next" ranking and the named task views. Ranking is a total order (the task id breaks
// every tie), so every replica lists the same tasks in the same order for the same `today`.
// The order is one list of comparator entries, RANK_ORDER, so it can be retuned in one place.
// `do_date` is a gate (a task is not a candidate before it) and never affects the order;
// `late_on` is the only urgency signal.

import { assertDate, toDayNumber } from './dates.js';
import { HephError } from './errors.js';
import type { Attention, TaskState } from './fields.js';

export interface RankTask {
  id: string;
  state: TaskState;
  attention: Attention;
  do_date: string | null;
  late_on: string | null;
  created_ms: number;
  deleted: boolean;
}

export const DEFAULT_NEXT_LIMIT = 20;

/** What the comparators look at, computed once per task for a given `today`. */
export interface RankKey {
  readonly task: RankTask;
  /** `late_on` is set and before today. */
  readonly pastLateOn: boolean;
  /** Whole days since `late_on` when past it, else 0. */
  readonly daysOverdue: number;
}

export interface RankDimension {
  readonly name: string;
  /** Negative when `a` comes first. */
  readonly compare: (a: RankKey, b: RankKey) => number;
}

const ATTENTION_WEIGHT: Readonly<Record<Attention, number>> = {
  red: 0,
  orange: 1,
  white: 2,
  blue: 3,
};

/** The ranking, most significant dimension first. */
export const RANK_ORDER: readonly RankDimension[] = [
  { name: 'past_late_on', compare: (a, b) => Number(b.pastLateOn) - Number(a.pastLateOn) },
  { name: 'days_overdue', compare: (a, b) => b.daysOverdue - a.daysOverdue },
  {
    name: 'attention',
    compare: (a, b) => ATTENTION_WEIGHT[a.task.attention] - ATTENTION_WEIGHT[b.task.attention],
  },
  { name: 'oldest_first', compare: (a, b) => a.task.created_ms - b.task.created_ms },
  {
    name: 'id',
    compare: (a, b) => (a.task.id < b.task.id ? -1 : a.task.id > b.task.id ? 1 : 0),
  },
];

export function rankKey(task: RankTask, today: string): RankKey {
  return keyAt(task, toDayNumber(today, 'today'));
}

/**
 * late_on dates as day numbers, each distinct date parsed once: a list of thousands of tasks
 * holds a few dozen dates, and parsing one per task was most of the ranking's time.
 */
function dayNumbers(): (date: string) => number {
  const known = new Map<string, number>();
  return (date) => {
    let n = known.get(date);
    if (n === undefined) {
      n = toDayNumber(date, 'late_on');
      known.set(date, n);
    }
    return n;
  };
}

/** rankKey with today already turned into a day number (done once per ranking, not per task). */
function keyAt(
  task: RankTask,
  todayNumber: number,
  dayOf: (date: string) => number = dayNumbers(),
): RankKey {
  const overdue = task.late_on === null ? 0 : todayNumber - dayOf(task.late_on);
  return { task, pastLateOn: overdue > 0, daysOverdue: Math.max(0, overdue) };
}

function compareKeys(a: RankKey, b: RankKey): number {
  for (const dim of RANK_ORDER) {
    const c = dim.compare(a, b);
    if (c !== 0) return c;
  }
  return 0;
}

/** Comparator for sorting tasks in rank order as of `today`. */
export function compareTasks(a: RankTask, b: RankTask, today: string): number {
  return compareKeys(rankKey(a, today), rankKey(b, today));
}

/** Tasks in rank order (a new array; the input is not changed). */
export function sortByRank<T extends RankTask>(tasks: readonly T[], today: string): T[] {
  const day = toDayNumber(today, 'today');
  const dayOf = dayNumbers();
  return tasks
    .map((task) => keyAt(task, day, dayOf))
    .sort(compareKeys)
    .map((k) => k.task as T);
}

/** Inserts `k` into `sorted` (ascending rank order), keeping it sorted. */
function insertByRank(sorted: RankKey[], k: RankKey): void {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(sorted[mid] as RankKey, k) <= 0) lo = mid + 1;
    else hi = mid;
  }
  sorted.splice(lo, 0, k);
}

/** Outstanding, not deleted, not blue, and its do_date (if any) has arrived. */
export function isActionable(task: RankTask, today: string): boolean {
  return (
    task.state === 'outstanding' &&
    !task.deleted &&
    task.attention !== 'blue' &&
    (task.do_date === null || task.do_date <= today)
  );
}

/** Outstanding, not deleted, and past its late_on (whatever its attention or do_date). */
export function isOverdue(task: RankTask, today: string): boolean {
  return (
    task.state === 'outstanding' && !task.deleted && task.late_on !== null && task.late_on < today
  );
}

/** On deck: outstanding blue tasks, parked until someone raises their attention. */
export function isOnDeck(task: RankTask): boolean {
  return task.state === 'outstanding' && !task.deleted && task.attention === 'blue';
}

function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new HephError('invalid_params', `limit must be a whole number ≥ 0, got ${limit}`, {
      field: 'limit',
    });
  }
}

/**
 * What is next: actionable tasks in rank order, at most `limit` of them, except that red tasks
 * are never cut — every red candidate is returned even past the limit, still in rank order.
 */
export function rankNext<T extends RankTask>(
  tasks: readonly T[],
  today: string,
  limit: number = DEFAULT_NEXT_LIMIT,
): T[] {
  checkLimit(limit);
  assertDate(today, 'today');
  const day = toDayNumber(today, 'today');
  // One pass keeps the best `limit` candidates in order; red ones outside them are collected
  // and merged in at the end. Same result as sorting every candidate, without the full sort.
  const best: RankKey[] = [];
  const reds: RankKey[] = [];
  const dayOf = dayNumbers();
  for (const t of tasks) {
    if (!isActionable(t, today)) continue;
    const k = keyAt(t, day, dayOf);
    const last = best[best.length - 1];
    if (best.length < limit) {
      insertByRank(best, k);
    } else if (last && compareKeys(k, last) < 0) {
      best.pop();
      insertByRank(best, k);
      if (last.task.attention === 'red') reds.push(last);
    } else if (t.attention === 'red') {
      reds.push(k);
    }
  }
  if (reds.length === 0) return best.map((k) => k.task as T);
  return [...best, ...reds].sort(compareKeys).map((k) => k.task as T);
}

export type ViewName = 'actionable' | 'ondeck' | 'overdue' | 'all';
export const VIEW_NAMES: readonly ViewName[] = ['actionable', 'ondeck', 'overdue', 'all'];

export interface ViewDef {
  readonly name: ViewName;
  readonly description: string;
  /** Whether the task belongs in the view as of `today`. Results are shown in rank order. */
  readonly filter: (task: RankTask, today: string) => boolean;
}

export const VIEWS: Readonly<Record<ViewName, ViewDef>> = {
  actionable: {
    name: 'actionable',
    description: 'Outstanding tasks that can be done today: not blue, do date empty or arrived.',
    filter: isActionable,
  },
  ondeck: {
    name: 'ondeck',
    description: 'Outstanding blue tasks: parked, waiting for their attention to be raised.',
    filter: (task) => isOnDeck(task),
  },
  overdue: {
    name: 'overdue',
    description: 'Outstanding tasks whose late-on date has passed, most overdue first.',
    filter: isOverdue,
  },
  all: {
    name: 'all',
    description: 'Every task that is not deleted, whatever its state.',
    filter: (task) => !task.deleted,
  },
};

export function isViewName(v: unknown): v is ViewName {
  return typeof v === 'string' && (VIEW_NAMES as readonly string[]).includes(v);
}

/** The tasks in a named view, in rank order. */
export function applyView<T extends RankTask>(
  tasks: readonly T[],
  view: ViewName,
  today: string,
): T[] {
  const def = VIEWS[view];
  assertDate(today, 'today');
  return sortByRank(
    tasks.filter((t) => def.filter(t, today)),
    today,
  );
}

export interface TaskFilter {
  /** Keep only tasks with one of these attentions. */
  attention_include?: readonly Attention[];
  /** Drop tasks with any of these attentions. */
  attention_exclude?: readonly Attention[];
  /** Keep only tasks in this state (or one of these states). Omitted: any state. */
  state?: TaskState | readonly TaskState[];
  /** true: keep only tasks actionable today. false or omitted: no constraint. */
  actionable_today?: boolean;
}

/**
 * Applies a list filter; deleted tasks never pass. Keeps the input order (sort separately).
 * Project scope is not part of this: the store applies it before calling.
 */
export function filterTasks<T extends RankTask>(
  tasks: readonly T[],
  filter: TaskFilter,
  today: string,
): T[] {
  assertDate(today, 'today');
  const states =
    filter.state === undefined
      ? undefined
      : typeof filter.state === 'string'
        ? [filter.state]
        : filter.state;
  return tasks.filter(
    (t) =>
      !t.deleted &&
      (filter.attention_include === undefined || filter.attention_include.includes(t.attention)) &&
      (filter.attention_exclude === undefined || !filter.attention_exclude.includes(t.attention)) &&
      (states === undefined || states.includes(t.state)) &&
      (filter.actionable_today !== true || isActionable(t, today)),
  );
}
