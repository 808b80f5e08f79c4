// Engine figures: how fast the SQLite store applies ops from another replica, takes local
// writes, how many bytes the log costs per op, and how long a full replay takes. Every workload
// is generated from a seed, so runs differ only in timing.

import { statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Op } from '../src/core/op.js';
import { ManualClock } from '../src/ports/clock.js';
import { seededRandom, type Random } from '../src/ports/random.js';
import type { NodePatch } from '../src/ports/store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { medianIfShort, nowMs, perSecond } from './stats.js';
import type { BenchContext, BenchModule, FigureMeta } from './types.js';
import { DAEMON_STORE_OPTIONS } from '../src/daemon/idle-checkpoint.js';

const BATCH = 1000;
const START = Date.UTC(2026, 0, 1);

export const engineFigures: FigureMeta[] = [
  {
    name: 'apply_ops_per_s',
    unit: 'ops/s',
    floor: 'raw_insert_rows_per_s',
    description:
      'applyOps of 100,000 foreign field-set ops (title/state/attention/do_date over 10,000 ' +
      'tasks) into a file store in batches of 1,000; the tasks’ creation ops are applied first, ' +
      'untimed',
  },
  {
    name: 'apply_ops_ratio',
    unit: '×',
    target: { op: '>=', value: 0.3 },
    description: 'apply_ops_per_s / raw_insert_rows_per_s',
  },
  {
    name: 'local_writes_per_s',
    unit: 'writes/s',
    target: { op: '>=', value: 5000 },
    description: '20,000 single-field updateNode calls, each its own transaction, on a file store',
  },
  {
    name: 'oplog_bytes_per_op',
    unit: 'bytes/op',
    target: { op: '<=', value: 400 },
    description:
      'Database file size after the apply run (checkpointed, WAL truncated) / ops in the log ' +
      '(140,000: 40,000 creation ops and 100,000 field sets)',
  },
  {
    name: 'replay_100k_ms',
    unit: 'ms',
    description: 'rebuild() of the apply run’s store (140,000 ops) after one untimed rebuild',
  },
];

/** A one-field patch: the mix of edits a task list sees. */
function randomPatch(r: Random, n: number): NodePatch {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)]!;
  switch (Math.floor(r.next() * 4)) {
    case 0:
      return { title: `Task revision ${n} ${Math.floor(r.next() * 1e6).toString(36)}` };
    case 1:
      return { state: pick(['outstanding', 'done', 'dropped'] as const) };
    case 2:
      return { attention: pick(['white', 'orange', 'red', 'blue'] as const) };
    default: {
      if (r.next() < 0.1) return { do_date: null };
      const day = new Date(START + Math.floor(r.next() * 365) * 86_400_000);
      return { do_date: day.toISOString().slice(0, 10) };
    }
  }
}

function createTasks(store: SqliteStore, clock: ManualClock, count: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i += BATCH) {
    store.transaction(() => {
      for (let j = i; j < Math.min(i + BATCH, count); j++) {
        clock.advance(1);
        ids.push(store.createNode({ kind: 'task', title: `Task ${j}` }).id);
      }
    });
  }
  return ids;
}

export interface Workload {
  creation: Op[];
  updates: Op[];
  digest: string;
  endMs: number;
}

/** Builds the foreign ops on an in-memory source replica. */
export function buildWorkload(tasks: number, updates: number): Workload {
  const clock = new ManualClock(START);
  const source = SqliteStore.open({ path: ':memory:' }, { clock, random: seededRandom(11) });
  try {
    const ids = createTasks(source, clock, tasks);
    const created = source.opCount();
    const r = seededRandom(12);
    for (let i = 0; i < updates; i += BATCH) {
      source.transaction(() => {
        for (let j = i; j < Math.min(i + BATCH, updates); j++) {
          clock.advance(1);
          source.updateNode(ids[Math.floor(r.next() * ids.length)]!, randomPatch(r, j));
        }
      });
    }
    const all: Op[] = [];
    for (let cursor = 0, more = true; more;) {
      const page = source.opsSince(cursor, 100_000);
      for (const op of page.ops) all.push(op);
      cursor = page.cursor;
      more = page.more;
    }
    const result = {
      creation: all.slice(0, created),
      updates: all.slice(created),
      digest: source.digest(),
      endMs: clock.now(),
    };
    if (result.updates.length !== updates) {
      throw new Error(
        `expected ${updates} field-set ops, the source made ${result.updates.length}`,
      );
    }
    return result;
  } finally {
    source.close();
  }
}

export function applyAll(store: SqliteStore, ops: readonly Op[]): void {
  for (let i = 0; i < ops.length; i += BATCH) {
    const batch = ops.slice(i, i + BATCH);
    const r = store.applyOps(batch);
    if (r.applied.length !== batch.length) {
      throw new Error(
        `applyOps applied ${r.applied.length} of ${batch.length} ops ` +
          `(${r.duplicates} duplicates, ${r.refused.length} refused: ${r.refused[0]?.message})`,
      );
    }
  }
}

function fileBytes(path: string): number {
  const wal = `${path}-wal`;
  return statSync(path).size + (existsSync(wal) ? statSync(wal).size : 0);
}

async function applyAndReplay(ctx: BenchContext): Promise<Record<string, number>> {
  const tasks = ctx.size(10_000, 1_000);
  const updates = ctx.size(100_000, 10_000);
  ctx.progress(`generating ${updates} field-set ops over ${tasks} tasks`);
  const w = buildWorkload(tasks, updates);
  const dir = ctx.tempDir();
  const clock = new ManualClock(w.endMs + 60_000);
  const open = (path: string, seed: number): SqliteStore =>
    SqliteStore.open({ path, ...DAEMON_STORE_OPTIONS }, { clock, random: seededRandom(seed) });

  const applied = await medianIfShort(
    (attempt) => {
      const path = join(dir, `apply-${attempt}.db`);
      const store = open(path, 100 + attempt);
      try {
        applyAll(store, w.creation); // untimed; also warms up the apply path
        const t0 = nowMs();
        applyAll(store, w.updates);
        const ms = nowMs() - t0;
        return { ms, value: perSecond(updates, ms), path };
      } finally {
        store.close();
      }
    },
    (s, attempt) => ctx.progress(`apply run ${attempt}: ${s.value.toFixed(0)} ops/s`),
  );

  let store = open(applied.path, 200);
  const ops = store.opCount();
  if (store.digest() !== w.digest) throw new Error('applied store digest differs from the source');
  store.close();
  const db = new Database(applied.path);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const bytesPerOp = fileBytes(applied.path) / ops;
  ctx.progress(`log: ${ops} ops, ${bytesPerOp.toFixed(0)} bytes per op`);

  store = open(applied.path, 201);
  try {
    store.rebuild(); // warm-up
    const replay = await medianIfShort(
      () => {
        const t0 = nowMs();
        store.rebuild();
        const ms = nowMs() - t0;
        return { ms, value: ms };
      },
      (s, attempt) => ctx.progress(`replay run ${attempt}: ${s.value.toFixed(0)} ms`),
    );
    if (store.digest() !== w.digest)
      throw new Error('rebuilt store digest differs from the source');
    const out: Record<string, number> = {
      apply_ops_per_s: applied.value,
      oplog_bytes_per_op: bytesPerOp,
      replay_100k_ms: replay.value,
    };
    const raw = ctx.figures.raw_insert_rows_per_s;
    if (raw !== undefined) out.apply_ops_ratio = applied.value / raw;
    else ctx.progress('apply_ops_ratio needs the floors module; run it too to get the ratio');
    return out;
  } finally {
    store.close();
  }
}

async function localWrites(ctx: BenchContext): Promise<number> {
  const writes = ctx.size(20_000, 2_000);
  const dir = ctx.tempDir();
  const best = await medianIfShort(
    (attempt) => {
      const clock = new ManualClock(START);
      const store = SqliteStore.open(
        { path: join(dir, `local-${attempt}.db`) },
        { clock, random: seededRandom(300 + attempt) },
      );
      try {
        const ids = createTasks(store, clock, 1000);
        const r = seededRandom(13);
        const edits = Array.from({ length: 1000 + writes }, (_, n) => ({
          id: ids[Math.floor(r.next() * ids.length)]!,
          patch: randomPatch(r, n),
        }));
        for (const e of edits.slice(0, 1000)) {
          clock.advance(1);
          store.updateNode(e.id, e.patch); // warm-up
        }
        const timed = edits.slice(1000);
        const t0 = nowMs();
        for (const e of timed) {
          clock.advance(1);
          store.updateNode(e.id, e.patch);
        }
        const ms = nowMs() - t0;
        return { ms, value: perSecond(writes, ms) };
      } finally {
        store.close();
      }
    },
    (s, attempt) => ctx.progress(`local writes run ${attempt}: ${s.value.toFixed(0)} writes/s`),
  );
  return best.value;
}

export const engine: BenchModule = {
  name: 'engine',
  figures: engineFigures,
  async run(ctx) {
    const applied = await applyAndReplay(ctx);
    return { ...applied, local_writes_per_s: await localWrites(ctx) };
  },
};
