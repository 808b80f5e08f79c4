// Owners walled apart on PostgreSQL: two owners holding the same op id with different content,
// where B's pulls and long-polls never see A's ops; row-level security as the second wall (the
// hub's own role sees no op without an owner set, only that owner's with one, and cannot write
// another's); and the start-up guard that refuses a superuser or a BYPASSRLS role, saying how to
// make the right one, beside a positive control.

import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { encodeHlc } from '../../src/core/hlc.js';
import { PostgresHubStore } from '../../src/hub/store/postgres.js';
import { ManualClock } from '../../src/ports/clock.js';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { adminUrl, createTestDatabase, sql } from '../helpers/postgres.js';
import { T0 } from './store-contract.js';

const cluster = inject('pg');
const clock = new ManualClock(T0);
const op = (counter: number, value: string) => ({
  id: encodeHlc({ wall: T0, counter, origin: 'aaaaaaaaaaaaaaaa' }),
  kind: 'node.set',
  target: '01JAAAAAAAAAAAAAAAAAAAAAAA',
  payload: { field: 'title', value, prev: [] },
});
const values = (texts: string[]) =>
  texts.map((t) => (JSON.parse(t) as { payload: { value: string } }).payload.value);

describe('PostgreSQL hub store: owners walled apart', () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
  });
  async function open(url: string) {
    const s = await PostgresHubStore.open({ url }, { clock });
    closers.push(() => s.close());
    return s;
  }

  it("B never sees A's ops, by pull or long-poll, though both hold the same op id", async () => {
    const db = await createTestDatabase(cluster, 'iso');
    const hubA = await open(db.url);
    const hubB = await open(db.url); // another hub process
    const a = HUB_OWNER;
    const b = await hubB.ownerOf({ iss: 'https://id.test', sub: 'bob' });
    expect(
      (await hubA.append([{ owner: a, ops: [op(1, 'secret of A')] }]))[0]!.accepted,
    ).toHaveLength(1);
    // The same id under B is B's own op, not a duplicate of A's: nothing about A's log leaks.
    const mine = (await hubB.append([{ owner: b, ops: [op(1, 'B writes this')] }]))[0]!;
    expect(mine).toEqual({ accepted: [op(1, '').id], duplicates: 0, refused: [] });
    const all = { after: 0, limit: 100, maxChars: Infinity };
    expect(values((await hubB.read(b, all)).ops)).toEqual(['B writes this']);
    expect(values((await hubA.read(a, all)).ops)).toEqual(['secret of A']);
    // B's long-poll, on either process, is not woken by A's pushes, and then is by B's.
    const signal = new AbortController().signal;
    const waits = [hubA, hubB].map((h) => h.waitForAppend(b, 1, 60_000, signal));
    await hubA.append([{ owner: a, ops: [op(2, 'more of A')] }]);
    await hubB.append([{ owner: a, ops: [op(3, 'and more of A')] }]);
    const raced = await Promise.race([
      Promise.all(waits),
      new Promise((r) => setTimeout(r, 1500, 'still waiting')), // past a safety poll
    ]);
    expect(raced).toBe('still waiting');
    await hubA.append([{ owner: b, ops: [op(2, 'B again')] }]);
    expect(await Promise.all(waits)).toEqual(['appended', 'appended']);
    expect(values((await hubA.read(b, { ...all, after: 1 })).ops)).toEqual(['B again']);
    expect(await hubB.head(b)).toBe(2);
    expect(await hubB.head(a)).toBe(3);
  });

  it("as the hub's role with no owner set no op is visible; with one set, only that owner's, and no other's can be written", async () => {
    const db = await createTestDatabase(cluster, 'rls');
    const hub = await open(db.url);
    const bob = await hub.ownerOf({ iss: 'https://id.test', sub: 'bob' });
    await hub.append([{ owner: HUB_OWNER, ops: [op(1, 'a1'), op(2, 'a2')] }]);
    await hub.append([{ owner: bob, ops: [op(1, 'b1')] }]);
    // The superuser sees every row: the rows are there.
    expect(await sql(db.adminUrl, 'SELECT count(*)::int AS n FROM heph.ops')).toEqual([{ n: 3 }]);
    // The hub's role (which owns the table) with no owner context: nothing.
    expect(await sql(db.url, 'SELECT count(*)::int AS n FROM heph.ops')).toEqual([{ n: 0 }]);
    expect(
      await sql(db.url, `SELECT count(*)::int AS n FROM heph.ops WHERE owner = ${bob}`),
    ).toEqual([{ n: 0 }]);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    closers.push(() => c.end());
    await c.query(`BEGIN; SELECT set_config('heph.owner', '${bob}', true)`);
    const seen = await c.query<{ owner: string }>('SELECT owner FROM heph.ops');
    expect(seen.rows.map((r) => Number(r.owner))).toEqual([bob]);
    await expect(
      c.query(
        `INSERT INTO heph.ops (owner, stamp, id, origin, op) VALUES (${HUB_OWNER}, 99, 'x', 'y', '{}')`,
      ),
    ).rejects.toThrow(/row-level security/);
    await c.query('ROLLBACK');
    // The setting is per transaction: it is gone after it.
    expect((await c.query('SELECT count(*)::int AS n FROM heph.ops')).rows).toEqual([{ n: 0 }]);
  });

  it('refuses to start as a superuser or a BYPASSRLS role, saying how to make the right role', async () => {
    const db = await createTestDatabase(cluster, 'guard');
    const asSuperuser = adminUrl(cluster, db.name);
    await expect(PostgresHubStore.open({ url: asSuperuser }, { clock })).rejects.toThrow(
      /role "postgres": it is a superuser.*CREATE ROLE heph LOGIN.*CREATE DATABASE heph OWNER heph/,
    );
    await sql(adminUrl(cluster), `ALTER ROLE ${db.role} BYPASSRLS`);
    await expect(PostgresHubStore.open({ url: db.url }, { clock })).rejects.toThrow(
      /it has BYPASSRLS/,
    );
    // Nothing was created by either refusal.
    expect(
      await sql(db.adminUrl, "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'heph'"),
    ).toEqual([{ n: 0 }]);
    // Positive control: the same role without BYPASSRLS opens the store.
    await sql(adminUrl(cluster), `ALTER ROLE ${db.role} NOBYPASSRLS`);
    const s = await open(db.url);
    await s.ping();
  });
});
