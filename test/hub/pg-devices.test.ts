// Devices on hubs sharing one PostgreSQL database (a real private cluster, test/global-pg.ts),
// signed in at a real OpenID Provider on loopback. Two hub apps, each with its own store and
// connection pool, stand in for two hub processes (in one OS process: two real processes would
// double this file's start-up on a 2-core machine for no more database concurrency, since every
// exchange is decided by the database). 50 concurrent exchanges of one token split across both
// hubs over real HTTP give exactly one credential, and a read-then-write exchange on the same
// tables (the negative control) lets more than one through; a device revoked on one hub is
// refused on the other at its next request and its waiting long-poll there; a pg_dump holds no
// credential or enrolment token.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildHub, type HubApp } from '../../src/hub/app.js';
import { hashSecret } from '../../src/hub/credentials.js';
import { hubMigrate } from '../../src/hub/store/hub-migrate.js';
import { PostgresHubStore } from '../../src/hub/store/postgres.js';
import { SqliteHubStore } from '../../src/hub/store/sqlite.js';
import { enrolled } from './device-store-contract.js';
import { ManualClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { createTestDatabase, pgBinDir, type TestDatabase } from '../helpers/postgres.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';
import { useCleanup } from '../helpers/temp.js';
import {
  enrolDevice,
  enrollAs,
  errorOf,
  opsOf,
  pullAs,
  pushAs,
  replicaId,
  rpcOk,
  signInWith,
} from './device-helpers.js';
import { hubConfig } from './helpers.js';

const cluster = inject('pg');
const cleanups = useCleanup();

let op: OidcTestProvider;
beforeAll(async () => {
  op = await startOidcProvider({ accessTokenTtlSec: 3600 });
}, 30_000);
afterAll(async () => {
  await op?.close();
});

interface PgHub {
  hub: HubApp;
  store: PostgresHubStore;
  url: string;
}

let seed = 77;

/** A hub app with its own store and pool on `db`, listening on 127.0.0.1:0. */
async function pgHub(db: TestDatabase): Promise<PgHub> {
  const clock = new ManualClock(Date.now());
  const store = await PostgresHubStore.open({ url: db.url, poolSize: 5 }, { clock });
  const dir = cleanups.dir('heph-pg-devices-');
  const hub = await buildHub({
    hubStore: store,
    cache: { dir: join(dir, 'cache') },
    config: hubConfig(dir),
    version: 'test',
    logger: silentLogger,
    clock,
    random: seededRandom(seed++),
    timeouts: { closeGraceMs: 300 },
    auth: signInWith(op),
  });
  cleanups.defer(async () => {
    await hub.close();
    await store.close();
  });
  await hub.app.listen({ host: '127.0.0.1', port: 0 });
  const a = hub.app.server.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return { hub, store, url: `http://127.0.0.1:${a.port}` };
}

async function twoHubs() {
  const db = await createTestDatabase(cluster, 'devices');
  const a = await pgHub(db);
  const b = await pgHub(db);
  return { db, a, b, alice: await op.mintToken({ sub: 'alice' }) };
}

describe('devices on PostgreSQL, two hubs on one database', () => {
  it('50 concurrent exchanges of one token across both hubs: exactly one credential', async () => {
    const { a, b, alice } = await twoHubs();
    const e = await rpcOk<{ token: string }>(a.hub.app, alice, 'device.enroll', { name: 'race' });
    const statuses = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const r = await request(`${(i % 2 === 0 ? a : b).url}/auth/enroll`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: e.token, replica: replicaId(0x200 + i) }),
        });
        const body = (await r.body.json()) as { credential?: string };
        return { status: r.statusCode, credential: body.credential };
      }),
    );
    const won = statuses.filter((s) => s.status === 200);
    expect(won).toHaveLength(1);
    expect(statuses.filter((s) => s.status === 401)).toHaveLength(49);
    // The one credential works on either hub.
    const list = await rpcOk<{ devices: { replica: string }[] }>(b.hub.app, alice, 'device.list');
    expect(list.devices).toHaveLength(1);
    for (const h of [a, b]) {
      const r = await pullAs(h.hub.app, won[0]!.credential, list.devices[0]!.replica);
      expect(r.statusCode).toBe(200);
    }
  });

  it('negative control: a read-then-write exchange through two pools lets more than one through', async () => {
    const { a, db, alice } = await twoHubs();
    const e = await rpcOk<{ token: string }>(a.hub.app, alice, 'device.enroll', { name: 'race' });
    const hash = hashSecret(e.token);
    const pools = [
      new pg.Pool({ connectionString: db.url, max: 5 }),
      new pg.Pool({ connectionString: db.url, max: 5 }),
    ];
    cleanups.defer(async () => {
      for (const p of pools) await p.end();
    });
    const now = Date.now();
    const wins = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const p = pools[i % 2]!;
        const unused = await p.query(
          'SELECT device FROM heph.enrolment_tokens WHERE hash = $1 AND used_ms IS NULL AND expires_ms > $2',
          [hash, now],
        );
        if (unused.rowCount !== 1) return false;
        await p.query('UPDATE heph.enrolment_tokens SET used_ms = $2 WHERE hash = $1', [hash, now]);
        return true;
      }),
    );
    expect(wins.filter(Boolean).length).toBeGreaterThan(1);
  });

  it('a device revoked on one hub is refused on the other at once, its waiting long-poll too', async () => {
    const { a, b, alice } = await twoHubs();
    const R1 = replicaId(0x1111);
    const R2 = replicaId(0x2222);
    const d = await enrolDevice(a.hub.app, alice, R1, 'lost laptop');
    expect((await pushAs(b.hub.app, d.credential, R1, opsOf(R1))).statusCode).toBe(200);
    const waiting = pullAs(b.hub.app, d.credential, R1, '?after=1&wait=30');
    await expect.poll(() => b.store.waiting(1)).toBe(1);
    await rpcOk(a.hub.app, alice, 'device.revoke', { id: d.id });
    // A push through hub A wakes hub B's long-poll (NOTIFY); it answers the refusal.
    expect((await pushAs(a.hub.app, alice, R2, opsOf(R2))).statusCode).toBe(200);
    const woke = await waiting;
    expect([woke.statusCode, errorOf(woke).code]).toEqual([403, 'device_revoked']);
    for (const replica of [R1, replicaId(0x9999)]) {
      const r = await pullAs(b.hub.app, d.credential, replica);
      expect([r.statusCode, errorOf(r).code]).toEqual([403, 'device_revoked']);
    }
    const smuggled = await pushAs(b.hub.app, alice, R2, opsOf(R1));
    expect(smuggled.json()).toMatchObject({ accepted: 0, refused: [{ code: 'device_revoked' }] });
    // Positive control: the other replica syncs on both.
    expect((await pullAs(b.hub.app, alice, R2)).statusCode).toBe(200);
  });

  it('a pg_dump holds the hashes of credentials and enrolment tokens, never the secrets', async () => {
    const { a, db, alice } = await twoHubs();
    const d = await enrolDevice(a.hub.app, alice, replicaId(0x1111));
    const rotated = await request(`${a.url}/auth/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.credential}` },
    });
    const next = ((await rotated.body.json()) as { credential: string }).credential;
    const pending = (
      await rpcOk<{ token: string }>(a.hub.app, alice, 'device.enroll', { name: 'later' })
    ).token;
    const used = await enrollAs(a.hub.app, pending, replicaId(0x2222));
    expect(used.statusCode).toBe(200);
    const unused = (
      await rpcOk<{ token: string }>(a.hub.app, alice, 'device.enroll', { name: 'unused' })
    ).token;
    const dump = execFileSync(join(pgBinDir(), 'pg_dump'), ['--data-only', db.adminUrl], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    for (const s of [d.credential, next, d.token, pending, unused]) {
      expect(dump.includes(s.slice(3))).toBe(false);
    }
    // Positive control: the dump holds the tables' rows.
    for (const s of [next, pending, unused]) expect(dump.includes(hashSecret(s))).toBe(true);
  });

  it('hub-migrate copies the device registry: credentials keep working, revoked stays revoked', async () => {
    const dir = cleanups.dir('heph-migrate-devices-');
    const clock = new ManualClock(Date.now());
    const sqlite = SqliteHubStore.open({ path: join(dir, 'hub.db') }, { clock });
    const now = clock.now();
    const kept = await enrolled(sqlite, now, replicaId(0x1111));
    const gone = await enrolled(sqlite, now, replicaId(0x2222));
    await sqlite.revokeDevice(1, gone.id, now);
    await sqlite.close();
    const db = await createTestDatabase(cluster, 'migrate');
    const report = await hubMigrate(
      { from: dir, to: db.url },
      { clock, logger: silentLogger, progress: () => undefined },
    );
    expect(report.devices).toBe(2);
    const store = await PostgresHubStore.open({ url: db.url }, { clock });
    cleanups.defer(() => store.close());
    expect(await store.deviceByCredential(kept.credential)).toMatchObject({
      id: kept.id,
      status: 'active',
    });
    expect(await store.deviceByCredential(gone.credential)).toMatchObject({ status: 'revoked' });
    const [r] = await store.append([{ owner: 1, ops: opsOf(replicaId(0x2222)) }]);
    expect(r!.refused).toMatchObject([{ code: 'device_revoked' }]);
  });
});
