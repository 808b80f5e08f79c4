// Task recurrence: RFC 5545 RRULEs evaluated on calendar dates. Every date is a floating date
// handled as midnight UTC, so the result never depends on a device's time zone; the series
// starts (DTSTART) at the anchor — the do_date when the rule was set — so two devices completing
// the same occurrence compute the same next date. Rules are parsed here, strictly, and only the
// iteration is delegated to the `rrule` package (whose own parser accepts nonsense silently).
// The search is bounded (see "Bounding the search"): a rule that never matches again answers
// null quickly instead of walking every day up to year 9999.

import rrulePkg from 'rrule';
import type { Options as RRuleOptions, Weekday as RRuleWeekday } from 'rrule';
import {
  daysInMonth,
  fromDayNumber,
  MAX_DAY_NUMBER,
  MIN_DAY_NUMBER,
  MS_PER_DAY,
  parseWeekdayName,
  toDayNumber,
  type Weekday,
} from './dates.js';
import { HephError } from './errors.js';
import { isValidDate } from './ids.js';

// rrule ships CommonJS to Node: its named exports live on the default export.
const { RRule } = rrulePkg;

export type Freq = 'YEARLY' | 'MONTHLY' | 'WEEKLY' | 'DAILY';
export type DayCode = 'MO' | 'TU' | 'WE' | 'TH' | 'FR' | 'SA' | 'SU';

export interface ByDay {
  day: DayCode;
  /** 2MO = second Monday, -1FR = last Friday (only with MONTHLY or YEARLY). */
  n?: number;
}

export interface ParsedRecurrence {
  freq: Freq;
  interval: number;
  count?: number;
  /** Last possible date, inclusive. */
  until?: string;
  bymonth?: number[];
  byweekno?: number[];
  byyearday?: number[];
  bymonthday?: number[];
  byday?: ByDay[];
  bysetpos?: number[];
  wkst?: DayCode;
}

export const MAX_INTERVAL = 1000;
export const MAX_COUNT = 100_000;

const FREQS: readonly Freq[] = ['YEARLY', 'MONTHLY', 'WEEKLY', 'DAILY'];
const DAY_CODES: readonly DayCode[] = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
const TIME_PARTS = new Set(['BYHOUR', 'BYMINUTE', 'BYSECOND']);
const PART_ORDER = [
  'FREQ',
  'INTERVAL',
  'COUNT',
  'UNTIL',
  'BYMONTH',
  'BYWEEKNO',
  'BYYEARDAY',
  'BYMONTHDAY',
  'BYDAY',
  'BYSETPOS',
  'WKST',
] as const;
type Part = (typeof PART_ORDER)[number];

function fail(message: string): never {
  throw new HephError('invalid_params', `recurrence: ${message}`, { field: 'recurrence' });
}

function intIn(part: string, v: string, min: number, max: number, nonZero = false): number {
  if (!/^[+-]?\d{1,6}$/.test(v)) fail(`${part} value ${JSON.stringify(v)} is not a whole number`);
  const n = Number(v);
  if (n < min || n > max || (nonZero && n === 0)) {
    fail(`${part} value ${v} must be between ${min} and ${max}${nonZero ? ', not 0' : ''}`);
  }
  return n;
}

function intList(part: string, v: string, min: number, max: number, nonZero = false): number[] {
  return v.split(',').map((x) => intIn(part, x, min, max, nonZero));
}

function dayCode(part: string, v: string): DayCode {
  if (!(DAY_CODES as readonly string[]).includes(v)) {
    fail(`${part} value ${JSON.stringify(v)} is not a weekday (MO, TU, WE, TH, FR, SA, SU)`);
  }
  return v as DayCode;
}

function parseUntil(v: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T\d{6}Z?)?$/.exec(v);
  const date = m ? `${m[1]}-${m[2]}-${m[3]}` : '';
  if (!m || !isValidDate(date)) fail(`UNTIL value ${JSON.stringify(v)} is not a date (YYYYMMDD)`);
  return date;
}

/** Parses and checks an RRULE ('FREQ=…;…', optionally prefixed 'RRULE:'); throws on error. */
export function parseRecurrence(rule: string): ParsedRecurrence {
  if (typeof rule !== 'string') fail('must be a string');
  const text = rule.trim();
  if (/DTSTART/i.test(text))
    fail("must not contain DTSTART: the series starts at the task's do date");
  if (/[\r\n]/.test(text)) fail('must be a single RRULE line');
  const body = text.replace(/^RRULE:/i, '').toUpperCase();
  if (body === '') fail('is empty; expected a rule such as FREQ=WEEKLY');

  const parts = new Map<Part, string>();
  for (const piece of body.split(';')) {
    const m = /^([A-Z-]+)=([^=]+)$/.exec(piece);
    if (!m?.[1] || !m[2]) fail(`part ${JSON.stringify(piece)} is not NAME=VALUE`);
    const name = m[1];
    if (TIME_PARTS.has(name)) fail(`${name} is not supported: tasks recur on dates, not times`);
    if (!(PART_ORDER as readonly string[]).includes(name)) fail(`unknown part ${name}`);
    if (parts.has(name as Part)) fail(`${name} is given twice`);
    parts.set(name as Part, m[2]);
  }

  const freqText = parts.get('FREQ');
  if (freqText === undefined) fail('FREQ is required, e.g. FREQ=WEEKLY');
  if (!(FREQS as readonly string[]).includes(freqText)) {
    fail(`FREQ=${freqText} is not supported: use DAILY, WEEKLY, MONTHLY or YEARLY`);
  }
  const freq = freqText as Freq;
  const out: ParsedRecurrence = { freq, interval: 1 };
  for (const [name, v] of parts) {
    switch (name) {
      case 'FREQ':
        break;
      case 'INTERVAL':
        out.interval = intIn(name, v, 1, MAX_INTERVAL);
        break;
      case 'COUNT':
        out.count = intIn(name, v, 1, MAX_COUNT);
        break;
      case 'UNTIL':
        out.until = parseUntil(v);
        break;
      case 'BYMONTH':
        out.bymonth = intList(name, v, 1, 12);
        break;
      case 'BYWEEKNO':
        out.byweekno = intList(name, v, -53, 53, true);
        break;
      case 'BYYEARDAY':
        out.byyearday = intList(name, v, -366, 366, true);
        break;
      case 'BYMONTHDAY':
        out.bymonthday = intList(name, v, -31, 31, true);
        break;
      case 'BYSETPOS':
        out.bysetpos = intList(name, v, -366, 366, true);
        break;
      case 'WKST':
        out.wkst = dayCode(name, v);
        break;
      case 'BYDAY':
        out.byday = v.split(',').map((x) => {
          const m = /^([+-]?\d{1,2})?([A-Z]{2})$/.exec(x);
          if (!m?.[2]) fail(`BYDAY value ${JSON.stringify(x)} is not a weekday such as MO or 2TU`);
          const d: ByDay = { day: dayCode(name, m[2]) };
          if (m[1] !== undefined) d.n = intIn(name, m[1], -53, 53, true);
          return d;
        });
        break;
    }
  }
  checkCombination(out);
  return out;
}

function checkCombination(r: ParsedRecurrence): void {
  if (r.count !== undefined && r.until !== undefined) fail('COUNT and UNTIL cannot both be given');
  if (r.byweekno && r.freq !== 'YEARLY') fail('BYWEEKNO is only allowed with FREQ=YEARLY');
  if (r.byyearday && r.freq !== 'YEARLY') fail('BYYEARDAY is only allowed with FREQ=YEARLY');
  if (r.bymonthday && r.freq === 'WEEKLY') fail('BYMONTHDAY is not allowed with FREQ=WEEKLY');
  for (const d of r.byday ?? []) {
    if (d.n === undefined) continue;
    if (r.freq !== 'MONTHLY' && r.freq !== 'YEARLY') {
      fail(`BYDAY=${d.n}${d.day}: a numbered weekday needs FREQ=MONTHLY or YEARLY`);
    }
    if (r.byweekno) fail('a numbered weekday in BYDAY cannot be combined with BYWEEKNO');
    if (r.freq === 'MONTHLY' && Math.abs(d.n) > 5) {
      fail(`BYDAY=${d.n}${d.day}: a month has at most 5 of each weekday`);
    }
  }
  const bys = [r.bymonth, r.byweekno, r.byyearday, r.bymonthday, r.byday];
  if (r.bysetpos && bys.every((b) => b === undefined)) {
    fail('BYSETPOS needs another BY… part to choose from');
  }
  // Daily rules are walked day by day; these shapes could search for centuries in vain.
  if (r.freq === 'DAILY' && r.bysetpos) fail('BYSETPOS has nothing to choose from in a DAILY rule');
  if (r.freq === 'DAILY' && r.interval > 1 && bys.some((b) => b !== undefined)) {
    fail('a DAILY rule with INTERVAL cannot also have BY… parts');
  }
  const weekSet = r.byday?.length ?? 1;
  if (r.freq === 'WEEKLY' && r.bysetpos?.some((p) => Math.abs(p) > weekSet)) {
    fail(`BYSETPOS in a WEEKLY rule must be between -${weekSet} and ${weekSet}, not 0`);
  }
  if (r.freq === 'MONTHLY' && r.bysetpos?.some((p) => Math.abs(p) > 31)) {
    fail('BYSETPOS in a MONTHLY rule must be between -31 and 31, not 0');
  }
  if (r.bymonth && r.bymonthday) {
    const months = r.bymonth;
    // Feb 29 is possible (in leap years); Feb 30 or Apr 31 never are.
    const possible = r.bymonthday.some((md) =>
      months.some((m) => Math.abs(md) <= (m === 2 ? 29 : daysInMonth(2001, m))),
    );
    if (!possible) fail('BYMONTH and BYMONTHDAY never meet (such as February 30)');
  }
}

/** undefined when the rule is acceptable, else a message saying what is wrong. */
export function validateRecurrence(rule: string): string | undefined {
  try {
    parseRecurrence(rule);
    return undefined;
  } catch (e) {
    if (e instanceof HephError) return e.message;
    throw e;
  }
}

/** The canonical text of a rule: no 'RRULE:' prefix, upper case, parts in a fixed order. */
export function formatRecurrence(r: ParsedRecurrence): string {
  const parts: Record<Part, string | undefined> = {
    FREQ: r.freq,
    INTERVAL: r.interval === 1 ? undefined : String(r.interval),
    COUNT: r.count === undefined ? undefined : String(r.count),
    UNTIL: r.until?.replaceAll('-', ''),
    BYMONTH: r.bymonth?.join(','),
    BYWEEKNO: r.byweekno?.join(','),
    BYYEARDAY: r.byyearday?.join(','),
    BYMONTHDAY: r.bymonthday?.join(','),
    BYDAY: r.byday?.map((d) => `${d.n ?? ''}${d.day}`).join(','),
    BYSETPOS: r.bysetpos?.join(','),
    WKST: r.wkst,
  };
  return PART_ORDER.filter((p) => parts[p] !== undefined)
    .map((p) => `${p}=${parts[p]}`)
    .join(';');
}

/** Parses then formats: equal rules written differently get the same text. Throws on error. */
export function normalizeRecurrence(rule: string): string {
  return formatRecurrence(parseRecurrence(rule));
}

// Bounding the search. The `rrule` iterator only stops at an instance or after year 9999, so a
// rule that never matches again would walk every period up to 9999. The Gregorian calendar
// repeats exactly every 400 years (146097 days, a whole number of weeks), so shifting the
// anchor, the search start and UNTIL together by a multiple of 400 years changes no instance
// but its year. The search runs shifted so that year 9999 lies 100 to 500 years past its start:
// a series with no instance within that horizon is treated as ended. For the same reason a
// series without COUNT restarts from an anchor whole cycles later when its anchor is more than
// a cycle in the past, so the walk from the anchor up to today stays short. The remaining cost
// is a walk of at most 400 years of periods, which only an anchor centuries old can reach.
const DAYS_PER_400_YEARS = 146_097;
const PERIODS_PER_400_YEARS: Readonly<Record<Freq, number>> = {
  DAILY: 146_097,
  WEEKLY: 20_871,
  MONTHLY: 4_800,
  YEARLY: 400,
};
export const MIN_HORIZON_YEARS = 100;
const RRULE_MAX_YEAR = 9999;
// rrule builds dates with Date.UTC, which reads years 0-99 as 1900-1999.
const RRULE_MIN_YEAR = 100;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function yearOfDay(n: number): number {
  return Number(fromDayNumber(Math.max(MIN_DAY_NUMBER, n)).slice(0, 4));
}

function toRRule(r: ParsedRecurrence, dtstart: number, until: number | null) {
  const day = (d: ByDay): RRuleWeekday =>
    d.n === undefined ? RRule[d.day] : RRule[d.day].nth(d.n);
  const options: Partial<RRuleOptions> = {
    freq: RRule[r.freq],
    dtstart: new Date(dtstart * MS_PER_DAY),
    tzid: null,
    interval: r.interval,
    count: r.count ?? null,
    until: until === null ? null : new Date(until * MS_PER_DAY),
    bymonth: r.bymonth ?? null,
    byweekno: r.byweekno ?? null,
    byyearday: r.byyearday ?? null,
    bymonthday: r.bymonthday ?? null,
    byweekday: r.byday?.map(day) ?? null,
    bysetpos: r.bysetpos ?? null,
    wkst: r.wkst === undefined ? null : RRule[r.wkst],
  };
  return new RRule(options, true);
}

/**
 * A number of days after which the series (without COUNT) repeats itself, shifted: a whole
 * number of INTERVAL periods that also keeps every calendar part (months, month days, weeks)
 * in place.
 */
function cycleDays(r: ParsedRecurrence): number {
  const calendarParts = [r.bymonth, r.bymonthday, r.byyearday, r.byweekno];
  if (calendarParts.every((p) => p === undefined)) {
    // Only weekdays matter: a whole number of weeks of INTERVAL periods.
    if (r.freq === 'DAILY') return r.byday ? (r.interval * 7) / gcd(r.interval, 7) : r.interval;
    if (r.freq === 'WEEKLY') return 7 * r.interval;
  }
  // 400·g years hold a whole number of INTERVAL periods.
  return DAYS_PER_400_YEARS * (r.interval / gcd(r.interval, PERIODS_PER_400_YEARS[r.freq]));
}

/** Day number of the first instance strictly after day `after`, for a series from `anchor`. */
function firstInstanceAfter(r: ParsedRecurrence, anchor: number, after: number): number | null {
  let start = anchor;
  if (r.count === undefined) {
    const cycle = cycleDays(r);
    if (after - start >= cycle) start += Math.floor((after - start) / cycle) * cycle;
  }
  // Instances are never before the anchor: searching after the day before it is the same.
  const from = Math.max(after, start - 1);
  const k = Math.max(0, Math.floor((RRULE_MAX_YEAR - MIN_HORIZON_YEARS - yearOfDay(from)) / 400));
  const shift = k * DAYS_PER_400_YEARS;
  if (yearOfDay(start + shift) < RRULE_MIN_YEAR) {
    fail(`the series start ${fromDayNumber(start)} is too far in the past to compute`);
  }
  const until =
    r.until === undefined ? null : Math.min(toDayNumber(r.until) + shift, MAX_DAY_NUMBER);
  const next = toRRule(r, start + shift, until).after(new Date((from + shift) * MS_PER_DAY), false);
  if (next === null) return null;
  const day = Math.floor(next.getTime() / MS_PER_DAY) - shift;
  return day > MAX_DAY_NUMBER ? null : day;
}

export interface NextDoDateInput {
  /** The RRULE text. */
  rule: string;
  /** The series start (DTSTART): the task's do_date when the rule was set. */
  anchor: string;
  /** The task's do_date now, if any. */
  current_do_date: string | null;
  /** The user's calendar day. */
  today: string;
}

/**
 * The first instance of the series strictly after both `today` and `current_do_date` (missed
 * instances are skipped), or null when the series has no more dates: COUNT or UNTIL reached,
 * or no instance within the search horizon. Throws invalid_params for a bad rule or date.
 */
export function nextDoDate(input: NextDoDateInput): string | null {
  const r = parseRecurrence(input.rule);
  const anchor = toDayNumber(input.anchor, 'anchor');
  let after = toDayNumber(input.today, 'today');
  if (input.current_do_date !== null) {
    after = Math.max(after, toDayNumber(input.current_do_date, 'current_do_date'));
  }
  const next = firstInstanceAfter(r, anchor, after);
  return next === null ? null : fromDayNumber(next);
}

/**
 * The first instance on or after `anchor` for a series starting there: the do_date to give a
 * new recurring task that has none. Null when the series has no dates at all.
 */
export function firstDoDate(rule: string, anchor: string): string | null {
  const r = parseRecurrence(rule);
  const a = toDayNumber(anchor, 'anchor');
  const first = firstInstanceAfter(r, a, a - 1);
  return first === null ? null : fromDayNumber(first);
}

const UNIT_FREQ: Readonly<Record<string, Freq>> = {
  day: 'DAILY',
  days: 'DAILY',
  week: 'WEEKLY',
  weeks: 'WEEKLY',
  month: 'MONTHLY',
  months: 'MONTHLY',
  year: 'YEARLY',
  years: 'YEARLY',
};
const WEEKDAY_CODES: readonly DayCode[] = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];

/**
 * The RRULE for a quick-add phrase (the words after "every"), or undefined when the phrase is
 * not one: 'day' | 'week' | 'month' | 'year', 'N days' (weeks, months, years), a weekday name,
 * a comma-separated list of weekday names ('mon,thu'), 'weekday' (Mon–Fri), 'weekend'.
 * Throws invalid_params for a count outside 1…MAX_INTERVAL ('every 0 days').
 */
export function recurrenceFromPhrase(phrase: string): string | undefined {
  const words = phrase.trim().toLowerCase().split(/\s+/);
  const [first, second] = words;
  if (first === undefined || words.length > 2) return undefined;
  if (words.length === 2) {
    const freq = second === undefined ? undefined : UNIT_FREQ[second];
    if (!/^\d+$/.test(first) || freq === undefined) return undefined;
    const n = Number(first);
    if (n < 1 || n > MAX_INTERVAL) {
      throw new HephError(
        'invalid_params',
        `recurrence: "every ${first} ${second}" needs a count between 1 and ${MAX_INTERVAL}`,
        { field: 'recurrence' },
      );
    }
    return formatRecurrence({ freq, interval: n });
  }
  const unit = UNIT_FREQ[first];
  if (unit !== undefined && !first.endsWith('s'))
    return formatRecurrence({ freq: unit, interval: 1 });
  if (first === 'weekday' || first === 'weekdays') return weeklyOn([1, 2, 3, 4, 5]);
  if (first === 'weekend' || first === 'weekends') return weeklyOn([6, 0]);
  const days = first.split(',').map(parseWeekdayName);
  if (days.some((d) => d === undefined)) return undefined;
  return weeklyOn(days as Weekday[]);
}

function weeklyOn(days: readonly Weekday[]): string {
  // Monday-first, duplicates dropped, so 'fri,mon,fri' and 'mon,fri' give the same rule.
  const sorted = [...new Set(days)].sort((a, b) => ((a + 6) % 7) - ((b + 6) % 7));
  return formatRecurrence({
    freq: 'WEEKLY',
    interval: 1,
    byday: sorted.map((d) => ({ day: WEEKDAY_CODES[d] ?? 'MO' })),
  });
}
