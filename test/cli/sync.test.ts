// `heph sync` and `heph sync status` tell the truth, as a user meets them: real hephd processes
// (their clocks shifted through HEPH_CLOCK_OFFSET_MS, the daemon's injected clock), a real hub on
// 127.0.0.1:0, the real CLI. `heph sync` succeeds only when the hub has every change made on the
// device, and otherwise exits with the code of the reason; the verdict names what is open.

import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHub } from '../../src/hub/server.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { syncOnce } from '../../src/sync/sync-once.js';
import { startOidcProvider } from '../helpers/oidc-provider.js';
import { daemonConfig, openSpoke, startTestHub, type TestHub } from '../sync/helpers.js';
import {
  assertBuilt,
  baseEnv,
  heph,
  json,
  startDaemon,
  tempHome,
  type Daemon,
  type Home,
} from './helpers.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

interface Device {
  home: Home;
  daemon: Daemon;
  run(args: string[]): ReturnType<typeof heph>;
  /** Stops the daemon and starts it again on the same database with other settings. */
  restart(env?: Record<string, string>, hubUrl?: string): Promise<void>;
}

async function device(
  hubUrl: string,
  env: Record<string, string> = {},
  opts: { home?: Home } = {},
): Promise<Device> {
  assertBuilt();
  const home = opts.home ?? tempHome();
  if (!opts.home) cleanups.push(() => home.cleanup());
  const d: Device = {
    home,
    daemon: await startDaemon(home.dir, ['--hub-url', hubUrl], env),
    run: (a) => heph(a, { env: baseEnv({ ...home.env, HEPH_SOCKET: d.daemon.socket }) }),
    async restart(next = {}, url = hubUrl) {
      await d.daemon.stop();
      d.daemon = await startDaemon(home.dir, ['--hub-url', url], next);
    },
  };
  cleanups.push(() => d.daemon.stop());
  return d;
}

async function hub(): Promise<TestHub> {
  const h = await startTestHub();
  cleanups.push(() => h.close());
  return h;
}

async function titles(h: TestHub, kind: 'doc' | 'task' = 'doc'): Promise<string[]> {
  return (await h.view()).listNodes({ kind, limit: 1000 }).map((n) => n.title);
}

const TEN_MINUTES = String(10 * 60 * 1000);

describe('heph sync', () => {
  it('with nothing to send is success', async () => {
    const h = await hub();
    const d = await device(h.url);
    const r = await d.run(['sync']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Synced: the hub has every change made here/);
    const st = json(await d.run(['sync', 'status', '--json']));
    expect(st).toMatchObject({ state: 'in_sync', verdict: 'in sync' });
  });

  it('with the clock ten minutes ahead: exit 4, what was not sent and how to fix it', async () => {
    const h = await hub();
    const d = await device(h.url, { HEPH_CLOCK_OFFSET_MS: TEN_MINUTES });
    expect((await d.run(['add', 'Pay rent tomorrow !red'])).code).toBe(0);
    const r = await d.run(['sync']);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^heph: 1 change not uploaded: this device's clock is (59\d|60\d) s ahead of the hub's; fix the clock, then `heph sync`\n$/,
    );
    expect(await titles(h, 'task')).not.toContain('Pay rent');
    const st = json(await d.run(['sync', 'status', '--json']));
    expect(st.state).toBe('clock_drift');
    expect(st.pending.changes).toBe(1);
    expect(st.pending.ops).toBeGreaterThan(1);
    expect(st.verdict).toMatch(/^not uploading: this device's clock is \d+ s ahead/);
    expect(st.verdict).toMatch(/ · 1 change waiting to upload$/);
    const human = await d.run(['sync', 'status']);
    // (The amount is measured again on every exchange, against a Date header of 1 s steps.)
    expect(human.stdout.split('\n')[0]).toMatch(
      /^not uploading: this device's clock is \d+ s ahead of the hub's; fix the clock, then `heph sync` · 1 change waiting to upload$/,
    );
    expect(human.stdout).toMatch(/to upload: +1 change \(\d+ ops?\)/);
    const held = await d.run(['sync', 'status', '--details']);
    expect(held.stdout).toMatch(
      /\nHeld until this device's clock is right \(\d+ ops?, sent again then\):\n {2}op \S+ from replica [0-9a-f]{16} is stamped (9m5\d|10m0\d)s ahead/,
    );

    // The clock is fixed: the held change is stamped again and sent, once.
    await d.restart();
    const fixed = await d.run(['sync']);
    expect(fixed.stderr).toBe('');
    expect(fixed.code).toBe(0);
    expect((await titles(h, 'task')).filter((t) => t === 'Pay rent')).toHaveLength(1);
    expect(json(await d.run(['sync', 'status', '--json']))).toMatchObject({
      state: 'in_sync',
      pending: { changes: 0, ops: 0 },
      quarantined: [],
    });
  });

  it('offline: one command is one change waiting, and sync exits 5', async () => {
    const closed = await startTestHub();
    const url = closed.url;
    await closed.close();
    const d = await device(url);
    expect((await d.run(['add', 'Water the plants #Home +weekly every week'])).code).toBe(0);
    const r = await d.run(['sync']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^heph: hub at 127\.0\.0\.1:\d+ is unreachable/);
    const st = json(await d.run(['sync', 'status', '--json']));
    expect(st.state).toBe('offline');
    expect(st.pending.changes).toBe(1);
    expect(st.pending.ops).toBeGreaterThan(3);
    expect(st.verdict).toMatch(/^hub unreachable since \d\d:\d\d · 1 change waiting to upload$/);
  });

  it('sign-in needed: exit 6, and the verdict says so', async () => {
    const op = await startOidcProvider();
    cleanups.push(() => op.close());
    const home = tempHome();
    cleanups.push(() => home.cleanup());
    const signed = await startHub(
      daemonConfig(join(home.dir, 'hub', 'hub.db'), {
        oidc: { issuer: op.issuer, audience: op.audience, clientId: op.clientId },
      }),
      {
        clock: { now: () => Date.now() },
        random: seededRandom(11),
        logger: silentLogger,
        version: 'test',
      },
    );
    cleanups.push(() => signed.stop());
    const d = await device(signed.url);
    expect((await d.run(['doc', 'Private thoughts'])).code).toBe(0);
    const r = await d.run(['sync']);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^heph: hub at 127\.0\.0\.1:\d+ needs sign-in/);
    const st = json(await d.run(['sync', 'status', '--json']));
    expect(st.state).toBe('sign_in');
    expect(st.verdict).toMatch(/^not syncing: sign-in needed \(.+\) · 1 change waiting to upload$/);
  });

  it('names open conflicts in the verdict, and they are no failure of sync', async () => {
    const h = await hub();
    const d = await device(h.url);
    const a = json(await d.run(['doc', 'Trip', '--body', 'ferry', '--json']));
    const b = json(await d.run(['doc', 'Garden', '--body', 'beans', '--json']));
    expect((await d.run(['sync'])).code).toBe(0);
    // Another device renames both notes at the same time as this one.
    const other = openSpoke('other', h.url);
    cleanups.push(() => other.close());
    await syncOnce(other.store, other.client);
    other.store.updateNode(a.id, { title: 'Trip (theirs)' });
    other.store.updateNode(b.id, { title: 'Garden (theirs)' });
    expect((await d.run(['edit', a.id, '--title', 'Trip (mine)'])).code).toBe(0);
    expect((await d.run(['edit', b.id, '--title', 'Garden (mine)'])).code).toBe(0);
    await syncOnce(other.store, other.client);
    const r = await d.run(['sync']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('2 conflicts to resolve (heph conflicts)');
    const st = json(await d.run(['sync', 'status', '--json']));
    expect(st).toMatchObject({
      state: 'in_sync',
      conflicts: 2,
      verdict: 'in sync · 2 conflicts to resolve (heph conflicts)',
    });
  });

  it('a copied database whose changes the hub refuses: exit 4, kept here, shown in detail', async () => {
    const h = await hub();
    const home = tempHome();
    cleanups.push(() => home.cleanup());
    const first = await device(h.url, {}, { home });
    expect((await first.run(['doc', 'Before the copy'])).code).toBe(0);
    expect((await first.run(['sync'])).code).toBe(0);
    await first.daemon.stop();
    // The user copies the data to a second machine (same replica id), whose clock is a day
    // behind, so both stamp their next changes alike.
    const copyHome = tempHome();
    cleanups.push(() => copyHome.cleanup());
    mkdirSync(copyHome.dir, { recursive: true });
    expect(existsSync(`${first.daemon.db}-wal`)).toBe(false);
    copyFileSync(first.daemon.db, join(copyHome.dir, 'heph.db'));
    const dayBehind = { HEPH_CLOCK_OFFSET_MS: String(-24 * 3600 * 1000) };

    await first.restart(dayBehind);
    expect((await first.run(['doc', 'From the laptop'])).code).toBe(0);
    expect((await first.run(['sync'])).code).toBe(0);
    await first.daemon.stop();

    // The copy writes before it ever reaches the hub (had it pulled the laptop's change first,
    // its clock would have moved past those stamps).
    const gone = await startTestHub();
    const nowhere = gone.url;
    await gone.close();
    const copy = await device(nowhere, dayBehind, { home: copyHome });
    expect((await copy.run(['doc', 'From the copy'])).code).toBe(0);
    await copy.restart(dayBehind, h.url);
    const r = await copy.run(['sync']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(
      /^heph: 1 change refused by the hub and kept here \(op \S+ from replica [0-9a-f]{16} reuses an id already stored with different content\); see `heph sync status --details`\n$/,
    );
    expect(await titles(h)).toContain('From the laptop');
    expect(await titles(h)).not.toContain('From the copy');
    // Nothing is lost: the note stays on this device.
    expect(json(await copy.run(['get', 'From the copy', '--json'])).title).toBe('From the copy');
    const st = json(await copy.run(['sync', 'status', '--json']));
    expect(st.state).toBe('refused');
    expect(st.refused.changes).toBe(1);
    expect(st.refused.ops).toBe(st.quarantined.length);
    expect(st.verdict).toBe('in sync · 1 change refused (heph sync status --details)');
    const details = await copy.run(['sync', 'status', '--details']);
    expect(details.stdout).toContain('Refused by the hub (kept here, never sent again):');
    for (const q of st.quarantined) {
      expect(details.stdout).toContain(`${q.id} on ${q.target}: op ${q.id} from replica`);
    }
  });
});
