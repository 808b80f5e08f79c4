// The device flow against a real OpenID Provider on loopback. Time is a manual clock that the
// injected sleep advances, so nothing waits for real. A thin fetch-level proxy in front of the
// provider's token endpoint answers chosen polls with slow_down, access_denied or expired_token
// (the provider itself never sends slow_down) and records what was asked for.

import { decodeJwt } from 'jose';
import type { CustomFetch } from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, tokensFrom, type LoginOptions } from '../../src/auth/device-flow.js';
import { HephError } from '../../src/core/errors.js';
import { ManualClock } from '../../src/ports/clock.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';

let op: OidcTestProvider;
beforeAll(async () => {
  op = await startOidcProvider();
});
afterAll(async () => {
  await op?.close();
});

type Answer = 'pass' | 'slow_down' | 'access_denied' | 'expired_token';

interface Harness {
  options: LoginOptions;
  waits: number[];
  lines: string[];
  /** Form bodies sent to the device authorization endpoint. */
  deviceRequests: URLSearchParams[];
  /** Form bodies of token polls (device_code grant). */
  polls: URLSearchParams[];
  clock: ManualClock;
}

/**
 * A login set-up. `answers[i]` decides what the i-th poll gets (default: the provider's own
 * answer); the user approves the code during the `approveAt`-th wait (1-based; never if 0).
 */
function harness(o: { answers?: Answer[]; approveAt?: number } = {}): Harness {
  const clock = new ManualClock(Date.now());
  const h: Harness = {
    waits: [],
    lines: [],
    deviceRequests: [],
    polls: [],
    clock,
    options: undefined as unknown as LoginOptions,
  };
  const proxy: CustomFetch = async (url, init) => {
    const path = new URL(url).pathname;
    const body =
      init.body instanceof URLSearchParams
        ? init.body
        : new URLSearchParams(typeof init.body === 'string' ? init.body : '');
    if (path === '/device/auth') h.deviceRequests.push(body);
    if (path === '/token' && body.get('grant_type')?.endsWith('device_code')) {
      const answer = o.answers?.[h.polls.length] ?? 'pass';
      h.polls.push(body);
      if (answer !== 'pass') {
        return new Response(JSON.stringify({ error: answer }), {
          status: 400,
          headers: { 'content-type': 'application/json' },
        });
      }
    }
    return fetch(url, init as RequestInit);
  };
  const approveAt = o.approveAt ?? 2;
  h.options = {
    issuer: op.issuer,
    clientId: op.clientId,
    audience: op.audience,
    fetch: proxy,
    clock,
    print: (l) => h.lines.push(l),
    sleep: async (ms) => {
      h.waits.push(ms);
      clock.advance(ms);
      if (h.waits.length === approveAt) {
        const code = /enter the code: (\S+)/.exec(h.lines.join('\n'))?.[1];
        if (code === undefined) throw new Error('no user code printed');
        await op.approveDeviceCode(code, 'alice');
      }
    },
  };
  return h;
}

describe('device flow login', () => {
  it('asks for the audience, shows the code, polls at the interval and returns JWT tokens', async () => {
    const h = harness({ approveAt: 3 });
    const t = await login(h.options);

    const asked = h.deviceRequests[0]!;
    expect(asked.get('resource')).toBe(op.audience);
    expect(asked.get('audience')).toBe(op.audience);
    expect(asked.get('scope')).toBe('openid offline_access');
    expect(h.polls.every((p) => p.get('resource') === op.audience)).toBe(true);

    const out = h.lines.join('\n');
    expect(out).toContain(`${op.issuer}/device`);
    expect(out).toMatch(/enter the code: \S+/);
    expect(out).toMatch(/or open http:\/\/127\.0\.0\.1:\d+\/device\?user_code=/);

    // Provider default interval is 5 s: no poll before it, and three waits before success.
    expect(h.waits).toEqual([5000, 5000, 5000]);
    expect(h.polls).toHaveLength(3);

    expect(t.issuer).toBe(op.issuer);
    expect(t.client_id).toBe(op.clientId);
    expect(t.audience).toBe(op.audience);
    expect(t.sub).toBe('alice');
    expect(t.refresh_token).toEqual(expect.any(String));
    expect(t.token_type.toLowerCase()).toBe('bearer');
    expect(decodeJwt(t.access_token).aud).toBe(op.audience);
    expect(t.expires_at).toBe(h.clock.now() + 300_000);
    // The code and URL are shown; no token is.
    expect(out).not.toContain(t.access_token);
  });

  it('adds 5 s to every later wait after each slow_down', async () => {
    const h = harness({ answers: ['pass', 'slow_down', 'pass', 'slow_down'], approveAt: 6 });
    await login(h.options);
    expect(h.waits).toEqual([5000, 5000, 10_000, 10_000, 15_000, 15_000]);
  });

  it('explains access_denied in one line', async () => {
    const h = harness({ answers: ['pass', 'access_denied'], approveAt: 0 });
    const e = await login(h.options).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HephError);
    expect(e).toMatchObject({ code: 'unauthorized' });
    expect((e as Error).message).toMatch(/declined.*heph auth login/);
    expect((e as Error).message).not.toContain('\n');
  });

  it('explains expired_token in one line', async () => {
    const h = harness({ answers: ['expired_token'], approveAt: 0 });
    const e = await login(h.options).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'unauthorized' });
    expect((e as Error).message).toMatch(/code expired.*heph auth login/);
  });

  it('stops polling when the code expires by the clock', async () => {
    const h = harness({ approveAt: 0 });
    const e = await login(h.options).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'unauthorized', details: { oauth_error: 'expired_token' } });
    // Device codes live 300 s here: 59 polls at 5 s, then the 60th wait reaches expiry.
    expect(h.waits).toHaveLength(60);
    expect(h.polls).toHaveLength(59);
  });

  it('reports an unreachable provider as unavailable', async () => {
    const h = harness();
    const e = await login({
      ...h.options,
      issuer: 'http://127.0.0.1:9',
      fetch: (u, i) => fetch(u, i as RequestInit),
    }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'unavailable', details: { offline: true } });
    expect((e as Error).message).toContain('http://127.0.0.1:9');
  });

  it('reaches a plain-http provider on loopback without an opt-in', async () => {
    // The harness provider is http://127.0.0.1:<port> and no option allows plain http.
    const h = harness();
    expect(h.options.insecureHttp).toBeUndefined();
    expect(new URL(op.issuer).protocol).toBe('http:');
    expect(await login(h.options)).toMatchObject({ sub: 'alice', issuer: op.issuer });
  });

  it('refuses a plain-http provider off loopback, naming --insecure-http, before any request', async () => {
    const urls: string[] = [];
    const h = harness();
    const opts = {
      ...h.options,
      issuer: 'http://10.11.12.13:8080',
      fetch: (u: string) => {
        urls.push(u);
        return Promise.reject(new Error('must not be called'));
      },
    };
    const e = await login(opts).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'invalid_params', details: { field: 'issuer' } });
    expect((e as Error).message).toMatch(
      /refusing plain http to the identity provider at http:\/\/10\.11\.12\.13:8080.*--insecure-http/,
    );
    expect(urls).toEqual([]);
    expect(h.lines).toEqual([]);
    // With the opt-in the provider is asked (and here cannot be reached).
    await expect(login({ ...opts, insecureHttp: true })).rejects.toMatchObject({
      code: 'unavailable',
    });
    expect(urls).toEqual(['http://10.11.12.13:8080/.well-known/openid-configuration']);
  });

  it('refuses an access token for another audience, or an opaque one', async () => {
    const base = { issuer: op.issuer, clientId: op.clientId, audience: op.audience, now: 0 };
    const response = (access_token: string) => ({
      access_token,
      token_type: 'bearer' as const,
      expires_in: 60,
      claims: () => undefined,
    });
    const wrong = await op.mintToken({ aud: 'https://elsewhere.test' });
    expect(() => tokensFrom(response(wrong), base)).toThrow(/not for the hub's audience/);
    expect(() => tokensFrom(response('opaque-token-value'), base)).toThrow(/opaque/);
    const right = await op.mintToken({ sub: 'carol' });
    expect(tokensFrom(response(right), base)).toMatchObject({ sub: 'carol', expires_at: 60_000 });
  });

  it('keeps the old refresh token, scope and identity when a refresh omits them', async () => {
    const base = { issuer: op.issuer, clientId: op.clientId, audience: op.audience, now: 0 };
    const at = await op.mintToken({ sub: undefined });
    const t = tokensFrom(
      { access_token: at, token_type: 'bearer', claims: () => undefined },
      {
        ...base,
        previous: {
          ...base,
          client_id: op.clientId,
          access_token: 'old',
          refresh_token: 'rt-old',
          scope: 'openid',
          sub: 'dave',
          name: 'Dave',
          token_type: 'bearer',
          expires_at: 0,
        },
      },
    );
    expect(t).toMatchObject({
      refresh_token: 'rt-old',
      scope: 'openid',
      sub: 'dave',
      name: 'Dave',
    });
  });
});
