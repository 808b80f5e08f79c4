// A task moved to two projects, or a project moved under two parents, on two devices offline,
// through the RPC methods a client uses, then synced through a real hub: both links are live
// (links are an add-wins set), and that is a conflict every device lists (field "project" or
// "parent", one head per project), while every read shows the same one project. Resolving it on
// one device keeps the project chosen on every device in one change that undo takes back; a bad
// value is refused naming it, and changes nothing.

import { afterEach, describe, expect, it } from 'vitest';
import type { TestHub } from '../sync/helpers.js';
import { Closers, syncAll, type Device } from './helpers.js';

const closers = new Closers();
afterEach(() => closers.run());

interface Setup {
  hub: TestHub;
  d: Device;
  e: Device;
  /** Project id by title. */
  p: Record<'Inbox' | 'Home' | 'Work' | 'Errands', string>;
}

/** Two synced devices holding the projects Inbox, Home, Work and Errands. */
async function setup(): Promise<Setup> {
  const hub = await closers.hub();
  const d = closers.device('D', hub.url);
  const e = closers.device('E', hub.url);
  const p = {} as Setup['p'];
  for (const title of ['Inbox', 'Home', 'Work', 'Errands'] as const) {
    p[title] = (await d.call('project.create', { title })).id as string;
  }
  return { hub, d, e, p };
}

interface Seen {
  project: string | null;
  counts: Record<string, number>;
  listed: Record<string, number>;
}

/** What a device's reads say of the task's project: task.get, project.get and project.list. */
async function seen(dev: Device, task: string, projects: string[]): Promise<Seen> {
  const counts: Record<string, number> = {};
  for (const id of projects) counts[id] = (await dev.call('project.get', { id })).tasks as number;
  const listed: Record<string, number> = {};
  for (const row of (await dev.call('project.list')).projects as { id: string; tasks: number }[]) {
    if (projects.includes(row.id)) listed[row.id] = row.tasks;
  }
  return {
    project: (await dev.call('task.get', { id: task })).project as string | null,
    counts,
    listed,
  };
}

/** The reads of a task shown in `shown` of `projects`, by the given devices. */
function shownIn(shown: string | null, projects: string[]): Seen {
  const counts = Object.fromEntries(projects.map((id) => [id, id === shown ? 1 : 0]));
  return { project: shown, counts, listed: counts };
}

async function conflicts(dev: Device) {
  return (await dev.call('conflicts.list')).conflicts as {
    target: string;
    title: string;
    field: string;
    heads: { op: string; origin: string; at: string; value: string; title: string }[];
  }[];
}

/**
 * The one conflict `dev` lists, `expected`, with a head per project, oldest move first: the
 * first device's move to Home, then the second's to Work.
 */
async function homeAndWork(
  dev: Device,
  expected: { target: string; title: string; field: string },
  p: Setup['p'],
  [first, second]: [Device, Device],
) {
  const [c, ...rest] = await conflicts(dev);
  expect(rest, dev.name).toEqual([]);
  expect(c, dev.name).toMatchObject(expected);
  expect(c!.heads.map((h) => [h.value, h.title, h.origin])).toEqual([
    [p.Home, 'Home', first.store.origin],
    [p.Work, 'Work', second.store.origin],
  ]);
  return c!;
}

/** Setup's devices, with the task "Call bank" moved to Home on D and to Work on E, synced. */
async function callBankInHomeAndWork(): Promise<Setup & { task: string }> {
  const s = await setup();
  const { d, e, p } = s;
  const task = (await d.call('task.create', { title: 'Call bank' })).task.id as string;
  await syncAll([d, e]);
  await d.call('task.set_project', { id: task, project: p.Home });
  await e.call('task.set_project', { id: task, project: p.Work });
  await syncAll([d, e]);
  return { ...s, task };
}

describe('a task moved to two projects on two devices offline', () => {
  it('is a conflict both list, with one project shown everywhere; resolving keeps one', async () => {
    const { hub, d, e, p } = await setup();
    const task = (await d.call('task.create', { title: 'Call bank', project: p.Inbox })).task
      .id as string;
    await syncAll([d, e]);
    await d.call('task.set_project', { id: task, project: 'Home' });
    await e.call('task.set_project', { id: task, project: 'Work' });
    const statuses = await syncAll([d, e]);
    for (const st of statuses) expect(st).toMatchObject({ state: 'in_sync', conflicts: 1 });

    const all = [p.Inbox, p.Home, p.Work];
    // Until it is resolved every replica shows the lowest link id: here the lower project id.
    const shown = [p.Home, p.Work].sort()[0]!;
    const other = shown === p.Home ? p.Work : p.Home;
    for (const dev of [d, e]) {
      expect(await seen(dev, task, all), dev.name).toEqual(shownIn(shown, all));
      const c = await homeAndWork(dev, { target: task, title: 'Call bank', field: 'project' }, p, [
        d,
        e,
      ]);
      for (const h of c.heads) {
        expect(dev.store.findOp(h.op)).toMatchObject({
          kind: 'link.add',
          target: `${task}|in-project|${h.value}`,
        });
      }
    }
    const view = await hub.view();
    expect(view.conflicts()).toEqual(d.store.conflicts());
    expect(d.store.digest()).toBe(e.store.digest());
    expect(view.digest()).toBe(d.store.digest());

    // E keeps the project not shown, by its title: one change, and every device agrees.
    const title = other === p.Home ? 'Home' : 'Work';
    await e.call('conflicts.resolve', { target: task, field: 'project', value: title });
    expect(await conflicts(e)).toEqual([]);
    for (const st of await syncAll([d, e])) expect(st).toMatchObject({ conflicts: 0 });
    for (const dev of [d, e]) {
      expect(await conflicts(dev), dev.name).toEqual([]);
      expect(await seen(dev, task, all), dev.name).toEqual(shownIn(other, all));
      const links = (await dev.call('link.list', { id: task, type: 'in-project' })).links;
      expect(links.map((l: { dst: string }) => l.dst)).toEqual([other]);
    }
    expect((await hub.view()).conflicts()).toEqual([]);
    const [resolved] = (await e.call('undo.list')).changes;
    // What it did, as it did it: the task left the other project (where it stays is unchanged).
    const shownTitle = shown === p.Home ? 'Home' : 'Work';
    expect(resolved.summary).toBe(`"Call bank": out of project "${shownTitle}"`);

    // Undo takes the resolve back as one step: the task is in both again, a conflict again.
    const undone = await e.call('undo');
    expect(undone.undone).toBe(resolved.change);
    await syncAll([d, e]);
    for (const dev of [d, e]) {
      const [c] = await conflicts(dev);
      expect(c?.heads.map((h) => h.value).sort(), dev.name).toEqual([p.Home, p.Work].sort());
      expect(await seen(dev, task, all), dev.name).toEqual(shownIn(shown, all));
    }
    expect(d.store.digest()).toBe(e.store.digest());
  });

  it('resolved to no project (null) leaves the task in none, on both', async () => {
    const { d, e, p, task } = await callBankInHomeAndWork();
    await d.call('conflicts.resolve', { target: 'Call bank', field: 'project', value: null });
    await syncAll([d, e]);
    for (const dev of [d, e]) {
      expect(await conflicts(dev)).toEqual([]);
      expect(await seen(dev, task, [p.Home, p.Work])).toEqual(shownIn(null, [p.Home, p.Work]));
    }
  });

  it('a move elsewhere made while it was resolved is a conflict again, not lost', async () => {
    const { d, e, p, task } = await callBankInHomeAndWork();
    // D keeps Home while E, offline, moves the task on to Errands.
    await d.call('conflicts.resolve', { target: task, field: 'project', value: p.Home });
    await e.call('task.set_project', { id: task, project: p.Errands });
    await syncAll([d, e]);
    for (const dev of [d, e]) {
      const [c, ...rest] = await conflicts(dev);
      expect(rest).toEqual([]);
      expect(c?.heads.map((h) => h.title).sort(), dev.name).toEqual(['Errands', 'Home']);
    }
  });
});

describe('a project moved under two parents on two devices offline', () => {
  it('is a conflict both list, one parent shown everywhere; resolving keeps one', async () => {
    const { hub, d, e, p } = await setup();
    const plans = (await d.call('project.create', { title: 'Plans', parent: p.Inbox }))
      .id as string;
    await syncAll([d, e]);
    await d.call('project.move', { id: plans, parent: p.Home });
    await e.call('project.move', { id: plans, parent: 'Work' });
    for (const st of await syncAll([d, e])) expect(st).toMatchObject({ conflicts: 1 });

    const shown = [p.Home, p.Work].sort()[0]!;
    const other = shown === p.Home ? p.Work : p.Home;
    const parents = async (dev: Device) => {
      const listed = (await dev.call('project.list')).projects as { id: string; parent: string }[];
      return {
        get: (await dev.call('project.get', { id: plans })).parent as string,
        list: listed.find((r) => r.id === plans)?.parent,
      };
    };
    for (const dev of [d, e]) {
      expect(await parents(dev), dev.name).toEqual({ get: shown, list: shown });
      await homeAndWork(dev, { target: plans, title: 'Plans', field: 'parent' }, p, [d, e]);
    }
    expect((await hub.view()).conflicts()).toEqual(e.store.conflicts());

    await d.call('conflicts.resolve', { target: 'Plans', field: 'parent', value: other });
    await syncAll([d, e]);
    for (const dev of [d, e]) {
      expect(await conflicts(dev), dev.name).toEqual([]);
      expect(await parents(dev), dev.name).toEqual({ get: other, list: other });
    }

    await d.call('undo');
    await syncAll([d, e]);
    for (const dev of [d, e]) {
      expect((await conflicts(dev)).map((c) => [c.target, c.field])).toEqual([[plans, 'parent']]);
      expect(await parents(dev), dev.name).toEqual({ get: shown, list: shown });
    }
    expect(d.store.digest()).toBe(e.store.digest());
  });
});

describe('resolving a project or parent conflict with a bad value', () => {
  it('is refused naming the value, and changes nothing', async () => {
    const { d, e, p } = await setup();
    const task = (await d.call('task.create', { title: 'Call bank' })).task.id as string;
    const plans = (await d.call('project.create', { title: 'Plans' })).id as string;
    const sub = (await d.call('project.create', { title: 'Sub', parent: plans })).id as string;
    const old = (await d.call('project.create', { title: 'Old' })).id as string;
    await d.call('project.delete', { id: old });
    await syncAll([d, e]);
    await d.call('task.set_project', { id: task, project: p.Home });
    await e.call('task.set_project', { id: task, project: p.Work });
    await d.call('project.move', { id: plans, parent: p.Home });
    await e.call('project.move', { id: plans, parent: p.Work });
    await syncAll([d, e]);
    const before = {
      conflicts: d.store.conflicts(),
      ops: d.store.opCount(),
      digest: d.store.digest(),
    };
    expect(before.conflicts.map((c) => c.field).sort()).toEqual(['parent', 'project']);

    const refusals: [object, string][] = [
      [{ target: task, field: 'project', value: 'Nowhere' }, 'not_found'],
      [{ target: task, field: 'project', value: 42 }, 'invalid_params'],
      [{ target: task, field: 'project', value: old }, 'not_found'], // in the trash
      [{ target: plans, field: 'parent', value: 'Sub' }, 'cycle'],
      [{ target: plans, field: 'parent', value: plans }, 'cycle'],
      [{ target: plans, field: 'parent', value: 'Nowhere' }, 'not_found'],
    ];
    for (const [params, code] of refusals) {
      const err = await d.fail('conflicts.resolve', params);
      expect(err.data, JSON.stringify(params)).toMatchObject({ code, field: 'value' });
      expect(err.message, JSON.stringify(params)).toMatch(/^value: /);
    }
    expect(d.store.conflicts()).toEqual(before.conflicts);
    expect(d.store.opCount()).toBe(before.ops);
    expect(d.store.digest()).toBe(before.digest);

    // A task or project in one project has no such conflict to resolve.
    for (const [target, field] of [
      [sub, 'parent'],
      [(await d.call('task.create', { title: 'Lone', project: p.Home })).task.id, 'project'],
    ]) {
      const err = await d.fail('conflicts.resolve', { target, field, value: 'Work' });
      expect(err.data).toMatchObject({ code: 'not_found', field });
    }
  });
});
