// Real hephd processes on one PostgreSQL database: two hubs started together (the schema is made
// once, under the advisory lock), devices pointed at different hubs converge with every edit
// present once; kill -9 of a hub in the middle of a push leaves all of that batch or none; and
// 50 concurrent exchanges of one enrolment token split across two signed-in hub processes give
// exactly one credential (the database decides, not a process's memory);
// `hephd hub-migrate` copies the committed SQLite hub fixture (after the in-place upgrade a hub
// of this version makes) so that its device, whose cursor predates all of it, syncs on.

import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startHub } from '../../src/hub/server.js';
import { upgradeHubDir } from '../../src/hub/store/sqlite-upgrade.js';
import { PostgresHubStore } from '../../src/hub/store/postgres.js';
import { PG_SCHEMA_VERSION } from '../../src/hub/store/postgres-schema.js';
import { ManualClock } from '../../src/ports/clock.js';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { useDaemons, type DaemonProcess } from '../daemon/helpers.js';
import { createTestDatabase, sql } from '../helpers/postgres.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';
import { replicaId } from './device-helpers.js';
import {
  digestAsReadNow,
  eventually,
  hubConfig,
  httpPush,
  ORIGIN_A,
  T0,
  titleOp,
} from './helpers.js';
import { syncFixtureDevice } from './fixture-device.js';

const cluster = inject('pg');
const h = useDaemons();

let op: OidcTestProvider;
beforeAll(async () => {
  op = await startOidcProvider({ accessTokenTtlSec: 3600 });
}, 30_000);
afterAll(async () => {
  await op?.close();
});

function hubUrlOf(d: DaemonProcess): string | undefined {
  return /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(d.stderr())?.[1];
}

function startPgHub(url: string, env: Record<string, string> = {}): DaemonProcess {
  const dir = h.dir();
  return h.spawn({
    db: join(dir, 'hub.db'),
    socket: join(dir, 'hub.sock'),
    logLevel: 'info',
    args: ['--mode', 'server', '--http-addr', '127.0.0.1:0'],
    env: { HEPH_HUB_STORE: url, ...env },
  });
}

async function served(d: DaemonProcess): Promise<string> {
  await eventually(() => {
    if (d.exit() !== null) throw new Error(`hub exited: ${d.stderr()}`);
    return Promise.resolve(hubUrlOf(d) !== undefined);
  }, 'the hub to listen');
  return hubUrlOf(d)!;
}

describe('hub processes on one PostgreSQL database', () => {
  it('two hubs started together make the schema once; devices on different hubs converge', async () => {
    const db = await createTestDatabase(cluster, 'procs');
    const hubs = [startPgHub(db.url), startPgHub(db.url)];
    const urls = await Promise.all(hubs.map(served));
    expect(urls[0]).not.toBe(urls[1]);
    const made = hubs.map((d) => d.stderr().split('created the hub schema').length - 1);
    expect(made.reduce((a, b) => a + b)).toBe(1);
    expect(await sql(db.url, 'SELECT version FROM heph.schema_version')).toEqual([
      { version: PG_SCHEMA_VERSION },
    ]);
    expect(await sql(db.url, 'SELECT id::int FROM heph.owners')).toEqual([{ id: HUB_OWNER }]);

    const devices: Awaited<ReturnType<typeof h.client>>[] = [];
    for (const url of urls) {
      const dir = h.dir();
      const d = await h.start({
        db: join(dir, 'heph.db'),
        socket: join(dir, 'd.sock'),
        args: ['--hub-url', url],
      });
      devices.push(await h.client(d.socket));
    }
    const made_ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      for (const [n, c] of devices.entries()) {
        const node = (await c.call('node.create', { kind: 'doc', title: `d${n} ${i}` })) as {
          id: string;
        };
        made_ids.push(node.id);
      }
    }
    // Each device hears of the other's edits through its own hub's long-poll, woken by the other
    // hub's NOTIFY.
    type Status = { digest: string; ops: number };
    await eventually(async () => {
      const s = (await Promise.all(
        devices.map((c) => c.call('status', { digest: true })),
      )) as Status[];
      return s[0]!.digest === s[1]!.digest && s[0]!.ops === s[1]!.ops;
    }, 'the devices to converge');
    for (const c of devices) {
      const titles = [];
      for (const id of made_ids)
        titles.push(((await c.call('node.get', { id })) as { title: string }).title);
      // Every edit present once, under its own title.
      expect(titles.sort()).toEqual(
        Array.from({ length: 5 }, (_, i) => [`d0 ${i}`, `d1 ${i}`])
          .flat()
          .sort(),
      );
    }
  });

  it('kill -9 of a hub in the middle of a push leaves none of the batch; the push then succeeds through another hub', async () => {
    const db = await createTestDatabase(cluster, 'kill');
    const dying = startPgHub(db.url, { HEPH_FAILPOINT: 'hub.push.mid_batch' });
    const url = await served(dying);
    const batch = Array.from({ length: 10 }, (_, i) => titleOp(T0, i, ORIGIN_A));
    await expect(httpPush(url, batch)).rejects.toThrow();
    expect((await dying.exited).signal).toBe('SIGKILL');
    const store = await PostgresHubStore.open({ url: db.url }, { clock: new ManualClock(T0) });
    try {
      expect(await store.head(HUB_OWNER)).toBe(0);
      expect(await sql(db.adminUrl, 'SELECT count(*)::int AS n FROM heph.ops')).toEqual([{ n: 0 }]);
      const other = await served(startPgHub(db.url));
      expect(await httpPush(other, batch)).toMatchObject({ accepted: 10, duplicates: 0 });
      expect(await store.head(HUB_OWNER)).toBe(10);
    } finally {
      await store.close();
    }
  });
});

describe('enrolment across hub processes', () => {
  it('50 concurrent exchanges of one token, split across two hephd processes: exactly one credential', async () => {
    const db = await createTestDatabase(cluster, 'enrol');
    const signIn = {
      HEPH_OIDC_ISSUER: op.issuer,
      HEPH_OIDC_AUDIENCE: op.audience,
      HEPH_OIDC_CLIENT_ID: op.clientId,
    };
    const hubs = [startPgHub(db.url, signIn), startPgHub(db.url, signIn)];
    const urls = await Promise.all(hubs.map(served));
    expect(new Set(hubs.map((d) => d.pid)).size).toBe(2);
    const alice = await op.mintToken({ sub: 'alice' });
    const made = await request(`${urls[0]}/rpc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'device.enroll',
        params: { name: 'race' },
      }),
    });
    const { result } = (await made.body.json()) as { result: { token: string } };
    const answers = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const r = await request(`${urls[i % 2]}/auth/enroll`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: result.token, replica: replicaId(0x500 + i) }),
        });
        const body = (await r.body.json()) as { credential?: string };
        return { status: r.statusCode, credential: body.credential, hub: i % 2 };
      }),
    );
    const won = answers.filter((a) => a.status === 200);
    expect(won).toHaveLength(1);
    // The rest were refused: 401, or 429 once an address spent its failure budget (a hub
    // process's limiter is its own; the valid token is never slowed).
    expect(
      answers.filter((a) => a.status !== 200).every((a) => [401, 429].includes(a.status)),
    ).toBe(true);
    expect(answers.filter((a) => a.status === 401).length).toBeGreaterThanOrEqual(10);
    // Both processes took part, and the database holds one device with one credential.
    expect(new Set(answers.map((a) => a.hub)).size).toBe(2);
    expect(
      await sql(
        db.url,
        "SELECT count(*)::int AS devices, (SELECT count(*)::int FROM heph.device_credentials) AS credentials FROM heph.devices WHERE status = 'active'",
      ),
    ).toEqual([{ devices: 1, credentials: 1 }]);
    // The one credential works on either process.
    const [replica] = await sql<{ replica: string }>(db.url, 'SELECT replica FROM heph.devices');
    for (const url of urls) {
      const r = await request(`${url}/sync/pull`, {
        headers: {
          authorization: `Bearer ${won[0]!.credential}`,
          'heph-replica': replica!.replica,
          'heph-protocol': '2',
        },
      });
      await r.body.dump();
      expect(r.statusCode).toBe(200);
    }
  });
});

interface Facts {
  issuer: string;
  owner: { ids: string[]; last: number; digest: string };
  bob: { ids: string[]; last: number; digest: string };
  device_a: { origin: string; cursor: string; pending: number; task: string };
}

describe('hephd hub-migrate', () => {
  it('copies the SQLite hub fixture with its stamps; its device, with a cursor from before, syncs on; a second copy is refused', async () => {
    const fixture = join(import.meta.dirname, '..', 'fixtures', 'hub-v2');
    const facts = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', 'fixtures', 'hub-v2.json'), 'utf8'),
    ) as Facts;
    const base = h.dir();
    const dataDir = join(base, 'data');
    mkdirSync(join(dataDir, 'users'), { recursive: true, mode: 0o700 });
    copyFileSync(join(fixture, 'hub.sqlite'), join(dataDir, 'hub.db'));
    for (const f of readdirSync(join(fixture, 'users'))) {
      copyFileSync(
        join(fixture, 'users', f),
        join(dataDir, 'users', f.replace(/\.sqlite$/, '.db')),
      );
    }
    const device = join(base, 'device.db');
    copyFileSync(join(fixture, 'device-a.sqlite'), device);
    // The SQLite hub of this version, as its first start leaves the directory.
    upgradeHubDir({
      dataDir,
      legacyDb: join(dataDir, 'hub.db'),
      now: Date.now(),
      logger: silentLogger,
    });

    const db = await createTestDatabase(cluster, 'migrate');
    const r = await h.run(['hub-migrate', '--from', dataDir], { HEPH_HUB_STORE: db.url });
    const total = facts.owner.ids.length + facts.bob.ids.length;
    expect(r.stderr).toMatch(
      new RegExp(`copying: 0 of ${total} changes[\\s\\S]*copying: ${total} of ${total} changes`),
    );
    expect(r.code).toBe(0);
    const again = await h.run(['hub-migrate', '--from', dataDir], { HEPH_HUB_STORE: db.url });
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/already holds a hub's data.*give it a new database/);
    const bad = await h.run(['hub-migrate', '--from', dataDir, '--to', 'mysql://x/y']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/to: must be a postgres:\/\/ URL/);

    const hubDir = h.dir();
    const hub = await startHub(hubConfig(hubDir, { hubStore: db.url }), {
      clock: { now: () => Date.now() },
      random: seededRandom(5),
      logger: silentLogger,
      version: 'test',
    });
    try {
      expect(await hub.hubStore.head(HUB_OWNER)).toBe(facts.owner.last);
      expect(await hub.hubStore.claim()).toEqual({ iss: facts.issuer, sub: 'alice' });
      const bob = await hub.hubStore.findOwner({ iss: facts.issuer, sub: 'bob' });
      const page = await hub.hubStore.read(bob!, { after: 0, limit: 100, maxChars: Infinity });
      expect(page.ops.map((t) => (JSON.parse(t) as { id: string }).id)).toEqual(facts.bob.ids);
      // The state the old databases hold, as this version reads them.
      const partition = readdirSync(join(fixture, 'users'))[0]!;
      expect(await hub.caches.run(HUB_OWNER, (x) => x.store.digest())).toBe(
        digestAsReadNow(join(fixture, 'hub.sqlite'), h.dir()),
      );
      expect(await hub.caches.run(bob!, (x) => x.store.digest())).toBe(
        digestAsReadNow(join(fixture, 'users', partition), h.dir()),
      );
      // The device's cursor predates the copy: it pulls only what it lacks, then pushes.
      await syncFixtureDevice(hub, device, facts);
    } finally {
      await hub.stop();
    }
  });
});
