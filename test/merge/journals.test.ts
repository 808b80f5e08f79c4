// The day's journal and a task's log written on two devices offline, through the RPC methods a
// client uses, then synced through a real hub: every line each device wrote is there once, no
// conflict; text both wrote the same (a template heading, the same log entry) is there once.

import { afterEach, describe, expect, it } from 'vitest';
import { Closers, count, syncAll, type Device } from './helpers.js';

const closers = new Closers();
afterEach(() => closers.run());

const DAY = '2026-12-05';
const JOURNAL = `journal:${DAY}`;

async function devices() {
  const hub = await closers.hub();
  return { hub, d: closers.device('D', hub.url), e: closers.device('E', hub.url) };
}

/** What a client does to add a line to a body: read it, save it with the version it read. */
async function appendLine(dev: Device, id: string, line: string): Promise<void> {
  const n = await dev.call('node.get', { id });
  await dev.call('node.update', { id, body: `${n.body}${line}\n`, base_version: n.body_version });
}

async function bodies(
  hub: { view(): Promise<{ getNode(id: string): { body: string } }> },
  devs: Device[],
  id: string,
) {
  const out: [string, string][] = [];
  for (const dev of devs) out.push([dev.name, (await dev.call('node.get', { id })).body]);
  out.push(['hub', (await hub.view()).getNode(id).body]);
  return out;
}

describe("the day's journal written on two devices offline", () => {
  it('keeps both first lines, with no conflict', async () => {
    const { hub, d, e } = await devices();
    for (const [dev, line] of [
      [d, '- 07:10 coffee on the balcony (D)'],
      [e, '- 07:12 train was late (E)'],
    ] as const) {
      const opened = await dev.call('journal.open', { date: DAY });
      expect(opened).toMatchObject({
        created: true,
        journal: { id: JOURNAL, body: '', body_version: '' },
      });
      await appendLine(dev, JOURNAL, line);
    }
    const statuses = await syncAll([d, e]);
    for (const st of statuses) expect(st).toMatchObject({ state: 'in_sync', conflicts: 0 });
    for (const [where, body] of await bodies(hub, [d, e], JOURNAL)) {
      expect(count(body, '(D)\n'), where).toBe(1);
      expect(count(body, '(E)\n'), where).toBe(1);
      expect(body.length, where).toBe(
        '- 07:10 coffee on the balcony (D)\n'.length + '- 07:12 train was late (E)\n'.length,
      );
    }
    expect((await hub.view()).conflicts()).toEqual([]);
    const again = await d.call('journal.open', { date: DAY });
    expect(again).toMatchObject({ created: false });
    // Its version, like node.get's, is what an editor of the day sends back.
    expect(again.journal.body_version).toBe(
      (await d.call('node.get', { id: JOURNAL })).body_version,
    );
    expect(again.journal.body_version).not.toBe('');
  });

  it('holds a template heading both wrote once, with the lines each added under it', async () => {
    const { hub, d, e } = await devices();
    const heading = `# Saturday, ${DAY}\n`;
    for (const [dev, line] of [
      [d, '- walked the dog (D)'],
      [e, '- fixed the bike (E)'],
    ] as const) {
      await dev.call('journal.open', { date: DAY });
      // The template: the heading alone first, then the day's line.
      const n = await dev.call('node.get', { id: JOURNAL });
      await dev.call('node.update', { id: JOURNAL, body: heading, base_version: n.body_version });
      await appendLine(dev, JOURNAL, line);
    }
    await syncAll([d, e]);
    for (const [where, body] of await bodies(hub, [d, e], JOURNAL)) {
      expect(count(body, '# Saturday'), where).toBe(1);
      expect(body.startsWith(heading), where).toBe(true);
      expect(count(body, '(D)\n'), where).toBe(1);
      expect(count(body, '(E)\n'), where).toBe(1);
    }
    expect((await hub.view()).conflicts()).toEqual([]);
  });

  it('holds an identical first text once', async () => {
    const { hub, d, e } = await devices();
    const heading = `# Saturday, ${DAY}\n`;
    for (const dev of [d, e]) {
      await dev.call('journal.open', { date: DAY });
      await dev.call('node.update', { id: JOURNAL, body: heading });
    }
    await syncAll([d, e]);
    for (const [where, body] of await bodies(hub, [d, e], JOURNAL))
      expect(body, where).toBe(heading);
    expect((await hub.view()).conflicts()).toEqual([]);
  });
});

describe("a task's log written on two devices offline", () => {
  it('keeps both first entries, and an entry both wrote once', async () => {
    const { hub, d, e } = await devices();
    const { task } = await d.call('task.create', { title: 'Water the plants' });
    await syncAll([d, e]);
    await d.call('log.append', { id: task.id, text: 'watered the ferns', today: DAY });
    await e.call('log.append', { id: task.id, text: 'repotted the cactus', today: DAY });
    const statuses = await syncAll([d, e]);
    for (const st of statuses) expect(st).toMatchObject({ state: 'in_sync', conflicts: 0 });
    const tails: unknown[] = [];
    for (const dev of [d, e]) {
      const { entries } = (await dev.call('log.tail', { id: task.id })) as {
        entries: { date: string; text: string }[];
      };
      expect(entries.map((x) => x.text).sort()).toEqual([
        'repotted the cactus',
        'watered the ferns',
      ]);
      tails.push(entries);
    }
    expect(tails[1]).toEqual(tails[0]);
    expect((await hub.view()).conflicts()).toEqual([]);

    // The same entry written on both (one occurrence logged twice) stays one entry.
    const { task: other } = await d.call('task.create', { title: 'Take out the bins' });
    await syncAll([d, e]);
    for (const dev of [d, e]) {
      await dev.call('log.append', { id: other.id, text: 'bins out', today: DAY });
    }
    await syncAll([d, e]);
    for (const [where, body] of await bodies(hub, [d, e], `log:${other.id}`)) {
      expect(body, where).toBe(`- ${DAY} bins out\n`);
    }
    expect((await hub.view()).conflicts()).toEqual([]);
  });
});
