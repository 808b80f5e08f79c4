import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exchange, openTestModel, type TestModel } from './helpers.js';

let h: TestModel;
beforeEach(() => {
  h = openTestModel();
});
afterEach(() => h.close());

describe('tags', () => {
  it('creates tag:<name> on first use and links node → tag', () => {
    const { task, context } = h.model.createTask({ title: 't' });
    expect(h.model.tagAdd(task.id, ' Urgent ')).toEqual({ id: task.id, tags: ['urgent'] });
    expect(h.store.getNode('tag:urgent')).toMatchObject({ kind: 'tag', title: 'urgent' });
    expect(h.store.links(task.id, 'tagged').map((l) => l.dst)).toEqual(['tag:urgent']);
    h.model.tagAdd(context, 'urgent');
    h.model.tagAdd(context, 'home');
    const ops = h.store.opCount();
    h.model.tagAdd(context, 'HOME'); // already there: nothing written
    expect(h.store.opCount()).toBe(ops);
    expect(h.model.tagList().tags).toEqual([
      { name: 'home', id: 'tag:home', count: 1 },
      { name: 'urgent', id: 'tag:urgent', count: 2 },
    ]);
    expect(h.model.tagList(context).tags.map((t) => t.name)).toEqual(['home', 'urgent']);
    expect(h.model.getTask(task.id).tags).toEqual(['urgent']);
  });

  it('removes a tag; removing one the node lacks changes nothing', () => {
    const { task } = h.model.createTask({ title: 't', tags: ['a', 'b'] });
    expect(h.model.tagRemove(task.id, 'A')).toEqual({ id: task.id, tags: ['b'], removed: true });
    const ops = h.store.opCount();
    expect(h.model.tagRemove(task.id, 'a').removed).toBe(false);
    expect(h.store.opCount()).toBe(ops);
    expect(h.model.tagList().tags).toEqual([
      { name: 'a', id: 'tag:a', count: 0 },
      { name: 'b', id: 'tag:b', count: 1 },
    ]);
  });

  it('restores a deleted tag node when it is used again', () => {
    const { task } = h.model.createTask({ title: 't' });
    h.model.tagAdd(task.id, 'x');
    h.store.deleteNode('tag:x');
    expect(h.model.tagList().tags).toEqual([]);
    h.model.tagAdd(task.id, 'x');
    expect(h.store.getNode('tag:x').deleted).toBe(false);
    expect(h.model.tagList().tags).toEqual([{ name: 'x', id: 'tag:x', count: 1 }]);
  });

  it('does not count deleted nodes', () => {
    const { task } = h.model.createTask({ title: 't', tags: ['x'] });
    h.model.deleteTask(task.id);
    expect(h.model.tagList().tags).toEqual([{ name: 'x', id: 'tag:x', count: 0 }]);
  });

  it('two devices making the same tag offline end with one tag node', () => {
    const other = openTestModel();
    try {
      const { task } = h.model.createTask({ title: 't' });
      exchange(h.store, other.store);
      h.model.tagAdd(task.id, 'shared');
      other.model.tagAdd(task.id, 'shared');
      exchange(h.store, other.store);
      expect(h.store.digest()).toBe(other.store.digest());
      expect(h.model.tagList().tags).toEqual([{ name: 'shared', id: 'tag:shared', count: 1 }]);
      expect(h.store.conflicts()).toEqual([]);
    } finally {
      other.close();
    }
  });
});
