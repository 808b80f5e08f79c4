// Pull pages applied in parts (applyPageInParts): a transaction per part, the cursor saved with
// the last. Whatever the page and part sizes, and wherever a run is cancelled between parts, the
// next run ends with every op once, the same fields, bodies and conflicts as a replica that applied
// each page whole, and every appended body line exactly once.

import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { syncOnce } from '../../src/sync/sync-once.js';
import { openSpoke, opIds, startTestHub, type Spoke } from './helpers.js';

const SEED = Number(process.env.HEPH_PROPERTY_SEED ?? 20261206);
const RUNS = 8;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function spoke(name: string, url: string): Spoke {
  const s = openSpoke(name, url);
  closers.push(() => s.close());
  return s;
}

describe('pull pages applied in parts (property)', () => {
  it(`end as pages applied whole, each op and appended line once, after cancels between parts (${RUNS} runs, seed ${SEED})`, async () => {
    console.log(`page parts property: seed ${SEED}`);
    let cancelled = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          tasks: fc.integer({ min: 2, max: 6 }),
          edits: fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.constantFrom('title', 'body')), {
            minLength: 10,
            maxLength: 40,
          }),
          pullLimit: fc.integer({ min: 5, max: 60 }),
          partOps: fc.integer({ min: 1, max: 30 }),
          cancelAfter: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
        }),
        async ({ tasks, edits, pullLimit, partOps, cancelAfter }) => {
          const h = await startTestHub();
          closers.push(() => h.close());
          const a = spoke('a', h.url);
          const c = spoke('c', h.url);
          const ids: string[] = [];
          for (let i = 0; i < tasks; i++) {
            ids.push(a.store.createNode({ kind: 'task', title: `t${i}`, body: `first ${i}\n` }).id);
          }
          await syncOnce(a.store, a.client);
          await syncOnce(c.store, c.client);
          // Both write, unsynced in between: concurrent titles conflict, lines from both stay.
          const lines: string[] = [];
          edits.forEach(([onA, n, what], k) => {
            const s = onA ? a : c;
            const id = ids[n % ids.length]!;
            if (what === 'title') s.store.updateNode(id, { title: `${s.name} ${k}` });
            else {
              const line = `line ${s.name} ${k}`;
              lines.push(line);
              s.store.updateNode(id, { body: `${s.store.getNode(id).body}${line}\n` });
            }
          });
          await syncOnce(a.store, a.client);
          await syncOnce(c.store, c.client);

          // The replica under test, cancelled after some commits, then run again.
          const b = spoke('b', h.url);
          const ac = new AbortController();
          let commits = 0;
          const off = b.store.onChange(() => {
            if (++commits === cancelAfter) ac.abort();
          });
          try {
            await syncOnce(b.store, b.client, { pullLimit, partOps, signal: ac.signal });
          } catch (e) {
            expect((e as Error).message).toContain('cancelled');
            cancelled++;
          }
          off();
          await syncOnce(b.store, b.client, { pullLimit, partOps });

          // The reference applies each page whole (one page, larger than any part here).
          const d = spoke('d', h.url);
          await syncOnce(d.store, d.client);
          expect(opIds(b.store)).toEqual(opIds(d.store));
          expect(b.store.digest()).toBe(d.store.digest());
          expect(b.store.conflicts()).toEqual(d.store.conflicts());
          for (const id of ids) {
            const got = b.store.getNode(id);
            const want = d.store.getNode(id);
            expect({ title: got.title, body: got.body }).toEqual({
              title: want.title,
              body: want.body,
            });
          }
          const all = ids.map((id) => b.store.getNode(id).body).join('');
          for (const line of lines) expect(all.split(`${line}\n`).length - 1).toBe(1);
          for (const close of closers.splice(0).reverse()) await close();
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    // Not vacuous: some runs were cancelled between parts.
    expect(cancelled).toBeGreaterThan(0);
  }, 120_000);
});
