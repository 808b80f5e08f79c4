// The add-wins link set must converge: any delivery order of a causal history of adds and
// removes gives one state, equal at every step to a model computed from the set of ops alone.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeHlc, HlcClock } from '../../src/core/hlc.js';
import {
  applyAdd,
  applyRemove,
  decodeLinkSet,
  EMPTY_LINK,
  encodeLinkSet,
  isLive,
  type LinkSetState,
} from '../../src/core/link-set.js';

const SEED = 0x11_4c_5e_7;
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

type LinkOp =
  | { readonly kind: 'add'; readonly id: string }
  | { readonly kind: 'remove'; readonly id: string; readonly observed: readonly string[] };

function modelState(ops: readonly LinkOp[]): LinkSetState {
  const arrived = new Set<string>();
  const observed = new Set<string>();
  for (const o of ops) {
    if (o.kind === 'add') arrived.add(o.id);
    else for (const x of o.observed) observed.add(x);
  }
  return {
    adds: [...arrived].filter((id) => !observed.has(id)).sort(),
    removed: [...observed].filter((id) => !arrived.has(id)).sort(),
  };
}

function deliver(
  order: readonly LinkOp[],
  onStep?: (s: LinkSetState, applied: readonly LinkOp[]) => void,
): LinkSetState {
  let s = EMPTY_LINK;
  const applied = new Set<string>();
  const appliedOps: LinkOp[] = [];
  for (const op of order) {
    s =
      op.kind === 'add' ? applyAdd(s, op.id) : applyRemove(s, op.observed, (id) => applied.has(id));
    applied.add(op.id);
    appliedOps.push(op);
    onStep?.(s, appliedOps);
  }
  return s;
}

type Step =
  | { t: 'add'; r: number; dt: number }
  | { t: 'remove'; r: number; dt: number; stale: boolean }
  | { t: 'sync'; from: number; to: number };

const REPLICAS = 3;
const replica = fc.integer({ min: 0, max: REPLICAS - 1 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ t: fc.constant('add' as const), r: replica, dt: fc.integer({ min: -20, max: 50 }) }),
  fc.record({
    t: fc.constant('remove' as const),
    r: replica,
    dt: fc.integer({ min: -20, max: 50 }),
    // Also name adds this replica already saw removed (harmless, still causal).
    stale: fc.boolean(),
  }),
  fc.record({ t: fc.constant('sync' as const), from: replica, to: replica }),
);

function buildHistory(steps: readonly Step[]): LinkOp[] {
  let reading = T0;
  const wall = { now: () => reading };
  const replicas = Array.from({ length: REPLICAS }, (_, r) => ({
    clock: new HlcClock(`${r}`.padStart(16, 'c'), wall),
    known: new Map<string, LinkOp>(),
  }));
  const all: LinkOp[] = [];
  for (const s of steps) {
    if (s.t === 'sync') {
      const to = replicas[s.to]!;
      for (const [id, op] of replicas[s.from]!.known) {
        if (!to.known.has(id)) {
          to.known.set(id, op);
          to.clock.observe(decodeHlc(id));
        }
      }
      continue;
    }
    reading += s.dt;
    const me = replicas[s.r]!;
    let op: LinkOp;
    if (s.t === 'add') {
      op = { kind: 'add', id: me.clock.now() };
    } else {
      const known = [...me.known.values()];
      const view = modelState(known);
      const observed = s.stale
        ? known.filter((o) => o.kind === 'add').map((o) => o.id)
        : [...view.adds];
      op = { kind: 'remove', id: me.clock.now(), observed };
    }
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

describe('link set convergence (property)', () => {
  it('any delivery order of adds and removes gives one state', () => {
    let live = 0;
    let dead = 0;
    fc.assert(
      fc.property(historyAndOrders, ([ops, order1, order2]) => {
        const expected = modelState(ops);
        const s1 = deliver(order1, (s, applied) => {
          expect(s).toEqual(modelState(applied));
          expect(decodeLinkSet(encodeLinkSet(s))).toEqual(s);
        });
        const s2 = deliver(order2);
        expect(s1).toEqual(expected);
        expect(s2).toEqual(expected);
        expect(encodeLinkSet(s1)).toBe(encodeLinkSet(s2));
        expect(s1.removed).toEqual([]); // every observed add has arrived
        expect(isLive(s1)).toBe(isLive(s2));
        if (isLive(s1)) live++;
        else dead++;
      }),
      { seed: SEED, numRuns: 300 },
    );
    expect(live).toBeGreaterThan(20);
    expect(dead).toBeGreaterThan(20);
  });
});

const ADD1 = '019bc2f3a4b5-0000-aaaaaaaaaaaaaaaa';
const ADD2 = '019bc2f3a4b6-0000-aaaaaaaaaaaaaaaa';
const REMOVE = '019bc2f3a4b6-0000-bbbbbbbbbbbbbbbb';

describe('link set rules', () => {
  it('an add makes the link live and a remove that observed it ends it', () => {
    const s = deliver([
      { kind: 'add', id: ADD1 },
      { kind: 'remove', id: REMOVE, observed: [ADD1] },
    ]);
    expect(isLive(s)).toBe(false);
    expect(s).toEqual(EMPTY_LINK);
  });

  it('a concurrent add and remove: the add wins, in either order', () => {
    // Replica B saw ADD1 and removed it; meanwhile replica A added the link again (ADD2).
    const ops: LinkOp[] = [
      { kind: 'add', id: ADD1 },
      { kind: 'remove', id: REMOVE, observed: [ADD1] },
      { kind: 'add', id: ADD2 },
    ];
    const orders = [
      [ops[0]!, ops[1]!, ops[2]!],
      [ops[0]!, ops[2]!, ops[1]!],
      [ops[2]!, ops[1]!, ops[0]!],
      [ops[1]!, ops[2]!, ops[0]!],
    ];
    for (const order of orders) {
      const s = deliver(order);
      expect(isLive(s)).toBe(true);
      expect(s).toEqual({ adds: [ADD2], removed: [] });
    }
  });

  it('a remove that arrives before its add: the link is not live once the add arrives', () => {
    let s = applyRemove(EMPTY_LINK, [ADD1], () => false);
    expect(isLive(s)).toBe(false);
    expect(s.removed).toEqual([ADD1]);
    s = applyAdd(s, ADD1);
    expect(isLive(s)).toBe(false);
    expect(s).toEqual(EMPTY_LINK);
  });

  it('a remove naming an add already removed does not wait for it again', () => {
    const s = deliver([
      { kind: 'add', id: ADD1 },
      { kind: 'remove', id: REMOVE, observed: [ADD1] },
      { kind: 'remove', id: '019bc2f3a4b7-0000-cccccccccccccccc', observed: [ADD1] },
    ]);
    expect(s).toEqual(EMPTY_LINK);
  });

  it('adding the same op twice is idempotent', () => {
    const once = applyAdd(EMPTY_LINK, ADD1);
    expect(applyAdd(once, ADD1)).toEqual(once);
  });
});
