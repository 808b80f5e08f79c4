import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exchange, expectRefused, openTestModel, TODAY, type TestModel } from './helpers.js';

let h: TestModel;
beforeEach(() => {
  h = openTestModel();
});
afterEach(() => h.close());

describe('projects', () => {
  it('creates a tree by parent links and lists it with task counts', () => {
    const home = h.model.createProject({ title: 'Home' });
    const garden = h.model.createProject({ title: 'Garden', parent: home.id });
    expect(garden.parent).toBe(home.id);
    expect(h.store.links(garden.id, 'parent').map((l) => l.dst)).toEqual([home.id]);
    const a = h.model.createTask({ title: 'a', project: 'Garden' }).task;
    h.model.createTask({ title: 'b', project: garden.id });
    h.model.completeTask(a.id);
    expect(h.model.listProjects().projects).toEqual([
      { id: garden.id, title: 'Garden', parent: home.id, tasks: 2, outstanding: 1 },
      { id: home.id, title: 'Home', parent: null, tasks: 0, outstanding: 0 },
    ]);
    expect(h.model.getProject(garden.id)).toMatchObject({ tasks: 2, outstanding: 1 });
  });

  it('refuses a move that would make a cycle, and stores nothing', () => {
    const a = h.model.createProject({ title: 'A' });
    const b = h.model.createProject({ title: 'B', parent: a.id });
    const c = h.model.createProject({ title: 'C', parent: b.id });
    expectRefused(h.store, () => h.model.moveProject(a.id, c.id), 'cycle');
    expectRefused(h.store, () => h.model.moveProject(a.id, a.id), 'cycle');
    expect(h.model.moveProject(c.id, a.id).parent).toBe(a.id);
    expect(h.model.moveProject(c.id, null).parent).toBeNull();
    expect(h.store.links(c.id, 'parent')).toEqual([]);
  });

  it('lists a project with its sub-projects in scope', () => {
    const work = h.model.createProject({ title: 'Work' });
    const web = h.model.createProject({ title: 'Web', parent: work.id });
    const css = h.model.createProject({ title: 'CSS', parent: web.id });
    const other = h.model.createProject({ title: 'Other' });
    const t1 = h.model.createTask({ title: 't1', project: work.id }).task;
    const t2 = h.model.createTask({ title: 't2', project: web.id }).task;
    const t3 = h.model.createTask({ title: 't3', project: css.id }).task;
    h.model.createTask({ title: 't4', project: other.id });
    h.model.createTask({ title: 'loose' });
    const ids = (project: string) =>
      h.model
        .list({ filter: { project }, today: TODAY })
        .tasks.map((t) => t.id)
        .sort();
    expect(ids('Work')).toEqual([t1.id, t2.id, t3.id].sort());
    expect(ids(web.id)).toEqual([t2.id, t3.id].sort());
    expect(ids('css')).toEqual([t3.id]); // titles match in any case when no exact match
  });

  it('keeps a task in one project: setTaskProject replaces the link', () => {
    const a = h.model.createProject({ title: 'A' });
    const b = h.model.createProject({ title: 'B' });
    const { task } = h.model.createTask({ title: 't', project: a.id });
    expect(h.model.setTaskProject(task.id, b.id).project).toBe(b.id);
    expect(h.store.links(task.id, 'in-project').map((l) => l.dst)).toEqual([b.id]);
    expect(h.model.setTaskProject(task.id, null).project).toBeNull();
    expect(h.store.links(task.id, 'in-project')).toEqual([]);
  });

  it('after concurrent moves leave two in-project links, every replica picks the lowest', () => {
    const other = openTestModel();
    try {
      const a = h.model.createProject({ title: 'A' });
      const b = h.model.createProject({ title: 'B' });
      const { task } = h.model.createTask({ title: 't' });
      exchange(h.store, other.store);
      h.model.setTaskProject(task.id, a.id);
      other.model.setTaskProject(task.id, b.id);
      exchange(h.store, other.store);
      expect(h.store.links(task.id, 'in-project')).toHaveLength(2);
      const lowest = [a.id, b.id].sort()[0];
      expect(h.model.getTask(task.id).project).toBe(lowest);
      expect(other.model.getTask(task.id).project).toBe(lowest);
      const counts = h.model.listProjects().projects.map((p) => p.tasks);
      expect(counts.reduce((x, y) => x + y)).toBe(1);
      // The next move replaces both.
      other.model.setTaskProject(task.id, b.id);
      expect(other.store.links(task.id, 'in-project').map((l) => l.dst)).toEqual([b.id]);
    } finally {
      other.close();
    }
  });

  it('refuses an ambiguous project title', () => {
    const top = h.model.createProject({ title: 'Top' });
    h.model.createProject({ title: 'Dup' });
    h.model.createProject({ title: 'Dup', parent: top.id });
    expectRefused(h.store, () => h.model.createTask({ title: 't', project: 'Dup' }), 'ambiguous');
  });

  it('refuses a second project of one name under one parent, in any case, naming the first', () => {
    const work = h.model.createProject({ title: 'Work' });
    const err = expectRefused(
      h.store,
      () => h.model.createProject({ title: 'work' }),
      'already_exists',
      'title',
    );
    expect(err.message).toMatch(/^a project named "Work" exists \([0-9a-z]{6,}\)$/);
    expect(work.id.toLowerCase().endsWith(err.message.match(/\(([0-9a-z]+)\)/)![1]!)).toBe(true);
    // Under another parent the name is free; moving it next to its namesake is not.
    const home = h.model.createProject({ title: 'Home' });
    const inner = h.model.createProject({ title: 'Work', parent: home.id });
    expectRefused(
      h.store,
      () => h.model.createProject({ title: 'WORK', parent: home.id }),
      'already_exists',
    );
    expectRefused(h.store, () => h.model.moveProject(inner.id, null), 'already_exists');
    // Its own name is no clash when it moves within the tree.
    const side = h.model.createProject({ title: 'Side' });
    expect(h.model.moveProject(inner.id, side.id).parent).toBe(side.id);
  });

  it('deleting a project takes it out of the list', () => {
    const p = h.model.createProject({ title: 'Gone' });
    h.model.deleteProject(p.id);
    expect(h.model.listProjects().projects).toEqual([]);
    expect(h.model.trash().nodes.map((n) => n.id)).toEqual([p.id]);
  });
});
