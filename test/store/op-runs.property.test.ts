// Ops from elsewhere are inserted into the op-log OP_RUN to a statement, ahead of being applied
// (SqliteStore.insertOpRun). Whatever the order of a page, the duplicates in it and the ops it
// holds that must be refused, a replica ends exactly as one that inserted and applied each op on
// its own: an op stored ahead counts as not seen yet (a write naming it in `prev` keeps it
// pending, so it never becomes a head when it is applied), a run holding a stored id is written
// op by op, and a refused op leaves nothing behind. Seeded: a failure prints the seed and the
// counterexample; HEPH_PROPERTY_SEED / HEPH_PROPERTY_RUNS replay or widen it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Op } from '../../src/core/op.js';
import { ManualClock } from '../../src/ports/clock.js';
import { BODY_FLUSH_NODES } from '../../src/store/apply-batch.js';
import { OP_RUN } from '../../src/store/statements.js';
import { edit, editArb } from '../helpers/edits.js';
import { allOps, materializedTables, openTestStore, type TestStore } from '../helpers/store.js';

const SEED = Number(process.env.HEPH_PROPERTY_SEED ?? 20261205);
const RUNS = Number(process.env.HEPH_PROPERTY_RUNS ?? 10);

function shuffle<T>(xs: readonly T[], next: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('ops inserted in runs (property)', () => {
  it(`a page in any order, with or without duplicates, ends as op-by-op application (${RUNS} runs, seed ${SEED})`, () => {
    let pagesOverRun = 0;
    fc.assert(
      fc.property(
        fc.array(editArb(), { minLength: 80, maxLength: 140 }),
        fc.infiniteStream(fc.nat(1_000_000)),
        (edits, rnd) => {
          const makers = [0, 1].map((i) =>
            openTestStore({ clock: new ManualClock(Date.UTC(2026, 11, 5) + i * 3), seed: 900 + i }),
          );
          const one = openTestStore({ seed: 910 });
          const page = openTestStore({ seed: 911 });
          const dups = openTestStore({ seed: 912 });
          try {
            for (const e of edits) edit(makers, e);
            // Each op once (the makers' exchanges copied some into both logs).
            const union = [
              ...new Map(
                [...allOps(makers[0]!.store), ...allOps(makers[1]!.store)].map((o) => [o.id, o]),
              ).values(),
            ];
            if (union.length >= OP_RUN) pagesOverRun++;
            for (const op of union) one.store.applyOps([op]);
            const it = rnd[Symbol.iterator]();
            const next = (): number => it.next().value as number;
            // One page, shuffled: later ops are stored before earlier ones are applied.
            const r = page.store.applyOps(shuffle(union, next));
            expect(r.refused).toEqual([]);
            expect(r.duplicates).toBe(0);
            expect(r.applied.length).toBe(union.length);
            // One page with duplicates (some runs hold a stored id, some an id twice).
            const withDups = shuffle(union, next);
            const half = shuffle(union, next).slice(0, Math.floor(union.length / 2));
            dups.store.applyOps(half);
            for (let d = 0; d < union.length / 20; d++) {
              withDups.splice(next() % (withDups.length + 1), 0, union[next() % union.length]!);
            }
            const rd = dups.store.applyOps(withDups);
            expect(rd.refused).toEqual([]);
            expect(rd.applied.length).toBe(union.length - half.length);
            expect(rd.duplicates).toBe(withDups.length - rd.applied.length);

            const expected = materializedTables(one.store);
            for (const s of [page, dups]) {
              expect(materializedTables(s.store)).toEqual(expected);
              expect(s.store.conflicts()).toEqual(one.store.conflicts());
              expect(s.store.opCount()).toBe(union.length);
              expect(s.store.digest()).toBe(one.store.digest());
            }
          } finally {
            for (const h of [...makers, one, page, dups]) h.close();
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    // The property is about runs: most pages must hold at least one.
    expect(pagesOverRun).toBeGreaterThan(RUNS / 2);
  }, 300_000);

  it(`bodies of more nodes than a batch holds at once end as op-by-op application, each line once (${RUNS} runs, seed ${SEED})`, () => {
    // A page's bodies are written BODY_FLUSH_NODES nodes at a time; a node edited again after
    // its body was written takes its document again. Half the notes are shared (both makers
    // write a first text: a body conflict, some resolved), half made by one maker and then
    // appended to by both.
    const SHARED = 8;
    const OWN = BODY_FLUSH_NODES + 8;
    fc.assert(
      fc.property(
        fc.array(fc.record({ note: fc.nat(SHARED + OWN - 1), by: fc.nat(1), wiki: fc.boolean() }), {
          minLength: 60,
          maxLength: 160,
        }),
        fc.array(fc.nat(SHARED - 1), { maxLength: 4 }),
        fc.infiniteStream(fc.nat(1_000_000)),
        (appends, resolved, rnd) => {
          const makers = [0, 1].map((i) =>
            openTestStore({ clock: new ManualClock(Date.UTC(2026, 11, 5) + i * 3), seed: 930 + i }),
          );
          const one = openTestStore({ seed: 940 });
          const page = openTestStore({ seed: 941 });
          try {
            const [a, b] = makers as [TestStore, TestStore];
            const ids: string[] = [];
            for (let i = 0; i < SHARED; i++) {
              const id = `prefix:note-${i}`;
              a.store.createNode({
                id,
                kind: 'doc',
                title: id,
                body: `from a ${i} [[t${i % 5}]]\n`,
              });
              b.store.createNode({ id, kind: 'doc', title: id, body: `from b ${i}\n` });
              ids.push(id);
            }
            for (let i = 0; i < OWN; i++) {
              ids.push(a.store.createNode({ kind: 'doc', title: `own ${i}`, body: 'start\n' }).id);
            }
            b.store.applyOps(allOps(a.store));
            a.store.applyOps(allOps(b.store));
            for (const i of new Set(resolved)) {
              a.store.resolveConflict(ids[i]!, 'body', `settled ${i} [[s${i}]]\n`);
            }
            const lines: string[][] = ids.map(() => []);
            appends.forEach((e, k) => {
              const m = makers[e.by]!;
              m.clock.advance(5);
              const line = `- line ${k} by ${e.by}${e.wiki ? ` [[w${k % 7}]]` : ''}`;
              m.store.updateNode(ids[e.note]!, {
                body: `${m.store.getNode(ids[e.note]!).body}${line}\n`,
              });
              lines[e.note]!.push(line);
            });
            const union = [
              ...new Map([...allOps(a.store), ...allOps(b.store)].map((o) => [o.id, o])).values(),
            ];
            for (const op of union) one.store.applyOps([op]);
            const it = rnd[Symbol.iterator]();
            const next = (): number => it.next().value as number;
            const r = page.store.applyOps(shuffle(union, next));
            expect(r.refused).toEqual([]);
            expect(r.applied.length).toBe(union.length);

            expect(materializedTables(page.store)).toEqual(materializedTables(one.store));
            expect(page.store.conflicts()).toEqual(one.store.conflicts());
            expect(page.store.digest()).toBe(one.store.digest());
            // What the makers meant: each appended line once in a note's body (the notes made by
            // one maker have no conflict; both makers' lines are in its one document).
            for (let n = SHARED; n < SHARED + OWN; n++) {
              const body = page.store.getNode(ids[n]!).body;
              for (const line of lines[n]!) expect(body.split(`${line}\n`).length - 1).toBe(1);
            }
          } finally {
            for (const h of [...makers, one, page]) h.close();
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  }, 300_000);

  /** `count` ops of a node's making on a store of their own: one title op each after creation. */
  function manyOps(count: number) {
    const a = openTestStore({ seed: 920 });
    const n = a.store.createNode({ kind: 'doc', title: 'doc', body: 'one\n' });
    for (let i = 0; a.store.opCount() < count - 1; i++) {
      a.store.updateNode(n.id, { title: `title ${i}` });
    }
    a.store.updateNode(n.id, { body: 'one\ntwo [[x]]\n' });
    return { a, n, ops: allOps(a.store) };
  }

  it('an undecodable body update inside a run is refused and leaves nothing; the rest apply', () => {
    const { a, n, ops } = manyOps(2 * OP_RUN + 10);
    const b = openTestStore({ seed: 921 });
    const c = openTestStore({ seed: 922 });
    try {
      const body = ops.find((o) => o.kind === 'body.update')!;
      const bad: Op = {
        id: `${body.id.slice(0, 13)}ffff-${'e'.repeat(16)}`,
        kind: 'body.update',
        target: n.id,
        payload: { update: Buffer.from([255, 255, 255, 255, 15, 1, 2, 3]).toString('base64') },
      };
      // In the middle of the second run, with runs before and after it.
      const page = [...ops.slice(0, OP_RUN + 40), bad, ...ops.slice(OP_RUN + 40)];
      const r = b.store.applyOps(page);
      expect(r.refused.map((x) => [x.id, x.code])).toEqual([[bad.id, 'invalid_op']]);
      expect(r.refused[0]!.message).toMatch(/body update is not a valid Yjs update/);
      expect(r.applied.length).toBe(ops.length);
      expect(b.store.findOp(bad.id)).toBeUndefined();
      expect(b.store.opCount()).toBe(ops.length);
      for (const op of ops) c.store.applyOps([op]);
      expect(materializedTables(b.store)).toEqual(materializedTables(c.store));
      expect(b.store.getNode(n.id).body).toBe('one\ntwo [[x]]\n');
      expect(b.store.getNode(n.id).title).toBe(a.store.getNode(n.id).title);
      // Its history shows each edit once.
      expect(allOps(b.store).map((o) => o.id)).toEqual(ops.map((o) => o.id));
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });

  it('an op reusing a stored id inside a run is refused; stored ops count as duplicates', () => {
    const { a, n, ops } = manyOps(2 * OP_RUN);
    const b = openTestStore({ seed: 923 });
    try {
      b.store.applyOps(ops.slice(0, 10));
      const reused: Op = { ...ops[3]!, payload: { ...ops[3]!.payload, value: 'other' } };
      const page = [...ops.slice(10, 60), reused, ...ops.slice(0, 10), ...ops.slice(60)];
      const r = b.store.applyOps(page);
      expect(r.refused.map((x) => [x.id, x.code])).toEqual([[reused.id, 'op_id_reused']]);
      expect(r.duplicates).toBe(10);
      expect(r.applied.length).toBe(ops.length - 10);
      expect(b.store.findOp(ops[3]!.id)).toEqual(ops[3]);
      expect(b.store.getNode(n.id)).toMatchObject({
        title: a.store.getNode(n.id).title,
        body: 'one\ntwo [[x]]\n',
      });
      // The whole page again: every op a duplicate, nothing applied twice.
      const again = b.store.applyOps(ops);
      expect(again).toMatchObject({ duplicates: ops.length, refused: [] });
      expect(again.applied).toEqual([]);
      expect(b.store.opCount()).toBe(ops.length);
      expect(b.store.digest()).toBe(a.store.digest());
    } finally {
      a.close();
      b.close();
    }
  });
});
