// The verifier wired into a hub-like fastify app exactly as the hub wires it (a preHandler that
// runs the auth guard and answers with the hub's error bodies): statuses, challenge and
// Retry-After headers, the owner policy and failure rate limiting over HTTP.

import fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOwnerPolicy, type Identity } from '../../src/auth/owners.js';
import { createFailureLimiter } from '../../src/auth/rate-limit.js';
import { createAuthGuard, createVerifier } from '../../src/auth/verifier.js';
import { errorBody } from '../../src/hub/http-errors.js';
import { ManualClock } from '../../src/ports/clock.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';

interface Hub {
  app: FastifyInstance;
  clock: ManualClock;
  claims: Identity[];
}

async function hubFor(
  op: OidcTestProvider,
  o: { allowUsers?: readonly string[] | '*'; owner?: string; issuer?: string } = {},
): Promise<Hub> {
  const clock = new ManualClock(Date.now());
  const claims: Identity[] = [];
  const verifier = createVerifier({
    issuer: o.issuer ?? op.issuer,
    audience: op.audience,
    clock,
    timeoutMs: 2000,
  });
  const policy = createOwnerPolicy(
    {
      issuer: o.issuer ?? op.issuer,
      ...(o.owner !== undefined && { owner: o.owner }),
      ...(o.allowUsers !== undefined && { allowUsers: o.allowUsers }),
    },
    { persist: (id) => void claims.push(id) },
  );
  const guard = createAuthGuard({
    verifier,
    limiter: createFailureLimiter({ clock, burst: 3, perMinute: 6 }),
    authorize: (t) => policy.authorize(t),
  });
  const app = fastify();
  app.decorateRequest('auth', null);
  app.addHook('preHandler', async (request, reply) => {
    const r = await guard(request.headers.authorization, request.ip);
    if (!r.ok) return reply.code(r.status).headers(r.headers).send(errorBody(r.error));
    (request as unknown as { auth: unknown }).auth = r.access;
    return undefined;
  });
  app.get('/whoami', (request) => (request as unknown as { auth: unknown }).auth);
  await app.ready();
  return { app, clock, claims };
}

describe('hub auth over HTTP', () => {
  let op: OidcTestProvider;
  beforeAll(async () => {
    op = await startOidcProvider();
  });
  afterAll(async () => {
    await op.close();
  });

  const get = (hub: Hub, authorization?: string, remoteAddress = '203.0.113.7') =>
    hub.app.inject({
      method: 'GET',
      url: '/whoami',
      remoteAddress,
      ...(authorization !== undefined && { headers: { authorization } }),
    });

  it('401 without a token, with a bare Bearer challenge; 401 invalid_token for a bad one', async () => {
    const hub = await hubFor(op);
    const none = await get(hub);
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.json().error.code).toBe('unauthorized');
    const bad = await get(hub, `Bearer ${await op.mintToken({ aud: 'elsewhere' })}`);
    expect(bad.statusCode).toBe(401);
    expect(bad.headers['www-authenticate']).toMatch(
      /^Bearer error="invalid_token", error_description="token is not meant for this hub \(aud\)"$/,
    );
    await hub.app.close();
  });

  it('the first identity claims the hub; others are 403 unless allowed', async () => {
    const hub = await hubFor(op);
    const alice = await get(hub, `Bearer ${await op.mintToken({ sub: 'alice' })}`);
    expect(alice.statusCode).toBe(200);
    expect(alice.json()).toEqual({ role: 'owner', identity: { iss: op.issuer, sub: 'alice' } });
    expect(hub.claims).toEqual([{ iss: op.issuer, sub: 'alice' }]);
    const again = await get(hub, `Bearer ${await op.mintToken({ sub: 'alice' })}`);
    expect(again.statusCode).toBe(200);
    expect(hub.claims).toHaveLength(1);
    const bob = await get(hub, `Bearer ${await op.mintToken({ sub: 'bob' })}`);
    expect(bob.statusCode).toBe(403);
    expect(bob.json().error.code).toBe('forbidden');
    await hub.app.close();

    const shared = await hubFor(op, { owner: 'alice', allowUsers: ['bob'] });
    const b = await get(shared, `Bearer ${await op.mintToken({ sub: 'bob' })}`);
    expect(b.json()).toMatchObject({ role: 'user' });
    expect(shared.claims).toEqual([]);
    const carol = await get(shared, `Bearer ${await op.mintToken({ sub: 'carol' })}`);
    expect(carol.statusCode).toBe(403);
    await shared.app.close();
  });

  it('concurrent first sign-ins claim the hub exactly once', async () => {
    const hub = await hubFor(op);
    const subs = ['u1', 'u2', 'u3', 'u4', 'u5'];
    const tokens = await Promise.all(subs.map((sub) => op.mintToken({ sub })));
    const replies = await Promise.all(tokens.map((t) => get(hub, `Bearer ${t}`)));
    expect(replies.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(replies.filter((r) => r.statusCode === 403)).toHaveLength(4);
    expect(hub.claims).toHaveLength(1);
    await hub.app.close();
  });

  it('429 with Retry-After once an address spends its failures; valid tokens still pass', async () => {
    const hub = await hubFor(op, { allowUsers: '*' });
    const valid = `Bearer ${await op.mintToken({ sub: 'alice' })}`;
    const bad = `Bearer ${await op.mintToken({ sub: 'alice', iss: 'https://evil.example' })}`;
    for (let i = 0; i < 3; i++) expect((await get(hub, bad)).statusCode).toBe(401);
    const limited = await get(hub, bad);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('10');
    expect((await get(hub, undefined)).statusCode).toBe(429);
    // Another address is not affected; the limited one still gets in with a valid token.
    expect((await get(hub, bad, '198.51.100.1')).statusCode).toBe(401);
    expect((await get(hub, valid)).statusCode).toBe(200);
    // One token back after 10 s.
    hub.clock.advance(10_000);
    expect((await get(hub, bad)).statusCode).toBe(401);
    expect((await get(hub, bad)).statusCode).toBe(429);
    await hub.app.close();
  });

  it('503 with Retry-After when the provider is unreachable and no key is cached', async () => {
    const hub = await hubFor(op);
    const token = await op.mintToken();
    op.setDown(true);
    try {
      const r = await get(hub, `Bearer ${token}`);
      expect(r.statusCode).toBe(503);
      expect(r.headers['retry-after']).toBe('30');
      expect(r.json().error.code).toBe('unavailable');
    } finally {
      op.setDown(false);
    }
    await hub.app.close();
  });
});
