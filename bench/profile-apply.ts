// A tool for profiling apply_ops_per_s, not a benchmark module:
//   node [--cpu-prof] dist/bench/profile-apply.js [--runs N] [--reads]
// Builds the engine module's workload once, then N times applies its creation ops (untimed) and
// its 100,000 field sets into a fresh file store in 1,000-op batches, like the bench, and prints
// the wall and CPU time (process.cpuUsage, user + system) of the timed part, best of N. With
// --reads the timed part is heph_apply_edits_per_s's (peers-fields.ts): the apply and the work
// that makes reads current (the search index's catch-up, one `next`, one search).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../src/ports/clock.js';
import { seededRandom } from '../src/ports/random.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { Model } from '../src/model/model.js';
import { applyAll, buildWorkload } from './engine.js';
import { DAEMON_STORE_OPTIONS } from '../src/daemon/idle-checkpoint.js';
import { hephApplyForReads } from './peers-fields.js';
import { nowMs } from './stats.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 3;
const reads = process.argv.includes('--reads');
const w = buildWorkload(10_000, 100_000);
const dir = mkdtempSync(join(tmpdir(), 'heph-profile-apply-'));
let best = Infinity;
try {
  for (let i = 1; i <= runs; i++) {
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
      const c0 = process.cpuUsage();
      const t0 = nowMs();
      apply(w.updates);
      const ms = nowMs() - t0;
      const c = process.cpuUsage(c0);
      const cpuMs = (c.user + c.system) / 1000;
      best = Math.min(best, cpuMs);
      const ok = store.digest() === w.digest ? 'digest ok' : 'DIGEST DIFFERS';
      process.stderr.write(
        `run ${i}: ${(w.updates.length / (ms / 1000)).toFixed(0)} ops/s wall, ` +
          `CPU ${cpuMs.toFixed(0)} ms (${(w.updates.length / (cpuMs / 1000)).toFixed(0)} ops/s), ${ok}\n`,
      );
    } finally {
      store.close();
    }
  }
  process.stderr.write(`best CPU ${best.toFixed(0)} ms\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
