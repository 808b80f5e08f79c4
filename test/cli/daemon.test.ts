// `heph daemon` on a machine without systemd: hephd started detached with a pid file and a log
// file under $XDG_STATE_HOME/heph/, in a temp HOME so nothing touches the real one.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestHub } from '../sync/helpers.js';
import {
  assertBuilt,
  baseEnv,
  heph,
  HEPHD,
  json,
  startDaemon,
  tempHome,
  type Home,
} from './helpers.js';
import { hephdNodeFlags } from '../../src/config/node-flags.js';

let home: Home;
let env: Record<string, string>;

beforeAll(() => {
  assertBuilt();
  home = tempHome();
  env = baseEnv(home.env);
});

afterAll(async () => {
  // Whatever happened, leave no daemon behind.
  const pidFile = join(home.env.XDG_STATE_HOME, 'heph', 'hephd.pid');
  if (existsSync(pidFile)) {
    await heph(['daemon', 'stop', '--manager', 'detached'], { env });
  }
  home?.cleanup();
});

it('starts, reports, and stops a detached daemon, idempotently', async () => {
  const d = (...a: string[]) => heph(['daemon', ...a, '--manager', 'detached'], { env });
  const stateDir = join(home.env.XDG_STATE_HOME, 'heph');
  const socket = join(home.env.XDG_RUNTIME_DIR, 'heph', 'hephd.sock');

  // Not running: the report as ever (valid JSON), and exit 5, the code for "not running".
  const before = await d('status', '--json');
  expect(before.code).toBe(5);
  expect(json(before)).toMatchObject({ running: false, pid: null, socket });
  const beforeHuman = await d('status');
  expect(beforeHuman.code).toBe(5);
  expect(beforeHuman.stdout).toMatch(/^hephd is not running\n {2}running: false\n/);
  expect(beforeHuman.stderr).toBe('');
  const down = await heph(['next'], { env });
  expect(down.code).toBe(5);
  expect(down.stderr).toMatch(/^heph: hephd is not running .*heph daemon start.*\n$/);

  const started = await d('start');
  expect(started.code, started.stderr).toBe(0);
  expect(started.stdout).toMatch(/^hephd started/);
  const pid = Number(readFileSync(join(stateDir, 'hephd.pid'), 'utf8'));
  expect(pid).toBeGreaterThan(0);
  expect(existsSync(join(stateDir, 'hephd.log'))).toBe(true);

  const again = await d('start', '--json');
  expect(again.code).toBe(0);
  expect(json(again)).toMatchObject({ running: true, action: 'none', pid });

  const running = await d('status', '--json');
  expect(running.code).toBe(0);
  const status = json(running);
  expect(status).toMatchObject({
    running: true,
    manager: 'detached',
    pid,
    socket,
    db: join(home.env.XDG_DATA_HOME, 'heph', 'heph.db'),
    log: join(stateDir, 'hephd.log'),
  });
  const added = await heph(['add', 'Works through the started daemon', '--json'], { env });
  expect(added.code, added.stderr).toBe(0);

  const stopped = await d('stop', '--json');
  expect(stopped.code, stopped.stderr).toBe(0);
  expect(json(stopped)).toMatchObject({ running: false, action: 'stopped', stopped_pid: pid });
  expect(existsSync(join(stateDir, 'hephd.pid'))).toBe(false);
  const stoppedAgain = await d('stop');
  expect(stoppedAgain.code).toBe(0);
  expect(stoppedAgain.stdout).toMatch(/^hephd is not running/);
  expect((await heph(['next'], { env })).code).toBe(5);
  const after = await d('status', '--json');
  expect([after.code, json(after).running]).toEqual([5, false]);
}, 90_000);

it('keeps the service options start was given: restart and status use them', async () => {
  const h = tempHome();
  const e = baseEnv(h.env);
  const d = (...a: string[]) => heph(['daemon', ...a, '--manager', 'detached'], { env: e });
  const hub = await startTestHub();
  try {
    const socket = join(h.dir, 'own', 'd.sock');
    const db = join(h.dir, 'own', 'notes.db');
    const bad = await d('start', '--sync-interval', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--sync-interval must be a whole number/);
    const insecure = await d('start', '--hub-url', 'http://hub.example.org');
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toMatch(/--insecure-http/);
    const started = await d(
      'start',
      ...['--hub-url', hub.url, '--db', db, '--socket', socket],
      ...['--log-level', 'debug', '--sync-interval', '45', '--json'],
    );
    expect(started.code, started.stderr).toBe(0);
    const options = `--hub-url ${hub.url} --db ${db} --socket ${socket} --log-level debug --sync-interval 45`;
    expect(json(started)).toMatchObject({ running: true, db, socket, hub: `${hub.url}/`, options });
    // Every other command finds the daemon on the kept socket.
    expect((await heph(['socket-path'], { env: e })).stdout).toBe(`${socket}\n`);
    const added = await heph(['add', 'Kept options work', '--wait', '--json'], { env: e });
    expect(added.code, added.stderr).toBe(0);

    const restarted = json(await d('restart', '--json'));
    expect(restarted).toMatchObject({ running: true, db, socket, hub: `${hub.url}/`, options });
    expect(restarted.pid).not.toBe(json(started).pid);
    const status = await d('status');
    expect(status.stdout).toMatch(/^hephd is running/);
    expect(status.stdout).toContain(`hub:     ${hub.url}/`);
    expect(status.stdout).toContain(`options: ${options}`);
    // The launch really carried them: the restarted process's own command line.
    const cmdline = readFileSync(`/proc/${restarted.pid}/cmdline`, 'utf8').split('\0');
    for (const part of ['--hub-url', hub.url, '--db', db, '--socket', socket, '--log-level']) {
      expect(cmdline).toContain(part);
    }
    expect(cmdline.join(' ')).toContain('--log-level debug --sync-interval 45');
    // node's own flags, mode local's, come before the script, where V8 reads them.
    const flags = hephdNodeFlags('local');
    expect(cmdline.slice(1, 2 + flags.length)).toEqual([...flags, HEPHD]);

    // Given again, an option replaces the kept one; a running daemon is told to restart.
    const again = await d('start', '--log-level', 'info');
    expect(again.stdout).toMatch(/options changed, run `heph daemon restart`/);
    expect(json(await d('status', '--json')).options).toContain('--log-level info');

    const gone = json(await d('uninstall', '--json'));
    expect(gone).toMatchObject({ running: false });
    expect(json(await d('status', '--json')).options).toBe(null);
  } finally {
    await d('stop');
    await hub.close();
    h.cleanup();
  }
}, 120_000);

// Where a systemd user manager runs, `stop` stops the unit; a hephd started by hand on the same
// socket is not the unit's. A systemctl that succeeds at everything and runs nothing (put first
// on PATH) stands for a manager whose unit is not what holds the socket.
it('stop under systemd also stops a hephd started by hand on its socket, and says so', async () => {
  const h = tempHome();
  const calls = join(h.dir, 'systemctl.log');
  const bin = join(h.dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\necho "$*" >> ${calls}\n`, { mode: 0o755 });
  const unit = join(h.env.XDG_CONFIG_HOME, 'systemd', 'user', 'hephd.service');
  mkdirSync(dirname(unit), { recursive: true });
  writeFileSync(unit, '[Unit]\n'); // installed by an earlier `heph daemon start`
  const byHand = await startDaemon(h.dir);
  const e = baseEnv({ ...h.env, HEPH_SOCKET: byHand.socket, PATH: `${bin}:${process.env.PATH}` });
  const stop = (...a: string[]) =>
    heph(['daemon', 'stop', '--manager', 'systemd', ...a], { env: e });
  try {
    const pid = byHand.process.pid!;
    const stopped = await stop('--json');
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(json(stopped)).toMatchObject({
      running: false,
      action: 'stopped',
      stopped_pid: pid,
      outside_unit: true,
    });
    expect(readFileSync(calls, 'utf8')).toContain('--user stop hephd.service');
    expect((await heph(['status'], { env: e })).code).toBe(5);
    // Gone by its stop (a graceful exit), not by this test's clean-up.
    const p = byHand.process;
    if (p.exitCode === null) await new Promise((r) => p.once('exit', r));
    expect(p.exitCode).toBe(0);

    const again = await startDaemon(h.dir);
    const human = await stop();
    expect(human.stdout).toMatch(
      new RegExp(
        `^hephd stopped \\(pid ${again.process.pid}, started outside hephd\\.service\\)\n`,
      ),
    );
    await again.stop();
    const none = await stop();
    expect([none.code, none.stdout.split('\n')[0]]).toEqual([0, 'hephd is not running']);
  } finally {
    await byHand.stop();
    h.cleanup();
  }
}, 60_000);
