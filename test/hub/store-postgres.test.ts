// The hub store contract on PostgreSQL (a real private cluster, test/global-pg.ts), plus what is
// particular to it: a wait woken by a commit from another store instance (two pools standing in
// for two hub processes), and after its listening connection was lost; a database newer than
// this heph; the description never shows a password.

import { afterAll, describe, expect, inject, it } from 'vitest';
import { PostgresHubStore, describePgUrl } from '../../src/hub/store/postgres.js';
import { ManualClock } from '../../src/ports/clock.js';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { createTestDatabase, sql } from '../helpers/postgres.js';
import { runHubStoreContract, T0 } from './store-contract.js';
import { encodeHlc } from '../../src/core/hlc.js';

const cluster = inject('pg');

runHubStoreContract('postgres', async (clock) => {
  const db = await createTestDatabase(cluster, 'contract');
  let store = await PostgresHubStore.open({ url: db.url }, { clock });
  return {
    store,
    async reopen() {
      await store.close();
      store = await PostgresHubStore.open({ url: db.url }, { clock });
      return store;
    },
    async cleanup() {
      await store.close();
    },
  };
});

const op = (counter: number) => ({
  id: encodeHlc({ wall: T0, counter, origin: 'aaaaaaaaaaaaaaaa' }),
  kind: 'node.set',
  target: '01JAAAAAAAAAAAAAAAAAAAAAAA',
  payload: { field: 'title', value: `t${counter}`, prev: [] },
});

describe('PostgresHubStore', () => {
  const open: PostgresHubStore[] = [];
  afterAll(async () => {
    for (const s of open) await s.close();
  });
  async function two() {
    const db = await createTestDatabase(cluster, 'two');
    const clock = new ManualClock(T0);
    const a = await PostgresHubStore.open({ url: db.url, poolSize: 2 }, { clock });
    const b = await PostgresHubStore.open({ url: db.url, poolSize: 2 }, { clock });
    open.push(a, b);
    return { a, b, db };
  }

  it('wakes a wait on one instance with a commit made through another, holding no connection while it waits', async () => {
    const { a, b, db } = await two();
    const gone = new AbortController();
    const waiting = b.waitForAppend(HUB_OWNER, 0, 60_000, gone.signal);
    // While it waits, the hub's connections are the two listeners and idle pool connections:
    // none is in a query.
    await new Promise((r) => setTimeout(r, 50));
    const busy = await sql<{ n: string }>(
      db.adminUrl,
      `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'active'
         AND query NOT ILIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
      [db.name],
    );
    expect(Number(busy[0]!.n)).toBe(0);
    expect(b.waiting(HUB_OWNER)).toBe(1);
    const t = Date.now();
    await a.append([{ owner: HUB_OWNER, ops: [op(1)] }]);
    expect(await waiting).toBe('appended');
    // Woken by the notification, well before the 1 s safety poll.
    expect(Date.now() - t).toBeLessThan(900);
    expect(b.waiting(HUB_OWNER)).toBe(0);
  });

  it('after its listening connection is lost, reconnects and finds what was committed meanwhile', async () => {
    const { a, b } = await two();
    const gone = new AbortController();
    const waiting = b.waitForAppend(HUB_OWNER, 0, 60_000, gone.signal);
    b.dropListener();
    await a.append([{ owner: HUB_OWNER, ops: [op(1)] }]);
    expect(await waiting).toBe('appended');
    await expect.poll(() => b.listenerReconnects).toBeGreaterThanOrEqual(1);
    // And listens again: the next commit wakes the next wait.
    const next = b.waitForAppend(HUB_OWNER, 1, 60_000, gone.signal);
    await a.append([{ owner: HUB_OWNER, ops: [op(2)] }]);
    expect(await next).toBe('appended');
  });

  it('refuses a database whose hub schema is newer than this heph, changing nothing', async () => {
    const { a, db } = await two();
    await a.close();
    await sql(db.url, 'UPDATE heph.schema_version SET version = 99');
    await expect(
      PostgresHubStore.open({ url: db.url }, { clock: new ManualClock(T0) }),
    ).rejects.toThrow(/schema version 99, newer than this heph understands/);
    expect(await sql(db.url, 'SELECT version FROM heph.schema_version')).toEqual([{ version: 99 }]);
  });

  it('names its database without the password', () => {
    expect(describePgUrl('postgres://heph:s3cret@db.example:5433/heph?sslmode=require')).toBe(
      'postgres heph@db.example:5433/heph?sslmode=require',
    );
    expect(describePgUrl('postgres://heph@h/db?password=s3cret')).not.toMatch(/s3cret/);
  });
});
