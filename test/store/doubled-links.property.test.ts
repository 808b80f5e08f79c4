// Nodes holding two projects or two parents, and projects whose parents run in a loop, listed by
// conflicts() as fields "project" and "parent", on real SQLite files. The store keeps the set of
// such nodes (and each project's shown parent) as links change rather
// than reading every link at each status poll; this checks, after every step of random moves,
// exchanges, rolled-back writes and rebuilds on three replicas, that the set is what the live
// links say, that a change event says `conflicts` whenever that list changed, and that a store
// opened afresh on the same file (which reads the set from the table) lists the same. Seeded:
// a failure prints the seed and the counterexample path.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConflictView } from '../../src/ports/store.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { ManualClock } from '../../src/ports/clock.js';
import { allOps, openTestStore, type TestStore } from '../helpers/store.js';

const SEED = Number(process.env.HEPH_PROPERTY_SEED ?? 20261206);
const RUNS = Number(process.env.HEPH_PROPERTY_RUNS ?? 60);

type Cmd =
  | { t: 'move'; r: number; a: number; b: number; type: 'in-project' | 'parent' | 'tagged' }
  | { t: 'add'; r: number; a: number; b: number; type: 'in-project' | 'parent' }
  | { t: 'remove'; r: number; a: number; b: number; type: 'in-project' | 'parent' }
  | { t: 'rollback'; r: number; a: number; b: number }
  | { t: 'sync'; from: number; to: number; pick: number[] }
  | { t: 'rebuild'; r: number };

const N = 6;

function cmdArb(): fc.Arbitrary<Cmd> {
  const r = fc.nat(2);
  const n = fc.nat(N - 1);
  const type = fc.constantFrom('in-project' as const, 'parent' as const);
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: fc.constant('move' as const), r, a: n, b: n, type }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('add' as const), r, a: n, b: n, type }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('remove' as const), r, a: n, b: n, type }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('rollback' as const), r, a: n, b: n }) },
    {
      weight: 4,
      arbitrary: fc.record({
        t: fc.constant('sync' as const),
        from: r,
        to: r,
        pick: fc.array(fc.nat(1000), { maxLength: 10 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('rebuild' as const), r }) },
  );
}

type Listed = [target: string, field: string, values: string[], loop: string[]];

/** Whether `id`'s shown parent (its lowest parent link) leads back to it: the loop, from it. */
function loopFrom(s: SqliteStore, id: string): string[] {
  const path = [id];
  for (let p = s.links(id, 'parent')[0]?.dst; p !== undefined; p = s.links(p, 'parent')[0]?.dst) {
    if (p === id) return path;
    if (path.includes(p)) return [];
    path.push(p);
  }
  return [];
}

/**
 * The conflicts the live links make, read link by link: two links of a kind, or a project whose
 * parents lead back to it (a loop; parent-cycles.ts).
 */
function expected(s: SqliteStore, ids: readonly string[]): Listed[] {
  const out: Listed[] = [];
  for (const id of ids) {
    for (const [type, field] of [
      ['in-project', 'project'],
      ['parent', 'parent'],
    ] as const) {
      const dsts = s.links(id, type).map((l) => l.dst);
      const loop = type === 'parent' ? loopFrom(s, id) : [];
      if (dsts.length > 1 || loop.length > 0) out.push([id, field, dsts.sort(), loop]);
    }
  }
  return out.sort((x, y) => (x[0] !== y[0] ? (x[0] < y[0] ? -1 : 1) : x[1] < y[1] ? -1 : 1));
}

function listed(s: SqliteStore): Listed[] {
  return s
    .conflicts()
    .filter((c) => c.field === 'project' || c.field === 'parent')
    .map((c) => [c.target, c.field, c.heads.map((h) => h.value as string).sort(), c.cycle ?? []]);
}

function run(stores: TestStore[], ids: string[], cmd: Cmd): void {
  if (cmd.t === 'sync') {
    if (cmd.from === cmd.to) return;
    const ops = allOps(stores[cmd.from]!.store);
    stores[cmd.to]!.store.applyOps(cmd.pick.map((i) => ops[i % ops.length]!));
    return;
  }
  const s = stores[cmd.r]!.store;
  if (cmd.t === 'rebuild') {
    s.rebuild();
    return;
  }
  const a = ids[cmd.a]!;
  const b = ids[cmd.b]!;
  if (cmd.t === 'rollback') {
    try {
      s.transaction(() => {
        for (const l of s.links(a, 'in-project')) s.removeLink(a, l.dst, 'in-project');
        s.addLink(a, b, 'in-project');
        s.addLink(b, a, 'parent');
        throw new Error('rolled back');
      });
    } catch (e) {
      if ((e as Error).message !== 'rolled back') throw e;
    }
    return;
  }
  if (cmd.t === 'move') {
    s.transaction(() => {
      for (const l of s.links(a, cmd.type)) s.removeLink(a, l.dst, cmd.type);
      s.addLink(a, b, cmd.type);
    });
  } else if (cmd.t === 'add') s.addLink(a, b, cmd.type);
  else if (s.links(a, cmd.type).some((l) => l.dst === b)) s.removeLink(a, b, cmd.type);
}

describe('doubled project and parent links, and loops of parents (property)', () => {
  it(`are listed as the live links say, after every step, and alike when read afresh (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.array(cmdArb(), { minLength: 5, maxLength: 40 }), (cmds) => {
        const stores = [0, 1, 2].map((i) =>
          openTestStore({ clock: new ManualClock(Date.UTC(2026, 11, 6) + i * 7), seed: 300 + i }),
        );
        try {
          const first = stores[0]!.store;
          const ids = Array.from(
            { length: N },
            (_, i) => first.createNode({ kind: i % 2 ? 'task' : 'project', title: `n${i}` }).id,
          );
          for (const h of stores.slice(1)) h.store.applyOps(allOps(first));
          const flagged = stores.map(() => false);
          stores.forEach((h, i) =>
            h.store.onChange((c) => {
              if (c.conflicts) flagged[i] = true;
            }),
          );
          // Read once first: from here on the set is kept as links change.
          let before = stores.map((h) => listed(h.store));
          for (const cmd of cmds) {
            flagged.fill(false);
            run(stores, ids, cmd);
            stores.forEach((h, i) => {
              const now = listed(h.store);
              expect(now, JSON.stringify(cmd)).toEqual(expected(h.store, ids));
              expect(h.store.parentBreaks(), JSON.stringify(cmd)).toEqual(cuts(h.store));
              if (JSON.stringify(now) !== JSON.stringify(before[i])) expect(flagged[i]).toBe(true);
            });
            before = stores.map((h) => listed(h.store));
          }
          const union = stores.flatMap((h) => allOps(h.store));
          for (const h of stores) h.store.applyOps(union);
          const all = stores.map((h) => h.store.conflicts());
          for (const c of all) expect(c).toEqual(all[0]);
          for (const c of all[0]!)
            if (c.field === 'project' || c.field === 'parent') heads(first, c);
          for (const h of stores) {
            const kept = h.store.conflicts();
            expect(h.reopen().conflicts()).toEqual(kept);
          }
        } finally {
          for (const h of stores) h.close();
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  }, 180_000);
});

/**
 * The project of each loop whose shown parent link readers leave out: the one whose link was
 * added last (its head: the link's latest add).
 */
function cuts(s: SqliteStore): Set<string> {
  const out = new Set<string>();
  const added = new Map<string, string>();
  for (const c of s.conflicts()) {
    const shown = s.links(c.target, 'parent')[0]?.dst;
    if (c.cycle) added.set(c.target, c.heads.find((h) => h.value === shown)?.op ?? '');
  }
  for (const c of s.conflicts()) {
    if (!c.cycle) continue;
    const last = c.cycle.reduce((m, id) => ((added.get(id) ?? '') > (added.get(m) ?? '') ? id : m));
    out.add(last);
  }
  return out;
}

/** Each head is the latest add of its link still live, oldest head first. */
function heads(s: SqliteStore, c: ConflictView): void {
  const type = c.field === 'project' ? 'in-project' : 'parent';
  for (const h of c.heads) {
    expect(s.findOp(h.op)).toMatchObject({
      kind: 'link.add',
      target: `${c.target}|${type}|${h.value as string}`,
    });
  }
  const ops = c.heads.map((h) => h.op);
  expect(ops).toEqual([...ops].sort());
}
