// Dates as the user types them (YYYY-MM-DD, today, tomorrow, yesterday, weekday names, +3d,
// +2w, +1m, +1y) turned into calendar dates, relative to the user's local day. Pure: `today` is
// passed in (see localDay in context.ts). Weekday names mean the next such day strictly after today, as in quick-add.

import { addDays, addMonths, assertDate, nextWeekday, parseWeekdayName } from '../core/dates.js';
import { HephError } from '../core/errors.js';

export function parseDateArg(input: string, today: string, field = 'date'): string {
  const w = input.trim().toLowerCase();
  if (w === 'today') return today;
  if (w === 'tomorrow') return addDays(today, 1);
  if (w === 'yesterday') return addDays(today, -1);
  const wd = parseWeekdayName(w);
  if (wd !== undefined) return nextWeekday(today, wd);
  const rel = /^([+-])(\d{1,4})([dwmy])$/.exec(w);
  if (rel) {
    const n = Number(rel[2]) * (rel[1] === '-' ? -1 : 1);
    if (rel[3] === 'd') return addDays(today, n);
    if (rel[3] === 'w') return addDays(today, 7 * n);
    if (rel[3] === 'm') return addMonths(today, n);
    return addMonths(today, 12 * n);
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(w)) return assertDate(w, field);
  throw new HephError(
    'invalid_params',
    `${field}: ${JSON.stringify(input)} is not a date (use YYYY-MM-DD, today, tomorrow, a weekday, or +3d/+2w/+1m)`,
    { field },
  );
}

/** Like parseDateArg, but `none` (or an empty string) clears the date. */
export function parseDateOrNone(input: string, today: string, field: string): string | null {
  const w = input.trim().toLowerCase();
  if (w === '' || w === 'none' || w === 'clear') return null;
  return parseDateArg(input, today, field);
}
