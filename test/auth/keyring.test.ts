// The keyring store where no Secret Service answers. Its own file (so its own process): the
// keyring library keeps its first D-Bus connection, so this must run before any other test in
// the process has reached a working bus.

import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { keyringStore } from '../../src/auth/keyring-store.js';
import { tempDir } from '../helpers/temp.js';

const tmp = tempDir('heph-nobus-');
let before: string | undefined;
beforeAll(() => {
  before = process.env.DBUS_SESSION_BUS_ADDRESS;
  process.env.DBUS_SESSION_BUS_ADDRESS = `unix:path=${join(tmp.dir, 'no-bus-here')}`;
});
afterAll(() => {
  if (before === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
  else process.env.DBUS_SESSION_BUS_ADDRESS = before;
  tmp.cleanup();
});

const tokens = {
  access_token: 'a',
  expires_at: 1,
  token_type: 'Bearer',
  issuer: 'https://id.example.org',
  client_id: 'c',
  audience: 'aud',
};

it('is unavailable, with a reason that names the Secret Service, and never falls back', async () => {
  const s = keyringStore({ service: 'heph-test-nobus' });
  const st = await s.status();
  expect(st).toEqual({ available: false, reason: expect.stringMatching(/Secret Service/) });
  expect(await s.available()).toBe(false);
  // Not silently kept in the kernel keyring instead.
  await expect(s.set('https://hub.example.org', tokens)).rejects.toMatchObject({
    code: 'unavailable',
  });
  await expect(s.get('https://hub.example.org')).rejects.toMatchObject({ code: 'unavailable' });
});
