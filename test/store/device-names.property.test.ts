// Device names are a register keyed by the replica id they name (device.name ops), on real
// SQLite files. Seeded: a failure prints the seed and the counterexample path, and
// `fc.assert(..., { seed, path })` replays it. What is checked is what a person meant: after
// everyone has every op, every replica shows the same name for each device, the one written
// last (highest stamp) among the renames no later rename saw; and a rename made after seeing
// every name supersedes them all, everywhere.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { originOf } from '../../src/core/hlc.js';
import type { Op } from '../../src/core/op.js';
import { ManualClock } from '../../src/ports/clock.js';
import { allOps, openTestStore, type TestStore } from '../helpers/store.js';

const SEED = Number(process.env.HEPH_PROPERTY_SEED ?? 20261205);
const RUNS = Number(process.env.HEPH_PROPERTY_RUNS ?? 100);

type Cmd =
  | { t: 'rename'; r: number; who: number; name: string }
  | { t: 'tick'; r: number; ms: number }
  | { t: 'sync'; from: number; to: number; pick: number[] };

const NAMES = ['laptop', 'desk', 'phone', 'Work laptop', 'ноутбук', 'pi 4', 'a', 'b'];

function cmdArb(n: number): fc.Arbitrary<Cmd> {
  const r = fc.nat(n - 1);
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        t: fc.constant('rename' as const),
        r,
        who: r,
        name: fc.constantFrom(...NAMES),
      }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('tick' as const), r, ms: fc.nat(5000) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('sync' as const),
        from: r,
        to: r,
        pick: fc.array(fc.nat(200), { maxLength: 8 }),
      }),
    },
  );
}

function replicas(n: number): TestStore[] {
  return Array.from({ length: n }, (_, i) =>
    openTestStore({ clock: new ManualClock(Date.UTC(2026, 11, 5) + i * 1000), seed: 500 + i }),
  );
}

function run(stores: TestStore[], c: Cmd): void {
  switch (c.t) {
    case 'rename': {
      const s = stores[c.r]!.store;
      s.setDeviceName(stores[c.who]!.store.origin, c.name);
      return;
    }
    case 'tick':
      stores[c.r]!.clock.advance(c.ms);
      return;
    case 'sync': {
      const ops = allOps(stores[c.from]!.store);
      const picked = c.pick.map((i) => ops[i % Math.max(ops.length, 1)]).filter(Boolean) as Op[];
      stores[c.to]!.store.applyOps(picked);
      return;
    }
  }
}

function exchange(stores: TestStore[]): void {
  const union = stores.flatMap((h) => allOps(h.store));
  for (const h of stores) h.store.applyOps(union);
}

/** The name the register shows, from the ops alone: the highest stamp no later op's prev names. */
function expectedNames(ops: readonly Op[]): Map<string, string> {
  const superseded = new Set<string>();
  for (const o of ops) {
    if (o.kind !== 'device.name') continue;
    for (const p of o.payload.prev as string[]) superseded.add(p);
  }
  const best = new Map<string, Op>();
  for (const o of ops) {
    if (o.kind !== 'device.name' || superseded.has(o.id)) continue;
    const b = best.get(o.target);
    if (b === undefined || o.id > b.id) best.set(o.target, o);
  }
  return new Map([...best].map(([t, o]) => [t, o.payload.name as string]));
}

const sorted = (m: Map<string, string>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

describe('device names (property)', () => {
  it(`converge to the last unseen rename after random partial exchanges (${RUNS} runs, seed ${SEED})`, () => {
    fc.assert(
      fc.property(fc.array(cmdArb(3), { minLength: 1, maxLength: 30 }), (cmds) => {
        const stores = replicas(3);
        try {
          for (const c of cmds) run(stores, c);
          exchange(stores);
          const ops = allOps(stores[0]!.store);
          const want = sorted(expectedNames(ops));
          for (const h of stores) expect(sorted(h.store.deviceNames())).toEqual(want);
          // A rename made after seeing every name wins everywhere, whatever was concurrent.
          const r = stores[1]!.store;
          for (const [i, h] of stores.entries()) r.setDeviceName(h.store.origin, `device ${i}`);
          exchange(stores);
          for (const h of stores) {
            for (const [i, other] of stores.entries()) {
              expect(h.store.deviceName(other.store.origin)).toBe(`device ${i}`);
            }
          }
          // Rebuilt from the log, or reopened, the names are the same.
          stores[2]!.store.rebuild();
          stores[2]!.reopen();
          expect(stores[2]!.store.deviceName(stores[0]!.store.origin)).toBe('device 0');
        } finally {
          for (const h of stores) h.close();
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  }, 180_000);

  it(`any order, duplication or batching of one op set shows the same names (${RUNS} runs)`, () => {
    const makers = replicas(3);
    let ops: Op[];
    try {
      const cmds = fc.sample(fc.array(cmdArb(3), { minLength: 40, maxLength: 40 }), {
        seed: SEED,
        numRuns: 1,
      })[0]!;
      for (const c of cmds) run(makers, c);
      exchange(makers);
      ops = allOps(makers[0]!.store);
    } finally {
      for (const h of makers) h.close();
    }
    const want = sorted(expectedNames(ops));
    expect(want.length).toBeGreaterThan(0);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }),
        fc.array(fc.nat(ops.length - 1), { maxLength: 10 }),
        fc.integer({ min: 1, max: 7 }),
        (order, dups, size) => {
          const delivered = [...order];
          for (const i of dups) delivered.splice(i % (delivered.length + 1), 0, ops[i]!);
          const h = openTestStore({ seed: 99 });
          try {
            for (let at = 0; at < delivered.length; at += size) {
              expect(h.store.applyOps(delivered.slice(at, at + size)).refused).toEqual([]);
            }
            expect(sorted(h.store.deviceNames())).toEqual(want);
          } finally {
            h.close();
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  }, 180_000);
});

describe('device names', () => {
  it('refuses bad names and bad device.name ops, storing nothing', () => {
    const h = openTestStore();
    try {
      const s = h.store;
      for (const bad of ['', '   ', 'two\nlines', 'x'.repeat(101), 'tab\there']) {
        expect(() => s.setDeviceName(s.origin, bad)).toThrow(/name/);
      }
      expect(() => s.setDeviceName('not-a-replica', 'desk')).toThrow(/origin/);
      const id = (n: number) => `019ad2c0b000-${String(n).padStart(4, '0')}-aaaaaaaaaaaaaaaa`;
      const r = s.applyOps([
        { id: id(1), kind: 'device.name', target: 'laptop', payload: { name: 'x' } },
        { id: id(2), kind: 'device.name', target: 'bbbbbbbbbbbbbbbb', payload: { name: '' } },
        { id: id(3), kind: 'device.name', target: 'bbbbbbbbbbbbbbbb', payload: { name: 7 } },
        {
          id: id(4),
          kind: 'device.name',
          target: 'bbbbbbbbbbbbbbbb',
          payload: { name: 'ok', prev: 'x' },
        },
      ]);
      expect(r.refused.map((x) => [x.id, x.code])).toEqual([
        [id(1), 'invalid_op'],
        [id(2), 'invalid_op'],
        [id(3), 'invalid_op'],
        [id(4), 'invalid_op'],
      ]);
      expect(s.opCount()).toBe(0);
      expect(s.deviceNames().size).toBe(0);
      s.setDeviceName(s.origin, 'desk');
      s.setDeviceName(s.origin, 'desk'); // already its only name: nothing written
      expect(s.opCount()).toBe(1);
      expect(s.deviceName(s.origin)).toBe('desk');
    } finally {
      h.close();
    }
  });

  it('a new origin re-stamps the given own ops once, keeps the rest, and carries the name', () => {
    const h = openTestStore();
    try {
      const s = h.store;
      s.setDeviceName(s.origin, 'laptop');
      const kept = s.createNode({ kind: 'doc', title: 'Pushed before', body: 'one\n' });
      const cut = s.lastSeq();
      h.clock.advance(1000);
      const later = s.createNode({ kind: 'doc', title: 'Written while revoked', body: 'two\n' });
      s.updateNode(kept.id, { body: 'one\nand more\n' });
      const old = s.origin;
      const unsent = s.ownOpsSince(cut, 1000).ops.map((o) => o.id);
      const { origin, renamed } = s.newOrigin(unsent);
      expect(origin).not.toBe(old);
      expect(s.origin).toBe(origin);
      expect(renamed.size).toBe(unsent.length);
      for (const id of renamed.values()) expect(originOf(id)).toBe(origin);
      // Each edit is there once, under the new origin; what was pushed keeps its old stamps.
      const ops = allOps(s);
      expect(ops.filter((o) => originOf(o.id) === old).length).toBe(cut);
      expect(s.getNode(later.id).title).toBe('Written while revoked');
      expect(s.getNode(kept.id).body).toBe('one\nand more\n');
      expect(s.deviceName(origin)).toBe('laptop');
      // New writes use the new origin; a reopen keeps it.
      s.updateNode(later.id, { title: 'Still here' });
      expect(originOf(allOps(s).at(-1)!.id)).toBe(origin);
      expect(h.reopen().origin).toBe(origin);
      // An origin that already wrote here is refused, and nothing changes.
      expect(() => h.store.newOrigin([], old)).toThrow(/already wrote ops here/);
      expect(h.store.origin).toBe(origin);
    } finally {
      h.close();
    }
  });

  it('a new origin whose transaction fails leaves the old one, in memory and on disk', () => {
    const h = openTestStore();
    try {
      const s = h.store;
      const n = s.createNode({ kind: 'doc', title: 'Before' });
      const old = s.origin;
      const ids = s.ownOpsSince(0, 1000).ops.map((o) => o.id);
      expect(() =>
        s.newOrigin(ids, undefined, () => {
          throw new Error('disk full');
        }),
      ).toThrow(/disk full/);
      expect(s.origin).toBe(old);
      expect(allOps(s).map((o) => o.id)).toEqual(ids);
      // A later write is still this replica's own, and still after a reopen.
      s.updateNode(n.id, { title: 'After' });
      expect(originOf(allOps(s).at(-1)!.id)).toBe(old);
      expect(h.reopen().origin).toBe(old);
      // Inside another transaction it refuses at once (that one could fail after it).
      expect(() => h.store.transaction(() => h.store.newOrigin([]))).toThrow(/of its own/);
      expect(h.store.origin).toBe(old);
    } finally {
      h.close();
    }
  });
});
