// Several writers on one PostgreSQL database, as several hub processes would be: the skip
// detector (skip-detector.ts) with K store instances pushing to one owner, each holding its
// commit back a random while, and R readers tailing with limits 1, 3 and 7, must see every
// acknowledged op exactly once and in order; its negative control, a writer that takes stamps
// from a plain sequence and no counter row, must make the same detector report skips.

import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PostgresHubStore, type PostgresHubStoreDeps } from '../../src/hub/store/postgres.js';
import { ManualClock } from '../../src/ports/clock.js';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { seededRandom } from '../../src/ports/random.js';
import { canonicalOpText } from '../../src/store/canonical-text.js';
import { parseOp } from '../../src/core/op.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { runSkipDetector, type DetectorReader } from './skip-detector.js';
import { T0 } from './store-contract.js';

const cluster = inject('pg');
const K = 4;
const LIMITS = [1, 3, 7];

describe('PostgreSQL hub store under concurrent writers', () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
  });
  async function store(url: string, extra: Partial<PostgresHubStoreDeps> = {}) {
    const s = await PostgresHubStore.open(
      { url, poolSize: 1 },
      { clock: new ManualClock(T0), ...extra },
    );
    closers.push(() => s.close());
    return s;
  }
  const ids = (texts: string[]) => texts.map((t) => (JSON.parse(t) as { id: string }).id);
  function readerOn(s: PostgresHubStore): DetectorReader {
    return {
      async read(after, limit) {
        const p = await s.read(HUB_OWNER, { after, limit, maxChars: Infinity });
        return { ids: ids(p.ops), cursor: p.cursor };
      },
      async wait(after) {
        await s.waitForAppend(HUB_OWNER, after, 50, new AbortController().signal);
      },
    };
  }

  it('the skip detector finds no op skipped, lost, doubled or out of order (seeded)', async () => {
    const seed = Number(process.env.HEPH_SEED ?? Date.now() % 1_000_000);
    console.log(`skip detector seed ${seed} (HEPH_SEED=${seed} replays it)`);
    const random = seededRandom(seed);
    const db = await createTestDatabase(cluster, 'skip');
    const delays = seededRandom(seed + 1);
    const writers = [];
    for (let i = 0; i < K; i++) {
      const s = await store(db.url, {
        beforeCommit: () => new Promise<void>((r) => setTimeout(r, Math.floor(delays.next() * 12))),
      });
      writers.push({
        push: async (ops: readonly object[]) =>
          (await s.append([{ owner: HUB_OWNER, ops }]))[0]!.accepted,
      });
    }
    const readers = [];
    for (const limit of LIMITS) readers.push({ limit, reader: readerOn(await store(db.url)) });
    const check = await store(db.url);
    const report = await runSkipDetector({
      writers,
      readers,
      pushesPerWriter: 25,
      maxOpsPerPush: 3,
      random,
      finalLog: async () =>
        ids((await check.read(HUB_OWNER, { after: 0, limit: 100_000, maxChars: Infinity })).ops),
    });
    expect(report.acknowledged).toBeGreaterThanOrEqual(K * 25);
    expect(report).toMatchObject({ skipped: 0, lost: 0, duplicated: 0, outOfOrder: 0 });
    expect(await check.head(HUB_OWNER)).toBe(report.acknowledged);
  });

  it('negative control: a writer stamping from a plain sequence makes the detector report skips', async () => {
    const seed = Number(process.env.HEPH_SEED ?? Date.now() % 1_000_000);
    console.log(`negative control seed ${seed}`);
    const db = await createTestDatabase(cluster, 'unsafe');
    await store(db.url); // makes the schema
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    closers.push(() => admin.end());
    await admin.query('CREATE SEQUENCE heph.unsafe_stamps');
    const delays = seededRandom(seed + 1);
    const client = async () => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      closers.push(() => c.end());
      return c;
    };
    const writers = [];
    for (let i = 0; i < K; i++) {
      const c = await client();
      let pushes = 0;
      writers.push({
        // No counter row: the stamp comes from nextval(), visible out of commit order.
        push: async (ops: readonly object[]) => {
          const texts = ops.map((x) => canonicalOpText(parseOp(x)));
          const opIds = ops.map((x) => (x as { id: string }).id);
          await c.query(`BEGIN; SELECT set_config('heph.owner', '${HUB_OWNER}', true)`);
          await c.query(
            `INSERT INTO heph.ops (owner, stamp, id, origin, op)
             SELECT $1, nextval('heph.unsafe_stamps'), id, right(id, 16), op
             FROM unnest($2::text[], $3::text[]) AS t (id, op)`,
            [HUB_OWNER, opIds, texts],
          );
          // Every commit waits a random while; the first writer's first one long enough that
          // the others commit later stamps and the readers pass them meanwhile.
          const hold = i === 0 && pushes++ === 0 ? 400 : Math.floor(delays.next() * 12);
          await new Promise((res) => setTimeout(res, hold));
          await c.query('COMMIT');
          return opIds;
        },
      });
    }
    // Readers that tail the table by cursor, as an event store's readers do.
    const readers = [];
    for (const limit of LIMITS) {
      const c = await client();
      const tail = async (after: number, n: number) => {
        await c.query(`BEGIN; SELECT set_config('heph.owner', '${HUB_OWNER}', true)`);
        const r = await c.query<{ stamp: string; id: string }>(
          'SELECT stamp, id FROM heph.ops WHERE owner = $1 AND stamp > $2 ORDER BY stamp LIMIT $3',
          [HUB_OWNER, after, n],
        );
        await c.query('COMMIT');
        return r.rows;
      };
      readers.push({
        limit,
        reader: {
          async read(after: number, n: number) {
            const rows = await tail(after, n);
            return {
              ids: rows.map((r) => r.id),
              cursor: rows.length === 0 ? after : Number(rows[rows.length - 1]!.stamp),
            };
          },
          wait: () => new Promise<void>((res) => setTimeout(res, 5)),
        },
      });
    }
    const final = await client();
    const report = await runSkipDetector({
      writers,
      readers,
      pushesPerWriter: 25,
      maxOpsPerPush: 3,
      random: seededRandom(seed),
      finalLog: async () => {
        await final.query(`BEGIN; SELECT set_config('heph.owner', '${HUB_OWNER}', true)`);
        const r = await final.query<{ id: string }>('SELECT id FROM heph.ops ORDER BY stamp');
        await final.query('COMMIT');
        return r.rows.map((x) => x.id);
      },
    });
    expect(report.lost).toBe(0);
    expect(report.skipped).toBeGreaterThan(0);
  });
});
