// `heph auth login` without --hub: the hub the running daemon syncs with, else the configured
// one, and it says which before anything else happens.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../sync/helpers.js';
import { assertBuilt, baseEnv, heph, json, startDaemon, tempHome, type Home } from './helpers.js';

let home: Home;
let hub: TestHub;

beforeAll(async () => {
  assertBuilt();
  home = tempHome();
  hub = await startTestHub();
});

afterAll(async () => {
  await hub?.close();
  home?.cleanup();
});

it('asks the running daemon which hub, and says so', async () => {
  const d = await startDaemon(home.dir, ['--hub-url', hub.url]);
  try {
    const env = baseEnv({ ...home.env, HEPH_SOCKET: d.socket });
    const r = await heph(['auth', 'login', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`Signing in to ${hub.url} (the hub hephd syncs with)\n`);
    expect(json(r)).toEqual({ hub: hub.url, sign_in_required: false });
    const status = await heph(['auth', 'status', '--json'], { env });
    expect(json(status)).toMatchObject({ hub: hub.url, signed_in: false });
  } finally {
    await d.stop();
  }
});

it('falls back to the config file with the daemon down, and asks when there is neither', async () => {
  const env = baseEnv({ ...home.env, HEPH_SOCKET: join(home.dir, 'nobody.sock') });
  const none = await heph(['auth', 'login'], { env });
  expect(none.code).toBe(2);
  expect(none.stderr).toMatch(/^heph: which hub\? Pass --hub/);
  mkdirSync(join(home.env.XDG_CONFIG_HOME, 'heph'), { recursive: true });
  writeFileSync(
    join(home.env.XDG_CONFIG_HOME, 'heph', 'config.json'),
    JSON.stringify({ hub_url: hub.url }),
  );
  const r = await heph(['auth', 'login'], { env });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toBe(`Signing in to ${hub.url} (the configured hub)\n`);
  expect(r.stdout).toMatch(/does not require sign-in/);
  // Named by the user: nothing to tell them.
  const flag = await heph(['auth', 'login', '--hub', `${hub.url}/`], { env });
  expect(flag).toMatchObject({ code: 0, stderr: '' });
});
