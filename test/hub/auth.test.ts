// A hub that requires sign-in, against a real OpenID Provider on loopback (test/helpers/
// oidc-provider.ts): refusals (401/403/429/503), the first account claiming the hub and the
// claim surviving a restart, separate data for --allow-users accounts through every route, key
// rotation at the provider, /config, and a spoke that signs in with the device flow and syncs.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login } from '../../src/auth/device-flow.js';
import { fileStore } from '../../src/auth/file-store.js';
import { createFailureLimiter } from '../../src/auth/rate-limit.js';
import { createSession } from '../../src/auth/session.js';
import type { HubAuthOptions } from '../../src/hub/auth.js';
import { systemClock } from '../../src/ports/clock.js';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { seededRandom } from '../../src/ports/random.js';
import { SUPPORTED_PROTOCOLS } from '../../src/protocol/sync.js';
import { openStore } from '../../src/store/open-store.js';
import { HubClient } from '../../src/sync/hub-client.js';
import { syncOnce } from '../../src/sync/sync-once.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';
import { useCleanup } from '../helpers/temp.js';
import {
  makeHub,
  ORIGIN_A,
  ORIGIN_B,
  SYNC_HEADERS,
  pushBody,
  titleOp,
  type TestHub,
  type TestOp,
} from './helpers.js';

let op: OidcTestProvider;
beforeAll(async () => {
  op = await startOidcProvider({ accessTokenTtlSec: 300 });
}, 30_000);
afterAll(async () => {
  await op?.close();
});

type AuthHub = TestHub;

const cleanups = useCleanup();

function newDir(): string {
  return cleanups.dir('heph-hub-auth-');
}

/** A hub on a real clock (tokens carry real times) with sign-in at the test provider. */
async function startAuthHub(dir: string, auth: Partial<HubAuthOptions> = {}): Promise<AuthHub> {
  const h = await makeHub({
    dir,
    clock: systemClock,
    random: seededRandom(43),
    auth: {
      issuer: op.issuer,
      audience: op.audience,
      clientId: op.clientId,
      verifier: { cooldownMs: 0 },
      ...auth,
    },
  });
  cleanups.defer(() => h.close());
  return h;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const tokenFor = (sub: string) => op.mintToken({ sub });

let wall = Date.now();
/** Ops stamped now (the hub refuses ops from the future). */
function ops(n: number, origin: string): TestOp[] {
  wall = Math.max(wall + 1, Date.now());
  return Array.from({ length: n }, (_, i) => titleOp(wall, i, origin));
}

function push(h: AuthHub, token: string | undefined, body: TestOp[], origin = ORIGIN_A) {
  return h.app.inject({
    method: 'POST',
    url: '/sync/push',
    headers: { ...SYNC_HEADERS(origin), ...(token !== undefined && bearer(token)) },
    payload: pushBody(body, origin),
  });
}

function pull(h: AuthHub, token: string | undefined, query = '') {
  return h.app.inject({
    method: 'GET',
    url: `/sync/pull${query}`,
    headers: { ...SYNC_HEADERS(ORIGIN_B), ...(token !== undefined && bearer(token)) },
  });
}

function rpc(h: AuthHub, token: string | undefined, method: string, params: object = {}) {
  return h.app.inject({
    method: 'POST',
    url: '/rpc',
    headers: {
      'content-type': 'application/json',
      ...(token !== undefined && bearer(token)),
    },
    payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
}

async function pulledIds(h: AuthHub, token: string): Promise<string[]> {
  const r = await pull(h, token);
  expect(r.statusCode).toBe(200);
  return r.json<{ ops: { id: string }[] }>().ops.map((o) => o.id);
}

async function titles(h: AuthHub, token: string): Promise<string[]> {
  const r = await rpc(h, token, 'node.list');
  expect(r.statusCode).toBe(200);
  const body = r.json<{ result: { nodes: { title: string }[] } }>();
  return body.result.nodes.map((n) => n.title).sort();
}

type ErrorOf = { code: string; message: string } & Record<string, unknown>;
const errorOf = (r: { json<T>(): T }): ErrorOf => r.json<{ error: ErrorOf }>().error;

describe('a hub with sign-in', () => {
  it('refuses /sync and /rpc without a token (401 + WWW-Authenticate); /healthz and /config stay open', async () => {
    const h = await startAuthHub(newDir());
    for (const r of [
      await push(h, undefined, ops(1, ORIGIN_A)),
      await pull(h, undefined),
      await rpc(h, undefined, 'node.list'),
    ]) {
      expect(r.statusCode).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Bearer');
      expect(errorOf(r)).toMatchObject({ code: 'unauthorized', message: expect.any(String) });
    }
    const bad = await pull(h, 'not.a.token');
    expect(bad.statusCode).toBe(401);
    expect(bad.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    // A token for another audience is refused too.
    const other = await pull(h, await op.mintToken({ sub: 'alice', aud: 'https://other.test' }));
    expect(other.statusCode).toBe(401);
    expect(errorOf(other)).toMatchObject({ reason: 'wrong_audience' });

    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const c = await h.app.inject({ method: 'GET', url: '/config' });
    expect(c.statusCode).toBe(200);
    expect(c.json()).toEqual({
      issuer: op.issuer,
      client_id: op.clientId,
      audience: op.audience,
      protocol: [...SUPPORTED_PROTOCOLS],
    });
    // Nothing was stored and nobody claimed the hub.
    expect(await h.hubStore.head(HUB_OWNER)).toBe(0);
    expect(await h.hubStore.claim()).toBeUndefined();
  });

  it('the first account claims the hub, for good; another account gets 403 and no data', async () => {
    const dir = newDir();
    let h = await startAuthHub(dir);
    const alice = await tokenFor('alice');
    const bob = await tokenFor('bob');
    const mine = ops(3, ORIGIN_A);
    const r = await push(h, alice, mine);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ accepted: 3 });
    expect(await h.hubStore.claim()).toEqual({ iss: op.issuer, sub: 'alice' });

    for (const refused of [
      await push(h, bob, ops(2, ORIGIN_B), ORIGIN_B),
      await pull(h, bob),
      await rpc(h, bob, 'node.list'),
    ]) {
      expect(refused.statusCode).toBe(403);
      expect(errorOf(refused)).toMatchObject({ code: 'forbidden' });
      expect(JSON.stringify(refused.json())).not.toContain('title');
    }
    expect(await h.hubStore.head(HUB_OWNER)).toBe(3);
    // A refused account gets nothing made for it.
    expect(await h.hubStore.findOwner({ iss: op.issuer, sub: 'bob' })).toBeUndefined();

    // The claim is read back after a restart: bob still cannot take the hub.
    await h.close();
    h = await startAuthHub(dir);
    expect((await pull(h, bob)).statusCode).toBe(403);
    expect(await pulledIds(h, alice)).toEqual(mine.map((o) => o.id));

    // --owner pins the owner whoever claimed it.
    await h.close();
    h = await startAuthHub(dir, { owner: 'bob' });
    expect(await pulledIds(h, bob)).toEqual(mine.map((o) => o.id));
    expect((await pull(h, alice)).statusCode).toBe(403);
  });

  it('gives each --allow-users account data of its own, through push, pull, long-poll and /rpc', async () => {
    // With a list and no owner yet only a listed account could claim the hub: pin alice.
    const h = await startAuthHub(newDir(), { owner: 'alice', allowUsers: ['bob'] });
    const alice = await tokenFor('alice');
    const bob = await tokenFor('bob');
    const carol = await tokenFor('carol');

    const a = ops(2, ORIGIN_A);
    expect((await push(h, alice, a)).statusCode).toBe(200);
    // bob starts with an empty log of his own.
    expect(await pulledIds(h, bob)).toEqual([]);
    const b = ops(1, ORIGIN_B);
    expect((await push(h, bob, b, ORIGIN_B)).statusCode).toBe(200);
    expect(await pulledIds(h, bob)).toEqual(b.map((o) => o.id));
    expect(await pulledIds(h, alice)).toEqual(a.map((o) => o.id));
    expect(await h.hubStore.head(HUB_OWNER)).toBe(2);
    const bobOwner = await h.hubStore.findOwner({ iss: op.issuer, sub: 'bob' });
    expect(bobOwner).toBeDefined();
    expect(await h.hubStore.head(bobOwner!)).toBe(1);

    // /rpc: each sees only its own nodes.
    const made = await rpc(h, bob, 'node.create', { kind: 'doc', title: 'bob private' });
    expect(made.statusCode).toBe(200);
    expect(made.json()).toHaveProperty('result');
    expect(
      await rpc(h, alice, 'node.create', { kind: 'doc', title: 'alice private' }),
    ).toHaveProperty('statusCode', 200);
    expect(await titles(h, bob)).toEqual(['bob private']);
    expect(await titles(h, alice)).toEqual(['alice private']);

    // A long-poll on bob's log is not woken with alice's data, only with his own.
    const after = (await pull(h, bob)).json<{ cursor: string }>().cursor;
    const waiting = pull(h, bob, `?after=${after}&wait=5`);
    await new Promise((r) => setTimeout(r, 100));
    expect((await push(h, alice, ops(1, ORIGIN_A))).statusCode).toBe(200);
    const b2 = ops(1, ORIGIN_B);
    expect((await push(h, bob, b2, ORIGIN_B)).statusCode).toBe(200);
    const woken = await waiting;
    expect(woken.statusCode).toBe(200);
    expect(woken.json<{ ops: { id: string }[] }>().ops.map((o) => o.id)).toEqual(
      b2.map((o) => o.id),
    );

    // Someone not on the list is still refused, and gets nothing made for them.
    expect((await pull(h, carol)).statusCode).toBe(403);
    expect(await h.hubStore.findOwner({ iss: op.issuer, sub: 'carol' })).toBeUndefined();
  });

  it('accepts tokens signed with a key the provider rotated in, without a restart', async () => {
    const h = await startAuthHub(newDir());
    expect((await pull(h, await tokenFor('alice'))).statusCode).toBe(200);
    await op.rotateKeys();
    const fresh = await tokenFor('alice');
    expect((await pull(h, fresh)).statusCode).toBe(200);
    // The previous key is still published, so its tokens still pass.
    expect(
      (await pull(h, await op.mintToken({ sub: 'alice' }, { key: 'previous' }))).statusCode,
    ).toBe(200);
  });

  it('answers 429 with Retry-After after too many failures, and 503 when the provider is down', async () => {
    const h = await startAuthHub(newDir(), {
      limiter: createFailureLimiter({ burst: 2, perMinute: 1 }),
    });
    expect((await pull(h, 'x.y.z')).statusCode).toBe(401);
    expect((await pull(h, 'x.y.z')).statusCode).toBe(401);
    const limited = await pull(h, 'x.y.z');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(errorOf(limited)).toMatchObject({ code: 'rate_limited' });

    const down = await startAuthHub(newDir(), { limiter: false });
    const token = await tokenFor('alice');
    op.setDown(true);
    try {
      const r = await pull(down, token);
      expect(r.statusCode).toBe(503);
      expect(r.headers['retry-after']).toBe('30');
      expect(errorOf(r)).toMatchObject({ code: 'unavailable' });
    } finally {
      op.setDown(false);
    }
    expect((await pull(down, token)).statusCode).toBe(200);
  });

  it('end to end: a spoke signed in with the device flow syncs with its bearer token', async () => {
    const dir = newDir();
    const h = await startAuthHub(dir);
    const url = await h.listen();

    // Sign in as `dana` the way `heph auth login` does, approving at the provider.
    const printed: string[] = [];
    const tokens = await login({
      issuer: op.issuer,
      clientId: op.clientId,
      audience: op.audience,
      print: (l) => printed.push(l),
      sleep: async () => {
        const code = /enter the code: (\S+)/.exec(printed.join('\n'))?.[1];
        if (code !== undefined) await op.approveDeviceCode(code, 'dana');
      },
    });
    expect(tokens.sub).toBe('dana');
    const file = fileStore({ path: join(dir, 'creds', 'tokens.json') });
    await file.set(url, tokens);
    const session = createSession({ hub: url, stores: [file] });

    const spoke = openStore(
      { path: join(dir, 'spoke.db') },
      { clock: systemClock, random: seededRandom(44) },
    );
    const client = new HubClient({
      url,
      origin: spoke.origin,
      getToken: () => session.getToken(),
    });
    const anonymous = new HubClient({ url, origin: spoke.origin });
    try {
      spoke.createNode({ kind: 'doc', title: 'synced with a bearer' });
      await expect(syncOnce(spoke, anonymous)).rejects.toMatchObject({ code: 'unauthorized' });
      const r = await syncOnce(spoke, client);
      expect(r.pushed).toBeGreaterThan(0);
      expect((await h.view()).listNodes().map((n) => n.title)).toContain('synced with a bearer');
      expect(await h.hubStore.claim()).toEqual({ iss: op.issuer, sub: 'dana' });
    } finally {
      await client.close();
      await anonymous.close();
      spoke.close();
    }
  });
});
