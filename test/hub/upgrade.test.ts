// The in-place upgrade of a hub data directory of the earlier layout (test/fixtures/hub-v2 and
// hub-v1, made by the two versions before the hub store): every owner's ops with their stamps, the claim, a copy of the old files, all
// or nothing; then a device whose cursor predates the upgrade syncs without starting over.

import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
} from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { DaemonConfig } from '../../src/config/config.js';
import { startHub, type Hub } from '../../src/hub/server.js';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import type { Logger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { useDaemons, until } from '../daemon/helpers.js';
import { tempDir, useCleanup } from '../helpers/temp.js';
import { digestAsReadNow, hubConfig, httpPull, ORIGIN_A, titleOp } from './helpers.js';
import { syncFixtureDevice } from './fixture-device.js';

interface Facts {
  issuer: string;
  owner: { ids: string[]; last: number; digest: string; hub_origin: string };
  bob: { ids: string[]; last: number; digest: string };
  device_a: { origin: string; cursor: string; pending: number; task: string; plan: string };
}

/** A committed data directory of the earlier layout: its files, its facts, its partition. */
function fixture(name: string): { dir: string; facts: Facts; partition: string } {
  const dir = join(import.meta.dirname, '..', 'fixtures', name);
  const facts = JSON.parse(
    readFileSync(join(import.meta.dirname, '..', 'fixtures', `${name}.json`), 'utf8'),
  ) as Facts;
  const partition = readdirSync(join(dir, 'users'))[0]!.replace(/\.sqlite$/, '.db');
  return { dir, facts, partition };
}

// The layout as the version before the hub store left it (sync protocol 2, schema 5), and as the
// version before that did (sync protocol 1, schema 4).
const FIXTURES = ['hub-v2', 'hub-v1'];
const { dir: FIXTURE, facts, partition: PARTITION } = fixture(FIXTURES[0]!);

const cleanups = useCleanup();

/** See digestAsReadNow; the copy is removed after the test. */
function digestOf(file: string): string {
  const t = tempDir('heph-digest-');
  cleanups.defer(() => t.cleanup());
  return digestAsReadNow(file, t.dir);
}

/** A fixture laid out as the earlier hub left it, with its owner database named `main`. */
function layout(main = 'hub.db', from = FIXTURE, partition = PARTITION) {
  const t = tempDir('heph-upgrade-');
  cleanups.defer(() => t.cleanup());
  const dir = join(t.dir, 'data');
  mkdirSync(join(dir, 'users'), { recursive: true, mode: 0o700 });
  copyFileSync(join(from, 'hub.sqlite'), join(dir, main));
  copyFileSync(
    join(from, 'users', partition.replace(/\.db$/, '.sqlite')),
    join(dir, 'users', partition),
  );
  const device = join(t.dir, 'device.db');
  copyFileSync(join(from, 'device-a.sqlite'), device);
  return { dir, device };
}

function recorder(): Logger & { messages: string[] } {
  const messages: string[] = [];
  const log = (_o: object, m?: string) => void (m !== undefined && messages.push(m));
  return { messages, debug: log, info: log, warn: log, error: log };
}

async function start(dir: string, over: Partial<DaemonConfig> = {}, logger = recorder()) {
  const hub = await startHub(hubConfig(dir, over), {
    clock: { now: () => Date.now() },
    random: seededRandom(77),
    logger,
    version: 'test',
  });
  cleanups.defer(() => hub.stop());
  return { hub, logger };
}

async function ids(hub: Hub, owner = HUB_OWNER): Promise<string[]> {
  const page = await hub.hubStore.read(owner, { after: 0, limit: 1000, maxChars: Infinity });
  return page.ops.map((t) => (JSON.parse(t) as { id: string }).id);
}

/** Every file under `dir`, relative, sorted. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('upgrading a hub data directory of the earlier layout', () => {
  for (const name of FIXTURES) {
    it(`${name}: keeps every owner’s ops and stamps and the claim, copies the old files first, and says so`, async () => {
      const { dir: FIXTURE, facts, partition: PARTITION } = fixture(name);
      const { dir, device } = layout('hub.db', FIXTURE, PARTITION);
      const { hub, logger } = await start(dir);
      const date = new Date().toISOString().slice(0, 10);
      expect(hub.upgraded).toEqual({
        files: [
          { file: 'hub.db', owner: 'hub', ops: facts.owner.ids.length, last: facts.owner.last },
          {
            file: join('users', PARTITION),
            owner: { iss: facts.issuer, sub: 'bob' },
            ops: facts.bob.ids.length,
            last: facts.bob.last,
          },
        ],
        claim: { iss: facts.issuer, sub: 'alice' },
        copies: `pre-upgrade-${date}`,
        date,
      });
      expect(logger.messages.join('\n')).toMatch(
        /upgraded the hub data directory to one hub store \(hub\.db\): 19 ops of 2 database\(s\).*claim by alice kept.*copied to pre-upgrade-/,
      );
      // The old files are gone, and their copies are the old files.
      expect(files(dir).filter((f) => !/^(hub\.db|s\.sock|cache)/.test(f))).toEqual([
        `pre-upgrade-${date}`,
        `pre-upgrade-${date}/hub.db`,
        `pre-upgrade-${date}/users`,
        `pre-upgrade-${date}/users/${PARTITION}`,
      ]);
      for (const [copy, original] of [
        ['hub.db', 'hub.sqlite'],
        [join('users', PARTITION), join('users', PARTITION.replace(/\.db$/, '.sqlite'))],
      ] as const) {
        // Opened from a copy: opening the committed file would leave SQLite's files beside it.
        const original_ = join(dir, 'original.db');
        copyFileSync(join(FIXTURE, original), original_);
        const old = new Database(join(dir, `pre-upgrade-${date}`, copy), { readonly: true });
        const was = new Database(original_, { readonly: true });
        const rows = 'SELECT * FROM oplog ORDER BY seq';
        expect(old.prepare(rows).all()).toEqual(was.prepare(rows).all());
        old.close();
        was.close();
      }

      // Every owner's log, in the same order under the same cursors; the claim; bob apart.
      expect(await ids(hub)).toEqual(facts.owner.ids);
      expect(await hub.hubStore.head(HUB_OWNER)).toBe(facts.owner.last);
      expect(await hub.hubStore.claim()).toEqual({ iss: facts.issuer, sub: 'alice' });
      const bob = await hub.hubStore.findOwner({ iss: facts.issuer, sub: 'bob' });
      expect(bob).toBeDefined();
      expect(await ids(hub, bob)).toEqual(facts.bob.ids);
      expect(facts.bob.ids).toContain(facts.owner.ids[0]);
      const tail = await httpPull(hub.url, { after: String(facts.owner.last - 1) });
      expect(tail.ops.map((o) => o.id)).toEqual([facts.owner.ids.at(-1)]);
      expect(tail.cursor).toBe(String(facts.owner.last));
      // The state rebuilt from the upgraded logs is the state the old hub had.
      expect(await hub.caches.run(HUB_OWNER, (r) => r.store.digest())).toBe(
        digestOf(join(FIXTURE, 'hub.sqlite')),
      );
      expect(await hub.caches.run(bob!, (r) => r.store.digest())).toBe(
        digestOf(join(FIXTURE, 'users', PARTITION.replace(/\.db$/, '.sqlite'))),
      );

      // The device whose cursor predates the upgrade pulls only what it lacks, then pushes.
      await syncFixtureDevice(hub, device, facts);

      // A second start upgrades nothing.
      await hub.stop();
      const again = await start(dir);
      expect(again.hub.upgraded).toBeUndefined();
      expect(await ids(again.hub)).toHaveLength(facts.owner.last + facts.device_a.pending);
    });
  }

  it('upgrades an owner database of another name beside it into hub.db', async () => {
    const { dir } = layout('heph.db');
    const { hub } = await start(dir, { db: join(dir, 'heph.db') });
    expect(hub.upgraded?.files.map((f) => f.file)).toEqual(['heph.db', join('users', PARTITION)]);
    expect(existsSync(join(dir, 'heph.db'))).toBe(false);
    expect(existsSync(join(dir, 'users'))).toBe(false);
    expect(await ids(hub)).toEqual(facts.owner.ids);
  });

  it('keeps the stamps of a log that skipped some, and counts what follows a cursor exactly', async () => {
    const { dir } = layout();
    const main = new Database(join(dir, 'hub.db'));
    main.prepare('DELETE FROM oplog WHERE seq IN (4, 9, 10)').run();
    main.close();
    const { hub } = await start(dir);
    const kept = facts.owner.ids.filter((_, i) => ![3, 8, 9].includes(i));
    expect(await ids(hub)).toEqual(kept);
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(facts.owner.last);
    const page = await hub.hubStore.read(HUB_OWNER, { after: 2, limit: 3, maxChars: Infinity });
    // Stamps 3, 5 and 6 (4 is a hole), then 7, 8, 11–15 remain.
    expect(page).toMatchObject({ cursor: 6, more: true, remaining: 7 });
    const rest = await hub.hubStore.read(HUB_OWNER, { after: 8, limit: 2, maxChars: Infinity });
    expect(rest).toMatchObject({ cursor: 12, more: true, remaining: 3 });
    // New ops follow the old newest stamp.
    const pushed = await hub.hubStore.append([
      { owner: HUB_OWNER, ops: [titleOp(Date.now(), 0, ORIGIN_A)] },
    ]);
    expect(pushed[0]!.accepted).toHaveLength(1);
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(facts.owner.last + 1);
  });

  it('is all or nothing: a file it cannot read leaves the directory as it was', async () => {
    // A partition that does not say whose it is (found before anything is written) …
    let { dir } = layout();
    const partition = new Database(join(dir, 'users', PARTITION));
    partition.prepare("DELETE FROM meta WHERE key = 'setting:hub.partition_of'").run();
    partition.close();
    const before = files(dir);
    const hubBytes = readFileSync(join(dir, 'hub.db'));
    await expect(start(dir)).rejects.toThrow(
      new RegExp(`cannot upgrade the hub data directory: .*${PARTITION} does not say whose`),
    );
    expect(files(dir)).toEqual(before);
    expect(readFileSync(join(dir, 'hub.db')).equals(hubBytes)).toBe(true);

    // … and an op whose payload is damaged (found while the new store is being written).
    ({ dir } = layout());
    const main = new Database(join(dir, 'hub.db'));
    main.prepare('UPDATE oplog SET payload = ? WHERE seq = 7').run('{not json');
    main.close();
    const snapshot = files(dir);
    const bytes = readFileSync(join(dir, 'hub.db'));
    await expect(start(dir)).rejects.toThrow(/cannot upgrade .*op .* cannot be read/);
    expect(files(dir)).toEqual(snapshot);
    expect(readFileSync(join(dir, 'hub.db')).equals(bytes)).toBe(true);
  });

  it('changes nothing when the hub could not start anyway (a socket in a shared directory)', async () => {
    const { dir } = layout();
    chmodSync(dir, 0o755);
    const before = files(dir);
    await expect(start(dir)).rejects.toThrow(/socket directory .* has mode 0755/);
    expect(files(dir)).toEqual(before);
  });

  it('finishes removing old files an interrupted upgrade left, and refuses strangers', async () => {
    const { dir } = layout();
    const first = await start(dir);
    const copies = join(dir, first.hub.upgraded!.copies);
    await first.hub.stop();
    // Stopped between the rename and the removal: the partition is still there.
    cpSync(join(copies, 'users'), join(dir, 'users'), { recursive: true });
    const { hub, logger } = await start(dir);
    expect(hub.upgraded).toBeUndefined();
    expect(existsSync(join(dir, 'users'))).toBe(false);
    expect(logger.messages.join('\n')).toMatch(/removed the files an earlier upgrade had copied/);
    await hub.stop();
    // A database of the earlier layout that was never upgraded into this store is refused.
    mkdirSync(join(dir, 'users'));
    copyFileSync(join(copies, 'users', PARTITION), join(dir, 'users', 'stranger.db'));
    await expect(start(dir)).rejects.toThrow(/never upgraded into it \(stranger\.db\)/);
    renameSync(join(dir, 'users', 'stranger.db'), join(dir, 'stranger.db'));
    await (await start(dir)).hub.stop();
  });
});

describe('hephd --mode server on a data directory of the earlier layout', () => {
  const daemons = useDaemons();

  it('upgrades it on the first start and says what it did', async () => {
    const { dir } = layout();
    const d = await daemons.start({
      db: join(dir, 'hub.db'),
      socket: join(dir, 'h.sock'),
      logLevel: 'info',
      args: ['--mode', 'server', '--http-addr', '127.0.0.1:0'],
    });
    await until(() => /hub listening on/.test(d.stderr()), 'the hub to listen');
    expect(d.stderr()).toMatch(/upgraded the hub data directory to one hub store/);
    const c = await daemons.client(d.socket);
    const status = (await c.call('status', { digest: true })) as {
      mode: string;
      ops: number;
      digest: string;
    };
    expect(status).toMatchObject({
      mode: 'server',
      ops: facts.owner.last,
      digest: digestOf(join(FIXTURE, 'hub.sqlite')),
    });
    // The plan is a task's context doc: it reads with its task's title (a task is one thing).
    const task = (await c.call('node.get', { id: facts.device_a.task })) as { title: string };
    expect(await c.call('node.get', { id: facts.device_a.plan })).toMatchObject({
      title: task.title,
    });
    expect(task.title).not.toBe('');
  });
});
