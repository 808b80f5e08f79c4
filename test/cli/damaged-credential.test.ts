// A device credential file that cannot be read does not lock the user out: `heph auth logout`
// removes it (it cannot revoke itself on the hub) and says how to revoke the device instead.

import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { baseEnv, heph, tempHome, type Home } from './helpers.js';

const HUB = 'http://127.0.0.1:9';
const homes: Home[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) h.cleanup();
});

function homeWith(text: string): { env: Record<string, string>; file: string } {
  const h = tempHome();
  homes.push(h);
  const dir = join(h.env.XDG_CONFIG_HOME, 'heph', 'credentials');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'device.json');
  writeFileSync(file, text);
  chmodSync(file, 0o600);
  return { env: baseEnv(h.env), file };
}

describe('an unreadable device credential', () => {
  it('is named by auth status, and auth logout removes the entry and says how to revoke', async () => {
    const { env, file } = homeWith(
      JSON.stringify({ version: 1, hubs: { [HUB]: { credential: 'not a credential' } } }),
    );
    const st = await heph(['auth', 'status', '--hub', HUB], { env });
    expect(st.code).not.toBe(0);
    expect(st.stderr).toContain(`run \`heph auth logout --hub ${HUB}\``);
    const out = await heph(['auth', 'logout', '--hub', HUB, '--json'], { env });
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({
      removed_from: ['unreadable device credential (file)'],
    });
    expect(out.stderr).toMatch(/unreadable, so it was not revoked on the hub: revoke this device/);
    expect(JSON.parse(readFileSync(file, 'utf8')).hubs).toEqual({});
    // Now the device is simply not signed in.
    const after = await heph(['auth', 'status', '--hub', HUB], { env });
    expect(after.stderr).not.toContain('unreadable');
  });

  it('a file that is not JSON at all is named, to remove by hand', async () => {
    const { env, file } = homeWith('garbage');
    const out = await heph(['auth', 'logout', '--hub', HUB], { env });
    expect(out.code).toBe(0);
    expect(out.stderr).toContain(`Remove by hand what could not be read: ${file}`);
  });
});
