// The shipped `heph` runs the CLI bundled into two files (scripts/bundle-cli.mjs): main.cjs, with
// only what the commands people run most use, and full.cjs with every command. Those commands
// load main.cjs and nothing else: not full.cjs, no other file of heph, no package (not ulid, zod,
// yargs or the sign-in client) and not node:crypto (about 3 ms to load); any other command line
// runs in full.cjs. A preload records, at exit, every file node's require() loaded and whether
// node:crypto was.

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { FAST_COMMANDS } from '../../src/cli/fast-main.js';
import { HEPH, json, ok, ROOT, str, useDevice } from './helpers.js';

const device = useDevice();
const BUNDLE = join(ROOT, 'dist', 'bundle', 'cli', 'main.cjs');
const FULL = join(ROOT, 'dist', 'bundle', 'cli', 'full.cjs');

/** The files `heph args` loaded, in the order loaded, then 'node:crypto' if it was loaded. */
async function loaded(args: string[], expectOk = true): Promise<string[]> {
  const dir = device.home.dir;
  const probe = join(dir, 'probe.cjs');
  const out = join(dir, 'loaded.json');
  writeFileSync(
    probe,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, ` +
      `JSON.stringify([...Object.keys(require.cache).filter((f) => f !== __filename), ` +
      `...(process.moduleLoadList.includes('NativeModule crypto') ? ['node:crypto'] : [])])));\n`,
  );
  const r = await device.run(args, undefined, { NODE_OPTIONS: `--require ${probe}` });
  if (expectOk) ok(r);
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

it('every fast command runs in the fast bundle alone, and any other command in the full one', async () => {
  const id = str(
    (
      json(ok(await device.run(['add', 'Water the plants', '--json']))).task as Record<
        string,
        unknown
      >
    ).id,
  );
  const lines: Record<string, string[]> = {
    next: ['next', '-n', '3'],
    add: ['add', 'Pay rent', '--json'],
    status: ['status'],
    done: ['done', id],
    skip: ['skip', id],
    drop: ['drop', id],
    reopen: ['reopen', id],
  };
  expect(new Set(Object.keys(lines))).toEqual(FAST_COMMANDS);
  for (const [name, args] of Object.entries(lines)) {
    expect(await loaded(args, false), name).toEqual([HEPH, BUNDLE]);
  }
  // The positive control: other command lines run in full.cjs. One naming no fast command is
  // sent there by bin/heph.js without main.cjs; one naming a fast command word (`help next`)
  // loads main.cjs, which hands it on, and nothing of full.cjs is evaluated in main.cjs's place.
  for (const args of [['help'], ['--help'], ['tag', 'list'], ['__complete', 'ta']]) {
    expect((await loaded(args)).slice(0, 2), args.join(' ')).toEqual([HEPH, FULL]);
  }
  for (const args of [
    ['help', 'next'],
    ['__complete', 'next', '-'],
  ]) {
    expect((await loaded(args)).slice(0, 3), args.join(' ')).toEqual([HEPH, BUNDLE, FULL]);
  }
});

it('bin/heph.js names exactly the fast commands as the words that need main.cjs', () => {
  const m = /const FAST_WORDS = (\[[^\]]*\]);/.exec(readFileSync(HEPH, 'utf8'));
  expect(m).not.toBeNull();
  const words = JSON.parse(m![1]!.replace(/'/g, '"')) as string[];
  expect(words).toHaveLength(FAST_COMMANDS.size);
  expect(new Set(words)).toEqual(FAST_COMMANDS);
});

it('the fast bundle stays under 128 KiB, which V8 reads into its ordinary pages', () => {
  expect(statSync(BUNDLE).size).toBeLessThan(128 * 1024);
  expect(statSync(FULL).size).toBeGreaterThan(statSync(BUNDLE).size);
});
