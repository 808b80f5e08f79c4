// The one URL policy for identity providers: which hosts are loopback, which URLs need the
// opt-in, and a guarded fetch that checks every URL, redirects included, before requesting it.
// The fetch underneath is a recording stand-in here; real providers on loopback and off it are in
// provider-off-loopback.test.ts.

import { describe, expect, it } from 'vitest';
import {
  checkProviderUrl,
  guardedFetch,
  isLoopbackHost,
  isPlainHttpOffLoopback,
  type FetchLike,
} from '../../src/auth/url-policy.js';

const strict = { insecureHttp: false, optIn: 'pass --let-me' };
const optedIn = { insecureHttp: true, optIn: 'pass --let-me' };

describe('isLoopbackHost', () => {
  it('is 127.0.0.0/8, ::1 and localhost, in any spelling the URL parser accepts', () => {
    for (const h of [
      'localhost',
      'LOCALHOST',
      '127.0.0.1',
      '127.255.255.254',
      '127.1',
      '0x7f.1',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '[0:0::1]',
      '::ffff:127.0.0.1',
      '[::ffff:127.9.9.9]',
    ]) {
      expect(isLoopbackHost(h), h).toBe(true);
    }
  });

  it('is nothing else, whatever the name resolves to', () => {
    for (const h of [
      '10.0.0.1',
      '128.0.0.1',
      '126.255.255.255',
      '0.0.0.0',
      '::',
      '[::2]',
      '::ffff:10.0.0.1',
      '::ffff:128.0.0.1',
      'localhost.example.org',
      'localhost.',
      'evil-localhost',
      '127.0.0.1.nip.io',
      'id.example.org',
      '',
      'not a host',
    ]) {
      expect(isLoopbackHost(h), h).toBe(false);
    }
  });
});

describe('checkProviderUrl', () => {
  it('allows https anywhere and plain http on loopback', () => {
    for (const u of [
      'https://id.example.org/realms/home',
      'https://10.0.0.5',
      'http://127.0.0.1:8080',
      'http://localhost:8080/realms/home',
      'http://[::1]:9000',
    ]) {
      expect(checkProviderUrl(u, strict).href, u).toBe(new URL(u).href);
      expect(isPlainHttpOffLoopback(new URL(u)), u).toBe(false);
    }
  });

  it('refuses plain http off loopback with a message naming the opt-in, unless opted in', () => {
    for (const u of ['http://10.0.0.5:8080', 'http://id.example.org', 'http://[fd00::2]:80']) {
      expect(isPlainHttpOffLoopback(new URL(u)), u).toBe(true);
      let err: unknown;
      try {
        checkProviderUrl(u, strict);
      } catch (e) {
        err = e;
      }
      expect(err, u).toMatchObject({ code: 'invalid_params', details: { field: 'issuer' } });
      expect((err as Error).message).toContain(
        `plain http to the identity provider at ${new URL(u).origin}`,
      );
      expect((err as Error).message).toContain('pass --let-me');
      expect(checkProviderUrl(u, optedIn).href).toBe(new URL(u).href);
    }
  });

  it('refuses other schemes and non-URLs, opt-in or not', () => {
    for (const u of ['file:///etc/passwd', 'ftp://id.example.org', 'data:,{}', 'id.example.org']) {
      expect(() => checkProviderUrl(u, optedIn), u).toThrow(/identity provider's address/);
    }
  });
});

/** A stand-in network: each URL answers as given; every request is recorded. */
function network(routes: Record<string, () => Response>) {
  const requested: { url: string; redirect: string | undefined }[] = [];
  const fetchFn: FetchLike = (url, init) => {
    requested.push({ url, redirect: init?.redirect });
    const route = routes[url];
    return route ? Promise.resolve(route()) : Promise.reject(new Error(`no route to ${url}`));
  };
  return { fetchFn, requested };
}
const redirect =
  (to: string, status = 302) =>
  () =>
    new Response(null, { status, headers: { location: to } });
const ok = (body: string) => () => new Response(body, { status: 200 });

describe('guardedFetch', () => {
  it('checks the URL before the request: nothing is sent to plain http off loopback', async () => {
    const net = network({ 'http://10.0.0.5/jwks': ok('keys') });
    const f = guardedFetch<RequestInit>(net.fetchFn, strict);
    await expect(f('http://10.0.0.5/jwks', {})).rejects.toMatchObject({ code: 'invalid_params' });
    expect(net.requested).toEqual([]);
    const allowed = guardedFetch<RequestInit>(net.fetchFn, optedIn);
    expect(await (await allowed('http://10.0.0.5/jwks', {})).text()).toBe('keys');
  });

  it('refuses an https or loopback URL that redirects to plain http off loopback', async () => {
    for (const from of ['https://id.example.org/jwks', 'http://127.0.0.1:9/jwks']) {
      const net = network({
        [from]: redirect('http://10.0.0.5/jwks'),
        'http://10.0.0.5/jwks': ok('forged keys'),
      });
      const f = guardedFetch<RequestInit>(net.fetchFn, strict);
      const e = await f(from, {}).catch((x: unknown) => x);
      expect(e, from).toMatchObject({ code: 'invalid_params', details: { redirected_from: from } });
      expect((e as Error).message).toMatch(
        /redirected to http:\/\/10\.0\.0\.5\/jwks; refusing plain http.*pass --let-me/,
      );
      expect(net.requested.map((r) => r.url)).toEqual([from]);
    }
  });

  it('follows other redirects, relative ones too, checking each hop, up to five', async () => {
    const net = network({
      'https://id.example.org/a': redirect('/b', 301),
      'https://id.example.org/b': redirect('http://localhost:8080/c', 307),
      'http://localhost:8080/c': ok('here'),
    });
    const f = guardedFetch<RequestInit>(net.fetchFn, strict);
    expect(await (await f('https://id.example.org/a', {})).text()).toBe('here');
    expect(net.requested).toEqual([
      { url: 'https://id.example.org/a', redirect: 'manual' },
      { url: 'https://id.example.org/b', redirect: 'manual' },
      { url: 'http://localhost:8080/c', redirect: 'manual' },
    ]);

    const loop = network({ 'https://id.example.org/x': redirect('https://id.example.org/x') });
    await expect(
      guardedFetch<RequestInit>(loop.fetchFn, strict)('https://id.example.org/x', {}),
    ).rejects.toThrow(/redirected more than 5 times/);
    expect(loop.requested).toHaveLength(6);
  });

  it("hands a redirect back unfollowed to a caller that asked for redirect: 'manual', or a POST", async () => {
    const net = network({ 'https://id.example.org/token': redirect('http://10.0.0.5/token') });
    const f = guardedFetch<RequestInit>(net.fetchFn, strict);
    for (const init of [{ redirect: 'manual' as const }, { method: 'POST' }]) {
      const r = await f('https://id.example.org/token', init);
      expect(r.status).toBe(302);
    }
    expect(net.requested.map((r) => r.redirect)).toEqual(['manual', 'manual']);
  });
});
