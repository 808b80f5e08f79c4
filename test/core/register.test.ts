// The multi-value register's state must be a function of the set of writes applied: any delivery
// order of a causal history gives the same heads, visible value and conflict flag, and at every
// step the state matches a reference model computed from the set alone.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeHlc, HlcClock } from '../../src/core/hlc.js';
import { canonicalJson } from '../../src/core/json.js';
import {
  applyWrite,
  decodeRegister,
  EMPTY_REGISTER,
  encodeRegister,
  headIds,
  viewRegister,
  type Head,
  type RegisterState,
} from '../../src/core/register.js';

const SEED = 0x4e91_57e2;
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

interface Write {
  readonly id: string;
  readonly value: string;
  readonly prev: readonly string[];
}

// ---------- reference model: a function of the op set only ----------

function modelState(ops: readonly Write[]): RegisterState {
  const ids = new Set(ops.map((o) => o.id));
  const named = new Set<string>();
  for (const o of ops) for (const p of o.prev) if (p !== o.id) named.add(p);
  const heads: Head[] = ops
    .filter((o) => !named.has(o.id))
    .map((o) => ({ id: o.id, value: o.value }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const pending = [...named].filter((id) => !ids.has(id)).sort();
  return { heads, pending };
}

function modelView(ops: readonly Write[]): { visible: string | undefined; conflict: boolean } {
  const { heads } = modelState(ops);
  const top = heads.reduce<Head | undefined>((a, h) => (!a || h.id > a.id ? h : a), undefined);
  return { visible: top?.value, conflict: new Set(heads.map((h) => h.value)).size > 1 };
}

/** Applies writes in the given order, with `seen` answering "already applied here". */
function deliver(
  order: readonly Write[],
  onStep?: (state: RegisterState, applied: readonly Write[]) => void,
): RegisterState {
  let state = EMPTY_REGISTER;
  const applied = new Set<string>();
  const appliedOps: Write[] = [];
  for (const op of order) {
    state = applyWrite(state, op, (id) => applied.has(id));
    applied.add(op.id);
    appliedOps.push(op);
    onStep?.(state, appliedOps);
  }
  return state;
}

// ---------- random causal histories ----------

type Step =
  | { t: 'write'; w: number; v: string; dt: number; extra: number[] }
  | { t: 'sync'; from: number; to: number };

const WRITERS = 4;
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('write' as const),
      w: fc.integer({ min: 0, max: WRITERS - 1 }),
      v: fc.constantFrom('a', 'b', 'c', 'a'),
      // Wall clock moves: mostly forward, sometimes back, sometimes not at all.
      dt: fc.integer({ min: -50, max: 100 }),
      // Indexes of already-superseded ops the writer also names in `prev` (still causal).
      extra: fc.array(fc.nat(), { maxLength: 2 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('sync' as const),
      from: fc.integer({ min: 0, max: WRITERS - 1 }),
      to: fc.integer({ min: 0, max: WRITERS - 1 }),
    }),
  },
);

/** Runs a script of writes and one-way syncs between writers; returns every write made. */
function buildHistory(steps: readonly Step[]): Write[] {
  let reading = T0;
  const wall = { now: () => reading };
  const writers = Array.from({ length: WRITERS }, (_, w) => ({
    clock: new HlcClock(`${w}`.padStart(16, 'a'), wall),
    known: new Map<string, Write>(),
  }));
  const all: Write[] = [];
  for (const s of steps) {
    if (s.t === 'sync') {
      const from = writers[s.from]!;
      const to = writers[s.to]!;
      for (const [id, op] of from.known) {
        if (!to.known.has(id)) {
          to.known.set(id, op);
          to.clock.observe(decodeHlc(id));
        }
      }
      continue;
    }
    reading += s.dt;
    const me = writers[s.w]!;
    const known = [...me.known.values()];
    const heads = headIds(modelState(known));
    const superseded = known.map((o) => o.id).filter((id) => !heads.includes(id));
    const extra = superseded.length ? s.extra.map((i) => superseded[i % superseded.length]!) : [];
    const op: Write = {
      id: me.clock.now(),
      value: canonicalJson(s.v),
      prev: [...heads, ...extra],
    };
    me.known.set(op.id, op);
    all.push(op);
  }
  return all;
}

const historyAndOrders = fc
  .array(stepArb, { minLength: 1, maxLength: 40 })
  .map(buildHistory)
  .filter((ops) => ops.length > 0)
  .chain((ops) =>
    fc.tuple(
      fc.constant(ops),
      fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }),
      fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }),
    ),
  );

describe('register convergence (property)', () => {
  it('any delivery order of a causal history gives the same heads, visible value and conflict flag', () => {
    let conflicts = 0;
    let agreeingMultiHeads = 0;
    let outOfOrder = 0;
    fc.assert(
      fc.property(historyAndOrders, ([ops, order1, order2]) => {
        const expected = modelState(ops);
        const expectedView = modelView(ops);

        const s1 = deliver(order1, (state, applied) => {
          // The state is a function of the set applied so far, whatever the order.
          expect(state).toEqual(modelState(applied));
        });
        const s2 = deliver(order2);

        expect(s1).toEqual(expected);
        expect(s2).toEqual(expected);
        expect(encodeRegister(s1)).toBe(encodeRegister(s2));
        expect(s1.pending).toEqual([]); // everything named has arrived
        expect(viewRegister(s1)).toEqual(expectedView);
        expect(viewRegister(s2)).toEqual(expectedView);

        // Last writer wins: in a causal history the op with the highest id is never superseded.
        const newest = ops.reduce((a, o) => (o.id > a.id ? o : a));
        expect(viewRegister(s1).visible).toBe(newest.value);

        if (expectedView.conflict) conflicts++;
        else if (expected.heads.length > 1) agreeingMultiHeads++;
        if (order1.some((o, i) => o !== ops[i])) outOfOrder++;
      }),
      { seed: SEED, numRuns: 300 },
    );
    // The generator really produced the interesting cases.
    expect(conflicts).toBeGreaterThan(20);
    expect(agreeingMultiHeads).toBeGreaterThan(5);
    expect(outOfOrder).toBeGreaterThan(100);
  });

  it('stored form round-trips at every step', () => {
    fc.assert(
      fc.property(historyAndOrders, ([, order]) => {
        deliver(order, (state) => {
          expect(decodeRegister(encodeRegister(state))).toEqual(state);
        });
      }),
      { seed: SEED, numRuns: 100 },
    );
  });
});

// Fixed stamps: a < b < c < d by id.
const A = '019bc2f3a4b5-0000-aaaaaaaaaaaaaaaa';
const B = '019bc2f3a4b5-0000-bbbbbbbbbbbbbbbb';
const C = '019bc2f3a4b6-0000-aaaaaaaaaaaaaaaa';
const D = '019bc2f3a4b7-0000-bbbbbbbbbbbbbbbb';
const v = (x: string) => canonicalJson(x);
const never = () => false;

describe('register rules', () => {
  it('concurrent writes with different values are a conflict shown as the highest id', () => {
    const base = { id: A, value: v('base'), prev: [] };
    const s = deliver([
      base,
      { id: D, value: v('from-b'), prev: [A] },
      { id: C, value: v('from-a'), prev: [A] },
    ]);
    expect(headIds(s)).toEqual([C, D]);
    expect(viewRegister(s)).toEqual({ visible: v('from-b'), conflict: true });
  });

  it('visible is the highest-id head even when it arrived first', () => {
    const s = deliver([
      { id: D, value: v('late'), prev: [] },
      { id: B, value: v('early'), prev: [] },
    ]);
    expect(viewRegister(s).visible).toBe(v('late'));
    expect(headIds(s)).toEqual([B, D]);
  });

  it('a write whose prev contains all heads resolves the conflict', () => {
    let s = deliver([
      { id: A, value: v('x'), prev: [] },
      { id: B, value: v('y'), prev: [] },
    ]);
    expect(viewRegister(s).conflict).toBe(true);
    const applied = new Set([A, B]);
    const partial = applyWrite(s, { id: C, value: v('z'), prev: [A] }, (id) => applied.has(id));
    // Superseding only one head leaves the other in conflict with the new value.
    expect(headIds(partial)).toEqual([B, C]);
    expect(viewRegister(partial).conflict).toBe(true);

    s = applyWrite(s, { id: C, value: v('x'), prev: [A, B] }, (id) => applied.has(id));
    expect(headIds(s)).toEqual([C]);
    expect(viewRegister(s)).toEqual({ visible: v('x'), conflict: false });
  });

  it('the resolution holds when it arrives before the writes it resolves', () => {
    const resolve = { id: D, value: v('z'), prev: [A, B] };
    const s = deliver([
      resolve,
      { id: A, value: v('x'), prev: [] },
      { id: B, value: v('y'), prev: [] },
    ]);
    expect(s).toEqual({ heads: [{ id: D, value: v('z') }], pending: [] });
    expect(viewRegister(s)).toEqual({ visible: v('z'), conflict: false });
  });

  it('concurrent writes with equal values are not a conflict', () => {
    const s = deliver([
      { id: A, value: v('base'), prev: [] },
      { id: C, value: canonicalJson({ b: 1, a: [true, null] }), prev: [A] },
      { id: B, value: canonicalJson({ a: [true, null], b: 1 }), prev: [A] },
    ]);
    expect(headIds(s)).toEqual([B, C]);
    expect(viewRegister(s)).toEqual({
      visible: canonicalJson({ a: [true, null], b: 1 }),
      conflict: false,
    });
  });

  it('an empty register has no value and no conflict', () => {
    expect(viewRegister(EMPTY_REGISTER)).toEqual({ visible: undefined, conflict: false });
  });

  it('a prev naming an op already applied and superseded does not leave it pending', () => {
    let s = EMPTY_REGISTER;
    const applied = new Set<string>();
    const seen = (id: string) => applied.has(id);
    for (const op of [
      { id: A, value: v('1'), prev: [] },
      { id: B, value: v('2'), prev: [A] },
      { id: C, value: v('3'), prev: [B, A] },
    ]) {
      s = applyWrite(s, op, seen);
      applied.add(op.id);
    }
    expect(s).toEqual({ heads: [{ id: C, value: v('3') }], pending: [] });
    // If `seen` wrongly said "never applied", A would wait in pending for ever.
    const wrong = applyWrite(
      applyWrite(
        applyWrite(EMPTY_REGISTER, { id: A, value: v('1'), prev: [] }, never),
        { id: B, value: v('2'), prev: [A] },
        never,
      ),
      { id: C, value: v('3'), prev: [B, A] },
      never,
    );
    expect(wrong.pending).toEqual([A]);
  });

  it('a write naming itself in prev still becomes a head', () => {
    const s = applyWrite(EMPTY_REGISTER, { id: A, value: v('x'), prev: [A] }, never);
    expect(headIds(s)).toEqual([A]);
    expect(s.pending).toEqual([]);
  });
});

describe('applyWrite on the usual single-head write', () => {
  it('replaces the one head, leaves the state it was given as it was, and keeps a head written again', () => {
    const first = applyWrite(EMPTY_REGISTER, { id: 'a', value: '"x"', prev: [] }, () => false);
    expect(first).toEqual({ heads: [{ id: 'a', value: '"x"' }], pending: [] });
    const second = applyWrite(first, { id: 'b', value: '"y"', prev: ['a'] }, () => true);
    expect(second).toEqual({ heads: [{ id: 'b', value: '"y"' }], pending: [] });
    expect(first).toEqual({ heads: [{ id: 'a', value: '"x"' }], pending: [] });
    // An op naming itself in prev, arriving again: it stays the head, once.
    expect(applyWrite(second, { id: 'b', value: '"y"', prev: ['b'] }, () => true)).toEqual(second);
    // A write whose prev is not the head: both are heads (a conflict), as before.
    expect(headIds(applyWrite(second, { id: 'c', value: '"z"', prev: ['a'] }, () => true))).toEqual(
      ['b', 'c'],
    );
  });
});
