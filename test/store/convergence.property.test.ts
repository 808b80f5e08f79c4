// Convergence properties of the store, on real SQLite files. Seeded: a failure prints the seed
// and the counterexample path, and `fc.assert(..., { seed, path })` replays it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LinkType } from '../../src/core/ids.js';
import type { Op } from '../../src/core/op.js';
import { ManualClock } from '../../src/ports/clock.js';
import { allOps, openTestStore, safeCut, type TestStore } from '../helpers/store.js';

const SEED = Number(process.env.HEPH_PROPERTY_SEED ?? 20261122);
const RUNS = Number(process.env.HEPH_PROPERTY_RUNS ?? 100);

type Cmd =
  | { t: 'create'; r: number; kind: 'doc' | 'task' }
  | { t: 'title'; r: number; n: number; value: string }
  | { t: 'state'; r: number; n: number; value: 'outstanding' | 'done' | 'dropped' }
  | { t: 'body'; r: number; n: number; at: number; del: number; ins: string }
  | { t: 'delete'; r: number; n: number }
  | { t: 'restore'; r: number; n: number }
  | { t: 'link'; r: number; a: number; b: number; type: LinkType; add: boolean }
  | { t: 'tick'; r: number; ms: number }
  | { t: 'sync'; from: number; to: number; pick: number[] };

function cmdArb(replicas: number): fc.Arbitrary<Cmd> {
  const r = fc.nat(replicas - 1);
  const n = fc.nat(50);
  const text = fc.oneof(
    fc.constantFrom('alpha', 'beta', 'γάμμα', '😀', 'line\n', '', 'e\u0301'),
    fc.string({ unit: 'grapheme', maxLength: 5 }),
  );
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('create' as const),
        r,
        kind: fc.constantFrom('doc' as const, 'task' as const),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('title' as const),
        r,
        n,
        value: text.map((s) => s.replace(/\n/g, ' ')),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('state' as const),
        r,
        n,
        value: fc.constantFrom('outstanding' as const, 'done' as const, 'dropped' as const),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        t: fc.constant('body' as const),
        r,
        n,
        at: fc.nat(40),
        del: fc.nat(4),
        ins: text,
      }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), r, n }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('restore' as const), r, n }) },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('link' as const),
        r,
        a: n,
        b: n,
        type: fc.constantFrom<LinkType>('parent', 'tagged', 'in-project'),
        add: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('tick' as const),
        r,
        ms: fc.integer({ min: -5000, max: 5000 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('sync' as const),
        from: r,
        to: r,
        pick: fc.array(fc.nat(1000), { maxLength: 12 }),
      }),
    },
  );
}

function run(stores: TestStore[], cmd: Cmd): void {
  if (cmd.t === 'sync') {
    if (cmd.from === cmd.to) return;
    const ops = allOps(stores[cmd.from]!.store);
    if (ops.length === 0) return;
    const subset = cmd.pick.map((i) => ops[i % ops.length]!);
    stores[cmd.to]!.store.applyOps(subset);
    return;
  }
  const h = stores[cmd.r]!;
  const s = h.store;
  if (cmd.t === 'tick') {
    h.clock.advance(cmd.ms);
    return;
  }
  if (cmd.t === 'create') {
    s.createNode({ kind: cmd.kind, title: 'new' });
    return;
  }
  const nodes = s.listNodes({ scope: 'all', limit: 10_000 }).sort((x, y) => (x.id < y.id ? -1 : 1));
  if (nodes.length === 0) return;
  const pick = (i: number) => nodes[i % nodes.length]!;
  switch (cmd.t) {
    case 'title':
      s.updateNode(pick(cmd.n).id, { title: cmd.value });
      return;
    case 'state': {
      const node = pick(cmd.n);
      if (node.kind === 'task') s.updateNode(node.id, { state: cmd.value });
      return;
    }
    case 'body': {
      const node = pick(cmd.n);
      const at = safeCut(node.body, cmd.at);
      const end = safeCut(node.body, at + cmd.del);
      s.updateNode(node.id, { body: node.body.slice(0, at) + cmd.ins + node.body.slice(end) });
      return;
    }
    case 'delete':
      s.deleteNode(pick(cmd.n).id);
      return;
    case 'restore':
      s.restoreNode(pick(cmd.n).id);
      return;
    case 'link': {
      const a = pick(cmd.a).id;
      const b = pick(cmd.b).id;
      if (cmd.add) s.addLink(a, b, cmd.type);
      else if (s.links(a, cmd.type).some((l) => l.dst === b)) s.removeLink(a, b, cmd.type);
      return;
    }
  }
}

function openReplicas(count: number, skew: number[]): TestStore[] {
  return Array.from({ length: count }, (_, i) =>
    openTestStore({
      clock: new ManualClock(Date.UTC(2026, 10, 22) + (skew[i] ?? 0)),
      seed: 1000 + i,
    }),
  );
}

describe('convergence (property)', () => {
  it(`five replicas with random edits and partial exchanges converge after a full exchange (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -600_000, max: 600_000 }), { minLength: 5, maxLength: 5 }),
        fc.array(cmdArb(5), { minLength: 5, maxLength: 40 }),
        (skew, cmds) => {
          const stores = openReplicas(5, skew);
          try {
            for (const c of cmds) run(stores, c);
            // Full exchange: everyone gets everyone's ops.
            const union = stores.flatMap((h) => allOps(h.store));
            for (const h of stores) h.store.applyOps(union);
            const digests = stores.map((h) => h.store.digest());
            expect(new Set(digests).size).toBe(1);
            const conflicts = stores.map((h) => JSON.stringify(h.store.conflicts()));
            expect(new Set(conflicts).size).toBe(1);
            // Rebuild from the log gives the live state.
            const first = stores[0]!.store;
            first.rebuild();
            expect(first.digest()).toBe(digests[0]);
          } finally {
            for (const h of stores) h.close();
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  }, 180_000);

  it(`any permutation, duplication or batching of one op set gives one digest (${RUNS} runs)`, () => {
    // One shared history made by three replicas, then delivered in many different ways.
    const makers = openReplicas(3, [0, 30_000, -30_000]);
    const history: Cmd[] = [];
    const rnd = fc.sample(fc.array(cmdArb(3), { minLength: 60, maxLength: 60 }), {
      seed: SEED,
      numRuns: 1,
    })[0]!;
    history.push(...rnd);
    let ops: Op[];
    let expected: string;
    try {
      for (const c of history) run(makers, c);
      const union = makers.flatMap((h) => allOps(h.store));
      for (const h of makers) h.store.applyOps(union);
      expected = makers[0]!.store.digest();
      ops = allOps(makers[0]!.store);
    } finally {
      for (const h of makers) h.close();
    }
    expect(ops.length).toBeGreaterThan(20);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }),
        fc.array(fc.nat(ops.length - 1), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 10 }),
        (order, dupIdx, batchSizes) => {
          const delivered = [...order];
          for (const i of dupIdx) delivered.splice(i % (delivered.length + 1), 0, ops[i]!);
          const h = openTestStore({ seed: 77 });
          try {
            let at = 0;
            let b = 0;
            while (at < delivered.length) {
              const size = batchSizes[b++ % batchSizes.length]!;
              const r = h.store.applyOps(delivered.slice(at, at + size));
              expect(r.refused).toEqual([]);
              at += size;
            }
            expect(h.store.digest()).toBe(expected);
            expect(h.store.opCount()).toBe(ops.length);
          } finally {
            h.close();
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  }, 180_000);
});
