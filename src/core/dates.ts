// Calendar dates as 'YYYY-MM-DD' strings. All arithmetic goes through a day number (days since
// 1970-01-01, proleptic Gregorian) computed with integer formulas, so results never depend on
// the process's time zone or on daylight-saving rules. Every function rejects strings that are
// not real calendar dates (2026-02-30) with an invalid_params HephError.

import { HephError } from './errors.js';
import { isValidDate } from './ids.js';

export interface CalendarDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** 0 = Sunday … 6 = Saturday, the same numbering as `Date.prototype.getUTCDay`. */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export const MS_PER_DAY = 86_400_000;
/** Day numbers of 0000-01-01 and 9999-12-31: the range a 'YYYY-MM-DD' string can hold. */
export const MIN_DAY_NUMBER = -719_528;
export const MAX_DAY_NUMBER = 2_932_896;

function badDate(s: string, field: string): HephError {
  return new HephError(
    'invalid_params',
    `${field} ${JSON.stringify(s)} is not a calendar date (YYYY-MM-DD)`,
    { field },
  );
}

/** Parses a 'YYYY-MM-DD' string; `field` names the input in the error message. */
export function parseDate(s: string, field = 'date'): CalendarDate {
  if (!isValidDate(s)) throw badDate(s, field);
  return { year: Number(s.slice(0, 4)), month: Number(s.slice(5, 7)), day: Number(s.slice(8, 10)) };
}

/** Throws unless `s` is a calendar date; returns it unchanged for chaining. */
export function assertDate(s: string, field = 'date'): string {
  if (!isValidDate(s)) throw badDate(s, field);
  return s;
}

export function formatDate(d: CalendarDate): string {
  const s = `${String(d.year).padStart(4, '0')}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
  if (!Number.isInteger(d.year) || d.year < 0 || d.year > 9999 || !isValidDate(s)) {
    throw new HephError(
      'invalid_params',
      `${d.year}-${d.month}-${d.day} is not a calendar date between 0000-01-01 and 9999-12-31`,
      { field: 'date' },
    );
  }
  return s;
}

function daysFromCivil(y0: number, m: number, d: number): number {
  // Howard Hinnant's days_from_civil: years start in March so the leap day is last.
  const y = m <= 2 ? y0 - 1 : y0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The proleptic Gregorian date of a day number (days since 1970-01-01; H. Hinnant's
 *  civil_from_days). */
export function civilFromDays(n: number): CalendarDate {
  const z = n + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}

/** Days since 1970-01-01 (negative before it). */
export function toDayNumber(s: string, field = 'date'): number {
  const { year, month, day } = parseDate(s, field);
  return daysFromCivil(year, month, day);
}

export function fromDayNumber(n: number): string {
  if (!Number.isSafeInteger(n) || n < MIN_DAY_NUMBER || n > MAX_DAY_NUMBER) {
    throw new HephError('invalid_params', `day number ${n} is outside 0000-01-01 … 9999-12-31`, {
      field: 'date',
    });
  }
  return formatDate(civilFromDays(n));
}

export function addDays(s: string, days: number): string {
  if (!Number.isSafeInteger(days)) {
    throw new HephError('invalid_params', `days must be an integer, got ${days}`, {
      field: 'days',
    });
  }
  return fromDayNumber(toDayNumber(s) + days);
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Moves by whole months; a day past the end of the target month clamps to its last day. */
export function addMonths(s: string, months: number): string {
  if (!Number.isSafeInteger(months)) {
    throw new HephError('invalid_params', `months must be an integer, got ${months}`, {
      field: 'months',
    });
  }
  const { year, month, day } = parseDate(s);
  const index = year * 12 + (month - 1) + months;
  const y = Math.floor(index / 12);
  const m = index - y * 12 + 1;
  return formatDate({ year: y, month: m, day: Math.min(day, daysInMonth(y, m)) });
}

/** -1, 0 or 1. Valid dates compare like their strings; this also checks both are dates. */
export function compareDates(a: string, b: string): -1 | 0 | 1 {
  assertDate(a, 'date');
  assertDate(b, 'date');
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `to` minus `from` in days: daysBetween('2026-01-01', '2026-01-03') === 2. */
export function daysBetween(from: string, to: string): number {
  return toDayNumber(to) - toDayNumber(from);
}

export function weekday(s: string): Weekday {
  // 1970-01-01 was a Thursday (4).
  return ((((toDayNumber(s) + 4) % 7) + 7) % 7) as Weekday;
}

/** The first date strictly after `s` that falls on `day`: 1 to 7 days later. */
export function nextWeekday(s: string, day: Weekday): string {
  const delta = (((day - weekday(s)) % 7) + 7) % 7;
  return addDays(s, delta === 0 ? 7 : delta);
}

/** Midnight UTC of the date, in epoch milliseconds. */
export function dateToUtcMs(s: string): number {
  return toDayNumber(s) * MS_PER_DAY;
}

/** The UTC calendar date containing the instant `ms`. */
export function utcMsToDate(ms: number): string {
  if (!Number.isFinite(ms)) {
    throw new HephError('invalid_params', `time ${ms} is not a finite number`, { field: 'ms' });
  }
  return fromDayNumber(Math.floor(ms / MS_PER_DAY));
}

export function maxDate(a: string, b: string): string {
  return compareDates(a, b) >= 0 ? a : b;
}

const WEEKDAY_WORDS: Readonly<Record<string, Weekday>> = {
  sun: 0,
  sunday: 0,
  mon: 1,
  monday: 1,
  tue: 2,
  tues: 2,
  tuesday: 2,
  wed: 3,
  wednesday: 3,
  thu: 4,
  thur: 4,
  thurs: 4,
  thursday: 4,
  fri: 5,
  friday: 5,
  sat: 6,
  saturday: 6,
};

/** English weekday names, full or abbreviated (mon, tue/tues, thu/thur/thurs …), any case. */
export function parseWeekdayName(word: string): Weekday | undefined {
  const key = word.toLowerCase();
  return Object.hasOwn(WEEKDAY_WORDS, key) ? WEEKDAY_WORDS[key] : undefined;
}

const RELATIVE_RE = /^([+-])(\d{1,4})([dwmy])$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}$/;
/** `in 3 days`, `in 2 weeks`, `in a month`, `in 1 year` (singular or plural either way). */
const IN_RE = /^in (\d{1,4}|an?) (day|week|month|year)s?$/;

/** `today` moved by `n` days, weeks, months or years. */
function offset(today: string, n: number, unit: string): string {
  if (unit === 'd') return addDays(today, n);
  if (unit === 'w') return addDays(today, 7 * n);
  if (unit === 'm') return addMonths(today, n);
  return addMonths(today, 12 * n);
}

/**
 * One word of the date language: `YYYY-MM-DD`, `today`, `tomorrow`, `yesterday`, a weekday name
 * (the next such day, strictly after today) and `+3d`/`-2w`/`+1m`/`+1y` offsets, any case,
 * relative to `today`. Undefined when the word is none of these; an impossible `YYYY-MM-DD`
 * (2026-02-30) or a date out of range throws invalid_params.
 */
export function parseDateWord(word: string, today: string): string | undefined {
  const w = word.trim().toLowerCase();
  if (w === 'today') return today;
  if (w === 'tomorrow') return addDays(today, 1);
  if (w === 'yesterday') return addDays(today, -1);
  const wd = parseWeekdayName(w);
  if (wd !== undefined) return nextWeekday(today, wd);
  const rel = RELATIVE_RE.exec(w);
  if (rel) return offset(today, Number(rel[2]) * (rel[1] === '-' ? -1 : 1), rel[3]!);
  if (ISO_RE.test(w)) {
    if (!isValidDate(w)) {
      throw new HephError('invalid_params', `${w} is not a calendar date`, { field: 'date' });
    }
    return w;
  }
  return undefined;
}

/**
 * The one date language of the command line and quick add: a date word (parseDateWord), `next`
 * and a weekday name (the same day as the name alone), or `in N days|weeks|months|years`
 * (`in a week`: N is 1), the same days as `+Nd`/`+Nw`/`+Nm`/`+Ny`. Words are separated by
 * spaces, any case. Undefined when the phrase is none of these; errors as parseDateWord's.
 */
export function parseDatePhrase(phrase: string, today: string): string | undefined {
  const words = phrase.trim().toLowerCase().split(/\s+/);
  if (words.length === 1) return parseDateWord(words[0]!, today);
  if (words.length === 2 && words[0] === 'next' && parseWeekdayName(words[1]!) !== undefined) {
    return parseDateWord(words[1]!, today);
  }
  const m = IN_RE.exec(words.join(' '));
  if (m === null) return undefined;
  return offset(today, m[1] === 'a' || m[1] === 'an' ? 1 : Number(m[1]), m[2]![0]!);
}
