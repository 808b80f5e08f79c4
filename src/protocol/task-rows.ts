// The row form of a task list (`next` with form "rows"): each task an array of the fields a
// list prints, in TASK_ROW_COLUMNS order, instead of an object that repeats every key and
// carries the full id and creation time: about a third of the object form for a long list. The
// CLI of the release before asks for it; the CLI now asks for the lines form (task-lines.ts).

import { TASK_FIELDS } from '../core/fields.js';

export const TASK_ROW_COLUMNS = ['short_id', 'title', ...TASK_FIELDS] as const;

export type TaskRowColumn = (typeof TASK_ROW_COLUMNS)[number];

/** A task summary as its row: the values of TASK_ROW_COLUMNS in order. */
export function taskRow(
  t: Record<Exclude<TaskRowColumn, 'short_id'>, string | null>,
  shortId: string,
): (string | null)[] {
  return [shortId, t.title, t.state, t.attention, t.do_date, t.late_on, t.recurrence];
}
