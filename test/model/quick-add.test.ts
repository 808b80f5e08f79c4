import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectRefused, openTestModel, TODAY, type TestModel } from './helpers.js';

let h: TestModel;
beforeEach(() => {
  h = openTestModel();
});
afterEach(() => h.close());

describe('quickAdd', () => {
  it('creates the task, its project and tags from one line', () => {
    const r = h.model.quickAdd('Pay rent !red #Home +bills +Money tomorrow due 2026-11-30', TODAY);
    expect(r.created_project).toBe(true);
    expect(r.project).toMatchObject({ title: 'Home' });
    expect(r.task).toMatchObject({
      title: 'Pay rent',
      attention: 'red',
      do_date: '2026-11-23',
      late_on: '2026-11-30',
      project: r.project?.id,
      tags: ['bills', 'money'],
      context: r.context,
    });
    expect(h.store.getNode(r.context)).toMatchObject({ kind: 'doc', title: 'Pay rent' });
    expect(h.model.listProjects().projects).toMatchObject([{ title: 'Home', tasks: 1 }]);
  });

  it('finds an existing project by title, in any case', () => {
    const home = h.model.createProject({ title: 'Home' });
    const r = h.model.quickAdd('Mow the lawn #home');
    expect(r).toMatchObject({ created_project: false, project: { id: home.id, title: 'Home' } });
    expect(r.task.project).toBe(home.id);
    expect(h.model.listProjects().projects).toHaveLength(1);
  });

  it('makes recurring tasks with an anchor', () => {
    const r = h.model.quickAdd('Water plants every week');
    expect(r.task).toMatchObject({
      title: 'Water plants',
      recurrence: 'FREQ=WEEKLY',
      do_date: TODAY,
      recurrence_anchor: TODAY,
    });
    expect(r.project).toBeNull();
    expect(h.model.completeTask(r.task.id).next_do_date).toBe('2026-11-29');
  });

  it('refuses a line that is not a task, storing nothing', () => {
    expectRefused(h.store, () => h.model.quickAdd('!red #Home', TODAY), 'invalid_params', 'text');
    expectRefused(h.store, () => h.model.quickAdd('x 2026-02-30', TODAY), 'invalid_params', 'text');
    expectRefused(h.store, () => h.model.quickAdd('   '), 'invalid_params', 'text');
  });

  it('creates the task when words stay in the title, and says which', () => {
    const r = h.model.quickAdd('Water plants every fortnite', TODAY);
    expect(r.task.title).toBe('Water plants every fortnite');
    expect(r.warnings).toEqual(['"every fortnite" is not a recurrence; kept in the title']);
    expect(h.model.quickAdd('Pay rent tomorrow', TODAY).warnings).toEqual([]);
  });

  it('strict refuses such a line and stores nothing', () => {
    expectRefused(
      h.store,
      () => h.model.quickAdd('Water plants every fortnite', TODAY, { strict: true }),
      'invalid_params',
      'text',
    );
  });

  it('previews without writing: same reading, no ids, the project it would create', () => {
    const home = h.model.createProject({ title: 'Home' });
    const ops = h.store.opCount();
    const p = h.model.previewQuickAdd('Pay rent !red #Home +bills tomorrow', TODAY);
    expect(p).toEqual({
      dry_run: true,
      task: {
        title: 'Pay rent',
        state: 'outstanding',
        attention: 'red',
        do_date: '2026-11-23',
        late_on: null,
        recurrence: null,
        tags: ['bills'],
      },
      project: { id: home.id, title: 'Home' },
      created_project: false,
      warnings: [],
    });
    expect(h.model.previewQuickAdd('Dig #Garden').project).toEqual({ id: null, title: 'Garden' });
    expect(h.model.previewQuickAdd('Dig #Garden').created_project).toBe(true);
    expect(h.store.opCount()).toBe(ops);
    expect(h.model.listProjects().projects).toHaveLength(1);
  });
});
