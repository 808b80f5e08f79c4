// Body documents kept live between calls (store/body-cache.ts) and stored as appended parts
// (store/bodies.ts) must change nothing a user can see. Two stores with the same replica id take
// the same random interleaving of local saves (fresh and stale), splice edits, foreign body ops
// (some undecodable, refused), conflict resolutions, rolled-back transactions and reopenings: one
// with a cache of two documents and compaction after three parts (so entries are evicted and
// parts compacted all the time), one with no cache at all (every document loaded from its stored
// parts, compacted by the default rule). After every step both show the same bodies and body
// versions; at the end the same digest, and the cached store's stored parts, a rebuild from its
// op-log and a reopened file all give the bodies it shows.
// Seeded: a failure prints the seed and the counterexample path; HEPH_PROPERTY_SEED /
// HEPH_PROPERTY_RUNS replay or widen it.

import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Op } from '../../src/core/op.js';
import { ManualClock } from '../../src/ports/clock.js';
import { seededRandom } from '../../src/ports/random.js';
import { openStore } from '../../src/store/open-store.js';
import type { SqliteStore, SqliteStoreOptions } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/temp.js';

const SEED = Number(process.env.HEPH_PROPERTY_SEED ?? 20261205);
const RUNS = Number(process.env.HEPH_PROPERTY_RUNS ?? 40);

const PIECES = ['a', 'bc ', '\n', '[[A]]', '[[B|b]]', '```\n', 'é', '😀', '- [ ] x\n', ''];
const NODES = 4; // three notes and one imported file
const FILE = 'vault:Shared.md';

type Edit = { n: number; at: number; remove: number; insert: number };
type Step =
  | ({ t: 'save' } & Edit)
  | ({ t: 'stale'; back: number } & Edit)
  | ({ t: 'splice' } & Edit)
  | ({ t: 'remote' } & Edit)
  | { t: 'deliver'; count: number; corrupt: boolean }
  | { t: 'push' }
  | ({ t: 'rollback'; deliver: boolean } & Edit)
  | { t: 'resolve'; insert: number }
  | { t: 'reopen' };

const edit = {
  n: fc.nat(NODES - 1),
  at: fc.nat(),
  remove: fc.nat(6),
  insert: fc.nat(PIECES.length - 1),
};

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('save' as const), ...edit }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('stale' as const), back: fc.nat(4), ...edit }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('splice' as const), ...edit }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('remote' as const), ...edit }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('deliver' as const),
      count: fc.integer({ min: 1, max: 6 }),
      corrupt: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('push' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('rollback' as const), deliver: fc.boolean(), ...edit }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('resolve' as const),
      insert: fc.nat(PIECES.length - 1),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reopen' as const) }) },
);

/** `text` with an edit made at a place that splits no surrogate pair. */
function edited(text: string, e: Edit): string {
  let at = text.length === 0 ? 0 : e.at % (text.length + 1);
  const low = (i: number) => i > 0 && i < text.length && /[\udc00-\udfff]/.test(text[i]!);
  if (low(at)) at--;
  let end = Math.min(text.length, at + e.remove);
  if (low(end)) end++;
  return text.slice(0, at) + PIECES[e.insert]! + text.slice(end);
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

interface World {
  /** [cached, reference] */
  local: [SqliteStore, SqliteStore];
  remote: SqliteStore;
  clock: ManualClock;
  reopenCached(): void;
  ids: string[];
  /** Remote ops not yet delivered, oldest first; local ops not yet pushed from seq. */
  undelivered: Op[];
  remoteCursor: number;
  pushCursor: number;
  /** Body versions each node was read at, with their text (for stale saves). */
  reads: Map<string, { version: string; body: string }[]>;
}

const CACHED: Pick<SqliteStoreOptions, 'bodyCache' | 'bodyCompaction'> = {
  bodyCache: { maxBytes: 24 * 1024, maxDocs: 2 },
  bodyCompaction: { maxTailParts: 3, minTailBytes: 64 },
};
const UNCACHED: Pick<SqliteStoreOptions, 'bodyCache'> = {
  bodyCache: { maxBytes: 0, maxDocs: 0 },
};

function world(seed: number): World {
  const t = tempDir('heph-body-cache-');
  cleanups.push(() => t.cleanup());
  const clock = new ManualClock(Date.UTC(2026, 11, 5, 9));
  const path = join(t.dir, 'cached.db');
  // The same seed: the same replica id, so both make the same ops from the same steps.
  const open = (file: string, o: object) =>
    openStore({ path: file, ...o }, { clock, random: seededRandom(seed) });
  const cached = open(path, CACHED);
  const reference = open(join(t.dir, 'reference.db'), UNCACHED);
  const remote = openStore(
    { path: join(t.dir, 'remote.db') },
    { clock, random: seededRandom(seed + 1) },
  );
  const w: World = {
    local: [cached, reference],
    remote,
    clock,
    ids: [],
    undelivered: [],
    remoteCursor: 0,
    pushCursor: 0,
    reads: new Map(),
    reopenCached() {
      w.local[0].close();
      w.local[0] = open(path, CACHED);
    },
  };
  cleanups.push(() => {
    for (const s of [...w.local, w.remote]) s.close();
  });
  for (let i = 0; i < NODES - 1; i++) {
    const body = `# Note ${i}\n\nsee [[A]]\n\n\`\`\`\n[[B]]\n\`\`\`\n`;
    const ids = w.local.map((s) => s.createNode({ kind: 'doc', title: `N${i}`, body }).id);
    expect(ids[1]).toBe(ids[0]);
    w.ids.push(ids[0]!);
  }
  // One file imported here and, in another version, on the remote: a body conflict once synced.
  for (const s of w.local) s.importNode({ id: FILE, kind: 'doc', title: 'Shared', body: 'one\n' });
  remote.importNode({ id: FILE, kind: 'doc', title: 'Shared', body: 'two\n' });
  w.ids.push(FILE);
  push(w);
  return w;
}

/** Everything the reference store has that the remote does not yet. */
function push(w: World): void {
  const page = w.local[1].opsSince(w.pushCursor, 100_000);
  const r = w.remote.applyOps(page.ops);
  expect(r.refused).toEqual([]);
  w.pushCursor = page.cursor;
}

function remember(w: World, id: string, v: { body_version: string; body: string }): void {
  const list = w.reads.get(id) ?? [];
  list.unshift({ version: v.body_version, body: v.body });
  w.reads.set(id, list.slice(0, 5));
}

function step(w: World, s: Step): void {
  w.clock.advance(1000);
  switch (s.t) {
    case 'save':
    case 'stale': {
      const id = w.ids[s.n]!;
      const old = s.t === 'stale' ? w.reads.get(id)?.[s.back] : undefined;
      for (const st of w.local) {
        const now = st.getNode(id);
        const from = old ?? { version: now.body_version, body: now.body };
        const after = st.updateNode(id, { body: edited(from.body, s), base_version: from.version });
        if (st === w.local[1]) remember(w, id, after);
      }
      return;
    }
    case 'splice': {
      const id = w.ids[s.n]!;
      for (const st of w.local) {
        const body = st.getNode(id).body;
        const index = body.length === 0 ? 0 : s.at % (body.length + 1);
        if (/[\udc00-\udfff]/.test(body[index] ?? '')) continue;
        st.editBody(id, [{ index, remove: 0, insert: PIECES[s.insert]! }]);
      }
      return;
    }
    case 'remote': {
      const id = w.ids[s.n]!;
      w.remote.updateNode(id, { body: edited(w.remote.getNode(id).body, s) });
      const page = w.remote.opsSince(w.remoteCursor, 100_000);
      w.remoteCursor = page.cursor;
      // Ops the remote got from here go back as duplicates; the rest are new to the locals.
      w.undelivered.push(...page.ops);
      return;
    }
    case 'deliver': {
      const batch = w.undelivered.splice(0, s.count);
      const body = batch.find((o) => o.kind.startsWith('body.'));
      if (s.corrupt && body) {
        // Another replica's op whose update Yjs cannot read, amid good ones: refused alone.
        batch.splice(1, 0, {
          ...body,
          id: `${body.id.slice(0, 18)}badbadbadbadbad0`,
          payload: { ...body.payload, update: Buffer.from([9, 9, 9, 9, 9]).toString('base64') },
        });
      }
      const results = w.local.map((st) => st.applyOps(batch));
      expect(results[0]).toEqual(results[1]);
      return;
    }
    case 'push':
      push(w);
      return;
    case 'rollback': {
      const id = w.ids[s.n]!;
      const deliver = s.deliver ? w.undelivered.slice(0, 3) : [];
      for (const st of w.local) {
        const before = st.getNode(id);
        expect(() =>
          st.transaction(() => {
            st.updateNode(id, { body: edited(before.body, s) });
            if (deliver.length > 0) st.applyOps(deliver);
            st.updateNode(id, { body: `${st.getNode(id).body}and more\n` });
            throw new Error('rolled back on purpose');
          }),
        ).toThrow('rolled back on purpose');
        expect(st.getNode(id)).toEqual(before);
      }
      return;
    }
    case 'resolve': {
      if (!w.local[1].conflicts().some((c) => c.target === FILE && c.field === 'body')) return;
      for (const st of w.local) st.resolveConflict(FILE, 'body', `resolved ${PIECES[s.insert]}\n`);
      return;
    }
    case 'reopen':
      w.reopenCached();
      return;
  }
}

function expectSame(w: World, where: string): void {
  for (const id of w.ids) {
    const [a, b] = w.local.map((s) => s.getNode(id));
    expect({ body: a!.body, version: a!.body_version }, `${where}: ${id}`).toEqual({
      body: b!.body,
      version: b!.body_version,
    });
  }
}

describe('body documents kept live and stored as parts', () => {
  it(`show what a store without a cache shows, whatever the interleaving (${RUNS} runs, seed ${SEED})`, () => {
    console.log(`body cache property: seed ${SEED}, ${RUNS} runs`);
    let run = 0;
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 5, maxLength: 40 }), (steps) => {
        const w = world(SEED + run++);
        try {
          steps.forEach((s, i) => {
            step(w, s);
            expectSame(w, `after step ${i} (${s.t})`);
          });
          const [cached, reference] = w.local;
          expect(cached.digest()).toBe(reference.digest());
          expect(cached.conflicts()).toEqual(reference.conflicts());
          for (const id of w.ids) {
            const shown = cached.getNode(id).body;
            expect(cached.crdtBody(id), id).toBe(shown);
            expect(cached.wikiTargets(id), id).toEqual(reference.wikiTargets(id));
          }
          const digest = cached.digest();
          w.reopenCached();
          expect(w.local[0].digest()).toBe(digest);
          w.local[0].rebuild();
          expect(w.local[0].digest()).toBe(digest);
        } finally {
          for (const c of cleanups.splice(0)) c();
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('merges a stale save made from an older version into the live document without a warning', () => {
    const t = tempDir('heph-body-cache-');
    cleanups.push(() => t.cleanup());
    const clock = new ManualClock(Date.UTC(2026, 11, 5, 9));
    const s = openStore({ path: join(t.dir, 'w.db') }, { clock, random: seededRandom(4) });
    cleanups.push(() => s.close());
    const logged = vi.spyOn(console, 'log');
    try {
      const n = s.createNode({ kind: 'doc', title: 'T', body: 'a\nb\n' });
      clock.advance(10);
      s.updateNode(n.id, { body: 'a\nb\nc\n' });
      clock.advance(10);
      // Made by this replica's Yjs client on the old version, then merged into the cached one.
      s.updateNode(n.id, { body: 'x\na\nb\n', base_version: n.body_version });
      expect(s.getNode(n.id).body).toBe('x\na\nb\nc\n');
      expect(logged.mock.calls.flat().join(' ')).not.toMatch(/client-id/);
    } finally {
      logged.mockRestore();
    }
  });

  it('keeps its documents within the bounds given', () => {
    const t = tempDir('heph-body-cache-');
    cleanups.push(() => t.cleanup());
    const clock = new ManualClock(Date.UTC(2026, 11, 5, 9));
    const s = openStore(
      { path: join(t.dir, 'b.db'), bodyCache: { maxBytes: 64 * 1024, maxDocs: 3 } },
      { clock, random: seededRandom(3) },
    );
    cleanups.push(() => s.close());
    const small = Array.from({ length: 5 }, (_, i) =>
      s.createNode({ kind: 'doc', title: `s${i}`, body: `small ${i}\n` }),
    );
    expect(s.bodyCacheStats().docs).toBe(3);
    // A document estimated above the whole budget is not kept; the others stay.
    s.createNode({ kind: 'doc', title: 'big', body: 'x'.repeat(20_000) });
    expect(s.bodyCacheStats().docs).toBe(3);
    expect(s.bodyCacheStats().bytes).toBeLessThanOrEqual(64 * 1024);
    // Several mid-sized ones: the least recently used go first, by bytes.
    for (let i = 0; i < 3; i++)
      s.createNode({ kind: 'doc', title: `m${i}`, body: 'y'.repeat(6000) });
    const { docs, bytes } = s.bodyCacheStats();
    expect(bytes).toBeLessThanOrEqual(64 * 1024);
    expect(docs).toBeLessThan(3);
    expect(s.getNode(small[0]!.id).body).toBe('small 0\n');
  });
});
