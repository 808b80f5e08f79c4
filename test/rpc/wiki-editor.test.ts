// What an editor needs for [[links]]: wiki.complete offers titles and aliases for what was
// typed (prefix matches first, each name once, with the node the link resolves to), and
// wiki.resolve finds a target's node as wiki.links does, or null.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMethods, type MethodsEnv } from './harness.js';

let env: MethodsEnv;
beforeEach(() => {
  env = openMethods();
});
afterEach(() => env.close());

const names = async (prefix: string, extra: object = {}) =>
  ((await env.call('wiki.complete', { prefix, ...extra })).names as { name: string }[]).map(
    (n) => n.name,
  );

describe('wiki.complete', () => {
  it('offers titles and aliases starting with the text first, then containing it', async () => {
    await env.call('node.create', { kind: 'doc', title: 'Garden', aliases: ['veg patch'] });
    await env.call('node.create', { kind: 'doc', title: 'Rose garden' });
    await env.call('node.create', { kind: 'doc', title: 'Gardening tools' });
    await env.call('node.create', { kind: 'doc', title: 'Kitchen' });
    expect(await names('gar')).toEqual(['Garden', 'Gardening tools', 'Rose garden']);
    expect(await names('VEG')).toEqual(['veg patch']);
    const [alias] = (await env.call('wiki.complete', { prefix: 'veg' })).names;
    expect(alias).toMatchObject({ name: 'veg patch', how: 'alias', title: 'Garden', kind: 'doc' });
    expect(await names('', { limit: 2 })).toEqual(['Garden', 'Kitchen']);
  });

  it('offers a name once, with the node a link by it opens; never a deleted node', async () => {
    const task = await env.call('task.create', { title: 'Pay rent' });
    const offered = (await env.call('wiki.complete', { prefix: 'pay' })).names;
    expect(offered).toHaveLength(1);
    const link = await env.call('wiki.resolve', { target: 'Pay rent' });
    expect(offered[0].id).toBe(link.node.id);
    // Deleting the task takes its note (the context doc) to the trash with it.
    await env.call('node.delete', { id: task.task.id });
    expect(await names('pay')).toEqual([]);
  });

  it('takes % and _ as text', async () => {
    await env.call('node.create', { kind: 'doc', title: '100% done' });
    await env.call('node.create', { kind: 'doc', title: '1000 things' });
    expect(await names('100%')).toEqual(['100% done']);
    expect(await names('_')).toEqual([]);
  });

  it('refuses bad params naming the field', async () => {
    const r = await env.reply('wiki.complete', { prefix: 'x', limit: 0 });
    expect(r.error.data).toMatchObject({ code: 'invalid_params', field: 'limit' });
  });
});

describe('wiki.resolve', () => {
  it('resolves by title ignoring case, by alias and by id; null when nothing has the name', async () => {
    const n = await env.call('node.create', { kind: 'doc', title: 'Beans', aliases: ['legumes'] });
    const ref = { id: n.id, kind: 'doc', title: 'Beans' };
    expect((await env.call('wiki.resolve', { target: 'beans' })).node).toEqual(ref);
    expect((await env.call('wiki.resolve', { target: 'legumes' })).node).toEqual(ref);
    expect((await env.call('wiki.resolve', { target: n.id })).node).toEqual(ref);
    expect((await env.call('wiki.resolve', { target: 'Peas' })).node).toBeNull();
    const from = await env.call('node.create', { kind: 'doc', title: 'Plan', body: '[[beans]]' });
    expect((await env.call('wiki.resolve', { target: 'beans', from: from.id })).node).toEqual(
      (await env.call('wiki.links', { id: from.id })).links[0].node,
    );
  });

  it('refuses an unknown from note', async () => {
    const r = await env.reply('wiki.resolve', { target: 'x', from: 'no such note' });
    expect(r.error.data).toMatchObject({ code: 'not_found' });
  });
});
