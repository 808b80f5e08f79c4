// Concurrent task edits on two devices: the same field conflicts (both values kept and shown),
// different fields both survive, and body edits merge.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exchange, openTestModel, type TestModel } from './helpers.js';

let a: TestModel;
let b: TestModel;
let id: string;
beforeEach(() => {
  a = openTestModel();
  b = openTestModel();
  id = a.model.createTask({ title: 'Plan trip', body: 'flights\nhotel\ncar\n' }).task.id;
  exchange(a.store, b.store);
  b.clock.advance(1_000);
});
afterEach(() => {
  a.close();
  b.close();
});

describe('concurrent task edits', () => {
  it('the same field edited on both sides shows as a conflict with both values', () => {
    a.model.updateTask(id, { attention: 'red' });
    b.model.updateTask(id, { attention: 'orange' });
    exchange(a.store, b.store);
    expect(a.store.digest()).toBe(b.store.digest());
    const [c, ...rest] = a.store.conflicts();
    expect(rest).toEqual([]);
    expect(c).toMatchObject({ target: id, field: 'attention' });
    expect(c!.heads.map((x) => x.value).sort()).toEqual(['orange', 'red']);
    // The visible value is the later write's; a new write resolves the conflict everywhere.
    expect(a.model.getTask(id).attention).toBe('orange');
    a.model.updateTask(id, { attention: 'red' });
    exchange(a.store, b.store);
    expect(b.store.conflicts()).toEqual([]);
    expect(b.model.getTask(id).attention).toBe('red');
  });

  it('different fields edited on both sides both survive', () => {
    a.model.completeTask(id);
    b.model.updateTask(id, { title: 'Plan the trip', late_on: '2026-12-24' });
    exchange(a.store, b.store);
    expect(a.store.conflicts()).toEqual([]);
    expect(a.model.getTask(id)).toMatchObject({
      state: 'done',
      title: 'Plan the trip',
      late_on: '2026-12-24',
    });
    expect(a.store.digest()).toBe(b.store.digest());
  });

  it('body edits on both sides merge', () => {
    a.model.updateTask(id, { body: 'flights (booked)\nhotel\ncar\n' });
    b.model.updateTask(id, { body: 'flights\nhotel\ncar\ntrain to airport\n' });
    exchange(a.store, b.store);
    expect(a.model.getTask(id).body).toBe('flights (booked)\nhotel\ncar\ntrain to airport\n');
    expect(b.model.getTask(id).body).toBe(a.model.getTask(id).body);
    expect(a.store.conflicts()).toEqual([]);
  });

  it('log entries appended on both sides both survive', () => {
    a.model.logAppend(id, 'from a');
    b.model.logAppend(id, 'from b');
    exchange(a.store, b.store);
    const texts = a.model
      .logTail(id)
      .entries.map((e) => e.text)
      .sort();
    expect(texts).toEqual(['from a', 'from b']);
    expect(a.store.digest()).toBe(b.store.digest());
  });
});
