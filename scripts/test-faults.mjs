#!/usr/bin/env node
// Crash trials against real processes: for each sync failpoint (push.before_send,
// push.after_response, pull.after_apply), a spoke hephd with HEPH_FAILPOINT set is killed by
// SIGKILL at that point of a sync, restarted without it, and must end with the hub holding every
// op exactly once and the same state digest as the spoke. `npm test` runs one trial per
// failpoint; this runs as many as asked.
//
//   npm run build && node scripts/test-faults.mjs --trials 20
//   npm run test:faults -- --trials 20

import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { trials: { type: 'string', default: '10' } } });
const trials = Number(values.trials);
if (!Number.isInteger(trials) || trials < 1) {
  process.stderr.write('test-faults: --trials must be a whole number of at least 1\n');
  process.exit(2);
}
const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const r = spawnSync('npx', ['vitest', 'run', 'test/sync/process.test.ts', '-t', 'killed at'], {
  stdio: 'inherit',
  env: { ...process.env, HEPH_FAULT_TRIALS: String(trials) },
});
process.exit(r.status ?? 1);
