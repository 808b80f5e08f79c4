// rpc.methods publishes every method's result as JSON Schema; plugins rely on those shapes. Here
// every method the daemon serves in-process is called at least once (each answer is checked
// against its published schema by the harness: strict objects, so an undescribed field fails),
// and the schemas themselves are shown to refuse what they do not describe.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeResult, QuickAddResult } from '../../src/rpc/methods/results.js';
import { openTestStore } from '../helpers/store.js';
import { exchange } from '../model/helpers.js';
import { openMethods, type MethodsEnv } from './harness.js';

let env: MethodsEnv;
beforeEach(() => {
  env = openMethods();
});
afterEach(() => env.close());

/** Methods not called here, and where their answers are checked instead. */
const ELSEWHERE: Record<string, string> = {
  'sync.now': 'needs a hub: its answer is checked in test/sync/progress.test.ts',
  'sync.rejoin': 'needs a revoked device: its answer is checked in test/cli/device-rejoin.test.ts',
};

describe('result schemas', () => {
  it('every method answers what rpc.methods says it answers', async () => {
    const called = new Set<string>();
    const call = async (method: string, params: object = {}) => {
      called.add(method);
      return await env.call(method, params);
    };
    const today = '2026-11-22';
    const doc = await call('node.create', {
      kind: 'doc',
      title: 'Garden',
      body: 'Beans [[Kitchen]]\n',
      aliases: ['veg'],
    });
    const kitchen = await call('node.create', { kind: 'doc', title: 'Kitchen' });
    await call('node.get', { id: doc.id });
    await call('node.update', { id: doc.id, body: 'Peas [[Kitchen]]\n', base_version: '' });
    await call('node.append', { id: doc.id, text: 'more' });
    await call('node.list', {});
    await call('node.resolve', { name: 'veg' });
    await call('search', { query: 'peas' });
    await call('wiki.links', { id: doc.id });
    await call('wiki.backlinks', { id: kitchen.id });
    await call('wiki.resolve', { target: 'Kitchen', from: doc.id });
    await call('wiki.resolve', { target: 'Nowhere' });
    await call('wiki.complete', { prefix: 'ga' });
    const project = await call('project.create', { title: 'Home' });
    const sub = await call('project.create', { title: 'Yard', parent: 'Home' });
    await call('project.get', { id: project.id });
    await call('project.move', { id: sub.id, parent: null });
    await call('project.list');
    const created = await call('task.create', {
      title: 'Pay rent',
      attention: 'red',
      late_on: '2026-11-30',
      project: 'Home',
      tags: ['bills'],
      today,
    });
    const id = created.task.id;
    await call('task.get', { id });
    await call('task.update', { id, do_date: '2026-11-23', today });
    await call('task.set_project', { id, project: null });
    const stretch = await call('add', { text: 'Stretch every day !orange', today });
    await call('add', { text: 'Call mom tomorrow +Family', today, dry_run: true });
    await call('next', { today });
    await call('next', { today: '2020-01-01' });
    await call('next', { today, form: 'rows' });
    await call('next', { today: '2020-01-01', form: 'rows' });
    await call('next', { today, form: 'lines', color: true });
    await call('next', { today: '2020-01-01', form: 'lines' });
    await call('list', { filter: { state: 'outstanding' }, today });
    await call('view', {});
    await call('view', { name: 'all', today });
    await call('task.done', { id, today });
    await call('task.reopen', { id });
    await call('task.skip', { id: stretch.task.id, today });
    await call('task.drop', { id });
    await call('log.append', { id, text: 'paid', today });
    await call('log.tail', { id });
    await call('tag.add', { id: doc.id, name: 'green' });
    await call('tag.remove', { id: doc.id, name: 'green' });
    await call('tag.list', {});
    await call('journal.open', { date: today });
    await call('journal.append', { date: today, text: 'a line' });
    await call('link.add', { src: doc.id, dst: kitchen.id, type: 'parent' });
    await call('link.list', { id: doc.id });
    await call('link.backlinks', { id: kitchen.id, type: 'wiki' });
    await call('link.remove', { src: doc.id, dst: kitchen.id, type: 'parent' });
    await call('task.delete', { id });
    await call('node.delete', { id: kitchen.id });
    await call('trash', {});
    await call('node.restore', { id: kitchen.id });
    await call('project.delete', { id: sub.id });
    await call('conflicts.list');
    await call('repair.check');
    await call('repair.run');
    await call('status');
    await call('sync.status');
    await call('device.name', { name: 'desk' });
    await call('doctor.check');
    const sub1 = await call('events.subscribe', { topics: ['node.changed'] });
    await call('events.unsubscribe', { subscription: sub1.subscription });
    const out = join(env.dir, 'vault');
    await call('export', { dir: out });
    const page = await call('export.nodes', { limit: 2 });
    await call('export.nodes', { after: page.next });
    const vault = join(env.dir, 'in');
    mkdirSync(vault);
    writeFileSync(join(vault, 'Plums.md'), '# Plums\n');
    await call('import', { dir: vault });
    await call('import.notes', { notes: [] });
    await call('backup', { path: join(env.dir, 'copy.db') });
    await call('rpc.methods');
    // A conflict: two devices wrote a title without seeing each other's write.
    const trip = await call('node.create', { kind: 'doc', title: 'Trip' });
    const other = openTestStore({ clock: env.clock });
    exchange(env.store, other.store);
    env.clock.advance(1000);
    await call('node.update', { id: trip.id, title: 'Trip to Rome' });
    other.store.updateNode(trip.id, { title: 'Trip to Oslo' });
    exchange(env.store, other.store);
    other.close();
    expect((await call('conflicts.list')).conflicts[0].heads).toHaveLength(2);
    await call('conflicts.resolve', { target: trip.id, field: 'title', value: 'Trip' });

    // History: a task's versions (task fields at a version), a revert, undo.
    const versions = (await call('node.history', { id: created.task.id })).versions;
    const oldest = versions[versions.length - 1].version;
    await call('node.at', { id: created.task.id, version: oldest });
    await call('node.at', {
      id: doc.id,
      version: (await call('node.history', { id: doc.id })).versions[0].version,
    });
    const docVersions = (await call('node.history', { id: doc.id })).versions;
    await call('node.revert', { id: doc.id, version: docVersions[docVersions.length - 1].version });
    await call('undo.list', {});
    await call('undo', {});

    const missing = env.registry.names().filter((n) => !called.has(n) && !(n in ELSEWHERE));
    expect(missing).toEqual([]);
  });

  it('refuses a field it does not describe, and a missing one', () => {
    const node = {
      id: '01J',
      short_id: '01J',
      kind: 'doc',
      title: 't',
      aliases: [],
      body: '',
      body_version: '',
      deleted: false,
      created: '2026-11-22T09:00:00.000Z',
      updated: '2026-11-22T09:00:00.000Z',
      created_ms: 0,
      updated_ms: 0,
      extra: {},
    };
    expect(NodeResult.safeParse(node).success).toBe(true);
    expect(NodeResult.safeParse({ ...node, surprise: 1 }).success).toBe(false);
    const { body_version: _, ...without } = node;
    expect(NodeResult.safeParse(without).success).toBe(false);
    expect(QuickAddResult.safeParse({ dry_run: true }).success).toBe(false);
  });

  it('rpc.methods publishes each result as JSON Schema', async () => {
    const { methods } = await env.call('rpc.methods');
    const get = methods.find((m: { name: string }) => m.name === 'node.get');
    expect(get.result).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: expect.arrayContaining(['id', 'body', 'body_version', 'short_id']),
    });
    expect(get.result.properties.body_version.description).toMatch(/base_version/);
    for (const m of methods) expect(m.result, m.name).toBeTypeOf('object');
  });
});
