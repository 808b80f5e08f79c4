// A tool for profiling apply_ops_per_s, not a benchmark module:
//   node dist/bench/profile-apply.js [--runs N] [--reads] [--naive] [--profile FILE]
// Builds the engine module's workload once, then N times applies its creation ops (untimed) and
// its 100,000 field sets into a fresh file store in 1,000-op batches, like the bench, and prints
// the wall and CPU time (process.cpuUsage, user + system) and the bytes written
// (/proc/self/io write_bytes) of the timed part, best of N. With --reads the timed part is
// heph_apply_edits_per_s's (peers-fields.ts): the apply and the work that makes reads current
// (the search index's catch-up, one `next`, one search). With --naive each run also times the
// plain last-writer-wins op-log the peers module compares against, on the same edits. With
// --profile the timed part of the last run is CPU-profiled (node:inspector) into FILE.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../src/ports/clock.js';
import { seededRandom } from '../src/ports/random.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { Model } from '../src/model/model.js';
import { applyAll, buildWorkload } from './engine.js';
import { DAEMON_STORE_OPTIONS } from '../src/daemon/idle-checkpoint.js';
import { editsOf, hephApplyForReads, NaiveLog } from './peers-fields.js';
import { nowMs } from './stats.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 3);
const reads = process.argv.includes('--reads');
const naive = process.argv.includes('--naive');
const profileFile = arg('--profile');
const w = buildWorkload(10_000, 100_000);
const dir = mkdtempSync(join(tmpdir(), 'heph-profile-apply-'));

function writeBytes(): number {
  const m = /^write_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Times `fn`: wall ms, CPU ms (user + system) and MB written. */
function measure(fn: () => void): { ms: number; cpuMs: number; mb: number } {
  const b0 = writeBytes();
  const c0 = process.cpuUsage();
  const t0 = nowMs();
  fn();
  const ms = nowMs() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000, mb: (writeBytes() - b0) / 1e6 };
}

function line(label: string, m: { ms: number; cpuMs: number; mb: number }): string {
  const rate = (ms: number) => (w.updates.length / (ms / 1000)).toFixed(0);
  return (
    `${label}: ${rate(m.ms)} ops/s wall, CPU ${m.cpuMs.toFixed(0)} ms (${rate(m.cpuMs)} ops/s), ` +
    `${m.mb.toFixed(0)} MB written`
  );
}

async function profiled<T>(on: boolean, fn: () => T): Promise<T> {
  if (!on || profileFile === undefined) return fn();
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))),
    );
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  const out = fn();
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  writeFileSync(profileFile, JSON.stringify(profile));
  session.disconnect();
  return out;
}

let best = Infinity;
try {
  const edits = naive ? editsOf([...w.creation, ...w.updates]) : [];
  for (let i = 1; i <= runs; i++) {
    if (naive) {
      const log = new NaiveLog(join(dir, `naive-${i}.db`));
      try {
        log.apply(edits.slice(0, w.creation.length));
        process.stderr.write(
          `${line(
            `run ${i} baseline`,
            measure(() => log.apply(edits.slice(w.creation.length))),
          )}\n`,
        );
      } finally {
        log.close();
      }
    }
    const clock = new ManualClock(w.endMs + 60_000);
    const store = SqliteStore.open(
      { path: join(dir, `apply-${i}.db`), ...DAEMON_STORE_OPTIONS },
      { clock, random: seededRandom(100 + i) },
    );
    try {
      const model = new Model(store, { clock, timeZone: 'UTC' });
      const apply = reads
        ? (ops: typeof w.updates) => hephApplyForReads(store, model, ops)
        : (ops: typeof w.updates) => applyAll(store, ops);
      apply(w.creation);
      const m = await profiled(i === runs, () => measure(() => apply(w.updates)));
      best = Math.min(best, m.cpuMs);
      const ok = store.digest() === w.digest ? 'digest ok' : 'DIGEST DIFFERS';
      process.stderr.write(`${line(`run ${i} heph`, m)}, ${ok}\n`);
    } finally {
      store.close();
    }
  }
  process.stderr.write(`best heph CPU ${best.toFixed(0)} ms\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
