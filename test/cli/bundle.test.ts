// The shipped `heph` runs the CLI bundled into one file (scripts/bundle-cli.mjs), and the
// commands people run most load almost nothing else: no other file of heph, no package (not
// ulid, zod, yargs or the sign-in client) and not node:crypto (about 3 ms to load). A preload
// records, at exit, every file node's require() loaded and whether node:crypto was.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { HEPH, ok, ROOT, useDevice } from './helpers.js';

const device = useDevice();
const BUNDLE = join(ROOT, 'dist', 'bundle', 'cli', 'main.cjs');

/** The files `heph args` loaded, in the order loaded, then 'node:crypto' if it was loaded. */
async function loaded(args: string[]): Promise<string[]> {
  const dir = device.home.dir;
  const probe = join(dir, 'probe.cjs');
  const out = join(dir, 'loaded.json');
  writeFileSync(
    probe,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, ` +
      `JSON.stringify([...Object.keys(require.cache).filter((f) => f !== __filename), ` +
      `...(process.moduleLoadList.includes('NativeModule crypto') ? ['node:crypto'] : [])])));\n`,
  );
  ok(await device.run(args, undefined, { NODE_OPTIONS: `--require ${probe}` }));
  return JSON.parse(readFileSync(out, 'utf8')) as string[];
}

it('heph next, add and status load the bundle and nothing else', async () => {
  expect(await loaded(['add', 'Call the plumber tomorrow !orange #Home'])).toEqual([HEPH, BUNDLE]);
  expect(await loaded(['next'])).toEqual([HEPH, BUNDLE]);
  expect(await loaded(['status'])).toEqual([HEPH, BUNDLE]);
});

it('a command that needs a package loads it when it runs (yargs for --help)', async () => {
  // Positive control for the probe: `heph auth status` reads the tokens file (node:crypto).
  expect(await loaded(['auth', 'status', '--hub', 'https://hub.example.org'])).toContain(
    'node:crypto',
  );
  const files = await loaded(['next', '--help']);
  expect(files.slice(0, 2)).toEqual([HEPH, BUNDLE]);
  expect(files.some((f) => f.includes(join('node_modules', 'yargs')))).toBe(true);
});
