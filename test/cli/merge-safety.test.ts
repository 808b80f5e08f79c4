// Merge safety as a user meets it: the built `heph` against real `hephd` processes. A database
// of the earlier version (the committed schema-4 fixture, vault:Home doubled by two imports) is
// checked and repaired by `heph repair`, or by the next `heph import` of the folder the note
// came from; a save naming changes the device does not have yet is refused with exit 4 and
// changes nothing, and succeeds once the device has synced.

import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Closers } from '../merge/helpers.js';
import {
  assertBuilt,
  baseEnv,
  heph,
  json,
  startDaemon,
  tempHome,
  type Daemon,
  type Run,
} from './helpers.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const facts = JSON.parse(readFileSync(join(FIXTURES, 'store-v4.json'), 'utf8')) as {
  home: string;
  homeText: string;
};
const HOME = facts.home;

const closers = new Closers();
afterEach(() => closers.run());

interface Device {
  dir: string;
  daemon: Daemon;
  run(args: string[], input?: string): Promise<Run>;
}

/** hephd on a fresh home; on a copy of the v4 fixture when asked. */
async function device(opts: { fixture?: boolean; hubUrl?: string } = {}): Promise<Device> {
  assertBuilt();
  const home = tempHome();
  closers.add(() => home.cleanup());
  if (opts.fixture) copyFileSync(join(FIXTURES, 'store-v4.sqlite'), join(home.dir, 'heph.db'));
  const daemon = await startDaemon(
    home.dir,
    opts.hubUrl === undefined ? [] : ['--hub-url', opts.hubUrl],
  );
  closers.add(() => daemon.stop());
  const env = baseEnv({ ...home.env, HEPH_SOCKET: daemon.socket });
  return {
    dir: home.dir,
    daemon,
    run: (args, input) => heph(args, { env, ...(input !== undefined && { input }) }),
  };
}

function ok(r: Run): Run {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

const doubled = facts.homeText.repeat(2);

describe('heph repair on a database the earlier version doubled a body in', () => {
  it('--check lists it and changes nothing; repair makes it single; then nothing is left', async () => {
    const d = await device({ fixture: true });
    expect(ok(await d.run(['get', HOME, '--body'])).stdout).toBe(doubled);
    const check = ok(await d.run(['repair', '--check']));
    expect(check.stdout).toMatch(
      new RegExp(
        `^1 note has a doubled body:\\n  \\S+ +Home  2 copies of ${facts.homeText.length} characters\\n` +
          'Run `heph repair` to make it single.\\n$',
      ),
    );
    expect(json(ok(await d.run(['repair', '--check', '--json'])))).toEqual({
      doubled: [
        { id: HOME, title: 'Home', copies: 2, length: facts.homeText.length, fixable: true },
      ],
      fixed: 0,
    });
    expect(ok(await d.run(['get', HOME, '--body'])).stdout).toBe(doubled);

    expect(ok(await d.run(['repair'])).stdout).toBe('Repaired 1 note.\n');
    expect(ok(await d.run(['get', HOME, '--body'])).stdout).toBe(facts.homeText);
    expect(ok(await d.run(['repair', '--check'])).stdout).toBe('No doubled bodies.\n');
    expect(json(ok(await d.run(['repair', '--json'])))).toEqual({ doubled: [], fixed: 0 });
    // Every other note of the old database is as it was.
    expect(ok(await d.run(['get', 'Offline note', '--body'])).stdout).toBe('written on the train');
  });

  it('heph import of the folder holding Home.md repairs it too', async () => {
    const d = await device({ fixture: true });
    const vault = join(d.dir, 'vault');
    mkdirSync(vault);
    writeFileSync(join(vault, 'Home.md'), facts.homeText);
    const r = json(ok(await d.run(['import', vault, '--json'])));
    expect(r).toMatchObject({ created: 0, updated: 1, errors: [] });
    expect(ok(await d.run(['get', HOME, '--body'])).stdout).toBe(facts.homeText);
    expect(ok(await d.run(['repair', '--check'])).stdout).toBe('No doubled bodies.\n');
  });
});

describe('a save naming changes this device does not have', () => {
  it('exits 4 with what to do and changes nothing; after a sync the same save succeeds', async () => {
    const hub = await closers.hub();
    const d = await device({ hubUrl: hub.url });
    const created = json(
      ok(await d.run(['doc', 'Shared', '--body', '-', '--json'], 'alpha\nbeta\n')),
    );
    const id = created.id as string;
    ok(await d.run(['sync']));
    // Another device has the note and edits it, without syncing yet.
    const e = closers.device('E', hub.url);
    await e.sync();
    const ahead = await e.call('node.update', { id, body: 'alpha\nbeta\ngamma (E)\n' });
    const save = { id, body: 'alpha (D)\nbeta\ngamma (E)\n', base_version: ahead.body_version };

    const before = json(ok(await d.run(['status', '--digest', '--json'])));
    expect(before.digest).toMatch(/^[0-9a-f]{64}$/);
    const refused = await d.run(['call', 'node.update', JSON.stringify(save)]);
    expect(refused.code).toBe(4);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /^heph: base_version names changes to \S+ that are not here yet: sync, then read the body again\n$/,
    );
    const bad = await d.run([
      'call',
      'node.update',
      JSON.stringify({ ...save, base_version: 'v1' }),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/base_version/);
    const after = json(ok(await d.run(['status', '--digest', '--json'])));
    expect(after.digest).toBe(before.digest);
    expect(after.ops).toBe(before.ops);
    expect(ok(await d.run(['get', id, '--body'])).stdout).toBe('alpha\nbeta\n');

    await e.sync();
    ok(await d.run(['sync']));
    const saved = json(ok(await d.run(['call', 'node.update', JSON.stringify(save)])));
    expect(saved.body).toBe(save.body);
    expect(ok(await d.run(['get', id, '--body'])).stdout).toBe(save.body);
  });
});
