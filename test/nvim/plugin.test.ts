// heph.nvim in a real `nvim --headless` against a real hephd: each case of test/nvim/cases.lua
// runs in its own Neovim (test/nvim/runner.lua drives it and reports back as JSON), with a
// clean environment, and this file checks the daemon's side. Where a case needs something done
// outside the editor (another process edits a note, the daemon restarts), it asks for a step
// and waits until this file has done it.

import { execFile, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/ports/clock.js';
import { seededRandom } from '../../src/ports/random.js';
import { openStore } from '../../src/store/open-store.js';
import type { RpcClient } from '../../src/transport/socket-client.js';
import { openTestStore } from '../helpers/store.js';
import { exchange } from '../model/helpers.js';
import { checkResult, openMethods, type MethodsEnv } from '../rpc/harness.js';
import { cleanEnv, REPO, sleep, useDaemons, type DaemonProcess } from '../daemon/helpers.js';

const PLUGIN = join(REPO, 'editors', 'nvim');
const RUNNER = join(REPO, 'test', 'nvim', 'runner.lua');
const INIT = join(REPO, 'test', 'nvim', 'init.lua');
const CASE_MS = 25_000;
const execFileAsync = promisify(execFile);

/** Fails at once, naming the package, where Neovim is missing or too old. */
function requireNvim(): void {
  const r = spawnSync('nvim', ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(
      'nvim is not installed: the heph.nvim tests run a real Neovim 0.7 or later ' +
        '(Debian: `apt-get install neovim`; .ci/run installs it)',
    );
  }
  const m = /NVIM v(\d+)\.(\d+)/.exec(r.stdout);
  if (m === null || Number(m[1]) * 100 + Number(m[2]) < 7) {
    throw new Error(`heph.nvim needs Neovim 0.7 or later; found ${r.stdout.split('\n')[0]}`);
  }
}

interface CaseResult {
  ok: boolean;
  error?: string;
  messages: string;
  notices: { msg: string; level: number }[];
  calls: { method: string; result: unknown }[];
}

type Steps = Record<string, (data: unknown) => Promise<unknown>>;

const h = useDaemons();
// The method registry, for the result schemas rpc.methods publishes.
let schemas: MethodsEnv;
afterAll(() => schemas.close());
let daemon: DaemonProcess;
let client: RpcClient;
let home: string;
const ids: Record<string, string> = {};

async function call<T = Record<string, unknown>>(
  method: string,
  params: Record<string, unknown> = {},
): Promise<T> {
  return (await client.call(method, params)) as T;
}

/** Runs one case in its own Neovim; fails with the case's error and what Neovim showed. */
async function runCase(
  name: string,
  opts: { socket?: string; args?: Record<string, unknown>; steps?: Steps } = {},
): Promise<CaseResult> {
  const ctl = h.dir();
  const out = join(ctl, 'out.json');
  const stepsFile = join(ctl, 'steps');
  writeFileSync(stepsFile, '');
  const child = spawn(
    'nvim',
    ['--headless', '-n', '-i', 'NONE', '-u', INIT, '-c', `luafile ${RUNNER}`],
    {
      cwd: ctl,
      env: {
        ...cleanEnv(home),
        HEPH_SOCKET: opts.socket ?? daemon.socket,
        HEPH_NVIM_PLUGIN: PLUGIN,
        HEPH_NVIM_CASE: name,
        HEPH_NVIM_OUT: out,
        HEPH_NVIM_CTL: ctl,
        HEPH_NVIM_ARGS: JSON.stringify({
          ...ids,
          dir: ctl,
          socket: opts.socket ?? daemon.socket,
          ...opts.args,
        }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + CASE_MS;
  let handled = 0;
  try {
    while (!done) {
      const requested = readFileSync(stepsFile, 'utf8').split('\n').filter(Boolean);
      for (const line of requested.slice(handled)) {
        const { step, data } = JSON.parse(line) as { step: string; data: unknown };
        const fn = opts.steps?.[step];
        if (fn === undefined) throw new Error(`case ${name} asked for an unknown step ${step}`);
        const reply = await fn(data);
        writeFileSync(join(ctl, `${step}.done`), JSON.stringify(reply ?? {}));
        handled++;
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`case ${name} did not finish in ${CASE_MS} ms:\n${output}`);
      }
      await sleep(20);
    }
  } finally {
    if (!done) child.kill('SIGKILL');
  }
  if (!existsSync(out)) throw new Error(`case ${name}: nvim exited without a result:\n${output}`);
  const result = JSON.parse(readFileSync(out, 'utf8')) as CaseResult;
  if (!result.ok) {
    throw new Error(
      `case ${name} failed: ${result.error}\n:messages:\n${result.messages}\n${output}`,
    );
  }
  // Every answer the plugin read has the shape rpc.methods publishes.
  for (const c of result.calls) checkResult(schemas.registry, c.method, c.result);
  return result;
}

/** A database holding a title written concurrently on two devices (a conflict to resolve). */
function conflictDatabase(path: string): string {
  const clock = new ManualClock(Date.now() - 60_000);
  const a = openStore({ path }, { clock, random: seededRandom(11) });
  const b = openTestStore({ clock });
  try {
    const trip = a.createNode({ kind: 'doc', title: 'Trip', body: 'plans\n' });
    exchange(a, b.store);
    clock.advance(1000);
    a.updateNode(trip.id, { title: 'Trip to Rome' });
    b.store.updateNode(trip.id, { title: 'Trip to Oslo' });
    exchange(a, b.store);
    return trip.id;
  } finally {
    a.close();
    b.close();
  }
}

beforeAll(async () => {
  requireNvim();
  schemas = openMethods();
  home = h.dir();
  const db = join(home, 'heph.db');
  ids.trip = conflictDatabase(db);
  daemon = await h.start({ db, socket: join(home, 'd.sock') });
  client = await h.client(daemon.socket);
  const note = async (title: string, body: string, aliases?: string[]) =>
    await call<{ id: string; short_id: string }>('node.create', {
      kind: 'doc',
      title,
      body,
      ...(aliases && { aliases }),
    });
  const garden = await note('Garden', '# Garden\n\nTomatoes\nBeans\n', ['veg']);
  ids.garden = garden.id;
  ids.garden_short = garden.short_id;
  ids.beans = (await note('Beans', 'Climbing beans.\n')).id;
  ids.links = (
    await note('Links', 'See [[Beans]] and [[Missing note|the missing one]].\nPlain line\n')
  ).id;
  ids.reload = (await note('Reload me', 'one\ntwo\nthree\n')).id;
  ids.merge = (await note('Merge me', 'alpha\nbeta\ngamma\n')).id;
  const task = async (p: Record<string, unknown>) =>
    await call<{ task: { id: string }; context: string }>('task.create', p);
  ids.rent = (await task({ title: 'Pay rent', attention: 'red' })).task.id;
  ids.water = (
    await task({ title: 'Water plants', attention: 'orange', late_on: '2099-01-01' })
  ).task.id;
  const mom = await task({ title: 'Call mom' });
  ids.mom_context = mom.context;
  ids.stretch = (
    await call<{ task: { id: string } }>('add', { text: 'Stretch every day' })
  ).task.id;
});

describe('heph.nvim', () => {
  it('opens a note by title, alias and short id, and :w saves it', async () => {
    const r = await runCase('open_edit_save');
    expect(new Set(r.calls.map((c) => c.method))).toEqual(
      new Set(['node.resolve', 'node.get', 'node.update', 'events.subscribe']),
    );
    expect((await call('node.get', { id: ids.garden })).body).toBe(
      '# Garden\n\nTomatoes\nBeans\nPeas\n',
    );
  });

  it('reloads an unmodified buffer in place when another process changes the note', async () => {
    await runCase('reload_unmodified', {
      steps: {
        edit_elsewhere: async () => {
          const n = await call<{ body: string; body_version: string }>('node.get', {
            id: ids.reload,
          });
          await call('node.update', {
            id: ids.reload,
            body: `zero\n${n.body}`,
            base_version: n.body_version,
          });
        },
      },
    });
    expect((await call('node.get', { id: ids.reload })).body).toBe('zero\none\ntwo\nthree\nfour\n');
  });

  it('keeps both edits when a modified buffer is saved after a concurrent edit', async () => {
    await runCase('merge_on_save');
    expect((await call('node.get', { id: ids.merge })).body).toBe(
      'ALPHA from elsewhere\nbeta\ngamma\nmine at the end\n',
    );
  });

  it('completes [[ with titles and aliases (omnifunc, completefunc, typing [[)', async () => {
    await runCase('link_completion');
  });

  it("opens a link's note with gf and <CR>, and creates a missing one after asking", async () => {
    await runCase('follow_links');
    const made = await call<{ nodes: { title: string }[] }>('node.list', { kind: 'doc' });
    expect(made.nodes.filter((n) => n.title === 'Missing note')).toHaveLength(1);
  });

  it(':Heph next lists tasks; keys mark done, skip, set the do-date and open the note', async () => {
    await runCase('tasks');
    const water = await call<{ state: string }>('task.get', { id: ids.water });
    expect(water.state).toBe('done');
    const rent = await call<{ do_date: string }>('task.get', { id: ids.rent });
    expect(rent.do_date).toBe('2099-03-04');
    const stretch = await call<{ do_date: string }>('task.get', { id: ids.stretch });
    expect(stretch.do_date > new Date().toISOString().slice(0, 10)).toBe(true);
    const search = await call<{ results: { title: string }[] }>('search', { query: 'stamps' });
    expect(search.results.map((r) => r.title)).toContain('Buy stamps');
  });

  it('fills the quickfix list with search results and backlinks', async () => {
    await runCase('search_and_backlinks');
  });

  it('status() for a statusline, and :checkhealth heph', async () => {
    // The database started with one conflict: the line says so.
    expect((await call<{ conflicts: number }>('sync.status')).conflicts).toBe(1);
    await runCase('status_and_health', { args: { status: 'heph: local · 1 conflict' } });
  });

  it(':Heph conflicts keeps the value chosen, for every device', async () => {
    expect((await call<{ conflicts: unknown[] }>('conflicts.list')).conflicts).toHaveLength(1);
    await runCase('conflicts');
    expect((await call<{ conflicts: unknown[] }>('conflicts.list')).conflicts).toEqual([]);
  });

  it('reconnects after the daemon restarts under a live session', async () => {
    // A daemon of its own, restarted in the middle of the case.
    const dir = h.dir();
    let own = await h.start({ db: join(dir, 'heph.db'), socket: join(dir, 'd.sock') });
    let c = await h.client(own.socket);
    const note = (await c.call('node.create', {
      kind: 'doc',
      title: 'Restart me',
      body: 'before\n',
    })) as { id: string };
    await runCase('reconnect', {
      socket: own.socket,
      steps: {
        restart_daemon: async () => {
          await c.close();
          await own.stop();
          own = await h.start({ db: own.db, socket: own.socket });
          c = await h.client(own.socket);
          const n = (await c.call('node.get', { id: note.id })) as {
            body: string;
            body_version: string;
          };
          await c.call('node.update', {
            id: note.id,
            body: `${n.body}written after the restart\n`,
            base_version: n.body_version,
          });
        },
      },
    });
    expect(((await c.call('node.get', { id: note.id })) as { body: string }).body).toBe(
      'before\nwritten after the restart\nand from the editor\n',
    );
  });

  it('says once per command that the daemon is not running, without a stack trace', async () => {
    await runCase('missing_daemon', { socket: join(h.dir(), 'none.sock') });
  });

  it('fails a call hephd does not answer after the timeout, with a clear message', async () => {
    await runCase('timeout');
  });

  it('finds the socket by the rules of `heph socket-path`', async () => {
    const dir = h.dir();
    const file = (rel: string, data: unknown) => {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), JSON.stringify(data));
    };
    file('conf.json', { socket: 'from-config.sock' });
    file('cfg/heph/config.json', { socket: '/abs/from-xdg-config.sock' });
    file('state/heph/hephd-options.json', { socket: '/kept/by-daemon-start.sock', db: '/x.db' });
    file('odd-state/heph/hephd-options.json', { socket: 7 });
    const setups: Record<string, string>[] = [
      {},
      { XDG_DATA_HOME: `${dir}/data` },
      { XDG_RUNTIME_DIR: `${dir}/run`, XDG_DATA_HOME: `${dir}/data` },
      { XDG_RUNTIME_DIR: '', XDG_DATA_HOME: `${dir}/data` },
      { XDG_RUNTIME_DIR: `${dir}/run`, HEPH_SOCKET: 'relative.sock' },
      { HEPH_CONFIG: 'conf.json' },
      { HEPH_CONFIG: 'missing.json', XDG_RUNTIME_DIR: `${dir}/run` },
      { XDG_CONFIG_HOME: `${dir}/cfg` },
      { XDG_CONFIG_HOME: `${dir}/cfg`, XDG_STATE_HOME: `${dir}/state` },
      { XDG_STATE_HOME: `${dir}/odd-state`, XDG_CONFIG_HOME: `${dir}/cfg` },
      { XDG_STATE_HOME: `${dir}/state`, HEPH_SOCKET: `${dir}/env.sock` },
    ];
    // The CLI's answers, asked at once.
    const withWants = await Promise.all(
      setups.map(async (extra) => {
        const env = { HOME: dir, ...extra };
        const r = await execFileAsync(
          process.execPath,
          [join(REPO, 'bin', 'heph.js'), 'socket-path'],
          { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' },
        );
        return { env, want: r.stdout.trim() };
      }),
    );
    // The rules differ from setup to setup: each one is a different answer.
    expect(new Set(withWants.map((s) => s.want)).size).toBeGreaterThanOrEqual(8);
    await runCase('socket_paths', { args: { dir, setups: withWants } });
  });

  it(':help heph documents every subcommand and option', async () => {
    const docroot = h.dir();
    cpSync(join(PLUGIN, 'doc'), join(docroot, 'doc'), { recursive: true });
    await runCase('help', { args: { docroot } });
  });

  it('pipelines requests on one connection', async () => {
    await runCase('pipelining');
  });

  it(':Heph new, journal, add and open of a missing name', async () => {
    await runCase('commands');
    expect((await call('node.get', { id: 'journal:2030-01-02' })).kind).toBe('journal');
    expect((await call('node.resolve', { name: 'Brand new idea' })).kind).toBe('doc');
  });
});
