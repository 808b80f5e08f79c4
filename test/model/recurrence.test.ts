// Recurring tasks through the model: completing rolls the task forward in place (boxes reset,
// occurrence logged, do_date moved on, never backwards or into the past); skipping moves on
// without logging.

import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addDays } from '../../src/core/dates.js';
import { openTestModel, sendOps, TODAY, type TestModel } from './helpers.js';

const SEED = 0x6d0de1;

describe('completing a recurring task', () => {
  let h: TestModel;
  beforeEach(() => {
    h = openTestModel();
  });
  afterEach(() => h.close());

  it('unchecks the boxes, logs the occurrence and moves do_date on; state stays outstanding', () => {
    const { task, context } = h.model.createTask({
      title: 'Weekly review',
      body: '# Review\n- [x] inbox\n- [ ] calendar\n- [X] done\n',
      do_date: '2026-11-16',
      recurrence: 'FREQ=WEEKLY',
    });
    // Text an earlier version kept in the task itself is reset too.
    h.store.updateNode(task.id, { body: '- [x] own box\n' });
    const r = h.model.completeTask(task.id, TODAY);
    expect(r).toMatchObject({ rolled: true, next_do_date: '2026-11-23' });
    expect(r.task).toMatchObject({
      state: 'outstanding',
      do_date: '2026-11-23',
      body: '# Review\n- [ ] inbox\n- [ ] calendar\n- [ ] done\n',
      own_body: '- [ ] own box\n',
    });
    expect(h.store.getNode(context).body).toBe(
      '# Review\n- [ ] inbox\n- [ ] calendar\n- [ ] done\n',
    );
    expect(h.model.logTail(task.id).entries).toEqual([
      { date: TODAY, text: 'done (do date 2026-11-16)' },
    ]);
    expect(r.task.log).toBe(`log:${task.id}`);
  });

  it('monthly on the 31st skips the months without one', () => {
    const { task } = h.model.createTask({
      title: 'Invoice',
      do_date: '2026-01-31',
      recurrence: 'FREQ=MONTHLY;BYMONTHDAY=31',
    });
    const seen: string[] = [];
    let today = '2026-01-31';
    for (let i = 0; i < 4; i++) {
      const r = h.model.completeTask(task.id, today);
      seen.push(r.task.do_date ?? '');
      today = r.task.do_date ?? today;
    }
    expect(seen).toEqual(['2026-03-31', '2026-05-31', '2026-07-31', '2026-08-31']);
  });

  it('monthly on the last day lands on the end of every month', () => {
    const { task } = h.model.createTask({
      title: 'Close books',
      do_date: '2026-01-31',
      recurrence: 'FREQ=MONTHLY;BYMONTHDAY=-1',
    });
    expect(h.model.completeTask(task.id, '2026-01-31').next_do_date).toBe('2026-02-28');
    expect(h.model.completeTask(task.id, '2026-02-28').next_do_date).toBe('2026-03-31');
  });

  it('completing late skips the missed instances: the next date is after today', () => {
    const { task } = h.model.createTask({
      title: 'T',
      do_date: '2026-11-02',
      recurrence: 'FREQ=WEEKLY',
    });
    expect(h.model.completeTask(task.id, TODAY).next_do_date).toBe('2026-11-23');
  });

  it('skip moves on like done but logs nothing and leaves the boxes', () => {
    const a = h.model.createTask({
      title: 'A',
      body: '- [x] x\n',
      do_date: TODAY,
      recurrence: 'FREQ=DAILY',
    });
    const b = h.model.createTask({
      title: 'B',
      body: '- [x] x\n',
      do_date: TODAY,
      recurrence: 'FREQ=DAILY',
    });
    const done = h.model.completeTask(a.task.id, TODAY);
    const skipped = h.model.skipTask(b.task.id, TODAY);
    expect(done.next_do_date).toBe('2026-11-23');
    expect(skipped.next_do_date).toBe('2026-11-23');
    expect(h.model.logTail(a.task.id).entries).toHaveLength(1);
    expect(h.model.logTail(b.task.id).entries).toEqual([]);
    expect(skipped.task).toMatchObject({ log: null, body: '- [x] x\n', state: 'outstanding' });
  });

  it('a series that has ended closes the task: done on complete, dropped on skip', () => {
    const a = h.model.createTask({ title: 'A', do_date: TODAY, recurrence: 'FREQ=DAILY;COUNT=2' });
    expect(h.model.completeTask(a.task.id, TODAY).task.do_date).toBe('2026-11-23');
    const last = h.model.completeTask(a.task.id, '2026-11-23');
    expect(last).toMatchObject({ rolled: false, next_do_date: null, task: { state: 'done' } });
    expect(h.model.logTail(a.task.id).entries).toHaveLength(2);
    const b = h.model.createTask({ title: 'B', do_date: TODAY, recurrence: 'FREQ=DAILY;COUNT=1' });
    expect(h.model.skipTask(b.task.id, TODAY).task.state).toBe('dropped');
  });

  it('two devices completing the same occurrence compute the same next date', () => {
    const other = openTestModel();
    try {
      const { task } = h.model.createTask({
        title: 'T',
        do_date: '2026-11-20',
        recurrence: 'FREQ=WEEKLY;BYDAY=FR',
      });
      sendOps(h.store, other.store);
      const a = h.model.completeTask(task.id, TODAY);
      const b = other.model.completeTask(task.id, TODAY);
      expect(a.next_do_date).toBe('2026-11-27');
      expect(b.next_do_date).toBe(a.next_do_date);
      sendOps(h.store, other.store);
      sendOps(other.store, h.store);
      expect(h.store.digest()).toBe(other.store.digest());
      expect(h.model.getTask(task.id).do_date).toBe('2026-11-27');
    } finally {
      other.close();
    }
  });
});

describe('recurrence property', () => {
  let h: TestModel;
  beforeAll(() => {
    h = openTestModel();
  });
  afterAll(() => h.close());

  const RULES = [
    'FREQ=DAILY',
    'FREQ=DAILY;INTERVAL=3',
    'FREQ=WEEKLY',
    'FREQ=WEEKLY;BYDAY=MO,WE,FR',
    'FREQ=WEEKLY;INTERVAL=2;BYDAY=TU',
    'FREQ=MONTHLY',
    'FREQ=MONTHLY;BYMONTHDAY=31',
    'FREQ=MONTHLY;BYMONTHDAY=-1',
    'FREQ=MONTHLY;BYDAY=2TU',
    'FREQ=YEARLY',
    'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29',
  ];

  it('completing or skipping never moves do_date backwards or onto/before today', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RULES),
        fc.integer({ min: -400, max: 400 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 120 }), skip: fc.boolean() }), {
          minLength: 1,
          maxLength: 6,
        }),
        (rule, offset, steps) => {
          const { task } = h.model.createTask({
            title: 'P',
            do_date: addDays(TODAY, offset),
            recurrence: rule,
          });
          let today = TODAY;
          let doDate = task.do_date ?? '';
          let logged = 0;
          for (const s of steps) {
            today = addDays(today, s.gap);
            const r = s.skip
              ? h.model.skipTask(task.id, today)
              : h.model.completeTask(task.id, today);
            if (!s.skip) logged++;
            const next = r.task.do_date ?? '';
            expect(r.task.state).toBe('outstanding');
            expect(next > today).toBe(true);
            expect(next > doDate).toBe(true);
            expect(r.next_do_date).toBe(next);
            doDate = next;
          }
          expect(h.model.logTail(task.id, 100).entries).toHaveLength(logged);
        },
      ),
      { seed: SEED, numRuns: 60 },
    );
  });
});
