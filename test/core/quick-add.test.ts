// Quick-add turns one line into task fields. Sigil markers work anywhere; date and recurrence
// words only at the end, so ordinary titles keep their words.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDatePhrase } from '../../src/core/dates.js';
import { HephError } from '../../src/core/errors.js';
import { parseQuickAdd, type QuickAdd } from '../../src/core/quick-add.js';

const TODAY = '2026-01-15'; // a Thursday

function qa(text: string, today = TODAY): QuickAdd {
  return parseQuickAdd(text, today);
}

const base: QuickAdd = {
  title: '',
  attention: null,
  project: null,
  tags: [],
  do_date: null,
  late_on: null,
  recurrence: null,
  warnings: [],
};

describe('parseQuickAdd: the full example', () => {
  it('Pay rent tomorrow !red #Home +bills every month', () => {
    expect(qa('Pay rent tomorrow !red #Home +bills every month')).toEqual({
      title: 'Pay rent',
      attention: 'red',
      project: 'Home',
      tags: ['bills'],
      do_date: '2026-01-16',
      late_on: null,
      recurrence: 'FREQ=MONTHLY',
      warnings: [],
    });
  });
});

describe('parseQuickAdd: fields', () => {
  const cases: [string, Partial<QuickAdd>][] = [
    ['Buy milk', { title: 'Buy milk' }],
    ['  Buy   milk  ', { title: 'Buy milk' }],
    // attention
    ['Buy milk !red', { title: 'Buy milk', attention: 'red' }],
    ['!orange Buy milk', { title: 'Buy milk', attention: 'orange' }],
    ['Buy !white milk', { title: 'Buy milk', attention: 'white' }],
    ['Buy milk !BLUE', { title: 'Buy milk', attention: 'blue' }],
    ['Wow !important', { title: 'Wow !important' }],
    ['Hello!red', { title: 'Hello!red' }],
    // project
    ['Fix sink #Home', { title: 'Fix sink', project: 'Home' }],
    ['#Work Write report', { title: 'Write report', project: 'Work' }],
    ['Plan #"Home Office" move', { title: 'Plan move', project: 'Home Office' }],
    ['Fix issue #12', { title: 'Fix issue #12' }],
    ['Learn C#', { title: 'Learn C#' }],
    ['Tidy #Home/Garage', { title: 'Tidy', project: 'Home/Garage' }],
    ['Call #Café', { title: 'Call', project: 'Café' }],
    // tags
    ['Call bob +phone', { title: 'Call bob', tags: ['phone'] }],
    ['Call bob +Phone +work +PHONE', { title: 'Call bob', tags: ['phone', 'work'] }],
    ['Call +a +b bob', { title: 'Call bob', tags: ['a', 'b'] }],
    ['Read +books/fiction', { title: 'Read', tags: ['books/fiction'] }],
    ['Give +1 to idea', { title: 'Give +1 to idea' }],
    ['C++ notes', { title: 'C++ notes' }],
    ['Add + sign', { title: 'Add + sign' }],
    // dates
    ['Call mum today', { title: 'Call mum', do_date: '2026-01-15' }],
    ['Call mum tomorrow', { title: 'Call mum', do_date: '2026-01-16' }],
    ['Call mum TOMORROW', { title: 'Call mum', do_date: '2026-01-16' }],
    ['Call mum friday', { title: 'Call mum', do_date: '2026-01-16' }],
    ['Call mum fri', { title: 'Call mum', do_date: '2026-01-16' }],
    ['Call mum monday', { title: 'Call mum', do_date: '2026-01-19' }],
    ['Call mum Mon', { title: 'Call mum', do_date: '2026-01-19' }],
    ['Call mum thursday', { title: 'Call mum', do_date: '2026-01-22' }],
    ['Call mum next monday', { title: 'Call mum', do_date: '2026-01-19' }],
    ['Call mum on monday', { title: 'Call mum', do_date: '2026-01-19' }],
    ['Call mum on next monday', { title: 'Call mum', do_date: '2026-01-19' }],
    ['Call mum +3d', { title: 'Call mum', do_date: '2026-01-18' }],
    ['Call mum +0d', { title: 'Call mum', do_date: '2026-01-15' }],
    ['Call mum +2w', { title: 'Call mum', do_date: '2026-01-29' }],
    ['Call mum +1m', { title: 'Call mum', do_date: '2026-02-15' }],
    ['Call mum +1y', { title: 'Call mum', do_date: '2027-01-15' }],
    ['Call mum +2W', { title: 'Call mum', do_date: '2026-01-29' }],
    ['Call mum 2026-03-01', { title: 'Call mum', do_date: '2026-03-01' }],
    ['Call mum on 2026-03-01', { title: 'Call mum', do_date: '2026-03-01' }],
    ['Old thing 2020-01-01', { title: 'Old thing', do_date: '2020-01-01' }],
    // every form of the date table (docs/cli.md), bare, after `on` and after `due`
    ['Overdue thing yesterday', { title: 'Overdue thing', do_date: '2026-01-14' }],
    ['Overdue thing due yesterday', { title: 'Overdue thing', late_on: '2026-01-14' }],
    ['Past thing -2d', { title: 'Past thing', do_date: '2026-01-13' }],
    ['Past thing on -2d', { title: 'Past thing', do_date: '2026-01-13' }],
    ['Past thing due -1w', { title: 'Past thing', late_on: '2026-01-08' }],
    ['Last year -1y', { title: 'Last year', do_date: '2025-01-15' }],
    ['Pay due +1m', { title: 'Pay', late_on: '2026-02-15' }],
    ['Call mum on YESTERDAY', { title: 'Call mum', do_date: '2026-01-14' }],
    // late_on
    ['File taxes due friday', { title: 'File taxes', late_on: '2026-01-16' }],
    ['File taxes due 2026-04-15', { title: 'File taxes', late_on: '2026-04-15' }],
    ['File taxes due next mon', { title: 'File taxes', late_on: '2026-01-19' }],
    [
      'File taxes monday due friday',
      { title: 'File taxes', do_date: '2026-01-19', late_on: '2026-01-16' },
    ],
    [
      'File taxes due friday on monday',
      { title: 'File taxes', do_date: '2026-01-19', late_on: '2026-01-16' },
    ],
    // recurrence (no date: the first instance on or after today)
    [
      'Water plants every day',
      { title: 'Water plants', do_date: '2026-01-15', recurrence: 'FREQ=DAILY' },
    ],
    ['Review every week', { title: 'Review', do_date: '2026-01-15', recurrence: 'FREQ=WEEKLY' }],
    [
      'Pay rent every month',
      { title: 'Pay rent', do_date: '2026-01-15', recurrence: 'FREQ=MONTHLY' },
    ],
    ['Renew every year', { title: 'Renew', do_date: '2026-01-15', recurrence: 'FREQ=YEARLY' }],
    [
      'Water plants every 3 days',
      { title: 'Water plants', do_date: '2026-01-15', recurrence: 'FREQ=DAILY;INTERVAL=3' },
    ],
    [
      'Backup every 2 weeks',
      { title: 'Backup', do_date: '2026-01-15', recurrence: 'FREQ=WEEKLY;INTERVAL=2' },
    ],
    [
      'Bins every monday',
      { title: 'Bins', do_date: '2026-01-19', recurrence: 'FREQ=WEEKLY;BYDAY=MO' },
    ],
    [
      'Gym every Thursday',
      { title: 'Gym', do_date: '2026-01-15', recurrence: 'FREQ=WEEKLY;BYDAY=TH' },
    ],
    [
      'Gym every mon,wed,fri',
      { title: 'Gym', do_date: '2026-01-16', recurrence: 'FREQ=WEEKLY;BYDAY=MO,WE,FR' },
    ],
    [
      'Standup every weekday',
      { title: 'Standup', do_date: '2026-01-15', recurrence: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR' },
    ],
    [
      'Pay rent every month tomorrow',
      { title: 'Pay rent', do_date: '2026-01-16', recurrence: 'FREQ=MONTHLY' },
    ],
    [
      'Pay rent 2026-01-31 every month',
      { title: 'Pay rent', do_date: '2026-01-31', recurrence: 'FREQ=MONTHLY' },
    ],
    // words only count at the end
    ['Call Monday Inc', { title: 'Call Monday Inc' }],
    ['Call Monday Inc monday', { title: 'Call Monday Inc', do_date: '2026-01-19' }],
    ['Today show recap', { title: 'Today show recap' }],
    ['Read 2026-02-30 notes', { title: 'Read 2026-02-30 notes' }],
    [
      'Every day counts essay',
      {
        title: 'Every day counts essay',
        warnings: [
          '"Every day" is not at the end of the line, so it is not read as a recurrence; kept in the title',
        ],
      },
    ],
    [
      'Plan for every month',
      { title: 'Plan for', do_date: '2026-01-15', recurrence: 'FREQ=MONTHLY' },
    ],
    // in N days|weeks|months|years: a date at the end, prose elsewhere
    ['Paint the fence in 3 days', { title: 'Paint the fence', do_date: '2026-01-18' }],
    ['Paint the fence in 2 weeks', { title: 'Paint the fence', do_date: '2026-01-29' }],
    ['Paint the fence in a week', { title: 'Paint the fence', do_date: '2026-01-22' }],
    ['Paint the fence in 1 month', { title: 'Paint the fence', do_date: '2026-02-15' }],
    ['Renew In An Year', { title: 'Renew', do_date: '2027-01-15' }],
    ['Pay the fine due in 3 days', { title: 'Pay the fine', late_on: '2026-01-18' }],
    [
      'Pay in 2 weeks !red due in 1 month',
      { title: 'Pay', attention: 'red', do_date: '2026-01-29', late_on: '2026-02-15' },
    ],
    [
      'Water every week in 3 days',
      { title: 'Water', do_date: '2026-01-18', recurrence: 'FREQ=WEEKLY' },
    ],
    [
      'Read in 3 days book',
      {
        title: 'Read in 3 days book',
        warnings: [
          '"in 3 days" is not at the end of the line, so it is not read as a date; kept in the title',
        ],
      },
    ],
    [
      'Pay due in a week please',
      {
        title: 'Pay due in a week please',
        warnings: [
          '"due in a week" is not at the end of the line, so it is not read as a date; kept in the title',
        ],
      },
    ],
    ['Put it in the box', { title: 'Put it in the box' }],
    ['Sleep in 3 beds', { title: 'Sleep in 3 beds' }],
    ['Check in', { title: 'Check in' }],
    ['"Done in 3 days"', { title: 'Done in 3 days' }],
    ['Decide on', { title: 'Decide on' }],
    ['Meeting due', { title: 'Meeting due' }],
    ['Wait for next', { title: 'Wait for next' }],
    [
      'Tell every 2 apples',
      {
        title: 'Tell every 2 apples',
        warnings: ['"every 2 apples" is not a recurrence; kept in the title'],
      },
    ],
    // quoting
    ['"Call Monday"', { title: 'Call Monday' }],
    ['"Call Monday" monday', { title: 'Call Monday', do_date: '2026-01-19' }],
    ['"today"', { title: 'today' }],
    ['Watch "every day" tomorrow', { title: 'Watch every day', do_date: '2026-01-16' }],
    ['"!red #Home +x" literal', { title: '!red #Home +x literal' }],
    ['"Tomorrow" !red', { title: 'Tomorrow', attention: 'red' }],
    ['Buy 12" pipe', { title: 'Buy 12" pipe' }],
    ['Say "hi', { title: 'Say "hi' }],
    ['Read "" book', { title: 'Read book' }],
    // sigils between date words
    ['Pay rent tomorrow !red', { title: 'Pay rent', attention: 'red', do_date: '2026-01-16' }],
    [
      'Pay rent every !red month',
      { title: 'Pay rent', attention: 'red', do_date: '2026-01-15', recurrence: 'FREQ=MONTHLY' },
    ],
  ];
  it.each(cases)('%j', (text, want) => {
    expect(qa(text)).toEqual({ ...base, ...want });
  });

  it('keeps unread every/on/due words in the title and says so', () => {
    expect(qa('Water plants every fortnite')).toEqual({
      ...base,
      title: 'Water plants every fortnite',
      warnings: ['"every fortnite" is not a recurrence; kept in the title'],
    });
    expect(qa('Pay rent due someday !red')).toEqual({
      ...base,
      title: 'Pay rent due someday',
      attention: 'red',
      warnings: ['"due someday" is not a date; kept in the title'],
    });
    expect(qa('Work on report tomorrow')).toEqual({
      ...base,
      title: 'Work on report',
      do_date: '2026-01-16',
      warnings: ['"on report" is not a date; kept in the title'],
    });
    expect(qa('Ship it on the 5th').warnings).toEqual([
      '"on the 5th" is not a date; kept in the title',
    ]);
    expect(qa('Meet due the 5th of May').warnings).toEqual([
      '"due the 5th of May" is not a date; kept in the title',
    ]);
    // Further from the end than four words: ordinary prose, not a failed date.
    expect(qa('Work on the new quarterly sales report').warnings).toEqual([]);
    expect(qa('Decide on next week')).toMatchObject({
      title: 'Decide on next week',
      warnings: ['"on next week" is not a date; kept in the title'],
    });
    expect(qa('Pay rent due friday please').warnings).toEqual([
      '"due friday" is not at the end of the line, so it is not read as a date; kept in the title',
    ]);
    expect(qa('Meet on next mon at noon').warnings).toEqual([
      '"on next mon" is not at the end of the line, so it is not read as a date; kept in the title',
    ]);
    expect(qa('Swim every 2 weeks with Ann').warnings).toEqual([
      '"every 2 weeks" is not at the end of the line, so it is not read as a recurrence; kept in the title',
    ]);
    // Quoted words are title by request: nothing to warn about.
    expect(qa('"Work on report"').warnings).toEqual([]);
    expect(qa('Decide on').warnings).toEqual([]);
    expect(qa('Call Monday Inc').warnings).toEqual([]);
  });

  it('refuses instead of warning when strict', () => {
    expect(() => parseQuickAdd('Water every fortnite', TODAY, { strict: true })).toThrow(
      /"every fortnite" is not a recurrence; nothing was added \(strict\)/,
    );
    expect(() => parseQuickAdd('Pay due someday', TODAY, { strict: true })).toThrow(
      /"due someday" is not a date/,
    );
    expect(parseQuickAdd('Water every week', TODAY, { strict: true }).recurrence).toBe(
      'FREQ=WEEKLY',
    );
    expect(() => parseQuickAdd('Read in 3 days book', TODAY, { strict: true })).toThrow(
      /"in 3 days" is not at the end of the line/,
    );
    expect(parseQuickAdd('Put it in the box', TODAY, { strict: true }).title).toBe(
      'Put it in the box',
    );
  });

  it('uses the given today', () => {
    expect(qa('x tomorrow', '2026-12-31').do_date).toBe('2027-01-01');
    expect(qa('x +1m', '2026-01-31').do_date).toBe('2026-02-28');
    expect(qa('x monday', '2026-01-19').do_date).toBe('2026-01-26');
    expect(qa('x every month', '2026-01-31')).toMatchObject({ do_date: '2026-01-31' });
  });
});

describe('parseQuickAdd: one date language', () => {
  const SEED = 0x9d47e;
  const word = fc.oneof(
    fc.constantFrom('today', 'Tomorrow', 'YESTERDAY', 'mon', 'tues', 'Thursday', 'sat'),
    fc
      .tuple(
        fc.constantFrom('+', '-'),
        fc.integer({ min: 0, max: 400 }),
        fc.constantFrom(...'dwmy'),
      )
      .map(([sign, n, unit]) => `${sign}${n}${unit}`),
    fc
      .date({
        min: new Date(Date.UTC(1900, 0, 1)),
        max: new Date(Date.UTC(2200, 11, 31)),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString().slice(0, 10)),
    fc
      .tuple(fc.constantFrom('next', 'Next'), fc.constantFrom('mon', 'Friday', 'sun'))
      .map(([n, d]) => `${n} ${d}`),
    fc
      .tuple(
        fc.oneof(fc.integer({ min: 0, max: 400 }).map(String), fc.constantFrom('a', 'an', 'A')),
        fc.constantFrom('day', 'days', 'week', 'weeks', 'Month', 'months', 'year', 'YEARS'),
      )
      .map(([n, unit]) => `in ${n} ${unit}`),
  );
  it(`reads every form the CLI's --do reads, bare, after "on" and after "due" (seed ${SEED})`, () => {
    fc.assert(
      fc.property(word, fc.constantFrom('2026-01-15', '2024-02-29', '2025-12-31'), (w, today) => {
        const want = parseDatePhrase(w, today);
        expect(want).toBeDefined();
        const bare = parseQuickAdd(`Thing ${w}`, today);
        const on = parseQuickAdd(`Thing on ${w}`, today);
        const due = parseQuickAdd(`Thing due ${w}`, today);
        expect([bare.title, bare.do_date, bare.warnings]).toEqual(['Thing', want, []]);
        expect([on.title, on.do_date, on.warnings]).toEqual(['Thing', want, []]);
        expect([due.title, due.late_on, due.do_date]).toEqual(['Thing', want, null]);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
  it(`keeps any such date in the title when words follow it, and names it (seed ${SEED})`, () => {
    const tail = fc.constantFrom('book', 'with Ann', 'please', 'at noon');
    fc.assert(
      fc.property(word, tail, fc.constantFrom('', 'on ', 'due '), (w, rest, kw) => {
        const line = `Thing ${kw}${w} ${rest}`;
        const q = parseQuickAdd(line, TODAY);
        expect([q.title, q.do_date, q.late_on]).toEqual([line, null, null]);
        // A bare date word mid-line is ordinary prose ("Call Monday Inc"); a phrase that
        // starts with a keyword (on, due, in) is named.
        const named = kw !== '' || w.toLowerCase().startsWith('in ');
        expect(q.warnings).toEqual(
          named
            ? [
                `${JSON.stringify(`${kw}${w}`)} is not at the end of the line, so it is not read as a date; kept in the title`,
              ]
            : [],
        );
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('parseQuickAdd: errors', () => {
  it.each([
    ['', /title is empty/],
    ['   ', /title is empty/],
    ['tomorrow', /title is empty/],
    ['!red #Home +x', /title is empty/],
    ['every day', /title is empty/],
    ['""', /title is empty/],
    ['Pay 2026-02-30', /2026-02-30 is not a calendar date/],
    ['Pay due 2025-02-29', /2025-02-29 is not a calendar date/],
    ['Pay !red !orange', /two attentions given \(!red and !orange\)/],
    ['Pay !red !red', /two attentions/],
    ['Pay #Home #Work', /two projects given \(#Home and #Work\)/],
    ['Pay #Home #"Work Stuff"', /two projects/],
    ['Pay #""', /names no project/],
    ['Meet tomorrow monday', /two dates given \("tomorrow" and "monday"\)/],
    ['Meet on monday 2026-02-01', /two dates given/],
    ['Meet due monday due friday', /two due dates given \("due monday" and "due friday"\)/],
    ['Gym every day every week', /two recurrences given/],
    ['Gym every 0 days', /count between 1 and/],
    ['Far away +9999y', /not a calendar date/],
    [`${'x'.repeat(1025)}`, /longer than 1024/],
  ])('%j', (text, message) => {
    try {
      qa(text);
      throw new Error('expected a HephError');
    } catch (e) {
      expect(e).toBeInstanceOf(HephError);
      expect((e as HephError).code).toBe('invalid_params');
      expect((e as HephError).message).toMatch(message);
    }
  });

  it('rejects a bad today', () => {
    expect(() => qa('x', '2026-02-30')).toThrow(/today/);
  });
});
