// The skip detector: K writers push to one owner's log at once while R readers tail it with
// small limits, each following its cursor; when the writers are done and the readers have caught
// up, every acknowledged op must have been seen by every reader exactly once, in log order. A
// reader at cursor C that sees stamp C+2 before C+1 commits skips C+1 forever: the detector
// counts such ops as skipped. Used by the tests (with a negative control that must make it
// report skips) and by the benchmarks (pg_skipped_ops, pg_lost_ops). Free of vitest.

import { encodeHlc } from '../../src/core/hlc.js';
import type { Random } from '../../src/ports/random.js';

export interface DetectorWriter {
  /** Pushes ops to the owner's log; resolves with the ids it acknowledged. */
  push(ops: readonly object[]): Promise<string[]>;
}

export interface DetectorReader {
  /** A page after `after` (op ids in order), with its cursor. */
  read(after: number, limit: number): Promise<{ ids: string[]; cursor: number }>;
  /** Waits (briefly) for something after `after`. */
  wait(after: number): Promise<void>;
}

export interface DetectorOptions {
  writers: DetectorWriter[];
  /** One reader per limit (e.g. 1, 3, 7). */
  readers: { limit: number; reader: DetectorReader }[];
  pushesPerWriter: number;
  maxOpsPerPush: number;
  random: Random;
  /** The log as it is once everything committed (ids in stamp order). */
  finalLog(): Promise<string[]>;
}

export interface DetectorReport {
  acknowledged: number;
  /** Acknowledged ops some reader never saw (summed over readers). */
  skipped: number;
  /** Acknowledged ops missing from the final log (lost writes). */
  lost: number;
  /** Ops a reader saw more than once (summed over readers). */
  duplicated: number;
  /** Readers whose sequence differs from the final log's order (beyond skips). */
  outOfOrder: number;
}

const T0 = Date.UTC(2026, 10, 22, 12);

function origin(i: number): string {
  return (i + 1).toString(16).padStart(16, 'c');
}

export async function runSkipDetector(o: DetectorOptions): Promise<DetectorReport> {
  const acked: string[] = [];
  let writing = true;
  const writers = o.writers.map(async (w, wi) => {
    let counter = 0;
    for (let p = 0; p < o.pushesPerWriter; p++) {
      const n = 1 + Math.floor(o.random.next() * o.maxOpsPerPush);
      const ops = Array.from({ length: n }, () => {
        const c = counter++;
        return {
          id: encodeHlc({ wall: T0, counter: c, origin: origin(wi) }),
          kind: 'node.set',
          target: `01JAAAAAAAAAAAAAAAAAAAA${String(wi).padStart(3, '0')}`,
          payload: { field: 'title', value: `w${wi} ${c}`, prev: [] },
        };
      });
      acked.push(...(await w.push(ops)));
    }
  });
  const readers = o.readers.map(async ({ limit, reader }) => {
    const seen: string[] = [];
    let cursor = 0;
    for (;;) {
      const done = !writing;
      const page = await reader.read(cursor, limit);
      seen.push(...page.ids);
      cursor = page.cursor;
      if (page.ids.length > 0) continue;
      if (done) return seen;
      await reader.wait(cursor);
    }
  });
  // A reader that fails fails the run, when it is awaited below (not as an unhandled rejection).
  for (const r of readers) r.catch(() => undefined);
  await Promise.all(writers);
  writing = false;
  const views = await Promise.all(readers);
  const log = await o.finalLog();
  const inLog = new Set(log);
  const report: DetectorReport = {
    acknowledged: acked.length,
    skipped: 0,
    lost: acked.filter((id) => !inLog.has(id)).length,
    duplicated: 0,
    outOfOrder: 0,
  };
  for (const seen of views) {
    const once = new Set(seen);
    report.duplicated += seen.length - once.size;
    report.skipped += acked.filter((id) => !once.has(id)).length;
    const order = log.filter((id) => once.has(id));
    if (order.join() !== [...once].join()) report.outOfOrder++;
  }
  return report;
}
