// A household's hub as its operator runs it: `hephd --mode server` as a real process (the built
// daemon) on 127.0.0.1, with a real OpenID Provider on loopback where sign-in is on. Each test is
// a step of README.md / docs/hub-operations.md done the way a person does it, broken on purpose.

import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, heph } from '../cli/helpers.js';
import { useDaemons, until, type DaemonProcess } from '../daemon/helpers.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';
import { SYNC_HEADERS } from './helpers.js';

const ORIGIN_C = 'cccccccccccccccc';

let op: OidcTestProvider;
beforeAll(async () => {
  op = await startOidcProvider({ accessTokenTtlSec: 3600 });
}, 30_000);
afterAll(async () => {
  await op?.close();
});

const daemons = useDaemons();

function urlFrom(stderr: string): string | undefined {
  return /"url":"(https?:\/\/[^"]+)"/.exec(stderr)?.[1];
}

/** The files of a hub whose data directory is `dir`: its store and its socket. */
const files = (dir: string): string[] => [
  '--db',
  join(dir, 'hub.db'),
  '--socket',
  join(dir, 'h.sock'),
];

async function startHubProcess(
  args: readonly string[] = [],
  dir = daemons.dir(),
): Promise<{ d: DaemonProcess; url: string; dir: string }> {
  const d = await daemons.start({
    db: join(dir, 'hub.db'),
    socket: join(dir, 'h.sock'),
    logLevel: 'info',
    args: ['--mode', 'server', '--http-addr', '127.0.0.1:0', ...args],
  });
  await until(() => urlFrom(d.stderr()) !== undefined, 'the hub to log its URL');
  return { d, url: urlFrom(d.stderr())!, dir };
}

const signIn = (): string[] => [
  '--oidc-issuer',
  op.issuer,
  '--oidc-audience',
  op.audience,
  '--oidc-client-id',
  op.clientId,
];

async function rpc(url: string, method: string, auth?: string) {
  const r = await request(`${url}/rpc`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(auth !== undefined && { authorization: `Bearer ${auth}` }),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: {} }),
  });
  return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
}

describe('turning sign-in on', () => {
  it('serves the owner at once even after devices without a credential used up the failure budget', async () => {
    // Devices that synced with the open hub keep trying without a token once sign-in is on, from
    // the same address the owner then signs in from. The hub has not fetched the provider's keys
    // yet: a valid token must still be checked (the limit slows failures, never a valid token).
    const hub = await startHubProcess(signIn());
    for (let i = 0; i < 12; i++) {
      const r = await request(`${hub.url}/sync/pull`, { headers: SYNC_HEADERS() });
      await r.body.dump();
      expect([401, 429]).toContain(r.statusCode);
    }
    const limited = await request(`${hub.url}/sync/pull`, { headers: SYNC_HEADERS() });
    await limited.body.dump();
    expect(limited.statusCode).toBe(429);

    const owner = await op.mintToken({ sub: 'alice' });
    const r = await rpc(hub.url, 'status', owner);
    expect(r.body.error).toBeUndefined();
    expect(r.status).toBe(200);
  });
});

describe('requests the hub refuses', () => {
  it('leave the device registry as it was; the first request it serves registers the device', async () => {
    const hub = await startHubProcess();
    const replicas = async (): Promise<unknown[]> => {
      const r = await rpc(hub.url, 'device.list');
      const devices = (r.body.result as { devices: { replica: unknown }[] }).devices;
      return devices.map((d) => d.replica);
    };
    const refused = [
      request(`${hub.url}/sync/pull?limit=-1`, { headers: SYNC_HEADERS(ORIGIN_C) }),
      request(`${hub.url}/sync/pull?after=abc`, { headers: SYNC_HEADERS(ORIGIN_C) }),
      request(`${hub.url}/sync/pull`, { headers: SYNC_HEADERS(ORIGIN_C, '9') }),
      request(`${hub.url}/sync/push`, {
        method: 'POST',
        headers: SYNC_HEADERS(ORIGIN_C),
        body: '{"replica":',
      }),
      request(`${hub.url}/sync/push`, {
        method: 'POST',
        headers: SYNC_HEADERS(ORIGIN_C),
        body: '{}',
      }),
    ];
    for (const p of refused) {
      const r = await p;
      await r.body.dump();
      expect(r.statusCode).toBeGreaterThanOrEqual(400);
    }
    expect(await replicas()).not.toContain(ORIGIN_C);

    const served = await request(`${hub.url}/sync/pull`, { headers: SYNC_HEADERS(ORIGIN_C) });
    await served.body.dump();
    expect(served.statusCode).toBe(200);
    expect(await replicas()).toContain(ORIGIN_C);
  });
});

describe('starting the hub a second time', () => {
  it('names the running hub and its store, not a cache replica, and does not send you to --socket', async () => {
    const first = await startHubProcess();
    const again = await daemons.run([
      '--mode',
      'server',
      ...files(first.dir),
      '--http-addr',
      '127.0.0.1:0',
      '--log-level',
      'silent',
    ]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(
      `hephd: already running (pid ${first.d.pid}, socket ${join(first.dir, 'h.sock')}) on ` +
        join(first.dir, 'hub.db'),
    );
    expect(again.stderr).not.toMatch(/cache|its own --socket/);
    // The first hub is untouched and serves on.
    const r = await request(`${first.url}/healthz`);
    await r.body.dump();
    expect(r.statusCode).toBe(200);
  });
});

describe('the line the hub logs when it listens', () => {
  const listening = (stderr: string): Record<string, unknown> =>
    JSON.parse(stderr.split('\n').find((l) => l.includes('hub listening on'))!) as Record<
      string,
      unknown
    >;

  it('says whether sign-in is required and whether it listens on loopback only, as its message does', async () => {
    const open = await startHubProcess();
    const o = listening(open.d.stderr());
    expect(o.msg).toMatch(/open: no sign-in required/);
    expect(o).toMatchObject({ sign_in: false, loopback_only: true });
    expect(o).not.toHaveProperty('open');

    const signed = await startHubProcess(signIn());
    const s = listening(signed.d.stderr());
    expect(s.msg).toMatch(/sign-in required/);
    expect(s).toMatchObject({ sign_in: true, loopback_only: true, issuer: op.issuer });
  });
});

describe('a typo in the config file', () => {
  it('stops the hub with the key and what it takes, touching nothing', async () => {
    const dir = daemons.dir();
    const config = join(dir, 'config.json');
    const start = (text: string) => {
      writeFileSync(config, text);
      return daemons.run(['--mode', 'server', '--config', config, ...files(dir)]);
    };
    const misspelt = await start('{"htp_addr": "127.0.0.1:0"}');
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).toContain('"htp_addr" is not a setting. Did you mean "http_addr"?');
    const wrongType = await start('{"allow_users": 5}');
    expect(wrongType.code).toBe(2);
    expect(wrongType.stderr).toContain(
      `config file ${config}: "allow_users": must be a string ("SUB,SUB" or "*") or a list of subjects`,
    );
    expect(readdirSync(dir).sort()).toEqual(['config.json']);
  });
});

describe('a PostgreSQL password on the command line', () => {
  const secret = 's3cret-pw';

  it('hub-migrate --to warns that the process list shows it, and never prints it', async () => {
    const r = await daemons.run([
      'hub-migrate',
      '--from',
      join(daemons.dir(), 'none'),
      '--to',
      `postgres://heph:${secret}@127.0.0.1:1/heph`,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--to holds a password, which every user of this machine can read');
    expect(r.stderr).not.toContain(secret);
  });

  it('--hub-store warns for a password given as ?password= too, and never prints it', async () => {
    const dir = daemons.dir();
    const r = await daemons.run([
      '--mode',
      'server',
      ...files(dir),
      '--http-addr',
      '127.0.0.1:0',
      '--log-level',
      'warn',
      '--hub-store',
      `postgres://heph@127.0.0.1:1/heph?password=${secret}`,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--hub-store holds a password');
    expect(r.stderr).not.toContain(secret);
  });
});

describe('a device that signed out (heph auth logout revokes it)', () => {
  it('asking for a credential again is refused with the commands that enrol it anew', async () => {
    const hub = await startHubProcess(signIn());
    const owner = await op.mintToken({ sub: 'alice' });
    const post = async (path: string, bearer: string, body: object) => {
      const r = await request(`${hub.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
        body: JSON.stringify(body),
      });
      return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
    };
    const got = await post('/auth/device', owner, { replica: ORIGIN_C, name: 'old laptop' });
    expect(got.status).toBe(200);
    const credential = String(got.body.credential);
    expect((await post('/auth/revoke-self', credential, {})).status).toBe(200);

    const again = await post('/auth/device', owner, { replica: ORIGIN_C, name: 'old laptop' });
    expect(again.status).toBe(403);
    const error = again.body.error as { code: string; message: string };
    expect(error.code).toBe('device_revoked');
    expect(error.message).toContain('heph device enroll');
    expect(error.message).toContain('heph auth enroll');
  });
});

describe('a mistyped setting in the environment', () => {
  it('is named as the variable that holds it, not as a flag that was never given', async () => {
    const dir = daemons.dir();
    const args = files(dir);
    const mode = await daemons.run(args, { HEPH_MODE: 'sever' });
    expect(mode.code).toBe(2);
    expect(mode.stderr).toContain('HEPH_MODE must be one of local, server, client (got "sever")');
    const level = await daemons.run(['--mode', 'server', ...args], { HEPH_LOG_LEVEL: 'loud' });
    expect(level.code).toBe(2);
    expect(level.stderr).toContain('HEPH_LOG_LEVEL must be one of');
    const flag = await daemons.run(['--mode', 'sever', ...args]);
    expect(flag.stderr).toContain('--mode must be one of');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('heph on the hub machine, through the hub socket', () => {
  it('sync and sync status say this is the hub, not that a hub is missing', async () => {
    const hub = await startHubProcess();
    const env = baseEnv({ HOME: hub.dir, HEPH_SOCKET: join(hub.dir, 'h.sock') });
    const status = await heph(['sync', 'status'], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^this is the hub: devices sync with it/);
    expect(status.stdout).not.toMatch(/no hub configured/);
    const sync = await heph(['sync'], { env });
    expect(sync.code).toBe(5);
    expect(sync.stderr).toContain('this is the hub: it holds every change the devices pushed');
    expect(sync.stderr).not.toContain('--hub-url');
  });
});
