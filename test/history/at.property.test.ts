// node.at and history against an oracle, on real SQLite files: three replicas edit one task
// (title, state, body, trash, tags) with random clocks and partial exchanges, and read its
// history in between (so body steps are made before older ops arrive and must be made again).
// Every version each replica lists must equal a fresh store that applied exactly the task's ops
// up to that version; after a full exchange every replica lists the same versions and
// summaries. Seeded: a failure prints the seed and path, and `fc.assert(..., { seed, path })`
// replays it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Op } from '../../src/core/op.js';
import { History } from '../../src/model/history.js';
import { ManualClock } from '../../src/ports/clock.js';
import { seededRandom } from '../../src/ports/random.js';
import { openStore } from '../../src/store/open-store.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { allOps, openTestStore, safeCut, type TestStore } from '../helpers/store.js';

const SEED = Number(process.env.HEPH_PROPERTY_SEED ?? 20260612);
const RUNS = Number(process.env.HEPH_PROPERTY_RUNS ?? 25);

type Cmd =
  | { t: 'title'; r: number; value: string }
  | { t: 'state'; r: number; value: 'outstanding' | 'done' | 'dropped' }
  | { t: 'body'; r: number; at: number; del: number; ins: string }
  | { t: 'trash'; r: number; deleted: boolean }
  | { t: 'tag'; r: number; tag: string; add: boolean }
  | { t: 'tick'; r: number; ms: number }
  | { t: 'sync'; from: number; to: number; pick: number[] }
  | { t: 'read'; r: number };

const R = 3;

function cmdArb(): fc.Arbitrary<Cmd> {
  const r = fc.nat(R - 1);
  const text = fc.constantFrom('a', 'bc', 'line\n', '\n', 'x\ny\n', 'é', '😀', '');
  return fc.oneof(
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('title' as const),
        r,
        value: fc.constantFrom('A', 'B', 'C'),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('state' as const),
        r,
        value: fc.constantFrom('outstanding' as const, 'done' as const, 'dropped' as const),
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        t: fc.constant('body' as const),
        r,
        at: fc.nat(30),
        del: fc.nat(6),
        ins: text,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ t: fc.constant('trash' as const), r, deleted: fc.boolean() }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('tag' as const),
        r,
        tag: fc.constantFrom('x', 'y'),
        add: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('tick' as const),
        r,
        ms: fc.integer({ min: -3000, max: 3000 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('sync' as const),
        from: r,
        to: r,
        pick: fc.array(fc.nat(500), { maxLength: 10 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('read' as const), r }) },
  );
}

function run(stores: TestStore[], histories: History[], id: string, cmd: Cmd): void {
  if (cmd.t === 'sync') {
    if (cmd.from === cmd.to) return;
    const ops = allOps(stores[cmd.from]!.store);
    stores[cmd.to]!.store.applyOps(cmd.pick.map((i) => ops[i % ops.length]!));
    return;
  }
  const h = stores[cmd.r]!;
  const s = h.store;
  if (!s.findNode(id)) return;
  switch (cmd.t) {
    case 'tick':
      h.clock.advance(cmd.ms);
      return;
    case 'read': {
      const list = histories[cmd.r]!.list(id, { limit: 1000 });
      const v = list.versions[list.versions.length >> 1];
      if (v) histories[cmd.r]!.at(id, v.version);
      return;
    }
    case 'title':
      s.updateNode(id, { title: cmd.value });
      return;
    case 'state':
      s.updateNode(id, { state: cmd.value });
      return;
    case 'body': {
      const body = s.getNode(id).body;
      const at = safeCut(body, cmd.at);
      const end = safeCut(body, at + cmd.del);
      s.updateNode(id, { body: body.slice(0, at) + cmd.ins + body.slice(end) });
      return;
    }
    case 'trash':
      if (cmd.deleted) s.deleteNode(id);
      else s.restoreNode(id);
      return;
    case 'tag': {
      const tag = `tag:${cmd.tag}`;
      if (!s.findNode(tag)) s.createNode({ kind: 'tag', id: tag, title: cmd.tag });
      if (cmd.add) s.addLink(id, tag, 'tagged');
      else if (s.links(id, 'tagged').some((l) => l.dst === tag)) s.removeLink(id, tag, 'tagged');
      return;
    }
  }
}

/** The task as a fresh store shows it after applying exactly its ops up to `version`. */
function oracle(ops: readonly Op[], id: string, version: string) {
  const s = openStore({ path: ':memory:' }, { clock: new ManualClock(), random: seededRandom(9) });
  try {
    const mine = ops.filter(
      (o) => (o.target === id || o.target.startsWith(`${id}|`)) && o.id <= version,
    );
    expect(s.applyOps(mine).refused).toEqual([]);
    const n = s.getNode(id);
    return {
      title: n.title,
      body: n.body,
      body_version: n.body_version,
      deleted: n.deleted,
      state: n.state,
      links: s.links(id).map((l) => ({ type: l.type, dst: l.dst })),
    };
  } finally {
    s.close();
  }
}

function check(store: SqliteStore, history: History, id: string): string {
  const ops = allOps(store);
  const list = history.list(id, { limit: 1000 });
  for (const v of list.versions) {
    const at = history.at(id, v.version);
    expect(
      {
        title: at.title,
        body: at.body,
        body_version: at.body_version,
        deleted: at.deleted,
        state: at.state,
        links: at.links,
      },
      `version ${v.version}`,
    ).toEqual(oracle(ops, id, v.version));
  }
  return JSON.stringify(list.versions.map((v) => [v.version, v.change, v.summary]));
}

describe('node.at and history (property)', () => {
  it(`every version equals a store holding the ops up to it, on every replica (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -120_000, max: 120_000 }), { minLength: R, maxLength: R }),
        fc.array(cmdArb(), { minLength: 5, maxLength: 30 }),
        (skew, cmds) => {
          const stores = Array.from({ length: R }, (_, i) =>
            openTestStore({
              clock: new ManualClock(Date.UTC(2026, 5, 12) + (skew[i] ?? 0)),
              seed: 300 + i,
            }),
          );
          // Saved body states every 3 steps, so showing a version starts from one.
          const histories = stores.map(
            (h) => new History(h.store, { ownDevice: 'this device', markEvery: 3 }),
          );
          try {
            const task = stores[0]!.store.createNode({
              kind: 'task',
              title: 'T',
              body: 'one\ntwo\n',
            });
            for (const h of stores.slice(1)) h.store.applyOps(allOps(stores[0]!.store));
            for (const c of cmds) run(stores, histories, task.id, c);
            for (let i = 0; i < R; i++) check(stores[i]!.store, histories[i]!, task.id);
            const union = stores.flatMap((h) => allOps(h.store));
            for (const h of stores) h.store.applyOps(union);
            const lists = stores.map((h, i) => check(h.store, histories[i]!, task.id));
            expect(new Set(lists).size).toBe(1);
          } finally {
            for (const h of stores) h.close();
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  }, 300_000);
});
