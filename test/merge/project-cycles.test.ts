// Projects put under each other on two devices offline (X under Y on D, Y under X on E), through
// the RPC methods a client uses, then synced through a real hub: each keeps one parent link, so
// no link is doubled, yet the links run in a loop. That is a conflict on the parent of every
// project of the loop, listed alike on both devices and the hub, while every read shows one tree
// without the loop (the link of the later move left out). Resolving one of them breaks the loop
// in one change that undo takes back.

import { afterEach, describe, expect, it } from 'vitest';
import { Closers, syncAll, type Device } from './helpers.js';

const closers = new Closers();
afterEach(() => closers.run());

interface Loop {
  d: Device;
  e: Device;
  hub: Awaited<ReturnType<Closers['hub']>>;
  x: string;
  y: string;
  /** A task in Y. */
  task: string;
}

/** D puts X under Y while E, offline, puts Y under X (the later move); then both sync. */
async function xAndYUnderEachOther(): Promise<Loop> {
  const hub = await closers.hub();
  const d = closers.device('D', hub.url);
  const e = closers.device('E', hub.url);
  const x = (await d.call('project.create', { title: 'X' })).id as string;
  const y = (await d.call('project.create', { title: 'Y' })).id as string;
  const task = (await d.call('task.create', { title: 'T', project: y })).task.id as string;
  await syncAll([d, e]);
  await d.call('project.move', { id: x, parent: y });
  await e.call('project.move', { id: y, parent: x });
  return { d, e, hub, x, y, task };
}

/** What a device's reads say of the tree: parents by project.get and project.list, scopes. */
async function tree(dev: Device, ids: string[]) {
  const listed = (await dev.call('project.list')).projects as { id: string; parent: string }[];
  const out: Record<string, unknown> = {};
  for (const id of ids) {
    const got = await dev.call('project.get', { id });
    const scope = (await dev.call('list', { filter: { project: id } })).tasks as { id: string }[];
    out[id] = {
      get: got.parent,
      list: listed.find((r) => r.id === id)?.parent,
      tasks: got.tasks,
      scope: scope.map((t) => t.id),
    };
  }
  return out;
}

async function conflicts(dev: Device) {
  return (await dev.call('conflicts.list')).conflicts as {
    target: string;
    field: string;
    cycle?: string[];
    heads: { op: string; value: string; title: string; origin: string }[];
  }[];
}

describe('two projects put under each other on two devices offline', () => {
  it('is a conflict on both parents everywhere; every read shows one tree without the loop', async () => {
    const { d, e, hub, x, y, task } = await xAndYUnderEachOther();
    for (const st of await syncAll([d, e])) expect(st).toMatchObject({ conflicts: 2 });

    for (const dev of [d, e]) {
      const cs = await conflicts(dev);
      expect(
        cs.map((c) => [c.target, c.field, c.cycle]),
        dev.name,
      ).toEqual(
        [
          [x, 'parent', [x, y]],
          [y, 'parent', [y, x]],
        ].sort(),
      );
      const byTarget = Object.fromEntries(cs.map((c) => [c.target, c]));
      expect(byTarget[x]!.heads.map((h) => [h.value, h.title, h.origin])).toEqual([
        [y, 'Y', d.store.origin],
      ]);
      expect(byTarget[y]!.heads.map((h) => [h.value, h.title, h.origin])).toEqual([
        [x, 'X', e.store.origin],
      ]);
      // The later move's link is left out: usually E's (Y at the top, X under it), but the two
      // devices' clocks may stamp them in the other order.
      const eLater = byTarget[y]!.heads[0]!.op > byTarget[x]!.heads[0]!.op;
      expect(await tree(dev, [x, y]), dev.name).toEqual(
        eLater
          ? {
              [x]: { get: y, list: y, tasks: 0, scope: [] },
              [y]: { get: null, list: null, tasks: 1, scope: [task] },
            }
          : {
              [x]: { get: null, list: null, tasks: 0, scope: [task] },
              [y]: { get: x, list: x, tasks: 1, scope: [task] },
            },
      );
    }
    expect((await hub.view()).conflicts()).toEqual(d.store.conflicts());
    expect(d.store.digest()).toBe(e.store.digest());

    // D keeps Y under X (E's move): X goes to the top in the same change, on both.
    await d.call('conflicts.resolve', { target: y, field: 'parent', value: 'X' });
    expect(await conflicts(d)).toEqual([]);
    for (const st of await syncAll([d, e])) expect(st).toMatchObject({ conflicts: 0 });
    for (const dev of [d, e]) {
      expect(await conflicts(dev), dev.name).toEqual([]);
      expect(await tree(dev, [x, y]), dev.name).toEqual({
        [x]: { get: null, list: null, tasks: 0, scope: [task] },
        [y]: { get: x, list: x, tasks: 1, scope: [task] },
      });
    }
    const [resolved] = (await d.call('undo.list')).changes;
    const undone = await d.call('undo');
    expect(undone.undone).toBe(resolved.change);
    await syncAll([d, e]);
    for (const dev of [d, e]) {
      expect((await conflicts(dev)).map((c) => c.target).sort(), dev.name).toEqual([x, y].sort());
    }
    expect(d.store.digest()).toBe(e.store.digest());
  });

  it('resolved to the top (null) moves that one project up; the rest stays', async () => {
    const { d, e, x, y } = await xAndYUnderEachOther();
    await syncAll([d, e]);
    await e.call('conflicts.resolve', { target: x, field: 'parent', value: null });
    await syncAll([d, e]);
    for (const dev of [d, e]) {
      expect(await conflicts(dev)).toEqual([]);
      const t = (await tree(dev, [x, y])) as Record<string, { get: string | null }>;
      expect([t[x]!.get, t[y]!.get], dev.name).toEqual([null, x]);
    }
  });

  it('a project of a loop of three moved elsewhere breaks it; a move into it is refused', async () => {
    const hub = await closers.hub();
    const devs = ['D', 'E', 'F'].map((n) => closers.device(n, hub.url));
    const [d, e, f] = devs as [Device, Device, Device];
    const ids: string[] = [];
    for (const title of ['A', 'B', 'C', 'Home']) {
      ids.push((await d.call('project.create', { title })).id as string);
    }
    const [a, b, c, home] = ids as [string, string, string, string];
    await syncAll(devs);
    await d.call('project.move', { id: a, parent: b });
    await e.call('project.move', { id: b, parent: c });
    await f.call('project.move', { id: c, parent: a });
    for (const st of await syncAll(devs)) expect(st).toMatchObject({ conflicts: 3 });
    const under = { [a]: b, [b]: c, [c]: a };
    for (const dev of devs) {
      // The latest move's project is shown at the top, the other two as they were moved.
      const cs = await conflicts(dev);
      expect(cs.map((x) => x.cycle!.length)).toEqual([3, 3, 3]);
      const latest = cs.reduce((m, x) => (x.heads[0]!.op > m.heads[0]!.op ? x : m)).target;
      const shown = Object.fromEntries(
        [a, b, c].map((id) => [id, { get: id === latest ? null : under[id] }]),
      );
      expect((await tree(dev, [a, b, c])) as object, dev.name).toMatchObject(shown);
    }
    // A under C would close a loop again (C is under A by its link): refused, nothing written.
    const ops = d.store.opCount();
    const err = await d.fail('conflicts.resolve', { target: a, field: 'parent', value: c });
    expect(err.data).toMatchObject({ code: 'cycle', field: 'value' });
    expect(d.store.opCount()).toBe(ops);

    await d.call('conflicts.resolve', { target: b, field: 'parent', value: home });
    await syncAll(devs);
    for (const dev of devs) {
      expect(await conflicts(dev)).toEqual([]);
      expect((await tree(dev, [a, b, c])) as object, dev.name).toMatchObject({
        [a]: { get: b },
        [b]: { get: home },
        [c]: { get: a },
      });
    }
  });
});
