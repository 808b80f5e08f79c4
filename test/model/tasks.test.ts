import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logId } from '../../src/core/ids.js';
import { openTestModel, TODAY, type TestModel } from './helpers.js';

let h: TestModel;
beforeEach(() => {
  h = openTestModel();
});
afterEach(() => h.close());

describe('createTask', () => {
  it('creates the task with its context doc linked canonical-context', () => {
    const { task, context } = h.model.createTask({
      title: 'Pay rent',
      body: 'note',
      attention: 'orange',
      do_date: '2026-11-20',
      late_on: '2026-11-30',
    });
    expect(task).toMatchObject({
      title: 'Pay rent',
      body: 'note',
      state: 'outstanding',
      attention: 'orange',
      do_date: '2026-11-20',
      late_on: '2026-11-30',
      recurrence: null,
      recurrence_anchor: null,
      context,
      log: null,
      project: null,
      tags: [],
      deleted: false,
    });
    // The text is the note, kept in the context doc; the task itself holds none.
    const doc = h.store.getNode(context);
    expect(doc).toMatchObject({ kind: 'doc', title: 'Pay rent', body: 'note' });
    expect(h.store.getNode(task.id).body).toBe('');
    expect(h.store.links(task.id, 'canonical-context').map((l) => l.dst)).toEqual([context]);
  });

  it('normalizes the recurrence and remembers its anchor', () => {
    const { task } = h.model.createTask({
      title: 'Standup',
      do_date: '2026-11-23',
      recurrence: 'rrule:freq=weekly;byday=mo',
    });
    expect(task.recurrence).toBe('FREQ=WEEKLY;BYDAY=MO');
    expect(task.recurrence_anchor).toBe('2026-11-23');
    expect(h.store.getNode(task.id).extra.recurrence_anchor).toBe('2026-11-23');
  });

  it('gives a recurring task without a do_date the first date of its rule from today', () => {
    const { task } = h.model.createTask({ title: 'Bins', recurrence: 'FREQ=WEEKLY;BYDAY=TH' });
    expect(task.do_date).toBe('2026-11-26'); // 2026-11-22 is a Sunday
    expect(task.recurrence_anchor).toBe('2026-11-26');
  });

  it('puts the task in a project and applies tags in the same transaction', () => {
    const p = h.model.createProject({ title: 'Home' });
    const { task } = h.model.createTask({
      title: 'Fix tap',
      project: 'Home',
      tags: ['DIY', 'diy'],
    });
    expect(task.project).toBe(p.id);
    expect(task.tags).toEqual(['diy']);
  });
});

describe('updateTask', () => {
  it("changes fields; the context doc's title follows without a write of its own", () => {
    const { task, context } = h.model.createTask({ title: 'Old' });
    const t = h.model.updateTask(task.id, {
      title: 'New',
      attention: 'red',
      late_on: '2026-12-01',
    });
    expect(t).toMatchObject({ title: 'New', attention: 'red', late_on: '2026-12-01' });
    expect(h.store.getNode(context).title).toBe('New');
    expect(h.store.fieldHeads(context, 'title').map((x) => x.value)).toEqual(['Old']);
    const cleared = h.model.updateTask(task.id, { late_on: null });
    expect(cleared.late_on).toBeNull();
  });

  it("returns its note's body_version (the context doc's), which an editor saves from", () => {
    const { task, context } = h.model.createTask({ title: 'T', body: 'one\n' });
    expect(task.body_version).toBe(h.store.getNode(context).body_version);
    expect(task.body_version).not.toBe('');
    const t = h.model.updateTask(task.id, { body: 'one\ntwo\n', base_version: task.body_version });
    expect(h.store.getNode(context).body).toBe('one\ntwo\n');
    expect(t.body_version).toBe(h.store.getNode(context).body_version);
    expect(t.body_version).not.toBe(task.body_version);
    expect(h.model.getTask(task.id).body_version).toBe(t.body_version);
  });

  it("shows a context doc's own title change nowhere: the doc is titled as its task", () => {
    const { task, context } = h.model.createTask({ title: 'Old' });
    h.store.updateNode(context, { title: 'My notes' });
    expect(h.store.getNode(context).title).toBe('Old');
    h.model.updateTask(task.id, { title: 'New' });
    expect(h.store.getNode(context).title).toBe('New');
  });

  it('re-anchors when a recurrence is set and forgets the anchor when it is cleared', () => {
    const { task } = h.model.createTask({ title: 'T', do_date: '2026-11-25' });
    const r = h.model.updateTask(task.id, { recurrence: 'FREQ=DAILY;INTERVAL=2' });
    expect(r).toMatchObject({
      recurrence: 'FREQ=DAILY;INTERVAL=2',
      recurrence_anchor: '2026-11-25',
    });
    const moved = h.model.updateTask(task.id, { do_date: '2026-12-01', recurrence: 'FREQ=WEEKLY' });
    expect(moved).toMatchObject({ do_date: '2026-12-01', recurrence_anchor: '2026-12-01' });
    const off = h.model.updateTask(task.id, { recurrence: null });
    expect(off).toMatchObject({ recurrence: null, recurrence_anchor: null, do_date: '2026-12-01' });
  });
});

describe('task states', () => {
  it('completes, reopens and drops a plain task', () => {
    const { task } = h.model.createTask({ title: 'T' });
    const done = h.model.completeTask(task.id);
    expect(done).toMatchObject({ rolled: false, next_do_date: null, task: { state: 'done' } });
    const ops = h.store.opCount();
    h.model.completeTask(task.id); // already done: nothing written
    expect(h.store.opCount()).toBe(ops);
    expect(h.model.reopenTask(task.id).state).toBe('outstanding');
    expect(h.model.dropTask(task.id).state).toBe('dropped');
  });

  it('a dropped recurring task stops rolling; completing it closes it', () => {
    const { task } = h.model.createTask({ title: 'T', do_date: TODAY, recurrence: 'FREQ=DAILY' });
    h.model.dropTask(task.id);
    const r = h.model.completeTask(task.id);
    expect(r).toMatchObject({ rolled: false, task: { state: 'done', do_date: TODAY } });
  });

  it('deleting a task moves its context doc to the trash with it; restore brings both back', () => {
    const { task, context } = h.model.createTask({ title: 'T', body: 'notes' });
    const ops = h.store.opCount();
    h.model.deleteTask(task.id);
    // One command, one change: the task's and the doc's deletes.
    const added = h.store.opsSince(0, 100_000).ops.slice(ops);
    expect(added.map((o) => o.target).sort()).toEqual([context, task.id].sort());
    expect(h.store.changesOf(added.map((o) => o.id)).size).toBe(1);
    expect(h.store.getNode(context).deleted).toBe(true);
    expect(h.model.trash().nodes.map((n) => n.id)).toEqual([task.id]);
    expect(h.model.restore(task.id)).toMatchObject({ id: task.id, kind: 'task', deleted: false });
    expect(h.store.getNode(context).deleted).toBe(false);
    expect(h.model.getTask(task.id).body).toBe('notes');
    expect(h.model.trash().nodes).toEqual([]);
  });

  it('refuses to change a task in the trash', () => {
    const { task } = h.model.createTask({ title: 'T' });
    h.model.deleteTask(task.id);
    expect(() => h.model.completeTask(task.id)).toThrow(/in the trash/);
    expect(h.model.getTask(task.id).deleted).toBe(true);
  });
});

describe('task log', () => {
  it('appends dated entries to log:<task id>, linked log-of, and tails them', () => {
    const { task } = h.model.createTask({ title: 'T' });
    expect(h.model.logTail(task.id).entries).toEqual([]);
    for (let i = 1; i <= 12; i++) h.model.logAppend(task.id, `entry ${i}`, `2026-11-${10 + i}`);
    const log = h.store.getNode(logId(task.id));
    expect(log.kind).toBe('doc');
    expect(h.store.links(log.id, 'log-of').map((l) => l.dst)).toEqual([task.id]);
    expect(h.model.getTask(task.id).log).toBe(log.id);
    const tail = h.model.logTail(task.id).entries;
    expect(tail).toHaveLength(10);
    expect(tail[9]).toEqual({ date: '2026-11-22', text: 'entry 12' });
    expect(h.model.logTail(task.id, 2).entries.map((e) => e.text)).toEqual([
      'entry 11',
      'entry 12',
    ]);
  });

  it('uses the clock day by default', () => {
    const { task } = h.model.createTask({ title: 'T' });
    expect(h.model.logAppend(task.id, ' called them ')).toEqual({
      date: TODAY,
      text: 'called them',
    });
  });
});
