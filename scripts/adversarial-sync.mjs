#!/usr/bin/env node
// The seeded body race of test/sync/adversarial.test.ts, as many rounds as asked: a real hub and
// three real device daemons edit one note's body offline (appending, inserting into and rewriting
// lines, deleting paragraphs, with emoji, combining accents and right-to-left text), sync in
// random orders, and every edit must be there exactly once unless someone who saw it removed it.
// `npm test` runs one round (seed 2); each round prints its seed, and a failure names it.
//
//   node scripts/adversarial-sync.mjs --seed 1 --runs 50
//   npm run test:adversarial -- --seed 1 --runs 50

import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    runs: { type: 'string', default: '20' },
  },
});
const seed = Number(values.seed);
const runs = Number(values.runs);
for (const [name, v] of [
  ['--seed', seed],
  ['--runs', runs],
]) {
  if (!Number.isInteger(v) || v < (name === '--runs' ? 1 : 0)) {
    process.stderr.write(
      `adversarial-sync: ${name} must be a whole number (got ${values[name.slice(2)]})\n`,
    );
    process.exit(2);
  }
}
process.stdout.write(`adversarial-sync: seeds ${seed} to ${seed + runs - 1}\n`);
const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const r = spawnSync(
  'npx',
  ['vitest', 'run', 'test/sync/adversarial.test.ts', '-t', 'three devices editing one body'],
  {
    stdio: 'inherit',
    env: { ...process.env, HEPH_ADV_SEED: String(seed), HEPH_ADV_RUNS: String(runs) },
  },
);
process.exit(r.status ?? 1);
