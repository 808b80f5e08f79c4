// "What is next" must be a total, deterministic order built from the documented dimensions,
// and red tasks must survive any limit.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { ATTENTIONS, TASK_STATES } from '../../src/core/fields.js';
import {
  applyView,
  compareTasks,
  DEFAULT_NEXT_LIMIT,
  filterTasks,
  isActionable,
  isOnDeck,
  isOverdue,
  isViewName,
  RANK_ORDER,
  rankNext,
  sortByRank,
  VIEW_NAMES,
  VIEWS,
  type RankTask,
} from '../../src/core/rank.js';

const SEED = 0x4a4e;
const TODAY = '2026-03-10';

function task(id: string, over: Partial<RankTask> = {}): RankTask {
  return {
    id,
    state: 'outstanding',
    attention: 'white',
    do_date: null,
    late_on: null,
    created_ms: 1000,
    deleted: false,
    ...over,
  };
}

const ids = (ts: readonly RankTask[]): string[] => ts.map((t) => t.id);

describe('isActionable', () => {
  it.each<[string, Partial<RankTask>, boolean]>([
    ['plain outstanding white', {}, true],
    ['orange', { attention: 'orange' }, true],
    ['red', { attention: 'red' }, true],
    ['blue is on deck, not actionable', { attention: 'blue' }, false],
    ['done', { state: 'done' }, false],
    ['dropped', { state: 'dropped' }, false],
    ['deleted', { deleted: true }, false],
    ['do_date today', { do_date: TODAY }, true],
    ['do_date yesterday', { do_date: '2026-03-09' }, true],
    ['do_date tomorrow', { do_date: '2026-03-11' }, false],
    ['late_on in the past does not gate', { late_on: '2026-01-01' }, true],
    ['late_on in the future does not gate', { late_on: '2027-01-01' }, true],
  ])('%s → %s', (_name, over, want) => {
    expect(isActionable(task('t', over), TODAY)).toBe(want);
  });
});

describe('isOverdue / isOnDeck', () => {
  it.each<[string, Partial<RankTask>, boolean]>([
    ['no late_on', {}, false],
    ['late_on yesterday', { late_on: '2026-03-09' }, true],
    ['late_on today is not yet overdue', { late_on: TODAY }, false],
    ['late_on tomorrow', { late_on: '2026-03-11' }, false],
    ['blue and late', { attention: 'blue', late_on: '2026-03-01' }, true],
    ['future do_date and late', { do_date: '2026-04-01', late_on: '2026-03-01' }, true],
    ['done and late', { state: 'done', late_on: '2026-03-01' }, false],
    ['deleted and late', { deleted: true, late_on: '2026-03-01' }, false],
  ])('isOverdue: %s → %s', (_name, over, want) => {
    expect(isOverdue(task('t', over), TODAY)).toBe(want);
  });

  it.each<[string, Partial<RankTask>, boolean]>([
    ['blue outstanding', { attention: 'blue' }, true],
    ['blue with a future do_date', { attention: 'blue', do_date: '2027-01-01' }, true],
    ['white', {}, false],
    ['blue done', { attention: 'blue', state: 'done' }, false],
    ['blue deleted', { attention: 'blue', deleted: true }, false],
  ])('isOnDeck: %s → %s', (_name, over, want) => {
    expect(isOnDeck(task('t', over))).toBe(want);
  });
});

describe('rank order', () => {
  it('keeps the dimensions in one documented list', () => {
    expect(RANK_ORDER.map((d) => d.name)).toEqual([
      'past_late_on',
      'days_overdue',
      'attention',
      'oldest_first',
      'id',
    ]);
  });

  it.each<[string, Partial<RankTask>, Partial<RankTask>]>([
    ['past late_on beats red', { late_on: '2026-03-09' }, { attention: 'red' }],
    [
      'past late_on beats late_on today',
      { late_on: '2026-03-09' },
      { late_on: TODAY, attention: 'red' },
    ],
    [
      'more days overdue first',
      { late_on: '2026-03-01' },
      { late_on: '2026-03-08', attention: 'red' },
    ],
    [
      'red before orange',
      { attention: 'red', created_ms: 9 },
      { attention: 'orange', created_ms: 1 },
    ],
    [
      'orange before white',
      { attention: 'orange', created_ms: 9 },
      { attention: 'white', created_ms: 1 },
    ],
    [
      'white before blue',
      { attention: 'white', created_ms: 9 },
      { attention: 'blue', created_ms: 1 },
    ],
    ['oldest first', { created_ms: 1 }, { created_ms: 2 }],
    [
      'future late_on does not count as urgency',
      { created_ms: 1, late_on: '2027-01-01' },
      { created_ms: 2, late_on: '2026-03-11' },
    ],
    [
      'do_date never orders',
      { created_ms: 1, do_date: TODAY },
      { created_ms: 2, do_date: '2020-01-01' },
    ],
  ])('%s', (_name, first, second) => {
    const a = task('b-first', first);
    const b = task('a-second', second);
    expect(compareTasks(a, b, TODAY)).toBeLessThan(0);
    expect(compareTasks(b, a, TODAY)).toBeGreaterThan(0);
    expect(ids(sortByRank([b, a], TODAY))).toEqual(['b-first', 'a-second']);
  });

  it('breaks full ties by id (code-unit order)', () => {
    const ts = [task('b'), task('B'), task('a'), task('a0')];
    expect(ids(sortByRank(ts, TODAY))).toEqual(['B', 'a', 'a0', 'b']);
    expect(compareTasks(task('x'), task('x'), TODAY)).toBe(0);
  });

  it('orders a mixed list', () => {
    const ts = [
      task('white-old', { created_ms: 1 }),
      task('red-new', { attention: 'red', created_ms: 50 }),
      task('late-2d', { late_on: '2026-03-08', created_ms: 60 }),
      task('orange', { attention: 'orange', created_ms: 5 }),
      task('late-9d-white', { late_on: '2026-03-01', created_ms: 70 }),
      task('late-9d-red', { late_on: '2026-03-01', attention: 'red', created_ms: 80 }),
      task('red-old', { attention: 'red', created_ms: 10 }),
      task('due-today', { late_on: TODAY, created_ms: 0 }),
    ];
    expect(ids(sortByRank(ts, TODAY))).toEqual([
      'late-9d-red',
      'late-9d-white',
      'late-2d',
      'red-old',
      'red-new',
      'orange',
      'due-today',
      'white-old',
    ]);
  });

  it('sortByRank does not modify its input', () => {
    const ts = [task('b'), task('a')];
    sortByRank(ts, TODAY);
    expect(ids(ts)).toEqual(['b', 'a']);
  });
});

describe('rankNext', () => {
  it('returns only candidates', () => {
    const ts = [
      task('ok'),
      task('blue', { attention: 'blue' }),
      task('done', { state: 'done' }),
      task('dropped', { state: 'dropped' }),
      task('deleted', { deleted: true }),
      task('future', { do_date: '2026-03-11' }),
      task('today', { do_date: TODAY }),
    ];
    expect(ids(rankNext(ts, TODAY))).toEqual(['ok', 'today']);
  });

  it('defaults to a limit of 20', () => {
    const ts = Array.from({ length: 30 }, (_, i) =>
      task(`t${String(i).padStart(2, '0')}`, { created_ms: i }),
    );
    expect(DEFAULT_NEXT_LIMIT).toBe(20);
    expect(rankNext(ts, TODAY)).toHaveLength(20);
    expect(ids(rankNext(ts, TODAY, 3))).toEqual(['t00', 't01', 't02']);
  });

  it('never cuts red tasks, and keeps rank order', () => {
    const ts = [
      task('late', { late_on: '2026-03-01', created_ms: 9 }),
      task('r1', { attention: 'red', created_ms: 1 }),
      task('r2', { attention: 'red', created_ms: 2 }),
      task('o1', { attention: 'orange', created_ms: 0 }),
      task('w1', { created_ms: 0 }),
      task('r3', { attention: 'red', created_ms: 3 }),
    ];
    expect(ids(rankNext(ts, TODAY, 2))).toEqual(['late', 'r1', 'r2', 'r3']);
    expect(ids(rankNext(ts, TODAY, 0))).toEqual(['r1', 'r2', 'r3']);
    expect(ids(rankNext(ts, TODAY, 5))).toEqual(['late', 'r1', 'r2', 'r3', 'o1']);
    expect(ids(rankNext(ts, TODAY, 100))).toEqual(['late', 'r1', 'r2', 'r3', 'o1', 'w1']);
  });

  it('keeps extra fields of the caller’s task type', () => {
    const [first] = rankNext([{ ...task('x'), title: 'Pay rent' }], TODAY);
    expect(first?.title).toBe('Pay rent');
  });

  it.each([-1, 1.5, Number.NaN, Infinity])('rejects limit %s', (limit) => {
    expect(() => rankNext([], TODAY, limit)).toThrow(HephError);
    expect(() => rankNext([], TODAY, limit)).toThrow(/limit/);
  });

  it('rejects a bad today', () => {
    expect(() => rankNext([], '2026-02-30')).toThrow(/today/);
  });

  const arbTask = fc.record({
    id: fc.stringMatching(/^[a-z0-9]{1,4}$/),
    state: fc.constantFrom(...TASK_STATES),
    attention: fc.constantFrom(...ATTENTIONS),
    do_date: fc.option(
      fc.constantFrom('2026-03-01', '2026-03-09', TODAY, '2026-03-11', '2026-04-01'),
    ),
    late_on: fc.option(fc.constantFrom('2026-02-01', '2026-03-09', TODAY, '2026-03-11')),
    created_ms: fc.integer({ min: 0, max: 20 }),
    deleted: fc.boolean(),
  });

  it('is independent of input order and honours the limit rules (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(arbTask, { selector: (t) => t.id, maxLength: 30 }),
        fc.integer({ min: 0, max: 10 }),
        (ts, limit) => {
          const out = rankNext(ts, TODAY, limit);
          expect(ids(rankNext([...ts].reverse(), TODAY, limit))).toEqual(ids(out));
          const all = sortByRank(
            ts.filter((t) => isActionable(t, TODAY)),
            TODAY,
          );
          const reds = all.filter((t) => t.attention === 'red');
          expect(out.length).toBe(
            Math.max(Math.min(limit, all.length), 0) +
              reds.filter((t) => all.indexOf(t) >= limit).length,
          );
          for (const r of reds) expect(out).toContain(r);
          // The result is a subsequence of the full ranking.
          const positions = out.map((t) => all.indexOf(t));
          expect(positions).toEqual([...positions].sort((a, b) => a - b));
          for (let i = 1; i < out.length; i++) {
            expect(compareTasks(out[i - 1]!, out[i]!, TODAY)).toBeLessThan(0);
          }
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe('views', () => {
  const ts = [
    task('white'),
    task('blue', { attention: 'blue', created_ms: 5 }),
    task('blue-late', { attention: 'blue', late_on: '2026-03-01', created_ms: 6 }),
    task('late', { late_on: '2026-03-05' }),
    task('future', { do_date: '2026-03-20' }),
    task('done', { state: 'done' }),
    task('dropped', { state: 'dropped' }),
    task('deleted', { deleted: true }),
    task('deleted-blue', { attention: 'blue', deleted: true }),
  ];

  it.each<[string, string[]]>([
    ['actionable', ['late', 'white']],
    ['ondeck', ['blue-late', 'blue']],
    ['overdue', ['blue-late', 'late']],
    ['all', ['blue-late', 'late', 'done', 'dropped', 'future', 'white', 'blue']],
  ])('%s', (view, want) => {
    expect(isViewName(view)).toBe(true);
    expect(ids(applyView(ts, view as 'all', TODAY))).toEqual(want);
  });

  it('lists every view with a description', () => {
    expect(VIEW_NAMES).toEqual(['actionable', 'ondeck', 'overdue', 'all']);
    for (const name of VIEW_NAMES) {
      expect(VIEWS[name].name).toBe(name);
      expect(VIEWS[name].description.length).toBeGreaterThan(10);
    }
    expect(isViewName('next')).toBe(false);
    expect(isViewName(3)).toBe(false);
  });

  it('actionable view holds the same tasks as rankNext without a limit', () => {
    expect(ids(applyView(ts, 'actionable', TODAY))).toEqual(ids(rankNext(ts, TODAY, 1000)));
  });
});

describe('filterTasks', () => {
  const ts = [
    task('w'),
    task('o', { attention: 'orange' }),
    task('r', { attention: 'red' }),
    task('b', { attention: 'blue' }),
    task('d', { state: 'done', attention: 'red' }),
    task('x', { state: 'dropped' }),
    task('f', { do_date: '2026-04-01', attention: 'orange' }),
    task('del', { deleted: true, attention: 'red' }),
  ];

  it.each<[string, Parameters<typeof filterTasks>[1], string[]]>([
    ['empty filter keeps all but deleted, in input order', {}, ['w', 'o', 'r', 'b', 'd', 'x', 'f']],
    ['include', { attention_include: ['red', 'orange'] }, ['o', 'r', 'd', 'f']],
    ['exclude', { attention_exclude: ['blue', 'white'] }, ['o', 'r', 'd', 'f']],
    [
      'include and exclude',
      { attention_include: ['red', 'orange'], attention_exclude: ['orange'] },
      ['r', 'd'],
    ],
    ['empty include keeps nothing', { attention_include: [] }, []],
    ['empty exclude drops nothing', { attention_exclude: [] }, ['w', 'o', 'r', 'b', 'd', 'x', 'f']],
    ['one state', { state: 'done' }, ['d']],
    ['several states', { state: ['done', 'dropped'] }, ['d', 'x']],
    ['actionable today', { actionable_today: true }, ['w', 'o', 'r']],
    [
      'actionable_today false is no constraint',
      { actionable_today: false },
      ['w', 'o', 'r', 'b', 'd', 'x', 'f'],
    ],
    [
      'combined',
      { state: 'outstanding', attention_exclude: ['white'], actionable_today: true },
      ['o', 'r'],
    ],
  ])('%s', (_name, filter, want) => {
    expect(ids(filterTasks(ts, filter, TODAY))).toEqual(want);
  });

  it('rejects a bad today', () => {
    expect(() => filterTasks(ts, {}, 'soon')).toThrow(/today/);
  });
});

describe('rankNext selects without a full sort', () => {
  it('returns exactly what sorting every candidate and cutting at the limit (reds kept) returns', async () => {
    const fc = (await import('fast-check')).default;
    const {
      rankNext: next,
      sortByRank: sort,
      isActionable: actionable,
    } = await import('../../src/core/rank.js');
    const date = fc
      .integer({ min: 0, max: 40 })
      .map((d) => `2026-11-${String(1 + (d % 30)).padStart(2, '0')}`);
    const task = fc.record({
      id: fc.string({ minLength: 1, maxLength: 4 }),
      state: fc.constantFrom('outstanding' as const, 'done' as const),
      attention: fc.constantFrom(
        'white' as const,
        'orange' as const,
        'red' as const,
        'blue' as const,
      ),
      do_date: fc.option(date, { nil: null }),
      late_on: fc.option(date, { nil: null }),
      created_ms: fc.integer({ min: 0, max: 50 }),
      deleted: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(task, { maxLength: 80 }), fc.nat(30), date, (tasks, limit, today) => {
        const expected = sort(
          tasks.filter((t) => actionable(t, today)),
          today,
        ).filter((t, i) => i < limit || t.attention === 'red');
        expect(next(tasks, today, limit)).toEqual(expected);
      }),
      { seed: 424242, numRuns: 300 },
    );
  });
});
