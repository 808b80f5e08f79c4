// Dates as the user types them, turned into calendar dates relative to the user's local day
// (`today` is passed in; see localDay in context.ts). The words are core/dates' parseDatePhrase,
// the same language quick add reads.

import { parseDatePhrase } from '../core/dates.js';
import { HephError } from '../core/errors.js';

export function parseDateArg(input: string, today: string, field = 'date'): string {
  let date: string | undefined;
  try {
    date = parseDatePhrase(input, today);
  } catch (e) {
    if (e instanceof HephError) throw new HephError(e.code, `${field}: ${e.message}`, { field });
    throw e;
  }
  if (date !== undefined) return date;
  throw new HephError(
    'invalid_params',
    `${field}: ${JSON.stringify(input)} is not a date (use YYYY-MM-DD, today, tomorrow, yesterday, a weekday, next fri, +3d/-2d/+2w/+1m/+1y or in 3 days/2 weeks/a month; see heph help dates)`,
    { field },
  );
}

/** Like parseDateArg, but `none` (or an empty string) clears the date. */
export function parseDateOrNone(input: string, today: string, field: string): string | null {
  const w = input.trim().toLowerCase();
  if (w === '' || w === 'none' || w === 'clear') return null;
  return parseDateArg(input, today, field);
}
