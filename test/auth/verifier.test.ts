// The hub's bearer-token verifier against a real OpenID Provider on loopback: every forged,
// malformed or misdirected token is refused with 401, real access tokens are accepted, keys
// rotate without a restart, unknown kids cannot make the hub hammer the provider, and an
// unreachable provider is 503 unless a cached key fits.

import { createPublicKey } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { ManualClock } from '../../src/ports/clock.js';
import type { FetchLike } from '../../src/auth/jwks.js';
import { createVerifier, type VerifierOptions } from '../../src/auth/verifier.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const nowSec = () => Math.floor(Date.now() / 1000);

/** A fetch that records every URL it is asked for. */
function countingFetch(): { fetch: FetchLike; urls: string[]; jwks(): number } {
  const urls: string[] = [];
  return {
    urls,
    fetch: (url, init) => {
      urls.push(url);
      return fetch(url, init);
    },
    jwks: () => urls.filter((u) => u.endsWith('/jwks')).length,
  };
}

async function refusal(p: Promise<unknown>): Promise<HephError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HephError) return e;
    throw e;
  }
  throw new Error('expected a refusal, got acceptance');
}

describe('bearer token verifier', () => {
  let op: OidcTestProvider;
  let idToken: string;
  let deviceAccessToken: string;
  let trap: http.Server;
  let trapHits = 0;
  let trapUrl: string;

  beforeAll(async () => {
    op = await startOidcProvider({ accessTokenTtlSec: 300 });
    const config = await client.discovery(
      new URL(op.issuer),
      op.clientId,
      undefined,
      client.None(),
      {
        execute: [client.allowInsecureRequests],
      },
    );
    const device = await client.initiateDeviceAuthorization(config, {
      scope: `openid offline_access ${op.resourceScope}`,
      resource: op.audience,
    });
    await op.approveDeviceCode(device.user_code, 'alice');
    const tokens = await client.pollDeviceAuthorizationGrant(config, { ...device, interval: 0.01 });
    deviceAccessToken = tokens.access_token;
    idToken = tokens.id_token!;
    // A loopback listener that must never be asked for anything.
    trap = http.createServer((_req, res) => {
      trapHits++;
      res.end('{"keys":[]}');
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await op.close();
    await new Promise((r) => trap.close(r));
  });

  const make = (extra: Partial<VerifierOptions> = {}) =>
    createVerifier({ issuer: op.issuer, audience: op.audience, ...extra });

  it('accepts the access token the device flow issued for the hub', async () => {
    const v = make();
    const t = await v.verify(`Bearer ${deviceAccessToken}`);
    expect(t).toMatchObject({ iss: op.issuer, sub: 'alice', scope: op.resourceScope });
    expect(t.claims.client_id).toBe(op.clientId);
    // The scheme is case-insensitive.
    expect((await v.verify(`bearer ${deviceAccessToken}`)).sub).toBe('alice');
  });

  it('accepts an audience list that includes the hub, and tokens within the leeway', async () => {
    const v = make();
    const now = nowSec();
    for (const claims of [
      { aud: ['other', op.audience] },
      { exp: now - 30 },
      { nbf: now + 30 },
      { scope: undefined, scp: ['a', 'b'] },
    ]) {
      await expect(v.verify(`Bearer ${await op.mintToken(claims)}`)).resolves.toMatchObject({
        sub: 'test-user',
      });
    }
  });

  it('refuses a missing or non-bearer Authorization header with an RFC 6750 challenge', async () => {
    const v = make();
    const missing = await refusal(v.verify(undefined));
    expect(missing.code).toBe('unauthorized');
    expect(missing.details.www_authenticate).toBe('Bearer');
    for (const h of ['', 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'Token abc']) {
      const e = await refusal(v.verify(h));
      expect(e.code, h).toBe('unauthorized');
    }
    const basic = await refusal(v.verify('Basic dXNlcjpwYXNz'));
    expect(basic.details.www_authenticate).toMatch(/^Bearer error="invalid_request"/);
  });

  describe('refuses every adversarial token with 401', () => {
    const cases: [string, (op: OidcTestProvider) => Promise<string>, string[]][] = [
      [
        'alg none',
        async (o) => `${b64({ alg: 'none' })}.${b64(await claimsOf(o))}.`,
        ['malformed'],
      ],
      [
        'alg none with a signature part',
        async (o) => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(await claimsOf(o))}.AAAA`,
        ['alg_not_allowed'],
      ],
      [
        'alg null',
        async (o) =>
          `${b64({ alg: null, kid: o.jwks().keys[0]!.kid })}.${b64(await claimsOf(o))}.AAAA`,
        ['alg_not_allowed'],
      ],
      [
        'HS256 keyed with the public key (PEM)',
        (o) => hsWithPublicKey(o, 'pem'),
        ['alg_not_allowed'],
      ],
      [
        'HS256 keyed with the public key (JWK)',
        (o) => hsWithPublicKey(o, 'jwk'),
        ['alg_not_allowed'],
      ],
      [
        'unknown alg',
        (o) => o.mintToken({}, { header: { alg: 'XS512' } }).catch(() => unsignedWith(o, 'XS512')),
        ['alg_not_allowed'],
      ],
      ['bad signature', async (o) => flipSignature(await o.mintToken()), ['bad_signature']],
      ['wrong iss', (o) => o.mintToken({ iss: 'https://evil.example' }), ['wrong_issuer']],
      ['iss with a trailing slash', (o) => o.mintToken({ iss: `${o.issuer}/` }), ['wrong_issuer']],
      ['missing iss', (o) => o.mintToken({ iss: undefined }), ['missing_claim']],
      ['wrong aud', (o) => o.mintToken({ aud: 'https://other-hub.example' }), ['wrong_audience']],
      ['missing aud', (o) => o.mintToken({ aud: undefined }), ['missing_claim']],
      [
        'aud list without the hub',
        (o) => o.mintToken({ aud: ['a', o.clientId] }),
        ['wrong_audience'],
      ],
      ['expired beyond the leeway', (o) => o.mintToken({ exp: nowSec() - 61 }), ['expired']],
      ['nbf in the future', (o) => o.mintToken({ nbf: nowSec() + 120 }), ['not_yet_valid']],
      ['missing exp', (o) => o.mintToken({ exp: undefined }), ['missing_claim']],
      ['exp not a number', (o) => o.mintToken({ exp: 'tomorrow' }), ['invalid_claim']],
      ['missing sub', (o) => o.mintToken({ sub: undefined }), ['missing_claim']],
      ['empty sub', (o) => o.mintToken({ sub: '' }), ['invalid_claim', 'missing_claim']],
      ['unknown kid', (o) => o.mintToken({}, { header: { kid: 'no-such-key' } }), ['unknown_kid']],
      [
        'two parts',
        async (o) => (await o.mintToken()).split('.').slice(0, 2).join('.'),
        ['malformed'],
      ],
      ['four parts', async (o) => `${await o.mintToken()}.AAAA`, ['malformed']],
      ['bad base64', async (o) => `${(await o.mintToken()).slice(0, 10)}$%.x.y`, ['malformed']],
      [
        'header not JSON',
        () => Promise.resolve(`${Buffer.from('{nope').toString('base64url')}.e30.AAAA`),
        ['malformed'],
      ],
      [
        'payload not JSON',
        (o) => o.mintToken().then((t) => replacePayload(t, 'bm9wZQ')),
        ['bad_signature', 'malformed'],
      ],
      ['huge', async (o) => o.mintToken({ pad: 'x'.repeat(20_000) }), ['too_large']],
      [
        'typ of another JWT kind',
        (o) => o.mintToken({}, { header: { typ: 'logout+jwt' } }),
        ['wrong_type'],
      ],
      [
        'an ID token that names the hub in its audience',
        (o) =>
          o.mintToken(
            { aud: [o.clientId, o.audience], at_hash: 'x' },
            { header: { typ: undefined } },
          ),
        ['id_token'],
      ],
    ];
    for (const [name, build, reasons] of cases) {
      it(name, async () => {
        const token = await build(op);
        const logged: unknown[] = [];
        const record = (obj: object, msg?: string) => void logged.push(obj, msg);
        const logger = { debug: record, info: record, warn: record, error: record };
        const e = await refusal(make({ logger }).verify(`Bearer ${token}`));
        expect(logged.length).toBeGreaterThan(0);
        expect(e.code).toBe('unauthorized');
        expect(reasons).toContain(e.details.reason);
        expect(e.details.www_authenticate).toMatch(
          /^Bearer error="invalid_token", error_description="[^"]+"$/,
        );
        // Neither the token nor any part of it is echoed back or logged.
        const parts = token.split('.').filter((p) => p.length >= 8);
        for (const p of parts) {
          expect(JSON.stringify([e.message, e.details, logged])).not.toContain(p);
        }
      });
    }
  });

  it('refuses the ID token the device flow issued to the CLI', async () => {
    const e = await refusal(make().verify(`Bearer ${idToken}`));
    expect(e.code).toBe('unauthorized');
    expect(e.details.reason).toBe('wrong_audience');
  });

  it('refuses with requireAtJwtType a token typed JWT, and accepts at+jwt', async () => {
    const v = make({ requireAtJwtType: true });
    const e = await refusal(
      v.verify(`Bearer ${await op.mintToken({}, { header: { typ: 'JWT' } })}`),
    );
    expect(e.details.reason).toBe('wrong_type');
    await expect(v.verify(`Bearer ${await op.mintToken()}`)).resolves.toBeDefined();
    // Without it, JWT (what Keycloak and Auth0 send) is accepted.
    await expect(
      make().verify(`Bearer ${await op.mintToken({}, { header: { typ: 'JWT' } })}`),
    ).resolves.toBeDefined();
  });

  it('never fetches keys from jku, x5u or jwk headers', async () => {
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: 'attacker', alg: 'ES256' };
    const counting = countingFetch();
    const v = make({ fetch: counting.fetch });
    const sign = (header: Record<string, unknown>) =>
      new CompactSign(Buffer.from(JSON.stringify(claimsNow(op))))
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...header })
        .sign(attacker.privateKey);
    const forged = [
      await sign({ kid: 'attacker', jku: `${trapUrl}/jwks.json` }),
      await sign({ kid: 'attacker', x5u: `${trapUrl}/cert.pem` }),
      await sign({ kid: 'attacker', jwk: attackerJwk }),
      await sign({ jwk: attackerJwk }),
      // A real kid but the attacker's signature, pointing at the attacker's keys.
      await sign({ kid: op.jwks().keys[0]!.kid, jku: `${trapUrl}/jwks.json` }),
    ];
    for (const t of forged) {
      const e = await refusal(v.verify(`Bearer ${t}`));
      expect(e.code).toBe('unauthorized');
    }
    expect(trapHits).toBe(0);
    expect(counting.urls.every((u) => u.startsWith(op.issuer))).toBe(true);
  });

  it('picks up a rotated key without a restart, and keeps accepting the old one', async () => {
    const clock = new ManualClock(Date.now());
    const counting = countingFetch();
    const v = make({ clock, fetch: counting.fetch });
    await v.verify(`Bearer ${await op.mintToken()}`);
    expect(counting.jwks()).toBe(1);

    await op.rotateKeys();
    const fresh = await op.mintToken();
    // Inside the refetch cooldown a brand-new kid is not fetched for yet.
    const early = await refusal(v.verify(`Bearer ${fresh}`));
    expect(early.details.reason).toBe('unknown_kid');
    expect(counting.jwks()).toBe(1);

    clock.advance(30_000);
    await expect(v.verify(`Bearer ${fresh}`)).resolves.toMatchObject({ sub: 'test-user' });
    expect(counting.jwks()).toBe(2);
    // Tokens signed before the rotation still verify; the provider still publishes that key.
    await expect(
      v.verify(`Bearer ${await op.mintToken({}, { key: 'previous' })}`),
    ).resolves.toBeDefined();
    // And a token from the real token endpoint is signed with the new key.
    const cfg = await client.discovery(new URL(op.issuer), op.clientId, undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    const device = await client.initiateDeviceAuthorization(cfg, {
      scope: `openid ${op.resourceScope}`,
      resource: op.audience,
    });
    await op.approveDeviceCode(device.user_code, 'bob');
    const tokens = await client.pollDeviceAuthorizationGrant(cfg, { ...device, interval: 0.01 });
    await expect(v.verify(`Bearer ${tokens.access_token}`)).resolves.toMatchObject({ sub: 'bob' });
    expect(counting.jwks()).toBe(2);
  });

  it('refetches for unknown kids at most once per cooldown', async () => {
    const clock = new ManualClock(Date.now());
    const counting = countingFetch();
    const v = make({ clock, fetch: counting.fetch, cooldownMs: 30_000 });
    await v.verify(`Bearer ${await op.mintToken()}`);
    const first = counting.urls.length;
    expect(counting.jwks()).toBe(1);

    const randomKid = async (i: number) =>
      refusal(v.verify(`Bearer ${await op.mintToken({}, { header: { kid: `random-${i}` } })}`));
    // 50 random kids at once and in sequence: not one fetch, the last fetch was just now.
    await Promise.all(Array.from({ length: 50 }, (_, i) => randomKid(i)));
    expect(counting.urls.length).toBe(first);

    clock.advance(30_001);
    // After the cooldown, many concurrent unknown kids share one fetch.
    const errs = await Promise.all(Array.from({ length: 20 }, (_, i) => randomKid(100 + i)));
    expect(errs.every((e) => e.details.reason === 'unknown_kid')).toBe(true);
    expect(counting.jwks()).toBe(2);
    for (let i = 0; i < 20; i++) {
      clock.advance(1000);
      await randomKid(200 + i);
    }
    expect(counting.jwks()).toBe(2);
    clock.advance(11_000);
    await randomKid(999);
    expect(counting.jwks()).toBe(3);
  });

  describe('provider unreachable', () => {
    it('is 503 when no key is cached, and fetches again only after the cooldown', async () => {
      const clock = new ManualClock(Date.now());
      const counting = countingFetch();
      const token = await op.mintToken();
      const v = make({ clock, fetch: counting.fetch, timeoutMs: 2000 });
      op.setDown(true);
      try {
        const e = await refusal(v.verify(`Bearer ${token}`));
        expect(e.code).toBe('unavailable');
        const calls = counting.urls.length;
        const again = await refusal(v.verify(`Bearer ${token}`));
        expect(again.code).toBe('unavailable');
        expect(counting.urls.length).toBe(calls);
      } finally {
        op.setDown(false);
      }
      clock.advance(30_000);
      await expect(v.verify(`Bearer ${token}`)).resolves.toBeDefined();
    });

    it('keeps verifying with cached keys (even stale ones); unknown kids are then 503', async () => {
      const clock = new ManualClock(Date.now());
      const v = make({ clock, maxKeyAgeMs: 60_000, timeoutMs: 2000 });
      const token = await op.mintToken();
      await v.verify(`Bearer ${token}`);
      op.setDown(true);
      try {
        await expect(v.verify(`Bearer ${token}`)).resolves.toBeDefined();
        clock.advance(120_000); // keys now stale: a refresh is tried, fails, the old keys serve
        await expect(v.verify(`Bearer ${token}`)).resolves.toBeDefined();
        clock.advance(31_000);
        const e = await refusal(
          v.verify(`Bearer ${await op.mintToken({}, { header: { kid: 'brand-new' } })}`),
        );
        expect(e.code).toBe('unavailable');
      } finally {
        op.setDown(false);
      }
    });

    it('is 503 when the discovery document names another issuer', async () => {
      // `<issuer>/` discovers at the same URL, but the document says `<issuer>`.
      const v = createVerifier({ issuer: `${op.issuer}/`, audience: op.audience });
      const e = await refusal(v.verify(`Bearer ${await op.mintToken({ iss: `${op.issuer}/` })}`));
      expect(e.code).toBe('unavailable');
      expect(e.message).toMatch(/must match it exactly/);
    });
  });
});

function claimsNow(op: OidcTestProvider): Record<string, unknown> {
  const now = nowSec();
  return { iss: op.issuer, aud: op.audience, sub: 'mallory', iat: now, exp: now + 300 };
}

function claimsOf(op: OidcTestProvider): Promise<Record<string, unknown>> {
  return Promise.resolve(claimsNow(op));
}

async function hsWithPublicKey(op: OidcTestProvider, form: 'pem' | 'jwk'): Promise<string> {
  const jwk = op.jwks().keys[0]!;
  const secret =
    form === 'pem'
      ? Buffer.from(
          createPublicKey({ key: jwk as never, format: 'jwk' }).export({
            type: 'spki',
            format: 'pem',
          }),
        )
      : Buffer.from(JSON.stringify(jwk));
  return new CompactSign(Buffer.from(JSON.stringify(claimsNow(op))))
    .setProtectedHeader({ alg: 'HS256', kid: jwk.kid!, typ: 'at+jwt' })
    .sign(new Uint8Array(secret));
}

function unsignedWith(op: OidcTestProvider, alg: string): string {
  return `${b64({ alg, kid: op.jwks().keys[0]!.kid })}.${b64(claimsNow(op))}.AAAA`;
}

function flipSignature(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const i = Math.floor(s.length / 2);
  const c = s[i] === 'A' ? 'B' : 'A';
  return `${h}.${p}.${s.slice(0, i)}${c}${s.slice(i + 1)}`;
}

function replacePayload(token: string, payload: string): string {
  const [h, , s] = token.split('.') as [string, string, string];
  return `${h}.${payload}.${s}`;
}
