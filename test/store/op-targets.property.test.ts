// The index of ops by target, caught up by a cursor (src/store/op-targets.ts), against a scan of
// the op-log: whatever the batching of applied ops, the local writes, the re-stamped (deleted and
// rewritten) own ops and the reads that catch it up in between, every read of a node's ops
// (history's node log, its body ops) lists exactly the ops the log holds for it, and a reopened
// store (cursor and rows as committed) agrees. Seeded: a failure prints the seed and the
// counterexample path; HEPH_PROPERTY_SEED / HEPH_PROPERTY_RUNS replay or widen it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/ports/clock.js';
import { NodeLog } from '../../src/store/node-log.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { openTestStore, type TestStore } from '../helpers/store.js';

const SEED = Number(process.env.HEPH_PROPERTY_SEED ?? 20261205);
const RUNS = Number(process.env.HEPH_PROPERTY_RUNS ?? 40);

type Step =
  | { t: 'create'; r: number }
  | { t: 'title'; r: number; n: number; v: number }
  | { t: 'body'; r: number; n: number; v: number }
  | { t: 'link'; r: number; a: number; b: number }
  | { t: 'sync'; from: number; batch: number }
  | { t: 'read'; r: number; n: number }
  | { t: 'restamp'; r: number; k: number }
  | { t: 'bad'; n: number };

function stepArb(): fc.Arbitrary<Step> {
  const r = fc.nat(1);
  const n = fc.nat(6);
  return fc.oneof(
    { weight: 2, arbitrary: fc.record({ t: fc.constant('create' as const), r }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('title' as const), r, n, v: fc.nat(9) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('body' as const), r, n, v: fc.nat(9) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('link' as const), r, a: n, b: n }) },
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('sync' as const),
        from: r,
        batch: fc.integer({ min: 1, max: 30 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('read' as const), r: fc.nat(2), n }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('bad' as const), n }) },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('restamp' as const),
        r,
        k: fc.integer({ min: 1, max: 4 }),
      }),
    },
  );
}

/** The ids a scan of the log gives for a node's ops and those of the links from it. */
function scanned(s: SqliteStore, node: string): { all: string[]; body: string[] } {
  const db = s.connection;
  const all = db
    .prepare(
      `SELECT id FROM oplog NOT INDEXED WHERE target = ? OR (target > ? AND target < ?) ORDER BY id`,
    )
    .pluck()
    .all(node, `${node}|`, `${node}}`) as string[];
  const body = db
    .prepare(
      `SELECT id FROM oplog NOT INDEXED WHERE target = ?
       AND kind IN ('body.update', 'body.init', 'body.edit') ORDER BY id`,
    )
    .pluck()
    .all(node) as string[];
  return { all, body };
}

function expectReadsMatchLog(s: SqliteStore, where: string): void {
  const log = new NodeLog(s.connection);
  const targets = s.connection
    .prepare("SELECT DISTINCT target FROM oplog WHERE target NOT LIKE '%|%'")
    .pluck()
    .all() as string[];
  for (const node of targets) {
    const want = scanned(s, node);
    expect(
      log.nodeOps(node).map((o) => o.id),
      `${where}: ops of ${node}`,
    ).toEqual(want.all);
    expect(
      s.bodyOps(node).map((o) => o.id),
      `${where}: body ops of ${node}`,
    ).toEqual(want.body);
  }
}

function run(steps: Step[]): void {
  const hs: TestStore[] = [0, 1].map((i) =>
    openTestStore({ clock: new ManualClock(Date.UTC(2026, 11, 5) + i * 5), seed: 900 + i }),
  );
  const receiver = openTestStore({ seed: 902 });
  const cursors = [0, 0];
  let badCount = 0;
  try {
    const stores = () => [hs[0]!.store, hs[1]!.store, receiver.store];
    for (const e of steps) {
      if (e.t === 'sync') {
        // The receiver takes the next `batch` ops of a maker's log in one applyOps.
        const page = hs[e.from]!.store.opsSince(cursors[e.from]!, e.batch);
        receiver.store.applyOps(page.ops);
        cursors[e.from] = page.cursor;
        continue;
      }
      if (e.t === 'bad') {
        // A body update Yjs cannot read: stored, then taken back out (its seq is handed out
        // again to the next op).
        const nodes = receiver.store.listNodes({ scope: 'all', limit: 100 });
        if (nodes.length === 0) continue;
        const r = receiver.store.applyOps([
          {
            id: `019f00000000-${String(badCount++).padStart(4, '0')}-0123456789abcdef`,
            kind: 'body.update',
            target: nodes[e.n % nodes.length]!.id,
            payload: { update: 'AQIDBA==' },
          },
        ]);
        expect(r.refused.map((x) => x.code)).toEqual(['invalid_op']);
        continue;
      }
      if (e.t === 'read') {
        const s = stores()[e.r]!;
        const nodes = s.listNodes({ scope: 'all', limit: 100 });
        if (nodes.length > 0) new NodeLog(s.connection).nodeOps(nodes[e.n % nodes.length]!.id);
        continue;
      }
      const h = hs[e.r]!;
      h.clock.advance(3);
      const s = h.store;
      if (e.t === 'create') {
        s.createNode({ kind: 'doc', title: 'new', body: 'start\n' });
        continue;
      }
      if (e.t === 'restamp') {
        // Own ops not yet sent anywhere (past the receiver's cursor): deleted and rewritten.
        const unsent = s.opsSince(cursors[e.r]!, 1000).ops.filter((o) => o.id.endsWith(s.origin));
        if (unsent.length > 0) s.restampOps(unsent.slice(-e.k).map((o) => o.id));
        continue;
      }
      const nodes = s
        .listNodes({ scope: 'all', limit: 100 })
        .sort((x, y) => (x.id < y.id ? -1 : 1));
      if (nodes.length === 0) continue;
      const pick = (i: number) => nodes[i % nodes.length]!;
      if (e.t === 'title') s.updateNode(pick(e.n).id, { title: `title ${e.v}` });
      else if (e.t === 'body')
        s.updateNode(pick(e.n).id, { body: `${pick(e.n).body}line ${e.v}\n` });
      else if (pick(e.a).id !== pick(e.b).id) s.addLink(pick(e.a).id, pick(e.b).id, 'parent');
    }
    const names = ['maker 0', 'maker 1', 'receiver'];
    stores().forEach((s, i) => expectReadsMatchLog(s, names[i]!));
    // As committed: a reopened store reads the same.
    expectReadsMatchLog(receiver.reopen(), 'receiver reopened');
  } finally {
    for (const h of [...hs, receiver]) h.close();
  }
}

describe('ops by target, caught up by cursor (property)', () => {
  it(`every read of a node's ops lists what the log holds for it (${RUNS} runs, seed ${SEED})`, () => {
    fc.assert(fc.property(fc.array(stepArb(), { minLength: 10, maxLength: 60 }), run), {
      seed: SEED,
      numRuns: RUNS,
    });
  }, 180_000);
});
