// End to end: `heph auth login|status|logout` through the command functions, against a real
// OpenID Provider, a real Secret Service (private, see keyring-service.ts) and a stand-in hub
// serving GET /config on loopback; then a session refreshes the stored tokens after expiry (by a
// manual clock) and a hub client sends the renewed token. The provider speaks plain http on
// 127.0.0.1, which needs no opt-in; a second provider on an address off loopback (a veth pair
// with a network namespace, see non-loopback.ts) is refused unless the user passes
// --insecure-http, a choice the daemon's renewals then honour.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileStore } from '../../src/auth/file-store.js';
import { keyringStore } from '../../src/auth/keyring-store.js';
import { createSession } from '../../src/auth/session.js';
import type { TokenStore } from '../../src/auth/token-store.js';
import { authDeps, login, logout, status, type AuthDeps } from '../../src/cli/commands/auth.js';
import type { Cli } from '../../src/cli/context.js';
import { render, type Output } from '../../src/cli/output.js';
import { ManualClock } from '../../src/ports/clock.js';
import { HubClient } from '../../src/sync/hub-client.js';
import { nonLoopbackAddress, type NonLoopback } from '../helpers/non-loopback.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';
import { tempDir } from '../helpers/temp.js';
import { startSecretService, type SecretService } from './keyring-service.js';

let op: OidcTestProvider;
let secrets: SecretService;
let hub: { url: string; config: unknown; authorizations: string[]; close(): Promise<void> };
const tmp = tempDir('heph-auth-e2e-');

async function startHub(): Promise<typeof hub> {
  const state = { config: null as unknown, authorizations: [] as string[] };
  const server = http.createServer((req, res) => {
    state.authorizations.push(req.headers.authorization ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(state.config));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    get config() {
      return state.config;
    },
    set config(c: unknown) {
      state.config = c;
    },
    authorizations: state.authorizations,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

beforeAll(async () => {
  secrets = await startSecretService();
  op = await startOidcProvider({ accessTokenTtlSec: 120 });
  hub = await startHub();
  hub.config = { issuer: op.issuer, client_id: op.clientId, audience: op.audience, protocol: [2] };
}, 30_000);
afterAll(async () => {
  await hub?.close();
  await op?.close();
  await secrets?.stop();
  tmp.cleanup();
});

function fakeCli(): Cli & { notes: string[] } {
  const notes: string[] = [];
  return {
    notes,
    env: { HOME: tmp.dir, XDG_CONFIG_HOME: `${tmp.dir}/config` },
    cwd: tmp.dir,
    today: '2026-01-01',
    color: false,
    stdinIsFile: () => false,
    stdinIsTTY: false,
    readSecret: () => Promise.reject(new Error('no terminal in this test')),
    hephdPath: '/nonexistent',
    socketFlag: undefined,
    socketPath: () => Promise.reject(new Error('no daemon in this test')),
    call: () => Promise.reject(new Error('no daemon in this test')),
    ask: () => Promise.resolve(undefined),
    connection: () => Promise.reject(new Error('no daemon in this test')),
    readStdin: () => Promise.resolve(''),
    write: () => undefined,
    note: (t) => notes.push(t),
    stderrIsTTY: false,
    status: () => undefined,
  };
}

let n = 0;
function deps(
  cli: Cli & { notes: string[] },
  clock: ManualClock,
  o: Partial<AuthDeps> = {},
  provider = op,
) {
  const real = authDeps(cli);
  const file = fileStore({
    path: `${tmp.dir}/f${++n}/tokens.json`,
    warn: (w) => cli.note(`heph: ${w}`),
  });
  const d: AuthDeps = {
    ...real,
    keyring: keyringStore({ service: 'heph-test-e2e' }),
    file,
    clock,
    loginOptions: {
      sleep: async (ms) => {
        clock.advance(ms);
        const code = /enter the code: (\S+)/.exec(cli.notes.join('\n'))?.[1];
        if (code !== undefined) await provider.approveDeviceCode(code, 'alice');
      },
    },
    ...o,
  };
  return d;
}

const json = (out: Output) => render(out, { json: true, color: false, today: '2026-01-01' });
const human = (out: Output) => render(out, { json: false, color: false, today: '2026-01-01' });

describe('heph auth, end to end', () => {
  it('login, status, refresh after expiry, the hub gets the token, logout (plain http on loopback, no opt-in)', async () => {
    const cli = fakeCli();
    const clock = new ManualClock(Date.now());
    const d = deps(cli, clock);

    const out = await login(cli, { hub: hub.url, admin: true }, d);
    expect(human(out)).toContain(`Signed in to ${hub.url} as alice`);
    expect(out).toMatchObject({
      data: { subject: 'alice', login: { storage: 'keyring', audience: op.audience } },
    });
    const notes = cli.notes.join('\n');
    expect(notes).toContain(`${op.issuer}/device`);
    expect(notes).toMatch(/enter the code: \S+/);

    const stored = await d.keyring.get(hub.url);
    expect(stored?.sub).toBe('alice');
    expect(await d.file.get(hub.url)).toBeUndefined();
    // No token in what the command prints, in either form, nor on stderr.
    for (const text of [json(out), human(out), notes]) {
      expect(text).not.toContain(stored!.access_token);
      expect(text).not.toContain(stored!.refresh_token!);
    }

    const st = await status(cli, { hub: `${hub.url}/` }, d);
    expect(st).toMatchObject({
      data: { signed_in: true, storage: 'keyring', user: null, subject: 'alice', expired: false },
    });
    expect(human(st)).toContain('expires at');

    // The token expires; a session (as the daemon would hold) renews it once, and the hub client
    // sends the renewed one.
    clock.advance(121_000);
    const session = createSession({
      hub: hub.url,
      stores: [d.keyring, d.file],
      clock,
    });
    const before = op.hits('/token');
    const client = new HubClient({
      url: hub.url,
      origin: 'r1',
      getToken: () => session.getToken(),
    });
    try {
      await Promise.all([client.config(), client.config(), client.config()]);
    } finally {
      await client.close();
    }
    expect(op.hits('/token') - before).toBe(1);
    const renewed = await d.keyring.get(hub.url);
    expect(renewed?.access_token).not.toBe(stored!.access_token);
    expect(hub.authorizations.slice(-3)).toEqual(Array(3).fill(`Bearer ${renewed!.access_token}`));

    const bye = await logout(cli, { hub: hub.url }, d);
    expect(bye).toMatchObject({ data: { removed_from: ['keyring'] } });
    expect(await d.keyring.get(hub.url)).toBeUndefined();
    expect(await status(cli, { hub: hub.url }, d)).toMatchObject({ data: { signed_in: false } });
    expect(await logout(cli, { hub: hub.url }, d)).toMatchObject({ data: { removed_from: [] } });
  });

  it('without a keyring, login stops before the device flow unless --insecure-storage', async () => {
    const cli = fakeCli();
    const clock = new ManualClock(Date.now());
    const noKeyring: TokenStore = {
      ...keyringStore({ service: 'unused' }),
      status: () => Promise.resolve({ available: false, reason: 'no Secret Service is running' }),
      available: () => Promise.resolve(false),
    };
    const d = deps(cli, clock, { keyring: noKeyring });
    await expect(login(cli, { hub: hub.url, admin: true }, d)).rejects.toThrow(
      /no OS keyring.*no Secret Service is running.*--insecure-storage/,
    );
    expect(cli.notes).toEqual([]);

    const out = await login(cli, { hub: hub.url, admin: true, 'insecure-storage': true }, d);
    expect(out).toMatchObject({ data: { login: { storage: 'file', location: d.file.location } } });
    const warning = cli.notes.findIndex((l) => l.includes('warning:'));
    expect(warning).toBeGreaterThan(0);
    expect(cli.notes[warning]).toContain(d.file.location);
    expect(await d.file.get(hub.url)).toMatchObject({ sub: 'alice' });
    expect(await status(cli, { hub: hub.url }, d)).toMatchObject({
      data: { storage: 'file', keyring: 'not available: no Secret Service is running' },
    });
    expect(await logout(cli, { hub: hub.url }, d)).toMatchObject({
      data: { removed_from: ['file'] },
    });
  });

  it('says so when the hub does not require sign-in', async () => {
    const open = await startHub();
    open.config = { issuer: null, client_id: null, audience: null, protocol: [2] };
    try {
      const cli = fakeCli();
      const out = await login(cli, { hub: open.url }, deps(cli, new ManualClock()));
      expect(human(out)).toContain('does not require sign-in');
      expect(cli.notes).toEqual([]);
    } finally {
      await open.close();
    }
  });

  it('asks which hub when none is given or configured', async () => {
    const cli = fakeCli();
    await expect(login(cli, {}, deps(cli, new ManualClock()))).rejects.toMatchObject({
      code: 'invalid_params',
    });
  });
});

describe('heph auth with a plain-http provider off loopback', () => {
  let net: NonLoopback;
  let far: OidcTestProvider;
  let farHub: typeof hub;
  beforeAll(async () => {
    net = await nonLoopbackAddress();
    far = await startOidcProvider({ host: net.address, accessTokenTtlSec: 120 });
    farHub = await startHub();
    farHub.config = {
      issuer: far.issuer,
      client_id: far.clientId,
      audience: far.audience,
      protocol: [1],
    };
    process.stderr.write(`provider off loopback at ${far.issuer}: ${net.how}\n`);
  }, 30_000);
  afterAll(async () => {
    await farHub?.close();
    await far?.close();
    await net?.close();
  });

  const requests = () =>
    ['/.well-known/openid-configuration', '/device/auth', '/token'].map((p) => far.hits(p));

  it('login refuses it, naming --insecure-http, before any request reaches it', async () => {
    expect(new URL(far.issuer).hostname).toBe(net.address);
    const cli = fakeCli();
    const d = deps(cli, new ManualClock(Date.now()), {}, far);
    const e = await login(cli, { hub: farHub.url, admin: true }, d).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'invalid_params' });
    expect((e as Error).message).toContain(
      `refusing plain http to the identity provider at ${far.issuer}: it is not on loopback`,
    );
    expect((e as Error).message).toContain('--insecure-http');
    expect(requests()).toEqual([0, 0, 0]);
    expect(cli.notes).toEqual([]);
    expect(await d.keyring.get(farHub.url)).toBeUndefined();
  });

  it('--insecure-http signs in; renewals honour that choice, or hephd --insecure-http', async () => {
    const cli = fakeCli();
    const clock = new ManualClock(Date.now());
    const d = deps(cli, clock, {}, far);
    const out = await login(cli, { hub: farHub.url, admin: true, 'insecure-http': true }, d);
    expect(out).toMatchObject({ data: { subject: 'alice', login: { issuer: far.issuer } } });
    const stored = await d.keyring.get(farHub.url);
    expect(stored).toMatchObject({ sub: 'alice', insecure_http: true });

    // The daemon's session, with hephd's default settings, renews over plain http because the
    // sign-in said so.
    clock.advance(121_000);
    const tokenCalls = far.hits('/token');
    const session = createSession({ hub: farHub.url, stores: [d.keyring], clock });
    const renewed = await session.getAccessToken();
    expect(renewed).not.toBe(stored!.access_token);
    expect(far.hits('/token')).toBe(tokenCalls + 1);
    expect(await d.keyring.get(farHub.url)).toMatchObject({ insecure_http: true });

    // A sign-in stored without that choice is not renewed over plain http, unless hephd itself
    // was started with --insecure-http.
    const { insecure_http: _, ...without } = (await d.keyring.get(farHub.url))!;
    await d.file.set(farHub.url, { ...without, expires_at: clock.now() - 1 });
    const strict = createSession({ hub: farHub.url, stores: [d.file], clock });
    const before = requests();
    await expect(strict.getAccessToken()).rejects.toThrow(
      /refusing plain http to the identity provider.*--insecure-http/,
    );
    expect(requests()).toEqual(before);
    const allowed = createSession({
      hub: farHub.url,
      stores: [d.file],
      clock,
      insecureHttp: true,
    });
    expect(await allowed.getAccessToken()).toMatch(/^ey/);
    expect(far.hits('/token')).toBe(before[2]! + 1);
    await logout(cli, { hub: farHub.url }, d);
  });

  it('HEPH_INSECURE_HTTP=1 is the same opt-in', async () => {
    const base = fakeCli();
    const cli = { ...base, env: { ...base.env, HEPH_INSECURE_HTTP: '1' } };
    const d = deps(cli, new ManualClock(Date.now()), {}, far);
    expect(await login(cli, { hub: farHub.url, admin: true }, d)).toMatchObject({
      data: { subject: 'alice' },
    });
    await logout(cli, { hub: farHub.url }, d);
  });
});
