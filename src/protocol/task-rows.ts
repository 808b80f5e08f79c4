// The row form of a task list (`next` with form "rows"): each task an array of the fields a
// list prints, in TASK_ROW_COLUMNS order, instead of an object that repeats every key and
// carries the full id and creation time. A client that prints the list (the CLI) asks for it:
// for the 1,642 tasks of a large `heph next` the reply is about a third of the object form,
// which both sides pay for in serializing, parsing and garbage collection.

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

/** The rows of a reply back as objects keyed by `columns` (those the server named). */
export function rowsAsObjects(columns: unknown, rows: unknown): Record<string, unknown>[] {
  if (!Array.isArray(columns) || !Array.isArray(rows)) return [];
  const keys = columns.map(String);
  return rows.filter(Array.isArray).map((row: unknown[]) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) o[keys[i]!] = row[i];
    return o;
  });
}
