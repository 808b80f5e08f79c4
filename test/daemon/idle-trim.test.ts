import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startIdleTrim } from '../../src/daemon/idle-trim.js';
import { silentLogger } from '../../src/ports/logger.js';
import { ROWS_PENDING_KEY, type SqliteStore } from '../../src/store/sqlite-store.js';
import { allOps, materializedTables, openTestStore } from '../helpers/store.js';
import { manualTimers } from '../helpers/manual-timers.js';

const MB = 1024 * 1024;

/** The pending-rows mark, read without writing pending rows first (as `connection` would). */
function pendingMark(s: SqliteStore): unknown {
  const db = (s as unknown as { db: Database.Database }).db;
  return db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(ROWS_PENDING_KEY);
}

describe('idle trim', () => {
  it('trims once writing pauses after the heap grew, and never after small work', () => {
    const h = openTestStore({ seed: 901 });
    try {
      let heap = 20 * MB;
      const compactions: number[] = [];
      const timers = manualTimers();
      const trim = startIdleTrim(h.store, {
        logger: silentLogger,
        timers,
        heapBytes: () => heap,
        compact: () => {
          compactions.push(heap);
          heap = 22 * MB;
          return true;
        },
      });
      const ids: string[] = [];
      for (let i = 0; i < 50; i++)
        ids.push(h.store.createNode({ kind: 'task', title: `t${i}` }).id);
      expect(h.store.cachedStates()).toBeGreaterThanOrEqual(50);

      // A pause after small work (the heap grew by less than the threshold): nothing dropped.
      heap = 30 * MB;
      expect(timers.live()).toBe(1);
      timers.fireAll();
      expect(compactions).toEqual([]);
      expect(h.store.cachedStates()).toBeGreaterThanOrEqual(50);

      // Heavy work: the next pause drops the caches and compacts, once.
      h.store.updateNode(ids[0]!, { title: 'again' });
      heap = 40 * MB;
      timers.fireAll();
      expect(compactions).toEqual([40 * MB]);
      expect(h.store.cachedStates()).toBe(0);
      expect(timers.live()).toBe(0);

      // The threshold counts from the heap after that trim (22 MB), not from the start.
      h.store.updateNode(ids[1]!, { title: 'again' });
      heap = 37 * MB;
      timers.fireAll();
      expect(compactions).toHaveLength(1);
      h.store.updateNode(ids[1]!, { title: 'once more' });
      heap = 38 * MB;
      timers.fireAll();
      expect(compactions).toEqual([40 * MB, 38 * MB]);

      // Everything dropped is read again: the data is all there and writable.
      expect(h.store.getNode(ids[0]!).title).toBe('again');
      expect(h.store.getNode(ids[1]!).title).toBe('once more');
      h.store.updateNode(ids[2]!, { title: 'after' });
      expect(h.store.getNode(ids[2]!).title).toBe('after');

      trim.stop();
      h.store.updateNode(ids[3]!, { title: 'stopped' });
      expect(timers.live()).toBe(0);
    } finally {
      h.close();
    }
  });

  it('releaseMemory writes rows applied ops left pending before dropping their registers', () => {
    const a = openTestStore({ seed: 902 });
    const b = openTestStore({ seed: 903 });
    const ref = openTestStore({ seed: 904 });
    try {
      const x = a.store.createNode({ kind: 'task', title: 'x', body: 'x body' });
      a.store.createNode({ kind: 'doc', title: 'y', body: 'y body' });
      a.store.updateNode(x.id, { title: 'x two', body: 'x body two' });
      for (const s of [b, ref]) s.store.applyOps(allOps(a.store));
      ref.store.catchUpRows();
      expect(pendingMark(b.store)).toBeDefined();

      expect(b.store.releaseMemory()).toBe(true);
      expect(pendingMark(b.store)).toBeUndefined();
      expect(b.store.cachedStates()).toBe(0);
      expect(b.store.bodyCacheStats().docs).toBe(0);
      expect(materializedTables(b.store)).toEqual(materializedTables(ref.store));

      // Later ops build on the registers read again from the rows.
      a.store.updateNode(x.id, { title: 'x three' });
      const later = allOps(a.store).slice(3);
      for (const s of [b, ref]) s.store.applyOps(later);
      expect(b.store.getNode(x.id).title).toBe('x three');
      expect(materializedTables(b.store)).toEqual(materializedTables(ref.store));
    } finally {
      a.close();
      b.close();
      ref.close();
    }
  });

  it('releaseMemory refuses inside a transaction, whose caches hold uncommitted state', () => {
    const h = openTestStore({ seed: 905 });
    try {
      const x = h.store.createNode({ kind: 'task', title: 'x' });
      h.store.transaction(() => {
        h.store.updateNode(x.id, { title: 'inside' });
        expect(h.store.releaseMemory()).toBe(false);
        expect(h.store.cachedStates()).toBeGreaterThan(0);
      });
      expect(h.store.getNode(x.id).title).toBe('inside');
    } finally {
      h.close();
    }
  });

  it('compactHeap gives fragmented old space back in a real node process, without a global gc', () => {
    const mod = fileURLToPath(new URL('../../dist/src/daemon/idle-trim.js', import.meta.url));
    // Objects kept at 2 in 5 leave every old-space page partly live: a plain full collection
    // keeps those pages, a compacting one moves the live objects together.
    const code = `
      import { getHeapStatistics } from 'node:v8';
      const { compactHeap } = await import(${JSON.stringify(mod)});
      let all = [];
      for (let i = 0; i < 400000; i++) all.push({ a: 'x' + i, b: [i], c: { d: i } });
      const keep = all.filter((_, i) => i % 5 < 2);
      all = null;
      const before = getHeapStatistics().total_heap_size;
      const compacted = compactHeap();
      const after = getHeapStatistics().total_heap_size;
      const live = getHeapStatistics().used_heap_size;
      console.log(JSON.stringify({ before, after, live, compacted, kept: keep.length, globalGc: typeof globalThis.gc }));
    `;
    const out = JSON.parse(
      execFileSync(
        process.execPath,
        ['--max-semi-space-size=4', '--input-type=module', '-e', code],
        {
          encoding: 'utf8',
        },
      ),
    ) as { before: number; after: number; live: number; compacted: boolean; globalGc: string };
    expect(out.compacted).toBe(true);
    expect(out.globalGc).toBe('undefined');
    expect(out.before).toBeGreaterThan(2 * out.live);
    // Committed heap close to what is live: the free pages went back.
    expect(out.after).toBeLessThan(out.live * 1.5);
  });
});
