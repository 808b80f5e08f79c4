// A headless machine's own credential, end to end with real processes: a signed-in hub on
// 127.0.0.1:0 (a real OpenID Provider on loopback), a real hephd, and the `heph` CLI. The owner
// makes an enrolment token; `heph auth enroll` exchanges it (from a pipe, never argv) and keeps
// the credential in a 0600 file (no keyring here); hephd syncs with it without a restart; the
// owner revokes the device and the daemon's next request is refused, its status says so, it asks
// no more, and `heph export` still works; `heph auth logout` revokes the device itself.

import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect, it } from 'vitest';
import { heph, json, ok, filesText } from './helpers.js';
import { useSignedInHub } from './signed-in-hub.js';

const fx = useSignedInHub();

interface Listed {
  devices: {
    id: string;
    name: string;
    replica: string | null;
    status: string;
    ops_pushed: number;
    platform: string | null;
    cpus: number | null;
    version: string | null;
  }[];
}

it('enrols with a piped token, syncs with the credential, and is stopped by a revocation', async () => {
  const m = await fx.machine();
  const e = await fx.rpc<{ token: string; device: { id: string } }>('device.enroll', {
    name: 'build box',
  });
  // Refusals first, each with a clear message and nothing kept.
  const bad = await heph(['auth', 'enroll', '--hub', fx.hub.url], {
    env: m.env,
    input: 'he_short\n',
  });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/that is not an enrolment token/);
  expect(bad.stderr).not.toContain('he_short');
  const none = await heph(['auth', 'enroll', '--hub', fx.hub.url], { env: m.env, input: '' });
  expect(none.stderr).toMatch(/no enrolment token given/);
  const unknown = await heph(['auth', 'enroll', '--hub', fx.hub.url], {
    env: m.env,
    input: `he_${'Z'.repeat(43)}\n`,
  });
  expect(unknown.stderr).toMatch(
    /refused the enrolment token: it is mistyped, already used or expired/,
  );

  const r = await heph(['auth', 'enroll', '--hub', fx.hub.url, '--json'], {
    env: m.env,
    input: e.token + '\n',
  });
  expect(r.code, r.stderr).toBe(0);
  const out = json(r);
  const file = join(m.home.env.XDG_CONFIG_HOME, 'heph', 'credentials', 'device.json');
  expect(out).toMatchObject({
    hub: fx.hub.url,
    enrolled: true,
    kind: 'device',
    device_id: e.device.id,
    name: 'build box',
    storage: 'file',
    location: file,
  });
  expect(r.stdout + r.stderr).not.toMatch(/hd_|he_/);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(statSync(dirname(file)).mode & 0o777).toBe(0o700);
  const kept = JSON.parse(readFileSync(file, 'utf8')) as {
    hubs: Record<string, { credential: string }>;
  };
  const credential = kept.hubs[fx.hub.url]!.credential;
  expect(credential).toMatch(/^hd_/);
  // The token was used: a second exchange is refused.
  const again = await heph(['auth', 'enroll', '--hub', fx.hub.url], { env: m.env, input: e.token });
  expect(again.stderr).toMatch(/already holds a credential/);

  // The running daemon syncs with it, without a restart.
  ok(await heph(['add', 'Water the plants'], { env: m.env }));
  const synced = await heph(['sync', '--json'], { env: m.env });
  expect(synced.code, synced.stderr).toBe(0);
  const list = await fx.rpc<Listed>('device.list');
  const mine = list.devices.find((x) => x.id === e.device.id)!;
  expect(mine).toMatchObject({ name: 'build box', status: 'online', platform: process.platform });
  expect(mine.ops_pushed).toBeGreaterThan(0);
  expect(mine.cpus).toBeGreaterThan(0);
  // And it is the credential that did it, not a login (there is none on this machine).
  expect(fx.seen.filter((s) => s.url.startsWith('/sync/') && s.status === 200).at(-1)?.auth).toBe(
    'hd_',
  );

  const st = json(await heph(['auth', 'status', '--hub', fx.hub.url, '--json'], { env: m.env }));
  expect(st).toMatchObject({
    signed_in: false,
    device: { kind: 'device', device_id: e.device.id, storage: 'file', location: file },
  });
  const human = await heph(['auth', 'status', '--hub', fx.hub.url], { env: m.env });
  expect(human.stdout).toContain(`This device holds its own credential for ${fx.hub.url}`);
  expect(human.stdout + JSON.stringify(st)).not.toContain(credential);

  // The owner revokes it; the daemon's next request is refused and it stops asking.
  await fx.rpc('device.revoke', { id: e.device.id });
  const before = fx.seen.length;
  ok(await heph(['add', 'Pay rent'], { env: m.env }));
  const refused = await heph(['sync'], { env: m.env });
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/device_revoked|revoked/);
  const status = json(await heph(['sync', 'status', '--json'], { env: m.env }));
  expect(status).toMatchObject({ state: 'revoked', last_error: { kind: 'revoked' } });
  expect(String(status.verdict)).toContain('this device was revoked on the hub');
  const words = await heph(['sync', 'status'], { env: m.env });
  expect(words.stdout).toContain('this device was revoked on the hub');
  const refusedCount = fx.seen.slice(before).filter((s) => s.status === 403).length;
  expect(refusedCount).toBeGreaterThan(0);
  // Recorded wait: a retrying loop asks every 1–2 s; a halted one never again.
  const quiet = fx.seen.length;
  await new Promise((r) => setTimeout(r, 4500));
  ok(await heph(['add', 'Buy milk'], { env: m.env }));
  await new Promise((r) => setTimeout(r, 500));
  expect(fx.seen.slice(quiet)).toEqual([]);
  // Nothing was deleted: the notes export.
  const outDir = join(m.home.dir, 'out');
  ok(await heph(['export', outDir, '--json'], { env: m.env }));
  const exported = filesText(outDir);
  for (const t of ['Water the plants', 'Pay rent', 'Buy milk']) expect(exported).toContain(t);
}, 90_000);

it('logout revokes the device on the hub and forgets the credential here', async () => {
  const m = await fx.machine();
  const e = await fx.rpc<{ token: string; device: { id: string } }>('device.enroll', {
    name: 'pi',
  });
  const tokenFile = join(m.home.dir, 'token.txt');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(tokenFile, e.token, { mode: 0o600 });
  ok(
    await heph(['auth', 'enroll', '--hub', fx.hub.url, '--token-file', tokenFile], { env: m.env }),
  );
  ok(await heph(['sync'], { env: m.env }));
  const out = await heph(['auth', 'logout', '--hub', fx.hub.url, '--json'], { env: m.env });
  expect(out.code, out.stderr).toBe(0);
  expect(json(out)).toMatchObject({ revoked: { device_id: e.device.id, name: 'pi' } });
  const list = await fx.rpc<Listed>('device.list');
  expect(list.devices.find((x) => x.id === e.device.id)?.status).toBe('revoked');
  const st = json(await heph(['auth', 'status', '--hub', fx.hub.url, '--json'], { env: m.env }));
  expect(st).toMatchObject({ device: null });
  const second = await heph(['auth', 'logout', '--hub', fx.hub.url], { env: m.env });
  expect(second.stdout).toMatch(/Was not signed in/);
}, 90_000);

it('heph device list|rename|revoke|enroll administer the hub with the owner’s kept login', async () => {
  const m = await fx.machine();
  const run = (args: string[], input?: string) =>
    heph(args, { env: m.env, ...(input !== undefined && { input }) });
  // The owner's login, as `heph auth login --admin --insecure-storage` keeps it without a
  // keyring (without one, these commands ask for a sign-in: device-login.test.ts).
  await fx.keepLogin(m);
  const neither = await run(['device', 'enroll']);
  expect(neither.stderr).toMatch(/pass --name NAME to enrol a new device, or --regenerate ID/);
  const badTtl = await run(['device', 'enroll', '--name', 'x', '--ttl', '3d']);
  expect(badTtl.code).not.toBe(0);
  expect(badTtl.stderr).toMatch(/ttl/);
  // The daemon's hub is used without --hub.
  const made = await run(['device', 'enroll', '--name', 'first token', '--ttl', '30m']);
  expect(made.code, made.stderr).toBe(0);
  expect(made.stdout).toMatch(/^he_[A-Za-z0-9_-]{43}\n$/);
  expect(made.stderr).toContain(`heph auth enroll --hub ${fx.hub.url}`);
  const pending = json(await run(['device', 'list', '--json'])) as unknown as Listed;
  const box = pending.devices.find((d) => d.name === 'first token')!;
  expect(box.status).toBe('pending');
  // A regenerated token replaces the first.
  const regen = await run(['device', 'enroll', '--regenerate', box.id, '--json']);
  expect(regen.code, regen.stderr).toBe(0);
  const fresh = String(json(regen).token);
  const old = await run(['auth', 'enroll'], made.stdout);
  expect(old.stderr).toMatch(/refused the enrolment token/);
  ok(await run(['auth', 'enroll'], fresh));
  ok(await run(['add', 'Renew the passport']));
  // hephd synced with the login before: its long-poll, open across the enrolment, is not
  // taken for a revocation when the hub folds the login's device into the enrolled one.
  ok(await run(['sync']));
  const renamed = await run(['device', 'rename', box.id, 'desk']);
  expect(renamed.stdout, renamed.stderr).toContain(`Renamed device ${box.id} to "desk"`);
  const listed = await run(['device', 'list']);
  expect(listed.stdout).toMatch(/^NAME +ID +STATUS +LAST SEEN/);
  expect(listed.stdout).toMatch(new RegExp(`desk \\(this device\\) +${box.id} +online +just now`));
  // Revoking the device one is on asks first.
  const asked = await run(['device', 'revoke', box.id]);
  expect(asked.code).not.toBe(0);
  expect(asked.stderr).toMatch(/is this device.*Pass --yes/);
  expect(
    (json(await run(['device', 'list', '--json'])) as unknown as Listed).devices.find(
      (d) => d.id === box.id,
    )?.status,
  ).toBe('online');
  const revoked = await run(['device', 'revoke', box.id, '--yes']);
  expect(revoked.code, revoked.stderr).toBe(0);
  expect(revoked.stdout).toContain(`Revoked device "desk" (${box.id})`);
  expect(revoked.stdout).toMatch(/never received what it wrote after op [0-9a-z]+/);
  const again = json(await run(['device', 'revoke', box.id, '--yes', '--json']));
  expect(again).toMatchObject({ already: true });
  // Nothing secret but the token `device enroll` exists to print.
  for (const r of [listed, renamed, revoked])
    expect(r.stdout + r.stderr).not.toMatch(/hd_|he_|eyJ/);
}, 90_000);
