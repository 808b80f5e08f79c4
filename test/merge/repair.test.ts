// Bodies the earlier version doubled, in a database of that version (the committed schema-4
// fixture: vault:Home imported on two devices before they first synced, so its text stands
// twice): repair.check finds it, repair.run makes it single as one ordinary change that syncs
// through a real hub to another device holding the same history, and the next import of a
// folder holding the file repairs it too.

import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp.js';
import { changeOf } from '../../src/core/op.js';
import { ManualClock } from '../../src/ports/clock.js';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { seededRandom } from '../../src/ports/random.js';
import { openStore } from '../../src/store/open-store.js';
import type { TestHub } from '../sync/helpers.js';
import { Closers, count, syncAll, type Device } from './helpers.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const facts = JSON.parse(readFileSync(join(FIXTURES, 'store-v4.json'), 'utf8')) as {
  home: string;
  homeText: string;
  bodies: Record<string, string>;
};
const HOME = facts.home;

const closers = new Closers();
afterEach(() => closers.run());

/** A device on a copy of the fixture (the copy is migrated when it opens). */
function fixtureDevice(name: string, hubUrl: string): Device {
  const t = tempDir('heph-v4-');
  closers.add(() => t.cleanup());
  const path = join(t.dir, 'heph.db');
  copyFileSync(join(FIXTURES, 'store-v4.sqlite'), path);
  return closers.device(name, hubUrl, path);
}

/**
 * The hub that fixture synced with, as far as the fixture knows it: every op up to the device's
 * push cursor (its own acknowledged ops and the other device's it pulled). The fixture's pull
 * cursor was the old hub's, beyond this log: the device starts over from the beginning, as it
 * does after a hub's database was restored.
 */
async function hubWithHistory(): Promise<TestHub> {
  const t = tempDir('heph-v4-');
  const path = join(t.dir, 'heph.db');
  copyFileSync(join(FIXTURES, 'store-v4.sqlite'), path);
  const old = openStore({ path }, { clock: new ManualClock(0), random: seededRandom(1) });
  const acked = Number(old.getSetting('sync.push_seq'));
  const { ops } = old.opsSince(0, acked);
  old.close();
  t.cleanup();
  expect(ops).toHaveLength(acked);
  const hub = await closers.hub();
  const [stored] = await hub.hubStore.append([{ owner: HUB_OWNER, ops }]);
  expect(stored!.refused).toEqual([]);
  return hub;
}

const doubled = facts.homeText.repeat(2);

describe('a database the earlier version doubled a body in', () => {
  it('is checked, repaired as one change, and the repair syncs to another device', async () => {
    const hub = await hubWithHistory();
    const d = fixtureDevice('D', hub.url);
    const e = closers.device('E', hub.url);
    expect(d.store.getNode(HOME).body).toBe(doubled);

    // E joins: it receives the same history, the doubled body included.
    await e.sync();
    expect(e.store.getNode(HOME).body).toBe(doubled);
    const seq = d.store.lastSeq();
    const digest = d.store.digest();
    const check = await d.call('repair.check');
    expect(check).toEqual({
      doubled: [
        { id: HOME, title: 'Home', copies: 2, length: facts.homeText.length, fixable: true },
      ],
      fixed: 0,
    });
    expect(await e.call('repair.check')).toEqual(check);
    expect(d.store.lastSeq()).toBe(seq);
    expect(d.store.digest()).toBe(digest);
    const pending = (await d.call('sync.status')).pending.changes as number;

    const run = await d.call('repair.run');
    expect(run).toEqual({ ...check, fixed: 1 });
    expect(d.store.getNode(HOME).body).toBe(facts.homeText);
    // One change of body ops of that note; every other body as it was.
    expect((await d.call('sync.status')).pending.changes).toBe(pending + 1);
    const added = d.store.opsSince(seq).ops;
    expect(added.length).toBeGreaterThan(0);
    expect(new Set(added.map(changeOf))).toEqual(new Set([added[0]!.id]));
    for (const op of added) {
      expect(op.target).toBe(HOME);
      expect(op.kind).toMatch(/^body\./);
    }
    for (const [id, body] of Object.entries(facts.bodies)) {
      if (id !== HOME) expect(d.store.getNode(id).body, id).toBe(body);
    }

    const statuses = await syncAll([d, e]);
    for (const st of statuses) expect(st).toMatchObject({ state: 'in_sync' });
    for (const [where, store] of [
      ['D', d.store],
      ['E', e.store],
      ['hub', await hub.view()],
    ] as const) {
      expect(store.getNode(HOME).body, where).toBe(facts.homeText);
    }
    for (const dev of [d, e]) {
      expect(await dev.call('repair.check')).toEqual({ doubled: [], fixed: 0 });
      // Its wiki link counts once too.
      expect(count((await dev.call('node.get', { id: HOME })).body, '[[Ideas]]')).toBe(1);
    }
    expect(e.store.digest()).toBe(d.store.digest());
    // Nothing more to do: running it again writes nothing.
    const after = d.store.opCount();
    expect(await d.call('repair.run')).toEqual({ doubled: [], fixed: 0 });
    expect(d.store.opCount()).toBe(after);
  });

  it('repaired on two devices at once is single, not emptied or tripled', async () => {
    const hub = await hubWithHistory();
    const d = fixtureDevice('D', hub.url);
    const e = closers.device('E', hub.url);
    await e.sync();
    for (const dev of [d, e]) expect((await dev.call('repair.run')).fixed).toBe(1);
    await syncAll([d, e]);
    for (const store of [d.store, e.store, await hub.view()]) {
      expect(store.getNode(HOME).body).toBe(facts.homeText);
    }
  });

  it('leaves a body edited since it was doubled to the user, and says so', async () => {
    const d = fixtureDevice('D', 'http://127.0.0.1:1');
    const n = await d.call('node.get', { id: HOME });
    const edited = `${n.body}A line added later.\n`;
    await d.call('node.update', { id: HOME, body: edited, base_version: n.body_version });
    const check = await d.call('repair.check');
    expect(check.doubled).toEqual([
      { id: HOME, title: 'Home', copies: 2, length: facts.homeText.length, fixable: false },
    ]);
    const ops = d.store.opCount();
    expect(await d.call('repair.run')).toEqual({ ...check, fixed: 0 });
    expect(d.store.opCount()).toBe(ops);
    expect(d.store.getNode(HOME).body).toBe(edited);
  });

  it('is repaired by importing the folder the note came from', async () => {
    const d = fixtureDevice('D', 'http://127.0.0.1:1');
    const t = tempDir('heph-vault-');
    closers.add(() => t.cleanup());
    mkdirSync(t.dir, { recursive: true });
    writeFileSync(join(t.dir, 'Home.md'), facts.homeText);
    expect(await d.call('import', { dir: t.dir })).toMatchObject({ created: 0, updated: 1 });
    expect(d.store.getNode(HOME).body).toBe(facts.homeText);
    expect(await d.call('repair.check')).toEqual({ doubled: [], fixed: 0 });
    // And the next import of the same file writes nothing.
    const ops = d.store.opCount();
    expect(await d.call('import', { dir: t.dir })).toMatchObject({ updated: 0, unchanged: 1 });
    expect(d.store.opCount()).toBe(ops);
  });
});
