// Recurrence: strict RRULE validation, the next do date after a completion (never on or before
// today or the current do date, the same on every device and in every time zone), and the
// phrases quick-add turns into rules.

import fc from 'fast-check';
import rrulePkg from 'rrule';
import { afterEach, describe, expect, it } from 'vitest';
import { addDays, fromDayNumber, toDayNumber } from '../../src/core/dates.js';
import { HephError } from '../../src/core/errors.js';
import {
  firstDoDate,
  formatRecurrence,
  MAX_INTERVAL,
  nextDoDate,
  normalizeRecurrence,
  parseRecurrence,
  recurrenceFromPhrase,
  validateRecurrence,
  type NextDoDateInput,
} from '../../src/core/recur.js';

const { RRule } = rrulePkg;
const SEED = 0x2ec0;

function next(rule: string, anchor: string, current: string | null, today: string): string | null {
  return nextDoDate({ rule, anchor, current_do_date: current, today });
}

describe('validateRecurrence: accepted', () => {
  it.each([
    'FREQ=DAILY',
    'FREQ=WEEKLY',
    'FREQ=MONTHLY',
    'FREQ=YEARLY',
    'RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR',
    'rrule:freq=weekly;byday=mo',
    '  FREQ=DAILY  ',
    'FREQ=DAILY;INTERVAL=3',
    'FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=TU,TH',
    'FREQ=MONTHLY;BYMONTHDAY=31',
    'FREQ=MONTHLY;BYMONTHDAY=-1',
    'FREQ=MONTHLY;BYMONTHDAY=1,15',
    'FREQ=MONTHLY;BYDAY=2TU',
    'FREQ=MONTHLY;BYDAY=-1FR',
    'FREQ=MONTHLY;BYDAY=+1MO',
    'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1',
    'FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13',
    'FREQ=YEARLY;BYMONTH=11;BYDAY=4TH',
    'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29',
    'FREQ=YEARLY;BYYEARDAY=100',
    'FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO',
    'FREQ=YEARLY;BYDAY=20MO',
    'FREQ=DAILY;COUNT=10',
    'FREQ=DAILY;UNTIL=20261231',
    'FREQ=DAILY;UNTIL=20261231T235959Z',
    'FREQ=DAILY;UNTIL=20261231T235959',
    'FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR',
    'FREQ=DAILY;BYMONTH=12;BYMONTHDAY=24,25',
    'FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=-1',
    `FREQ=DAILY;INTERVAL=${MAX_INTERVAL}`,
  ])('%s', (rule) => {
    expect(validateRecurrence(rule)).toBeUndefined();
    expect(() => parseRecurrence(rule)).not.toThrow();
  });
});

describe('validateRecurrence: rejected', () => {
  it.each([
    ['', /is empty/],
    ['   ', /is empty/],
    ['RRULE:', /is empty/],
    ['DTSTART:20260101\nRRULE:FREQ=DAILY', /DTSTART/],
    ['FREQ=DAILY;DTSTART=20260101', /DTSTART/],
    ['FREQ=DAILY\nFREQ=WEEKLY', /single RRULE line/],
    ['INTERVAL=2', /FREQ is required/],
    ['FREQ=HOURLY', /FREQ=HOURLY is not supported/],
    ['FREQ=MINUTELY', /not supported/],
    ['FREQ=FORTNIGHTLY', /not supported/],
    ['FREQ=DAILY;BYHOUR=9', /BYHOUR is not supported.*dates, not times/],
    ['FREQ=DAILY;BYMINUTE=0', /BYMINUTE/],
    ['FREQ=DAILY;FOO=1', /unknown part FOO/],
    ['FREQ=DAILY;X-NAME=1', /unknown part X-NAME/],
    ['FREQ=DAILY;', /is not NAME=VALUE/],
    ['FREQ=DAILY;;INTERVAL=2', /is not NAME=VALUE/],
    ['FREQ=DAILY;INTERVAL', /is not NAME=VALUE/],
    ['FREQ=DAILY;FREQ=WEEKLY', /FREQ is given twice/],
    ['FREQ=DAILY;INTERVAL=0', /INTERVAL value 0 must be between 1/],
    ['FREQ=DAILY;INTERVAL=-1', /INTERVAL value -1/],
    ['FREQ=DAILY;INTERVAL=1.5', /not a whole number/],
    [`FREQ=DAILY;INTERVAL=${MAX_INTERVAL + 1}`, /INTERVAL/],
    ['FREQ=DAILY;COUNT=0', /COUNT value 0/],
    ['FREQ=DAILY;COUNT=abc', /not a whole number/],
    ['FREQ=DAILY;UNTIL=20260230', /UNTIL value "20260230" is not a date/],
    ['FREQ=DAILY;UNTIL=2026-01-01', /UNTIL/],
    ['FREQ=DAILY;COUNT=2;UNTIL=20260101', /COUNT and UNTIL cannot both/],
    ['FREQ=WEEKLY;BYDAY=XX', /not a weekday/],
    ['FREQ=WEEKLY;BYDAY=MO,', /not a weekday/],
    ['FREQ=WEEKLY;BYDAY=2MO', /numbered weekday needs FREQ=MONTHLY or YEARLY/],
    ['FREQ=DAILY;BYDAY=-1FR', /numbered weekday/],
    ['FREQ=MONTHLY;BYDAY=6MO', /at most 5/],
    ['FREQ=MONTHLY;BYDAY=MO,6TU', /at most 5/],
    ['FREQ=MONTHLY;BYDAY=0MO', /not 0/],
    ['FREQ=YEARLY;BYDAY=54MO', /between -53 and 53/],
    ['FREQ=YEARLY;BYWEEKNO=1;BYDAY=1MO', /cannot be combined with BYWEEKNO/],
    ['FREQ=MONTHLY;BYMONTHDAY=32', /BYMONTHDAY value 32/],
    ['FREQ=MONTHLY;BYMONTHDAY=0', /not 0/],
    ['FREQ=MONTHLY;BYMONTHDAY=-32', /BYMONTHDAY/],
    ['FREQ=YEARLY;BYMONTH=13', /BYMONTH value 13/],
    ['FREQ=YEARLY;BYMONTH=0', /BYMONTH value 0/],
    ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', /never meet/],
    ['FREQ=YEARLY;BYMONTH=4,6;BYMONTHDAY=31', /never meet/],
    ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-30', /never meet/],
    ['FREQ=MONTHLY;BYWEEKNO=1', /BYWEEKNO is only allowed with FREQ=YEARLY/],
    ['FREQ=MONTHLY;BYYEARDAY=1', /BYYEARDAY is only allowed/],
    ['FREQ=YEARLY;BYYEARDAY=367', /BYYEARDAY value 367/],
    ['FREQ=WEEKLY;BYMONTHDAY=1', /BYMONTHDAY is not allowed with FREQ=WEEKLY/],
    ['FREQ=MONTHLY;BYSETPOS=1', /BYSETPOS needs another/],
    ['FREQ=DAILY;BYDAY=MO;BYSETPOS=1', /nothing to choose from in a DAILY rule/],
    ['FREQ=DAILY;INTERVAL=2;BYDAY=MO', /DAILY rule with INTERVAL cannot also have BY/],
    ['FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=3', /between -2 and 2/],
    ['FREQ=WEEKLY;BYMONTH=1;BYSETPOS=2', /between -1 and 1/],
    ['FREQ=MONTHLY;BYDAY=MO;BYSETPOS=32', /between -31 and 31/],
    ['FREQ=WEEKLY;WKST=XY', /WKST value "XY" is not a weekday/],
  ])('%j', (rule, message) => {
    const m = validateRecurrence(rule);
    expect(m).toMatch(/^recurrence: /);
    expect(m).toMatch(message);
    try {
      parseRecurrence(rule);
      throw new Error('expected a HephError');
    } catch (e) {
      expect(e).toBeInstanceOf(HephError);
      expect((e as HephError).code).toBe('invalid_params');
      expect((e as HephError).details).toEqual({ field: 'recurrence' });
    }
  });

  it('rejects a non-string from untyped callers', () => {
    expect(validateRecurrence(42 as unknown as string)).toMatch(/must be a string/);
  });
});

describe('normalizeRecurrence', () => {
  it.each([
    ['RRULE:freq=weekly;byday=mo', 'FREQ=WEEKLY;BYDAY=MO'],
    ['FREQ=DAILY;INTERVAL=1', 'FREQ=DAILY'],
    ['BYDAY=MO,FR;INTERVAL=2;FREQ=WEEKLY', 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR'],
    ['FREQ=MONTHLY;BYDAY=+2TU', 'FREQ=MONTHLY;BYDAY=2TU'],
    ['FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU', 'FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=-1'],
    ['FREQ=DAILY;UNTIL=20261231T235959Z', 'FREQ=DAILY;UNTIL=20261231'],
    ['WKST=SU;FREQ=YEARLY;BYMONTH=02;COUNT=3', 'FREQ=YEARLY;COUNT=3;BYMONTH=2;WKST=SU'],
  ])('%s → %s', (rule, want) => {
    expect(normalizeRecurrence(rule)).toBe(want);
    expect(normalizeRecurrence(want)).toBe(want);
  });

  it('throws for an invalid rule', () => {
    expect(() => normalizeRecurrence('FREQ=SOMETIMES')).toThrow(HephError);
  });

  it('formatRecurrence round-trips parseRecurrence', () => {
    const r = parseRecurrence('FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;COUNT=5');
    expect(parseRecurrence(formatRecurrence(r))).toEqual(r);
  });
});

describe('nextDoDate', () => {
  const cases: [string, string, string, string | null, string, string | null][] = [
    // name, rule, anchor, current do_date, today, expected
    [
      'daily, done on the day',
      'FREQ=DAILY',
      '2026-01-10',
      '2026-01-10',
      '2026-01-10',
      '2026-01-11',
    ],
    ['daily, done early', 'FREQ=DAILY', '2026-01-10', '2026-01-20', '2026-01-10', '2026-01-21'],
    [
      'daily, missed days are skipped',
      'FREQ=DAILY',
      '2026-01-01',
      '2026-01-05',
      '2026-01-10',
      '2026-01-11',
    ],
    ['daily, no current do date', 'FREQ=DAILY', '2026-01-01', null, '2026-01-10', '2026-01-11'],
    [
      'every 3 days keeps its phase',
      'FREQ=DAILY;INTERVAL=3',
      '2026-01-01',
      '2026-01-04',
      '2026-01-08',
      '2026-01-10',
    ],
    [
      'every 3 days, on an instance',
      'FREQ=DAILY;INTERVAL=3',
      '2026-01-01',
      '2026-01-10',
      '2026-01-10',
      '2026-01-13',
    ],
    ['weekly', 'FREQ=WEEKLY', '2026-01-15', '2026-01-15', '2026-01-15', '2026-01-22'],
    [
      'weekly, done a day late',
      'FREQ=WEEKLY',
      '2026-01-15',
      '2026-01-15',
      '2026-01-16',
      '2026-01-22',
    ],
    [
      'weekly, two weeks missed',
      'FREQ=WEEKLY',
      '2026-01-15',
      '2026-01-15',
      '2026-01-30',
      '2026-02-05',
    ],
    [
      'every 2 weeks',
      'FREQ=WEEKLY;INTERVAL=2',
      '2026-01-15',
      '2026-01-15',
      '2026-01-20',
      '2026-01-29',
    ],
    [
      'every 2 weeks, on an instance',
      'FREQ=WEEKLY;INTERVAL=2',
      '2026-01-15',
      '2026-01-29',
      '2026-01-29',
      '2026-02-12',
    ],
    [
      'Mon/Wed/Fri',
      'FREQ=WEEKLY;BYDAY=MO,WE,FR',
      '2026-01-15',
      '2026-01-16',
      '2026-01-16',
      '2026-01-19',
    ],
    [
      'Sundays from a Thursday',
      'FREQ=WEEKLY;BYDAY=SU',
      '2026-01-15',
      null,
      '2026-01-15',
      '2026-01-18',
    ],
    [
      'monthly on the 31st skips February',
      'FREQ=MONTHLY',
      '2026-01-31',
      '2026-01-31',
      '2026-01-31',
      '2026-03-31',
    ],
    [
      'monthly on the 31st skips April',
      'FREQ=MONTHLY',
      '2026-01-31',
      '2026-03-31',
      '2026-03-31',
      '2026-05-31',
    ],
    [
      'explicit 31st',
      'FREQ=MONTHLY;BYMONTHDAY=31',
      '2026-01-01',
      '2026-01-31',
      '2026-02-01',
      '2026-03-31',
    ],
    [
      'last day of the month',
      'FREQ=MONTHLY;BYMONTHDAY=-1',
      '2026-01-31',
      '2026-01-31',
      '2026-01-31',
      '2026-02-28',
    ],
    [
      'last day of a leap February',
      'FREQ=MONTHLY;BYMONTHDAY=-1',
      '2028-01-31',
      '2028-01-31',
      '2028-01-31',
      '2028-02-29',
    ],
    [
      'monthly, missed months',
      'FREQ=MONTHLY',
      '2026-01-15',
      '2026-02-15',
      '2026-04-20',
      '2026-05-15',
    ],
    [
      'second Tuesday',
      'FREQ=MONTHLY;BYDAY=2TU',
      '2026-01-01',
      '2026-01-13',
      '2026-01-13',
      '2026-02-10',
    ],
    [
      'last Friday',
      'FREQ=MONTHLY;BYDAY=-1FR',
      '2026-01-01',
      '2026-01-30',
      '2026-01-30',
      '2026-02-27',
    ],
    [
      'last weekday',
      'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1',
      '2026-01-01',
      null,
      '2026-05-01',
      '2026-05-29',
    ],
    [
      'Friday the 13th',
      'FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13',
      '2026-01-01',
      null,
      '2026-01-01',
      '2026-02-13',
    ],
    [
      'fourth Thursday of November',
      'FREQ=YEARLY;BYMONTH=11;BYDAY=4TH',
      '2026-01-01',
      null,
      '2026-06-01',
      '2026-11-26',
    ],
    ['yearly', 'FREQ=YEARLY', '2026-03-10', '2026-03-10', '2026-03-10', '2027-03-10'],
    [
      'yearly on Feb 29 waits for a leap year',
      'FREQ=YEARLY',
      '2024-02-29',
      '2024-02-29',
      '2024-03-01',
      '2028-02-29',
    ],
    [
      'Feb 29 across a non-leap century',
      'FREQ=YEARLY',
      '2096-02-29',
      '2096-02-29',
      '2096-03-01',
      '2104-02-29',
    ],
    [
      'COUNT not yet reached',
      'FREQ=DAILY;COUNT=3',
      '2026-01-01',
      '2026-01-02',
      '2026-01-02',
      '2026-01-03',
    ],
    ['COUNT reached', 'FREQ=DAILY;COUNT=3', '2026-01-01', '2026-01-03', '2026-01-03', null],
    [
      'UNTIL is inclusive',
      'FREQ=DAILY;UNTIL=20260105',
      '2026-01-01',
      '2026-01-04',
      '2026-01-04',
      '2026-01-05',
    ],
    ['UNTIL reached', 'FREQ=DAILY;UNTIL=20260105', '2026-01-01', '2026-01-05', '2026-01-04', null],
    [
      'UNTIL with a time',
      'FREQ=DAILY;UNTIL=20260105T000000Z',
      '2026-01-01',
      '2026-01-04',
      '2026-01-04',
      '2026-01-05',
    ],
    [
      'UNTIL before the anchor',
      'FREQ=DAILY;UNTIL=20250101',
      '2026-01-01',
      null,
      '2026-01-01',
      null,
    ],
    ['anchor in the future', 'FREQ=DAILY', '2026-02-01', null, '2026-01-10', '2026-02-01'],
    ['anchor far in the future', 'FREQ=DAILY', '9990-01-01', null, '2026-01-10', '9990-01-01'],
    [
      'current do date in the future',
      'FREQ=DAILY',
      '2026-02-01',
      '2026-02-01',
      '2026-01-10',
      '2026-02-02',
    ],
    [
      'prefix and lower case',
      'rrule:freq=weekly',
      '2026-01-15',
      '2026-01-15',
      '2026-01-15',
      '2026-01-22',
    ],
    [
      'anchor centuries ago, every 3 days',
      'FREQ=DAILY;INTERVAL=3',
      '1900-01-01',
      null,
      '2026-01-10',
      '2026-01-12',
    ],
    [
      'anchor centuries ago, monthly on the 31st',
      'FREQ=MONTHLY',
      '1500-01-31',
      null,
      '2026-02-10',
      '2026-03-31',
    ],
    ['anchor centuries ago, Feb 29', 'FREQ=YEARLY', '1600-02-29', null, '2026-01-01', '2028-02-29'],
    [
      'anchor centuries ago, weekly',
      'FREQ=WEEKLY;INTERVAL=2',
      '1800-01-02',
      null,
      '2026-01-10',
      '2026-01-15',
    ],
    [
      'anchor in the first century',
      'FREQ=DAILY',
      '0001-01-01',
      '0001-01-01',
      '0001-01-01',
      '0001-01-02',
    ],
    ['last representable day', 'FREQ=DAILY', '9999-12-01', null, '9999-12-30', '9999-12-31'],
    ['past the last representable day', 'FREQ=DAILY', '9999-12-01', null, '9999-12-31', null],
    ['into the last year', 'FREQ=YEARLY', '9998-01-01', null, '9998-06-01', '9999-01-01'],
    [
      'never again: 1st Monday on the 15th',
      'FREQ=MONTHLY;BYDAY=1MO;BYMONTHDAY=15',
      '2026-01-01',
      null,
      '2026-01-01',
      null,
    ],
    [
      'never again: yearly Aprils on the 31st',
      'FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31',
      '2026-04-01',
      null,
      '2026-04-01',
      null,
    ],
  ];
  it.each(cases)('%s', (_name, rule, anchor, current, today, want) => {
    expect(next(rule, anchor, current, today)).toBe(want);
  });

  it('refuses a COUNT series whose start is more than 9400 years before today', () => {
    expect(() => next('FREQ=DAILY;COUNT=5', '0001-01-01', null, '9999-01-01')).toThrow(
      /too far in the past/,
    );
    expect(next('FREQ=YEARLY;COUNT=10000', '0100-01-01', null, '9998-12-31')).toBe('9999-01-01');
    expect(next('FREQ=YEARLY;COUNT=9000', '0100-01-01', null, '9998-12-31')).toBeNull();
  });

  it('checks the rule and every date', () => {
    expect(() => next('FREQ=NEVER', '2026-01-01', null, '2026-01-01')).toThrow(/FREQ=NEVER/);
    expect(() => next('FREQ=DAILY', '2026-02-30', null, '2026-01-01')).toThrow(/anchor/);
    expect(() => next('FREQ=DAILY', '2026-01-01', 'soon', '2026-01-01')).toThrow(/current_do_date/);
    expect(() => next('FREQ=DAILY', '2026-01-01', null, '2026/01/01')).toThrow(/today/);
  });

  it('answers quickly even for a rule that never matches again', () => {
    for (const rule of [
      'FREQ=MONTHLY;BYDAY=1MO;BYMONTHDAY=15',
      'FREQ=MONTHLY;BYDAY=MO;BYSETPOS=31',
      'FREQ=YEARLY;BYWEEKNO=53;BYMONTH=6',
      'FREQ=WEEKLY;INTERVAL=1000;BYMONTH=2;BYDAY=MO;BYSETPOS=1',
    ]) {
      const t0 = performance.now();
      next(rule, '2026-01-01', null, '2026-01-01');
      expect(performance.now() - t0).toBeLessThan(2000);
    }
  });

  const arbDate = (from: string, to: string) =>
    fc.integer({ min: toDayNumber(from), max: toDayNumber(to) }).map(fromDayNumber);
  const arbRule = fc.oneof(
    fc.constantFrom(
      'FREQ=DAILY',
      'FREQ=WEEKLY',
      'FREQ=MONTHLY',
      'FREQ=YEARLY',
      'FREQ=MONTHLY;BYMONTHDAY=-1',
      'FREQ=MONTHLY;BYMONTHDAY=31',
      'FREQ=MONTHLY;BYDAY=2TU',
      'FREQ=MONTHLY;BYDAY=-1FR',
      'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1',
      'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29',
      'FREQ=YEARLY;BYMONTH=11;BYDAY=4TH',
      'FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO',
      'FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR',
      'FREQ=DAILY;COUNT=40',
      'FREQ=WEEKLY;UNTIL=20300101',
    ),
    fc
      .tuple(
        fc.constantFrom('DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'),
        fc.integer({ min: 1, max: 12 }),
        fc.subarray(['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU']),
      )
      .map(([freq, interval, days]) => {
        const byday = days.length > 0 && freq !== 'DAILY' ? `;BYDAY=${days.join(',')}` : '';
        return `FREQ=${freq};INTERVAL=${interval}${byday}`;
      }),
  );
  const arbInput = fc.record({
    rule: arbRule,
    anchor: arbDate('1990-01-01', '2040-12-31'),
    current_do_date: fc.option(arbDate('1990-01-01', '2040-12-31')),
    today: arbDate('2000-01-01', '2040-12-31'),
  });

  it('is strictly after today and the current do date, and is an instance (property)', () => {
    fc.assert(
      fc.property(arbInput, (input: NextDoDateInput) => {
        const got = nextDoDate(input);
        if (got === null) {
          expect(input.rule).toMatch(/COUNT|UNTIL/);
          return;
        }
        expect(got > input.today).toBe(true);
        if (input.current_do_date !== null) expect(got > input.current_do_date).toBe(true);
        expect(got >= input.anchor).toBe(true);
        // It is an instance: searching from the day before finds it again (unless COUNT moved).
        if (!/COUNT/.test(input.rule)) {
          expect(nextDoDate({ ...input, current_do_date: null, today: addDays(got, -1) })).toBe(
            got,
          );
        }
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('agrees with the rrule package evaluated directly (property)', () => {
    fc.assert(
      fc.property(arbInput, (input: NextDoDateInput) => {
        const after =
          input.current_do_date !== null && input.current_do_date > input.today
            ? input.current_do_date
            : input.today;
        const rule = new RRule({
          ...RRule.parseString(input.rule),
          dtstart: new Date(toDayNumber(input.anchor) * 86_400_000),
        });
        const ref = rule.after(new Date(toDayNumber(after) * 86_400_000), false);
        expect(nextDoDate(input)).toBe(ref === null ? null : ref.toISOString().slice(0, 10));
      }),
      { seed: SEED + 1, numRuns: 200 },
    );
  });

  it('agrees with the rrule package for anchors centuries old (property)', () => {
    const oldRule = fc.oneof(
      fc.constantFrom(
        'FREQ=MONTHLY',
        'FREQ=MONTHLY;BYMONTHDAY=-1',
        'FREQ=MONTHLY;INTERVAL=5;BYDAY=-1FR',
        'FREQ=MONTHLY;INTERVAL=7;BYMONTHDAY=31',
        'FREQ=YEARLY',
        'FREQ=YEARLY;INTERVAL=3;BYMONTH=2;BYMONTHDAY=29',
        'FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO',
      ),
      // Large intervals only: the reference walks every period from the anchor.
      fc.integer({ min: 60, max: 1000 }).map((n) => `FREQ=DAILY;INTERVAL=${n}`),
      fc.integer({ min: 10, max: 100 }).map((n) => `FREQ=WEEKLY;INTERVAL=${n};BYDAY=TU,SU`),
    );
    fc.assert(
      fc.property(
        oldRule,
        arbDate('1500-01-01', '1600-12-31'),
        arbDate('2000-01-01', '2040-12-31'),
        (rule, anchor, today) => {
          const ref = new RRule({
            ...RRule.parseString(rule),
            dtstart: new Date(toDayNumber(anchor) * 86_400_000),
          }).after(new Date(toDayNumber(today) * 86_400_000), false);
          expect(nextDoDate({ rule, anchor, current_do_date: null, today })).toBe(
            ref === null ? null : ref.toISOString().slice(0, 10),
          );
        },
      ),
      { seed: SEED + 2, numRuns: 50 },
    );
  });

  it('gives the same answer on every call (two devices, same occurrence)', () => {
    const input = {
      rule: 'FREQ=MONTHLY;BYDAY=-1FR',
      anchor: '2026-01-01',
      current_do_date: '2026-01-30',
      today: '2026-02-02',
    };
    expect(nextDoDate(input)).toBe('2026-02-27');
    expect(nextDoDate({ ...input })).toBe('2026-02-27');
  });
});

describe('time zone independence', () => {
  const original = process.env.TZ;
  afterEach(() => {
    if (original === undefined) delete process.env.TZ;
    else process.env.TZ = original;
  });

  const inputs: NextDoDateInput[] = [
    {
      rule: 'FREQ=DAILY',
      anchor: '2026-03-07',
      current_do_date: '2026-03-07',
      today: '2026-03-07',
    },
    {
      rule: 'FREQ=DAILY',
      anchor: '2026-03-28',
      current_do_date: '2026-03-28',
      today: '2026-03-28',
    },
    {
      rule: 'FREQ=WEEKLY',
      anchor: '2026-10-01',
      current_do_date: '2026-10-01',
      today: '2026-10-03',
    },
    {
      rule: 'FREQ=MONTHLY;BYMONTHDAY=-1',
      anchor: '2026-01-31',
      current_do_date: '2026-03-31',
      today: '2026-03-31',
    },
    {
      rule: 'FREQ=MONTHLY;BYDAY=-1SU',
      anchor: '2026-01-01',
      current_do_date: null,
      today: '2026-03-01',
    },
    {
      rule: 'FREQ=YEARLY;BYYEARDAY=100',
      anchor: '2026-01-01',
      current_do_date: null,
      today: '2026-01-01',
    },
    {
      rule: 'FREQ=YEARLY;BYWEEKNO=14;BYDAY=SU',
      anchor: '2026-01-01',
      current_do_date: null,
      today: '2026-01-01',
    },
  ];

  it.each([
    'America/Los_Angeles',
    'Australia/Sydney',
    'Pacific/Kiritimati',
    'Pacific/Pago_Pago',
    'Asia/Kathmandu',
  ])('gives the UTC answers in %s', (zone) => {
    process.env.TZ = 'UTC';
    const want = inputs.map((i) => nextDoDate(i));
    expect(want).toEqual([
      '2026-03-08',
      '2026-03-29',
      '2026-10-08',
      '2026-04-30',
      '2026-03-29',
      '2026-04-10',
      '2026-04-05',
    ]);
    process.env.TZ = zone;
    expect(new Date(Date.UTC(2026, 0, 1)).getTimezoneOffset()).not.toBe(0);
    expect(inputs.map((i) => nextDoDate(i))).toEqual(want);
  });
});

describe('firstDoDate', () => {
  it.each([
    ['FREQ=DAILY', '2026-01-15', '2026-01-15'],
    ['FREQ=MONTHLY', '2026-01-15', '2026-01-15'],
    ['FREQ=WEEKLY;BYDAY=MO', '2026-01-15', '2026-01-19'],
    ['FREQ=WEEKLY;BYDAY=TH', '2026-01-15', '2026-01-15'],
    ['FREQ=MONTHLY;BYMONTHDAY=-1', '2026-01-15', '2026-01-31'],
    ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29', '2026-03-01', '2028-02-29'],
    ['FREQ=DAILY;UNTIL=20200101', '2026-03-01', null],
    ['FREQ=DAILY', '0000-01-01', '0000-01-01'],
    ['FREQ=MONTHLY;BYMONTHDAY=-1', '0000-02-01', '0000-02-29'],
  ])('%s from %s → %s', (rule, anchor, want) => {
    expect(firstDoDate(rule, anchor)).toBe(want);
  });

  it('checks its inputs', () => {
    expect(() => firstDoDate('FREQ=DAILY', '2026-13-01')).toThrow(/anchor/);
    expect(() => firstDoDate('nope', '2026-01-01')).toThrow(HephError);
  });
});

describe('recurrenceFromPhrase', () => {
  it.each([
    ['day', 'FREQ=DAILY'],
    ['week', 'FREQ=WEEKLY'],
    ['month', 'FREQ=MONTHLY'],
    ['year', 'FREQ=YEARLY'],
    ['Week', 'FREQ=WEEKLY'],
    ['1 day', 'FREQ=DAILY'],
    ['1 days', 'FREQ=DAILY'],
    ['3 days', 'FREQ=DAILY;INTERVAL=3'],
    ['2 weeks', 'FREQ=WEEKLY;INTERVAL=2'],
    ['6 months', 'FREQ=MONTHLY;INTERVAL=6'],
    ['2 years', 'FREQ=YEARLY;INTERVAL=2'],
    ['2  week', 'FREQ=WEEKLY;INTERVAL=2'],
    ['monday', 'FREQ=WEEKLY;BYDAY=MO'],
    ['Mon', 'FREQ=WEEKLY;BYDAY=MO'],
    ['sunday', 'FREQ=WEEKLY;BYDAY=SU'],
    ['thurs', 'FREQ=WEEKLY;BYDAY=TH'],
    ['mon,thu', 'FREQ=WEEKLY;BYDAY=MO,TH'],
    ['sun,fri,mon,fri', 'FREQ=WEEKLY;BYDAY=MO,FR,SU'],
    ['weekday', 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR'],
    ['weekdays', 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR'],
    ['weekend', 'FREQ=WEEKLY;BYDAY=SA,SU'],
  ])('%j → %s', (phrase, want) => {
    expect(recurrenceFromPhrase(phrase)).toBe(want);
    expect(validateRecurrence(want)).toBeUndefined();
  });

  it.each([
    '',
    'days',
    'fortnight',
    'other week',
    'two weeks',
    '3',
    '3 apples',
    'mon,',
    'mon,xyz',
    'day week month',
    '-2 days',
    '2.5 days',
  ])('%j is not a phrase', (phrase) => {
    expect(recurrenceFromPhrase(phrase)).toBeUndefined();
  });

  it.each(['0 days', `${MAX_INTERVAL + 1} weeks`])('%j is an error', (phrase) => {
    expect(() => recurrenceFromPhrase(phrase)).toThrow(/needs a count between 1 and/);
  });
});
