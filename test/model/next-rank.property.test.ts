// "What is next" as the model answers it (model/views.ts: the ranking written once more in SQL
// picks and orders the rows it reads) against core/rank's rankNext over every task row, as the
// model answered before: random task sets with dates, recurrence, red tasks, states written and
// left unset, deleted tasks, projects and limits, and a set like the benchmark's. Seeded: a
// failure prints the seed and the counterexample; HEPH_PROPERTY_SEED / HEPH_PROPERTY_RUNS replay
// or widen it.

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_NEXT_LIMIT, isActionable, rankNext, type RankTask } from '../../src/core/rank.js';
import type { Attention, TaskState } from '../../src/core/fields.js';
import type { TaskListResult } from '../../src/model/types.js';
import { taskSummary } from '../../src/model/views.js';
import { openTestModel, TODAY, type TestModel } from './helpers.js';

const SEED = Number(process.env.HEPH_PROPERTY_SEED ?? 20261219);
const RUNS = Number(process.env.HEPH_PROPERTY_RUNS ?? 100);

interface Row extends RankTask {
  title: string;
  recurrence: string | null;
}

/** Every task row, read without the next query or its index. */
function allTasks(h: TestModel): Row[] {
  const rows = h.store.connection
    .prepare(
      `SELECT id, state, attention, do_date, late_on, recurrence, created_ms, deleted, title
       FROM nodes WHERE kind = 'task'`,
    )
    .all() as {
    id: string;
    state: TaskState | null;
    attention: Attention | null;
    do_date: string | null;
    late_on: string | null;
    recurrence: string | null;
    created_ms: number;
    deleted: number;
    title: string;
  }[];
  return rows.map((r) => ({
    ...r,
    state: r.state ?? 'outstanding',
    attention: r.attention ?? 'white',
    deleted: r.deleted === 1,
  }));
}

/** What `next` answered before: core/rank over every task; `coming` when nothing is next. */
function expected(h: TestModel, today: string, limit: number): TaskListResult {
  const all = allTasks(h);
  const tasks = rankNext(all, today, limit).map(taskSummary);
  if (all.some((t) => isActionable(t, today))) return { today, tasks };
  const ahead = all
    .filter(
      (t) =>
        t.state === 'outstanding' &&
        !t.deleted &&
        t.attention !== 'blue' &&
        t.do_date !== null &&
        t.do_date > today,
    )
    .sort(
      (a, b) =>
        (a.do_date! < b.do_date! ? -1 : a.do_date! > b.do_date! ? 1 : 0) ||
        a.created_ms - b.created_ms ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
  return { today, tasks, coming: ahead[0] === undefined ? null : taskSummary(ahead[0]) };
}

let h: TestModel;
beforeEach(() => {
  h = openTestModel();
});
afterEach(() => h.close());

const DATES = ['2026-10-30', '2026-11-20', '2026-11-21', TODAY, '2026-11-23', '2026-12-01'];

const arbTask = fc.record({
  // undefined: never written (a NULL column); 'white' written (the same for ranking).
  attention: fc.constantFrom(undefined, 'white', 'orange', 'red', 'red', 'blue'),
  // 'unset': never written; 'reopened': done, then outstanding again (a written state).
  state: fc.constantFrom('unset', 'unset', 'reopened', 'done', 'dropped'),
  do_date: fc.option(fc.constantFrom(...DATES)),
  late_on: fc.option(fc.constantFrom(...DATES)),
  recurrence: fc.option(fc.constantFrom('FREQ=DAILY', 'FREQ=WEEKLY;BYDAY=MO')),
  deleted: fc.constantFrom(false, false, false, false, false, true),
  project: fc.option(fc.integer({ min: 0, max: 2 })),
  // 0: created in the same millisecond as the one before (the id breaks the tie).
  gapMs: fc.constantFrom(0, 0, 1, 60_000),
});

type Spec = typeof arbTask extends fc.Arbitrary<infer T> ? T : never;

function make(specs: Spec[]): void {
  const projects = [0, 1, 2].map((i) => h.model.createProject({ title: `P${i}` }).id);
  specs.forEach((s, i) => {
    h.clock.advance(s.gapMs);
    const t = h.store.createNode({
      kind: 'task',
      title: `t${i}`,
      ...(s.attention !== undefined && { attention: s.attention }),
      ...(s.do_date !== null && { do_date: s.do_date }),
      ...(s.late_on !== null && { late_on: s.late_on }),
      ...(s.recurrence !== null && { recurrence: s.recurrence }),
    });
    if (s.state === 'reopened') {
      h.store.updateNode(t.id, { state: 'done' });
      h.store.updateNode(t.id, { state: 'outstanding' });
    } else if (s.state !== 'unset') {
      h.store.updateNode(t.id, { state: s.state });
    }
    if (s.project !== null) h.model.setTaskProject(t.id, projects[s.project]!);
    if (s.deleted) h.store.deleteNode(t.id);
  });
}

describe('next against core/rank over every task', () => {
  it(`gives what ranking every task gives, for any today and limit (${RUNS} runs, seed ${SEED})`, () => {
    fc.assert(
      fc.property(
        fc.array(arbTask, { maxLength: 30, size: 'medium' }),
        fc.constantFrom('2026-11-20', '2026-11-21', TODAY, '2026-12-02'),
        fc.option(fc.integer({ min: 0, max: 6 }), { freq: 6 }),
        (specs, today, limit) => {
          h.close();
          h = openTestModel();
          make(specs);
          const params = limit === null ? { today } : { today, limit };
          const want = expected(h, today, limit ?? DEFAULT_NEXT_LIMIT);
          expect(h.model.next(params)).toEqual(want);
          // The rows the row form is built from are the same tasks in the same order.
          const rows = h.model.nextTasks(params);
          expect(rows.tasks.map((t) => t.id)).toEqual(want.tasks.map((t) => t.id));
          expect('coming' in rows).toBe('coming' in want);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`next against core/rank: seed ${SEED}, ${RUNS} runs`);
  }, 120_000);

  it('gives what ranking every task gives on a set like the benchmark’s (10,000 tasks, 200 projects)', () => {
    // The bench's generator (bench/cli.ts): a fifth red, a fifth blue, do and late-on dates
    // within ten days either side of today on part of them.
    const attentions = ['white', 'white', 'orange', 'red', 'blue'] as const;
    let seed = 7;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const day = (offset: number) =>
      new Date(Date.UTC(2026, 10, 22) + offset * 86_400_000).toISOString().slice(0, 10);
    h.store.transaction(() => {
      const projects = Array.from(
        { length: 200 },
        (_, i) => h.store.createNode({ kind: 'project', title: `Project ${i}` }).id,
      );
      for (let i = 0; i < 10_000; i++) {
        const r = rnd();
        const t = h.store.createNode({
          kind: 'task',
          title: `Task ${i}`,
          attention: attentions[i % attentions.length]!,
          ...(r < 0.4 && { do_date: day(Math.floor(rnd() * 20) - 10) }),
          ...(r > 0.7 && { late_on: day(Math.floor(rnd() * 20) - 10) }),
        });
        h.store.addLink(t.id, projects[i % projects.length]!, 'in-project');
      }
    });
    for (const limit of [undefined, 0, 1, 20, 500]) {
      const params = limit === undefined ? { today: TODAY } : { today: TODAY, limit };
      const got = h.model.next(params);
      expect(got).toEqual(expected(h, TODAY, limit ?? DEFAULT_NEXT_LIMIT));
      expect(got.tasks.length).toBeGreaterThan(1_500);
    }
  }, 60_000);
});
