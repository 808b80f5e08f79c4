// `heph auth login` enrols the device, and hub administration needs a recent sign-in, end to end
// with real parts: a signed-in hub on 127.0.0.1:0, a real OpenID Provider on loopback (the
// device-code sign-in approved through its own pages), real hephd processes and the `heph` CLI.
// The login and device commands run in this process (their device-flow sleep approves the code
// shown); everything else is the built CLI. No keyring here: credentials go to their 0600 file.
// Covered: an upgraded device (a login kept by an earlier version) keeps syncing, is told to sign
// in, and after `heph auth login` syncs with its own credential while the login is gone from
// disk; the admin token lives only in hephd's memory (the data, config and runtime folders, the
// database and its WAL are scanned for it), serves `heph device …` with no sign-in for 15
// minutes (an injected clock) and then a sign-in is asked again; --admin keeps the login;
// `heph auth rotate` replaces the credential (the old refused, the new working, sync going on).

import { hostname } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { deviceCredentialPath, deviceCredentialStores } from '../../src/auth/device-credential.js';
import { fileStore, tokensFilePath } from '../../src/auth/file-store.js';
import type { SecretStore, Tokens } from '../../src/auth/token-store.js';
import { authDeps, login, type AuthDeps } from '../../src/cli/commands/auth.js';
import { list as deviceList } from '../../src/cli/commands/device.js';
import { makeCli, type Cli } from '../../src/cli/context.js';
import { render, type Output } from '../../src/cli/output.js';
import { startDaemon as startDaemonInProcess } from '../../src/daemon/daemon.js';
import { ManualClock, systemClock } from '../../src/ports/clock.js';
import { SUPPORTED_PROTOCOLS } from '../../src/protocol/sync.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { useCleanup } from '../helpers/temp.js';
import { makeHub } from '../hub/helpers.js';
import { daemonConfig } from '../sync/helpers.js';
import { baseEnv, HEPHD, heph, json, ok, tempHome, filesText } from './helpers.js';
import { useSignedInHub } from './signed-in-hub.js';

const fx = useSignedInHub();
const cleanups = useCleanup();

/** A store that is not reachable here, as the keyring is on a machine without Secret Service. */
function noKeyring<T>(): SecretStore<T> {
  const reason = 'no Secret Service in this test';
  return {
    kind: 'keyring',
    location: 'the OS keyring',
    get: () => Promise.reject(new Error(reason)),
    set: () => Promise.reject(new Error(reason)),
    delete: () => Promise.resolve(false),
    available: () => Promise.resolve(false),
    status: () => Promise.resolve({ available: false, reason }),
  };
}

interface Signer {
  cli: Cli;
  deps: AuthDeps;
  notes: string[];
  /** Every sign-in's tokens, in order. */
  signIns: Tokens[];
}

/** The in-process CLI against the daemon on `socket`, whose device flow is approved as alice. */
function signer(env: Record<string, string>, socket: string, clock = systemClock): Signer {
  const notes: string[] = [];
  const signIns: Tokens[] = [];
  const base = makeCli({
    env,
    cwd: env.HOME!,
    today: '2026-12-05',
    socketFlag: socket,
    hephdPath: HEPHD,
    stdin: new PassThrough(),
    stdout: new PassThrough(),
    stderr: new PassThrough(),
  });
  cleanups.defer(() => base.close());
  const cli: Cli = { ...base, note: (t) => notes.push(t) };
  const real = authDeps(cli);
  const approved = new Set<string>();
  const deps: AuthDeps = {
    ...real,
    keyring: noKeyring(),
    file: fileStore({ path: tokensFilePath(env) }),
    device: { keyring: noKeyring(), file: deviceCredentialStores(env).file },
    clock,
    login: async (o) => {
      const t = await real.login(o);
      signIns.push(t);
      return t;
    },
    loginOptions: {
      sleep: async () => {
        const code = [...notes.join('\n').matchAll(/enter the code: (\S+)/g)].at(-1)?.[1];
        if (code !== undefined && !approved.has(code)) {
          approved.add(code);
          await fx.op.approveDeviceCode(code, 'alice');
        }
      },
    },
  };
  return { cli, deps, notes, signIns };
}

const text = (out: Output) =>
  render(out, { json: false, color: false, today: '2026-12-05' }) +
  render(out, { json: true, color: false, today: '2026-12-05' });

const lastSyncAuth = () =>
  fx.seen.filter((s) => s.url.startsWith('/sync/') && s.status === 200).at(-1)?.auth;

describe('heph auth login on a device', () => {
  it('upgrades a device that synced with a kept login: enrols it, drops the login, and hub administration uses the sign-in hephd holds in memory', async () => {
    const m = await fx.machine();
    const run = (args: string[]) => heph(args, { env: m.env });
    // An earlier version kept the owner's login in the opt-in file; the daemon syncs with it.
    const old = await fx.op.mintToken({ sub: 'alice' });
    await fx.keepLogin(m, old);
    const tokensFile = fileStore({ path: tokensFilePath(m.home.env) });
    ok(await run(['add', 'Written before the upgrade']));
    ok(await run(['sync']));
    expect(lastSyncAuth()).toBe('eyJ');
    const told = ok(await run(['auth', 'status', '--hub', fx.hub.url]));
    expect(told.stdout).toContain(
      `This device syncs with your login: run \`heph auth login --hub ${fx.hub.url}\``,
    );

    const s = signer(m.env, m.d.socket);
    const out = await login(s.cli, { hub: fx.hub.url }, s.deps);
    expect(s.signIns).toHaveLength(1);
    const access = s.signIns[0]!.access_token;
    const shown = text(out);
    expect(shown).toContain(`Signed in to ${fx.hub.url} as alice`);
    expect(shown).toContain(`This device is "${hostname()}"`);
    expect(shown).toContain('The login kept here before was removed');
    expect(shown).toContain('hephd holds your sign-in in memory for 15 minutes');
    expect(out).toMatchObject({
      data: {
        device: { kind: 'device', storage: 'file', location: deviceCredentialPath(m.home.env) },
        login: null,
      },
    });
    // No secret in what it prints or notes.
    expect(shown + s.notes.join('\n')).not.toMatch(/hd_|eyJ/);
    // The login is gone from disk; the credential is there.
    expect(await tokensFile.get(fx.hub.url)).toBeUndefined();
    const held = await s.deps.device.file.get(fx.hub.url);
    expect(held?.credential).toMatch(/^hd_/);

    // The running daemon syncs with the credential from its next request, no restart.
    ok(await run(['add', 'Written after signing in']));
    ok(await run(['sync']));
    expect(lastSyncAuth()).toBe('hd_');
    const st = json(ok(await run(['auth', 'status', '--hub', fx.hub.url, '--json'])));
    expect(st).toMatchObject({ signed_in: false, device: { device_id: held!.device_id } });
    expect(typeof st.admin_held_until).toBe('string');
    const words = ok(await run(['auth', 'status', '--hub', fx.hub.url]));
    expect(words.stdout).toContain(
      'No login is kept here; hephd holds your sign-in in memory until',
    );
    expect(words.stdout + JSON.stringify(st)).not.toMatch(/eyJ|hd_/);

    // The built CLI administers the hub with the sign-in hephd holds: no sign-in asked, no
    // login on disk.
    const listed = await run(['device', 'list', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr).not.toMatch(/enter the code/);
    const devices = (
      json(listed) as { devices: { id: string; name: string; ops_pushed: number }[] }
    ).devices;
    // One device: what it pushed with the login and with the credential, under one id.
    const mine = devices.find((d) => d.id === held!.device_id)!;
    expect(mine.name).toBe(hostname());
    expect(devices.filter((d) => d.name === hostname() || d.id === held!.device_id)).toHaveLength(
      1,
    );
    expect(mine.ops_pushed).toBeGreaterThan(1);
    const human = ok(await run(['device', 'list']));
    expect(human.stdout).toContain(`${hostname()} (this device)`);
    expect(human.stdout + human.stderr + listed.stdout).not.toMatch(/hd_|eyJ/);

    // The admin token is in hephd's memory (positive control: hephd calls the hub with it), it
    // never comes back out (not even to `heph call`), and it is on no disk.
    const via = (await s.cli.call('auth.admin_call', {
      hub: fx.hub.url,
      method: 'device.list',
    })) as {
      held: boolean;
      reply: { result: { devices: unknown[] } };
    };
    expect(via.held).toBe(true);
    expect(via.reply.result.devices.length).toBeGreaterThan(0);
    const asked = ok(await run(['call', 'auth.admin_token', JSON.stringify({ hub: fx.hub.url })]));
    expect(asked.stdout).toMatch(/held_until/);
    expect(asked.stdout).not.toContain(access);
    const disk = filesText(m.home.dir);
    expect(disk).toContain(held!.credential);
    expect(disk).not.toContain(access);
    expect(disk).not.toContain(access.split('.')[2]!);

    // logout revokes the credential and forgets the held sign-in.
    const bye = json(ok(await run(['auth', 'logout', '--hub', fx.hub.url, '--json'])));
    expect(bye).toMatchObject({ removed_from: ['device credential (file)', 'hephd memory'] });
    expect(await s.cli.call('auth.admin_token', { hub: fx.hub.url })).toMatchObject({
      held_until: null,
    });
  }, 90_000);

  it('refuses before the sign-in when hephd is not running, and on an open hub says none is needed', async () => {
    const home = tempHome();
    cleanups.defer(() => home.cleanup());
    const env = baseEnv(home.env);
    const s = signer(env, join(home.dir, 'nobody.sock'));
    await expect(login(s.cli, { hub: fx.hub.url }, s.deps)).rejects.toThrow(
      /hephd is not running here.*heph daemon start --hub-url/,
    );
    expect(s.signIns).toHaveLength(0);
    const open = await makeHub({ clock: systemClock });
    cleanups.defer(() => open.close());
    await open.listen();
    const out = await login(s.cli, { hub: open.url }, s.deps);
    expect(text(out)).toContain('does not require sign-in');
  }, 90_000);

  it('registers the device under the name hephd gave it (--device-name), not the host name', async () => {
    const m = await fx.machine(['--device-name', 'study laptop']);
    const s = signer(m.env, m.d.socket);
    const out = await login(s.cli, { hub: fx.hub.url }, s.deps);
    expect(text(out)).toContain('This device is "study laptop"');
    const held = await s.deps.device.file.get(fx.hub.url);
    expect(held?.name).toBe('study laptop');
    const listed = (await fx.rpc<{ devices: { id: string; name: string }[] }>('device.list'))
      .devices;
    expect(listed.find((d) => d.id === held!.device_id)?.name).toBe('study laptop');
    const words = ok(await heph(['auth', 'status', '--hub', fx.hub.url], { env: m.env }));
    expect(words.stdout).toContain('device "study laptop"');
    // Its fields, for a person: the device's own under "device:", never its JSON.
    expect(words.stdout).toMatch(
      /^ {2}device:\n {4}kind: +device\n {4}device id: +\w+\n {4}name: +study laptop$/m,
    );
    expect(words.stdout + text(out)).not.toContain('{"');
  }, 90_000);

  it('--admin keeps the login too (a file only with --insecure-storage), and the device commands use it', async () => {
    const m = await fx.machine();
    const s = signer(m.env, m.d.socket);
    await expect(login(s.cli, { hub: fx.hub.url, admin: true }, s.deps)).rejects.toThrow(
      /no OS keyring.*--insecure-storage/,
    );
    expect(s.signIns).toHaveLength(0);
    const out = await login(
      s.cli,
      { hub: fx.hub.url, admin: true, 'insecure-storage': true },
      s.deps,
    );
    expect(out).toMatchObject({ data: { login: { storage: 'file', subject: 'alice' } } });
    expect(text(out)).toContain('Your login is kept too');
    expect(await s.deps.file.get(fx.hub.url)).toMatchObject({ sub: 'alice' });
    // With hephd's memory cleared, the kept login serves `heph device list`: no new sign-in.
    await s.cli.call('auth.admin_token', { hub: fx.hub.url, forget: true });
    const listed = await heph(['device', 'list', '--json'], { env: m.env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr).not.toMatch(/enter the code/);
    expect(s.signIns).toHaveLength(1);
  }, 90_000);
});

describe('the admin token hephd holds', () => {
  it('lasts 15 minutes by hephd’s clock; then `heph device list` signs in again and hands the new one over', async () => {
    const dir = cleanups.dir('heph-admin-hold-');
    const clock = new ManualClock(Date.now());
    const config = {
      ...daemonConfig(`${dir}/heph.db`, { mode: 'local' }),
      socket: `${dir}/s/d.sock`,
    };
    const daemon = await startDaemonInProcess(config, {
      clock,
      random: seededRandom(7),
      logger: silentLogger,
      version: 'test',
    });
    cleanups.defer(() => daemon.stop());
    const env = baseEnv({ HOME: dir, XDG_CONFIG_HOME: `${dir}/config` });
    const s = signer(env, config.socket);
    const first = await deviceList(s.cli, { hub: fx.hub.url }, s.deps);
    expect(s.signIns).toHaveLength(1);
    expect(s.notes.join('\n')).toContain('needs a recent sign-in as its owner');
    expect(text(first)).not.toMatch(/eyJ/);
    const held = (await s.cli.call('auth.admin_token', { hub: fx.hub.url })) as Record<
      string,
      unknown
    >;
    expect(held).toEqual({ hub: fx.hub.url, held_until: clock.now() + 15 * 60_000 });
    // Within the 15 minutes: no sign-in.
    clock.advance(15 * 60_000 - 1);
    await deviceList(s.cli, { hub: fx.hub.url }, s.deps);
    expect(s.signIns).toHaveLength(1);
    // Past them: the token is gone, and the next command signs in again.
    clock.advance(1);
    expect(await s.cli.call('auth.admin_token', { hub: fx.hub.url })).toMatchObject({
      held_until: null,
    });
    await deviceList(s.cli, { hub: fx.hub.url }, s.deps);
    expect(s.signIns).toHaveLength(2);
    expect(await s.cli.call('auth.admin_token', { hub: fx.hub.url })).toMatchObject({
      held_until: clock.now() + 15 * 60_000,
    });
    // Never on disk: the database, its WAL and every other file of this daemon.
    const disk = filesText(dir);
    for (const t of s.signIns) expect(disk).not.toContain(t.access_token);
    // Bad params are refused with the field named, never the value.
    await expect(
      s.cli.call('auth.hold_admin', { hub: 'not a url', token: 'secret-x' }),
    ).rejects.toThrow(/hub/);
  }, 90_000);
});

describe('heph auth rotate', () => {
  it('replaces the credential without enrolling again: the old one is refused, the new one syncs', async () => {
    const m = await fx.machine();
    const run = (args: string[]) => heph(args, { env: m.env });
    const s = signer(m.env, m.d.socket);
    await login(s.cli, { hub: fx.hub.url }, s.deps);
    const before = (await s.deps.device.file.get(fx.hub.url))!;
    ok(await run(['add', 'Before the rotation']));
    ok(await run(['sync']));
    type Listed = { devices: { id: string; ops_pushed: number }[] };
    const pushed = async () =>
      (await fx.rpc<Listed>('device.list')).devices.find((d) => d.id === before.device_id)!
        .ops_pushed;
    const pushedBefore = await pushed();
    const r = await run(['auth', 'rotate', '--hub', fx.hub.url, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ rotated: true, device_id: before.device_id, storage: 'file' });
    expect(r.stdout + r.stderr).not.toMatch(/hd_/);
    const after = (await s.deps.device.file.get(fx.hub.url))!;
    expect(after).toMatchObject({ device_id: before.device_id, replica: before.replica });
    expect(after.credential).not.toBe(before.credential);
    const pull = (credential: string) =>
      request(`${fx.hub.url}/sync/pull`, {
        headers: {
          authorization: `Bearer ${credential}`,
          'heph-replica': before.replica,
          'heph-protocol': String(SUPPORTED_PROTOCOLS[0]),
        },
      }).then(async (x) => {
        await x.body.dump();
        return x.statusCode;
      });
    expect(await pull(before.credential)).toBe(401);
    expect(await pull(after.credential)).toBe(200);
    // The daemon syncs on with the new one; same device on the hub.
    ok(await run(['add', 'After the rotation']));
    ok(await run(['sync']));
    expect(lastSyncAuth()).toBe('hd_');
    expect(await pushed()).toBeGreaterThan(pushedBefore);
    // Without a credential: said what to do.
    ok(await run(['auth', 'logout', '--hub', fx.hub.url]));
    const none = await run(['auth', 'rotate', '--hub', fx.hub.url]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('holds no credential');
    expect(none.stderr).toContain('heph auth login');
  }, 90_000);
});
