// Local writes with rows written back once per call (createNode, updateNode) and nested store
// transactions that join the outer one: whatever the patches (several fields, unknown fields,
// bodies) and however calls are grouped into transactions, the writer ends with exactly the rows
// that applying its ops one at a time leaves, and so does a rebuild from its log. A nested call
// that fails leaves its transaction unable to commit, even when the caller catches the error.
// Seeded: a failure prints the seed and the counterexample path; HEPH_PROPERTY_SEED /
// HEPH_PROPERTY_RUNS replay or widen it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Json } from '../../src/core/json.js';
import type { Op } from '../../src/core/op.js';
import { ManualClock } from '../../src/ports/clock.js';
import type { NodePatch } from '../../src/ports/store.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { materializedTables, openTestStore, type TestStore } from '../helpers/store.js';

const SEED = Number(process.env.HEPH_PROPERTY_SEED ?? 20261124);
const RUNS = Number(process.env.HEPH_PROPERTY_RUNS ?? 60);

interface Fields {
  title?: number;
  aliases?: number;
  state?: number;
  attention?: number;
  do_date?: number;
  extra?: number;
  body?: number;
}

type Edit =
  | { t: 'create'; r: number; kind: 'doc' | 'task'; f: Fields }
  | { t: 'patch'; r: number; n: number; f: Fields }
  | { t: 'delete'; r: number; n: number }
  | { t: 'link'; r: number; a: number; b: number }
  | { t: 'sync'; from: number; to: number };

function fieldsArb(): fc.Arbitrary<Fields> {
  const v = fc.nat(4);
  return fc.record(
    { title: v, aliases: v, state: v, attention: v, do_date: v, extra: v, body: v },
    { requiredKeys: [] },
  );
}

function editArb(): fc.Arbitrary<Edit> {
  const r = fc.nat(1);
  const n = fc.nat(6);
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('create' as const),
        r,
        kind: fc.constantFrom('doc' as const, 'task' as const),
        f: fieldsArb(),
      }),
    },
    { weight: 6, arbitrary: fc.record({ t: fc.constant('patch' as const), r, n, f: fieldsArb() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), r, n }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('link' as const), r, a: n, b: n }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('sync' as const), from: r, to: r }) },
  );
}

function allOps(s: SqliteStore): Op[] {
  return s.opsSince(0, 100_000).ops;
}

function patchOf(f: Fields, task: boolean, body: string): NodePatch {
  const p: NodePatch = {};
  if (f.title !== undefined) p.title = `title ${f.title}`;
  if (f.aliases !== undefined) p.aliases = f.aliases === 0 ? [] : [`a${f.aliases}`, 'b'];
  if (f.extra !== undefined) {
    const value: Json = f.extra % 2 === 0 ? `c${f.extra}` : { shade: f.extra };
    p.extra = f.extra === 4 ? { colour: null, size: 3 } : { colour: value };
  }
  if (f.body !== undefined)
    p.body = f.body === 0 ? '' : `${body}line ${f.body} [[title ${f.body}]]\n`;
  if (task) {
    if (f.state !== undefined)
      p.state = (['outstanding', 'done', 'dropped'] as const)[f.state % 3]!;
    if (f.attention !== undefined)
      p.attention = (['white', 'red', 'blue'] as const)[f.attention % 3]!;
    if (f.do_date !== undefined) p.do_date = f.do_date === 0 ? null : `2026-12-0${f.do_date}`;
  }
  return p;
}

function edit(rs: TestStore[], e: Edit): void {
  if (e.t === 'sync') {
    if (e.from !== e.to) rs[e.to]!.store.applyOps(allOps(rs[e.from]!.store));
    return;
  }
  const h = rs[e.r]!;
  h.clock.advance(5);
  const s = h.store;
  if (e.t === 'create') {
    s.createNode({ kind: e.kind, title: 'new', ...patchOf(e.f, e.kind === 'task', '') });
    return;
  }
  const nodes = s.listNodes({ scope: 'all', limit: 1000 }).sort((x, y) => (x.id < y.id ? -1 : 1));
  if (nodes.length === 0) return;
  const pick = (i: number) => nodes[i % nodes.length]!;
  switch (e.t) {
    case 'patch': {
      const node = pick(e.n);
      const patch = patchOf(e.f, node.kind === 'task', node.body);
      if (Object.keys(patch).length > 0) s.updateNode(node.id, patch);
      return;
    }
    case 'delete':
      if (!pick(e.n).deleted) s.deleteNode(pick(e.n).id);
      return;
    case 'link': {
      const a = pick(e.a).id;
      const b = pick(e.b).id;
      if (a !== b) s.addLink(a, b, 'parent');
      return;
    }
  }
}

describe('local writes written back once per call (property)', () => {
  it(`any patches and grouping into transactions leave the rows op-by-op application leaves (${RUNS} runs, seed ${SEED})`, () => {
    fc.assert(
      fc.property(
        fc.array(editArb(), { minLength: 5, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 }),
        (edits, groups) => {
          const makers = [0, 1].map((i) =>
            openTestStore({
              clock: new ManualClock(Date.UTC(2026, 10, 23) + i * 3),
              seed: 800 + i,
            }),
          );
          const one = openTestStore({ seed: 900 });
          try {
            // Edits run in groups of the generated sizes, each group in one store transaction
            // of the replica its first edit writes to (syncs and other replicas' edits run
            // inside it too: they nest or touch another store).
            for (let at = 0, g = 0; at < edits.length; g++) {
              const size = groups[g % groups.length]!;
              const group = edits.slice(at, at + size);
              const first = group[0]!;
              const owner = makers[first.t === 'sync' ? first.to : first.r]!;
              owner.store.transaction(() => {
                for (const e of group) edit(makers, e);
              });
              at += size;
            }
            for (const m of makers) {
              const ops = allOps(m.store);
              for (const op of ops) one.store.applyOps([op]);
              const fresh = openTestStore({ seed: 901 });
              try {
                for (const op of ops) fresh.store.applyOps([op]);
                expect(materializedTables(m.store)).toEqual(materializedTables(fresh.store));
                const before = materializedTables(m.store);
                m.store.rebuild();
                expect(materializedTables(m.store)).toEqual(before);
              } finally {
                fresh.close();
              }
            }
          } finally {
            for (const h of [...makers, one]) h.close();
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  }, 180_000);
});

/** What one replica's nodes must look like after its own writes: each field the last value set. */
interface Expected {
  kind: string;
  title: string;
  aliases: string[];
  extra: Record<string, Json>;
  body: string;
  deleted: boolean;
  state?: string;
  attention?: string;
  do_date?: string | null;
  created_ms: number;
  updated_ms: number;
}

function expectedAfter(e: Expected, p: NodePatch, wall: number): void {
  let wrote = false;
  for (const k of ['title', 'aliases', 'state', 'attention', 'do_date'] as const) {
    if (p[k] === undefined) continue;
    (e as unknown as Record<string, unknown>)[k] = p[k];
    wrote = true;
  }
  for (const [k, v] of Object.entries(p.extra ?? {})) {
    e.extra[k] = v;
    wrote = true;
  }
  if (p.body !== undefined && p.body !== e.body) {
    e.body = p.body;
    wrote = true;
  }
  if (wrote) e.updated_ms = wall;
}

describe('local writes against a model of one replica (property)', () => {
  it(`every field holds the last value written, times the first and last write (${RUNS} runs, seed ${SEED})`, () => {
    fc.assert(
      fc.property(
        fc.array(editArb(), { minLength: 5, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 }),
        (edits, groups) => {
          const h = openTestStore({ seed: 920 });
          const model = new Map<string, Expected>();
          const ids: string[] = [];
          try {
            const run = (e: Edit): void => {
              h.clock.advance(3);
              const wall = h.clock.now();
              const s = h.store;
              if (e.t === 'create') {
                const task = e.kind === 'task';
                const patch = patchOf(e.f, task, '');
                const n = s.createNode({ kind: e.kind, title: 'new', ...patch });
                const x: Expected = {
                  kind: e.kind,
                  title: 'new',
                  aliases: [],
                  extra: {},
                  body: '',
                  deleted: false,
                  created_ms: wall,
                  updated_ms: wall,
                  ...(task && { state: 'outstanding', attention: 'white', do_date: null }),
                };
                expectedAfter(x, patch, wall);
                model.set(n.id, x);
                ids.push(n.id);
                return;
              }
              if (ids.length === 0 || e.t === 'sync' || e.t === 'link') return;
              const id = ids[e.n % ids.length]!;
              const x = model.get(id)!;
              if (e.t === 'patch') {
                const patch = patchOf(e.f, x.kind === 'task', x.body);
                if (Object.keys(patch).length === 0) return;
                s.updateNode(id, patch);
                expectedAfter(x, patch, wall);
              } else if (e.t === 'delete' && !x.deleted) {
                s.deleteNode(id);
                x.deleted = true;
                x.updated_ms = wall;
              }
            };
            for (let at = 0, g = 0; at < edits.length; g++) {
              const size = groups[g % groups.length]!;
              const group = edits.slice(at, at + size);
              h.store.transaction(() => group.forEach(run));
              at += size;
            }
            const check = (): void => {
              for (const [id, x] of model) {
                const v = h.store.getNode(id);
                const { state, attention, do_date, ...common } = x;
                expect({
                  kind: v.kind,
                  title: v.title,
                  aliases: v.aliases,
                  extra: v.extra,
                  body: v.body,
                  deleted: v.deleted,
                  created_ms: v.created_ms,
                  updated_ms: v.updated_ms,
                }).toEqual(common);
                if (x.kind === 'task') {
                  expect({ state: v.state, attention: v.attention, do_date: v.do_date }).toEqual({
                    state,
                    attention,
                    do_date,
                  });
                }
              }
            };
            check();
            expect(h.store.conflicts()).toEqual([]);
            h.reopen();
            check();
          } finally {
            h.close();
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  }, 180_000);
});

describe('createNodeId', () => {
  it('writes what createNode writes and returns the id', () => {
    const a = openTestStore({ seed: 930 });
    const b = openTestStore({ seed: 930 });
    try {
      const input = { kind: 'task' as const, title: 't', body: 'b [[x]]\n', extra: { k: 1 } };
      const id = a.store.createNodeId(input);
      const view = b.store.createNode(input);
      expect(id).toBe(view.id);
      expect(a.store.getNode(id)).toEqual(view);
      expect(materializedTables(a.store)).toEqual(materializedTables(b.store));
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('nested store transactions', () => {
  it('a failed inner call leaves nothing committed, even when the caller catches it', () => {
    const h = openTestStore({ seed: 910 });
    try {
      const s = h.store;
      const kept = s.createNode({ kind: 'doc', title: 'kept' });
      const ops = s.opCount();
      const clock = s.clockState();
      const digest = s.digest();
      const changes: unknown[] = [];
      s.onChange((c) => changes.push(c));
      expect(() =>
        s.transaction(() => {
          s.createNode({ kind: 'doc', title: 'first' });
          s.updateNode(kept.id, { title: 'renamed', body: 'text\n' });
          try {
            s.createNode({ id: 'tag:x', kind: 'tag', title: 'x' });
            s.createNode({ id: 'tag:x', kind: 'tag', title: 'x' });
          } catch (e) {
            expect((e as { code?: string }).code).toBe('already_exists');
          }
          return 'would commit';
        }),
      ).toThrow(/already exists/);
      expect(s.opCount()).toBe(ops);
      expect(s.clockState()).toEqual(clock);
      expect(s.digest()).toBe(digest);
      expect(s.getNode(kept.id).title).toBe('kept');
      expect(s.findNode('tag:x')).toBeUndefined();
      expect(changes).toEqual([]);
      // The store is usable afterwards, and the next transaction commits.
      s.updateNode(kept.id, { title: 'after' });
      expect(h.reopen().getNode(kept.id).title).toBe('after');
    } finally {
      h.close();
    }
  });

  it('an inner call that fails without being caught rolls the whole transaction back', () => {
    const h = openTestStore({ seed: 911 });
    try {
      const s = h.store;
      const ops = s.opCount();
      expect(() =>
        s.transaction(() => {
          const a = s.createNode({ kind: 'task', title: 'a' });
          s.addLink(a.id, '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'parent');
        }),
      ).toThrow(/not found|no node/i);
      expect(s.opCount()).toBe(ops);
      expect(s.listNodes({ scope: 'all' })).toEqual([]);
    } finally {
      h.close();
    }
  });
});
