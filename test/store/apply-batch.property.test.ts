// Batched write-back (src/store/apply-batch.ts) against op-by-op application: whatever the batch
// sizes, order and duplicates, a replica ends with exactly the rows that applying the same ops
// one at a time leaves, and so does the replica that wrote half of them itself (its own writes
// are written back once per store call) and a rebuild from the log. Compared table by table: node rows with
// their registers and times, body text, links and wiki links. Seeded: a failure prints the seed
// and the counterexample path; HEPH_PROPERTY_SEED / HEPH_PROPERTY_RUNS replay or widen it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Op } from '../../src/core/op.js';
import { ManualClock } from '../../src/ports/clock.js';
import { edit, editArb } from '../helpers/edits.js';
import { allOps, materializedTables, openTestStore } from '../helpers/store.js';

const SEED = Number(process.env.HEPH_PROPERTY_SEED ?? 20261123);
const RUNS = Number(process.env.HEPH_PROPERTY_RUNS ?? 60);

describe('batched write-back of applied ops (property)', () => {
  it(`any batching, order and duplication leaves the rows op-by-op application leaves (${RUNS} runs, seed ${SEED})`, () => {
    fc.assert(
      fc.property(
        fc.array(editArb(), { minLength: 10, maxLength: 50 }),
        fc.infiniteStream(fc.nat(1_000_000)),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }),
        (edits, rnd, sizes) => {
          const makers = [0, 1].map((i) =>
            openTestStore({
              clock: new ManualClock(Date.UTC(2026, 10, 23) + i * 3),
              seed: 500 + i,
            }),
          );
          const one = openTestStore({ seed: 600 });
          const batched = openTestStore({ seed: 601 });
          try {
            for (const e of edits) edit(makers, e);
            const union = [...allOps(makers[0]!.store), ...allOps(makers[1]!.store)];
            // Maker 0 receives maker 1's ops in one batch; its own went straight to the rows.
            makers[0]!.store.applyOps(allOps(makers[1]!.store));
            // One op per call, in log order: each batch holds a single op.
            for (const op of union) one.store.applyOps([op]);
            // Shuffled, with duplicates, in batches of the generated sizes.
            const it = rnd[Symbol.iterator]();
            const next = (): number => it.next().value as number;
            const shuffled = [...union];
            for (let i = shuffled.length - 1; i > 0; i--) {
              const j = next() % (i + 1);
              [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
            }
            for (let d = 0; d < shuffled.length / 5; d++) {
              shuffled.splice(next() % (shuffled.length + 1), 0, union[next() % union.length]!);
            }
            for (let at = 0, b = 0; at < shuffled.length; b++) {
              const size = sizes[b % sizes.length]!;
              expect(batched.store.applyOps(shuffled.slice(at, at + size)).refused).toEqual([]);
              at += size;
            }
            const expected = materializedTables(one.store);
            expect(materializedTables(batched.store)).toEqual(expected);
            expect(materializedTables(makers[0]!.store)).toEqual(expected);
            batched.store.rebuild();
            expect(materializedTables(batched.store)).toEqual(expected);
            expect(batched.store.digest()).toBe(one.store.digest());
          } finally {
            for (const h of [...makers, one, batched]) h.close();
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  }, 180_000);

  it('a body update Yjs cannot decode is refused in the middle of a batch; the rest apply', () => {
    const a = openTestStore({ seed: 700 });
    const b = openTestStore({ seed: 701 });
    const c = openTestStore({ seed: 702 });
    try {
      const n = a.store.createNode({ kind: 'doc', title: 'doc', body: 'one\n' });
      a.store.updateNode(n.id, { body: 'one\ntwo [[x]]\n' });
      const ops = allOps(a.store);
      const bodyOps = ops.filter((o) => o.kind === 'body.update');
      expect(bodyOps.length).toBe(2);
      // A well-formed op whose update is not Yjs: bytes Yjs reads as a huge struct count.
      const bad: Op = {
        id: `${bodyOps[0]!.id.slice(0, 13)}ffff-${'e'.repeat(16)}`,
        kind: 'body.update',
        target: n.id,
        payload: { update: Buffer.from([255, 255, 255, 255, 15, 1, 2, 3]).toString('base64') },
      };
      const batch = [...ops.slice(0, -1), bad, ops[ops.length - 1]!];
      const r = b.store.applyOps(batch);
      expect(r.refused.map((x) => x.id)).toEqual([bad.id]);
      expect(r.applied.length).toBe(ops.length);
      for (const op of ops) c.store.applyOps([op]);
      expect(materializedTables(b.store)).toEqual(materializedTables(c.store));
      expect(b.store.getNode(n.id).body).toBe('one\ntwo [[x]]\n');
      expect(b.store.wikiTargets(n.id)).toEqual(['x']);
      expect(b.store.opCount()).toBe(ops.length);
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });
});
