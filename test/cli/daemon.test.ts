// `heph daemon` on a machine without systemd: hephd started detached with a pid file and a log
// file under $XDG_STATE_HOME/heph/, in a temp HOME so nothing touches the real one.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assertBuilt, baseEnv, heph, json, tempHome, type Home } from './helpers.js';

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

  const before = await d('status', '--json');
  expect(before.code).toBe(0);
  expect(json(before).running).toBe(false);
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

  const status = json(await d('status', '--json'));
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
}, 90_000);
