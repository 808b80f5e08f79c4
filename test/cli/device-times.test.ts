// `heph device rename|revoke` as the hub's owner meets them: a real hub trusting a real OpenID
// Provider on loopback, a real enrolled hephd, the real CLI. Times read as the rest of the CLI
// writes them ("just now", "3 minutes ago"); --json keeps the hub's epoch milliseconds.

import { expect, it } from 'vitest';
import { heph, json, ok } from './helpers.js';
import { useSignedInHub } from './signed-in-hub.js';

const fx = useSignedInHub();

it('rename and revoke print times for people, and --json as the hub sent them', async () => {
  const m = await fx.enrolled('attic');
  const owner = await fx.machine();
  await fx.keepLogin(owner);
  const run = (args: string[]) => heph(args, { env: owner.env });
  ok(await m.run(['add', 'Check the smoke alarm']));
  ok(await m.run(['sync']));
  const listed = json(await run(['device', 'list', '--json', '--hub', fx.hub.url]));
  const id = String(
    (listed.devices as { id: string; name: string }[]).find((d) => d.name === 'attic')!.id,
  );
  const renamed = ok(await run(['device', 'rename', id, 'loft', '--hub', fx.hub.url]));
  expect(renamed.stdout).toMatch(new RegExp(`^Renamed device ${id} to "loft"\n`));
  expect(renamed.stdout).toMatch(/^ {2}created: +just now$/m);
  expect(renamed.stdout).toMatch(/^ {2}last seen: +just now$/m);
  expect(renamed.stdout).toMatch(/^ {2}last push: +just now$/m);
  expect(renamed.stdout).toMatch(/^ {2}status: +online$/m);
  // No epoch milliseconds (13 digits), no field names that still say "ms".
  expect(renamed.stdout).not.toMatch(/\b\d{13}\b| ms:/);
  const renamedJson = json(
    await run(['device', 'rename', id, 'loft', '--hub', fx.hub.url, '--json']),
  );
  const device = renamedJson.device as Record<string, unknown>;
  expect(device.name).toBe('loft');
  expect(device.last_seen_ms).toEqual(expect.any(Number));
  expect(device.created_ms).toEqual(expect.any(Number));

  // A pending device's token expires in the future: said as such.
  ok(await run(['device', 'enroll', '--name', 'shed', '--ttl', '30m', '--hub', fx.hub.url]));
  const all = json(await run(['device', 'list', '--json', '--hub', fx.hub.url]));
  const shed = (all.devices as { id: string; name: string }[]).find((d) => d.name === 'shed')!;
  const pending = ok(await run(['device', 'rename', shed.id, 'garden shed', '--hub', fx.hub.url]));
  expect(pending.stdout).toMatch(/^ {2}enrol expires: +in (29|30) minutes$/m);
  expect(pending.stdout).toMatch(/^ {2}status: +pending$/m);
  expect(pending.stdout).not.toMatch(/last seen/);

  const revoked = ok(await run(['device', 'revoke', id, '--hub', fx.hub.url]));
  expect(revoked.stdout).toContain(`Revoked device "loft" (${id}): its next request is refused`);
  expect(revoked.stdout).toMatch(/\(its last acknowledged push, just now\)/);
  expect(revoked.stdout).toMatch(/^It last reported 0 changes not yet pushed \(just now\)$/m);
  expect(revoked.stdout).not.toMatch(/\b\d{13}\b/);
  const again = json(await run(['device', 'revoke', id, '--hub', fx.hub.url, '--json']));
  expect(again).toMatchObject({ already: true });
  const never = again.never_received as Record<string, unknown>;
  expect(never.last_push_ms).toEqual(expect.any(Number));
  expect(never.pending_reported_ms).toEqual(expect.any(Number));
}, 90_000);
