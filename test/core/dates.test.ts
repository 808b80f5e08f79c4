// Calendar arithmetic must be exact and independent of the process's time zone: the integer
// day-number formulas are checked against tables and, by property, against Date.UTC.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDays,
  addMonths,
  assertDate,
  compareDates,
  dateToUtcMs,
  daysBetween,
  daysInMonth,
  formatDate,
  fromDayNumber,
  MAX_DAY_NUMBER,
  maxDate,
  MIN_DAY_NUMBER,
  nextWeekday,
  parseDate,
  parseDatePhrase,
  parseDateWord,
  parseWeekdayName,
  toDayNumber,
  utcMsToDate,
  weekday,
} from '../../src/core/dates.js';
import { HephError } from '../../src/core/errors.js';

const SEED = 0xda7e5;

function expectInvalid(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HephError);
    expect((e as HephError).code).toBe('invalid_params');
    expect((e as HephError).message).toMatch(pattern);
    return;
  }
  throw new Error('expected an invalid_params HephError');
}

describe('parseDate / formatDate', () => {
  it.each([
    ['2026-01-15', { year: 2026, month: 1, day: 15 }],
    ['0000-01-01', { year: 0, month: 1, day: 1 }],
    ['9999-12-31', { year: 9999, month: 12, day: 31 }],
    ['2024-02-29', { year: 2024, month: 2, day: 29 }],
    ['2000-02-29', { year: 2000, month: 2, day: 29 }],
  ])('%s round-trips', (s, parts) => {
    expect(parseDate(s)).toEqual(parts);
    expect(formatDate(parts)).toBe(s);
  });

  it.each([
    '2026-02-30',
    '2025-02-29',
    '1900-02-29',
    '2026-13-01',
    '2026-00-10',
    '2026-04-31',
    '2026-1-5',
    '26-01-05',
    '2026-01-05T00:00',
    ' 2026-01-05',
    '',
    'today',
  ])('rejects %j', (s) => {
    expectInvalid(() => parseDate(s, 'do_date'), /do_date .* is not a calendar date/);
    expectInvalid(() => assertDate(s), /date .* is not a calendar date/);
  });

  it('formats with zero padding and rejects impossible parts', () => {
    expect(formatDate({ year: 7, month: 3, day: 9 })).toBe('0007-03-09');
    expectInvalid(() => formatDate({ year: 2026, month: 2, day: 29 }), /not a calendar date/);
    expectInvalid(() => formatDate({ year: 10000, month: 1, day: 1 }), /not a calendar date/);
    expectInvalid(() => formatDate({ year: -1, month: 1, day: 1 }), /not a calendar date/);
    expectInvalid(() => formatDate({ year: 2026.5, month: 1, day: 1 }), /not a calendar date/);
  });

  it('assertDate returns its input', () => {
    expect(assertDate('2026-03-01')).toBe('2026-03-01');
  });
});

describe('day numbers', () => {
  it.each([
    ['1970-01-01', 0],
    ['1970-01-02', 1],
    ['1969-12-31', -1],
    ['2000-03-01', 11017],
    ['2026-01-15', 20468],
    ['0000-01-01', MIN_DAY_NUMBER],
    ['9999-12-31', MAX_DAY_NUMBER],
  ])('%s is day %i', (s, n) => {
    expect(toDayNumber(s)).toBe(n);
    expect(fromDayNumber(n)).toBe(s);
  });

  it('rejects day numbers outside the representable range', () => {
    expectInvalid(() => fromDayNumber(MIN_DAY_NUMBER - 1), /outside/);
    expectInvalid(() => fromDayNumber(MAX_DAY_NUMBER + 1), /outside/);
    expectInvalid(() => fromDayNumber(1.5), /outside/);
  });

  it('agrees with Date.UTC for every day in range (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_DAY_NUMBER, max: MAX_DAY_NUMBER }), (n) => {
        const iso = new Date(n * 86_400_000).toISOString().slice(0, 10);
        expect(fromDayNumber(n)).toBe(iso);
        expect(toDayNumber(iso)).toBe(n);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});

describe('addDays', () => {
  it.each([
    ['2026-01-31', 1, '2026-02-01'],
    ['2026-02-28', 1, '2026-03-01'],
    ['2024-02-28', 1, '2024-02-29'],
    ['2024-02-29', 1, '2024-03-01'],
    ['2026-12-31', 1, '2027-01-01'],
    ['2027-01-01', -1, '2026-12-31'],
    ['2026-03-29', 0, '2026-03-29'],
    ['2026-03-28', 2, '2026-03-30'], // across the EU daylight-saving change
    ['2026-11-01', 1, '2026-11-02'], // across the US daylight-saving change
    ['2026-01-01', 365, '2027-01-01'],
    ['2024-01-01', 366, '2025-01-01'],
    ['1900-02-28', 1, '1900-03-01'],
    ['2000-02-28', 1, '2000-02-29'],
  ])('%s %+i days is %s', (s, n, want) => {
    expect(addDays(s, n)).toBe(want);
  });

  it('rejects non-integer amounts, bad dates and overflow', () => {
    expectInvalid(() => addDays('2026-01-01', 0.5), /days must be an integer/);
    expectInvalid(() => addDays('2026-01-01', Number.NaN), /days must be an integer/);
    expectInvalid(() => addDays('2026-02-30', 1), /not a calendar date/);
    expectInvalid(() => addDays('9999-12-31', 1), /outside/);
  });

  it('is inverted by daysBetween (property)', () => {
    const day = fc.integer({ min: -200_000, max: 200_000 }).map(fromDayNumber);
    fc.assert(
      fc.property(day, fc.integer({ min: -50_000, max: 50_000 }), (s, n) => {
        expect(daysBetween(s, addDays(s, n))).toBe(n);
        expect(addDays(addDays(s, n), -n)).toBe(s);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('addMonths', () => {
  it.each([
    ['2026-01-15', 1, '2026-02-15'],
    ['2026-01-31', 1, '2026-02-28'],
    ['2024-01-31', 1, '2024-02-29'],
    ['2026-03-31', 1, '2026-04-30'],
    ['2026-03-31', -1, '2026-02-28'],
    ['2026-12-15', 1, '2027-01-15'],
    ['2026-01-15', -1, '2025-12-15'],
    ['2024-02-29', 12, '2025-02-28'],
    ['2024-02-29', 48, '2028-02-29'],
    ['2026-05-10', 0, '2026-05-10'],
    ['2026-05-10', -24, '2024-05-10'],
  ])('%s %+i months is %s', (s, n, want) => {
    expect(addMonths(s, n)).toBe(want);
  });

  it('rejects non-integer amounts and overflow', () => {
    expectInvalid(() => addMonths('2026-01-01', 1.5), /months must be an integer/);
    expectInvalid(() => addMonths('9999-12-01', 1), /not a calendar date/);
  });
});

describe('compareDates / daysBetween / maxDate', () => {
  it.each([
    ['2026-01-01', '2026-01-02', -1],
    ['2026-01-02', '2026-01-01', 1],
    ['2026-01-01', '2026-01-01', 0],
    ['2025-12-31', '2026-01-01', -1],
    ['0999-01-01', '1000-01-01', -1],
  ])('compareDates(%s, %s) = %i', (a, b, want) => {
    expect(compareDates(a, b)).toBe(want);
  });

  it('compareDates checks both sides', () => {
    expectInvalid(() => compareDates('2026-01-01', '2026-02-30'), /2026-02-30/);
    expectInvalid(() => compareDates('x', '2026-01-01'), /"x"/);
  });

  it.each([
    ['2026-01-01', '2026-01-03', 2],
    ['2026-01-03', '2026-01-01', -2],
    ['2026-02-01', '2026-03-01', 28],
    ['2024-02-01', '2024-03-01', 29],
    ['2026-01-01', '2027-01-01', 365],
    ['2026-03-01', '2026-03-01', 0],
  ])('daysBetween(%s, %s) = %i', (a, b, want) => {
    expect(daysBetween(a, b)).toBe(want);
  });

  it('maxDate picks the later date', () => {
    expect(maxDate('2026-01-01', '2026-01-02')).toBe('2026-01-02');
    expect(maxDate('2026-01-02', '2026-01-01')).toBe('2026-01-02');
    expect(maxDate('2026-01-02', '2026-01-02')).toBe('2026-01-02');
  });
});

describe('weekdays', () => {
  it.each([
    ['1970-01-01', 4],
    ['2026-01-15', 4],
    ['2026-01-18', 0],
    ['2026-01-19', 1],
    ['2026-01-24', 6],
    ['2000-02-29', 2],
    ['1969-12-28', 0],
    ['0000-01-01', 6],
  ])('%s is weekday %i (0 = Sunday)', (s, wd) => {
    expect(weekday(s)).toBe(wd);
  });

  it('matches Date.getUTCDay (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_DAY_NUMBER, max: MAX_DAY_NUMBER }), (n) => {
        expect(weekday(fromDayNumber(n))).toBe(new Date(n * 86_400_000).getUTCDay());
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it.each([
    ['2026-01-15', 5, '2026-01-16'], // Thursday → Friday
    ['2026-01-15', 4, '2026-01-22'], // Thursday → next Thursday, never the same day
    ['2026-01-15', 3, '2026-01-21'],
    ['2026-01-17', 0, '2026-01-18'],
    ['2026-12-31', 1, '2027-01-04'],
  ])('nextWeekday(%s, %i) = %s', (s, wd, want) => {
    expect(nextWeekday(s, wd as 0)).toBe(want);
  });

  it.each([
    ['mon', 1],
    ['Monday', 1],
    ['TUE', 2],
    ['tues', 2],
    ['wednesday', 3],
    ['thu', 4],
    ['thur', 4],
    ['thurs', 4],
    ['fri', 5],
    ['sat', 6],
    ['SUNDAY', 0],
  ])('parseWeekdayName(%s) = %i', (w, wd) => {
    expect(parseWeekdayName(w)).toBe(wd);
  });

  it.each(['mo', 'monday,', 'weekday', '', 'constructor', 'toString', 'm'])(
    'parseWeekdayName(%j) is undefined',
    (w) => {
      expect(parseWeekdayName(w)).toBeUndefined();
    },
  );
});

describe('UTC milliseconds and month lengths', () => {
  it('converts dates to midnight UTC and back', () => {
    expect(dateToUtcMs('2026-01-15')).toBe(Date.UTC(2026, 0, 15));
    expect(utcMsToDate(Date.UTC(2026, 0, 15))).toBe('2026-01-15');
    expect(utcMsToDate(Date.UTC(2026, 0, 15, 23, 59, 59, 999))).toBe('2026-01-15');
    expect(utcMsToDate(Date.UTC(1969, 11, 31, 12))).toBe('1969-12-31');
    expectInvalid(() => utcMsToDate(Number.NaN), /not a finite number/);
  });

  it.each([
    [2026, 1, 31],
    [2026, 2, 28],
    [2024, 2, 29],
    [1900, 2, 28],
    [2000, 2, 29],
    [2026, 4, 30],
    [2026, 6, 30],
    [2026, 9, 30],
    [2026, 11, 30],
    [2026, 12, 31],
  ])('daysInMonth(%i, %i) = %i', (y, m, n) => {
    expect(daysInMonth(y, m)).toBe(n);
  });
});

describe('date phrases', () => {
  const today = '2026-01-15'; // a Thursday
  it.each([
    ['in 3 days', '2026-01-18'],
    ['in 1 day', '2026-01-16'],
    ['in 0 days', '2026-01-15'],
    ['in 2 weeks', '2026-01-29'],
    ['in a week', '2026-01-22'],
    ['IN AN HOUR', undefined],
    ['in 1 month', '2026-02-15'],
    ['in 3 months', '2026-04-15'],
    ['in a year', '2027-01-15'],
    ['  in   2   years ', '2028-01-15'],
    ['next fri', '2026-01-16'],
    ['Next Thursday', '2026-01-22'],
    ['next week', undefined],
    ['in 3', undefined],
    ['in three days', undefined],
    ['in -3 days', undefined],
    ['in 3 days time', undefined],
    ['3 days', undefined],
    ['tomorrow', '2026-01-16'],
    ['', undefined],
  ])('parseDatePhrase(%j) = %s', (phrase, want) => {
    expect(parseDatePhrase(phrase, today)).toBe(want);
  });

  it('keeps the day of the month, clamped, and refuses a date out of range', () => {
    expect(parseDatePhrase('in 1 month', '2026-01-31')).toBe('2026-02-28');
    expect(parseDatePhrase('in a year', '2024-02-29')).toBe('2025-02-28');
    expectInvalid(() => parseDatePhrase('in 9999 years', today), /not a calendar date/);
  });

  it(`"in N units" is the same day as +N units (property, seed ${SEED})`, () => {
    const units = { day: 'd', week: 'w', month: 'm', year: 'y' } as const;
    fc.assert(
      fc.property(
        fc.integer({ min: -100_000, max: 100_000 }).map(fromDayNumber),
        fc.integer({ min: 0, max: 9999 }),
        fc.constantFrom(...(Object.keys(units) as (keyof typeof units)[])),
        fc.boolean(),
        (day, n, unit, plural) => {
          const phrase = `in ${n} ${unit}${plural ? 's' : ''}`;
          let want: string | undefined;
          try {
            want = parseDateWord(`+${n}${units[unit]}`, day);
          } catch {
            expect(() => parseDatePhrase(phrase, day)).toThrow(HephError);
            return;
          }
          expect(parseDatePhrase(phrase, day)).toBe(want);
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });
});
