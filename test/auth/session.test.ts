// Sessions against a real OpenID Provider: tokens come from a real device-flow login, expiry is
// driven by a manual clock, and requests are counted at the provider's token endpoint.

import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { login } from '../../src/auth/device-flow.js';
import { fileStore } from '../../src/auth/file-store.js';
import { createSession, type SessionOptions } from '../../src/auth/session.js';
import type { TokenStore, Tokens } from '../../src/auth/token-store.js';
import { HephError } from '../../src/core/errors.js';
import { ManualClock } from '../../src/ports/clock.js';
import type { Logger } from '../../src/ports/logger.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';
import { tempDir } from '../helpers/temp.js';

const HUB = 'https://hub.example.org';
let op: OidcTestProvider;
const tmp = tempDir('heph-session-');
beforeAll(async () => {
  op = await startOidcProvider({ accessTokenTtlSec: 600 });
});
afterAll(async () => {
  await op?.close();
  tmp.cleanup();
});
afterEach(() => op.setDown(false));

let n = 0;
function store(): TokenStore {
  return fileStore({ path: `${tmp.dir}/s${++n}/tokens.json` });
}

async function signIn(clock: ManualClock, sub = 'alice'): Promise<Tokens> {
  const lines: string[] = [];
  return login({
    issuer: op.issuer,
    clientId: op.clientId,
    audience: op.audience,
    clock,
    print: (l) => lines.push(l),
    sleep: async (ms) => {
      clock.advance(ms);
      const code = /enter the code: (\S+)/.exec(lines.join('\n'))?.[1];
      await op.approveDeviceCode(code!, sub);
    },
  });
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (obj: object, msg?: string) => lines.push(JSON.stringify(obj) + ' ' + (msg ?? ''));
  return { lines, debug: rec, info: rec, warn: rec, error: rec };
}

async function setup(o: Partial<SessionOptions> = {}) {
  const clock = new ManualClock(Date.now());
  const s = store();
  const tokens = await signIn(clock);
  await s.set(HUB, tokens);
  const logger = recordingLogger();
  const session = createSession({
    hub: HUB,
    stores: [s],
    clock,
    logger,
    ...o,
  });
  return { clock, store: s, tokens, session, logger };
}

describe('session', () => {
  it('hands out the stored token while it is fresh, without asking the provider', async () => {
    const { session, tokens } = await setup();
    const before = op.hits('/token');
    expect(await session.getAccessToken()).toBe(tokens.access_token);
    expect(await session.getToken()).toBe(tokens.access_token);
    expect(op.hits('/token')).toBe(before);
    expect(session.state()).toBe('signed-in');
  });

  it('fifty concurrent calls with an expired token cause exactly one refresh', async () => {
    const { session, clock, tokens, store: s, logger } = await setup();
    clock.advance(tokens.expires_at - clock.now() + 1);
    const before = op.hits('/token');
    const got = await Promise.all(Array.from({ length: 50 }, () => session.getAccessToken()));
    expect(op.hits('/token') - before).toBe(1);
    expect(new Set(got).size).toBe(1);
    expect(got[0]).not.toBe(tokens.access_token);
    expect(decodeJwt(got[0]!).aud).toBe(op.audience);
    // Written back, with the identity kept.
    const saved = await s.get(HUB);
    expect(saved?.access_token).toBe(got[0]);
    expect(saved?.sub).toBe('alice');
    expect(saved!.expires_at).toBe(clock.now() + 600_000);
    // And no token in the log.
    const log = logger.lines.join('\n');
    for (const secret of [
      tokens.access_token,
      tokens.refresh_token!,
      got[0]!,
      saved!.refresh_token!,
    ]) {
      expect(log).not.toContain(secret);
    }
    // Fresh again: no more requests.
    await session.getAccessToken();
    expect(op.hits('/token') - before).toBe(1);
  });

  it('refreshes shortly before expiry, not only after it', async () => {
    const { session, clock, tokens } = await setup({ refreshLeewayMs: 30_000 });
    clock.set(tokens.expires_at - 29_000);
    const before = op.hits('/token');
    expect(await session.getAccessToken()).not.toBe(tokens.access_token);
    expect(op.hits('/token') - before).toBe(1);
  });

  it('a refused refresh means sign-in needed: one request, then none, until new tokens appear', async () => {
    const { session, clock, tokens, store: s } = await setup();
    await s.set(HUB, { ...tokens, refresh_token: 'not-a-valid-refresh-token' });
    clock.advance(tokens.expires_at - clock.now() + 1);
    const before = op.hits('/token');
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => session.getAccessToken()),
    );
    expect(op.hits('/token') - before).toBe(1);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const e = (r as PromiseRejectedResult).reason as HephError;
      expect(e).toBeInstanceOf(HephError);
      expect(e.code).toBe('unauthorized');
      expect(e.message).toContain('heph auth login');
      expect(e.message).not.toContain('not-a-valid-refresh-token');
      expect(e.message).not.toContain(tokens.access_token);
    }
    expect(session.state()).toBe('sign-in-needed');
    await expect(session.getAccessToken()).rejects.toMatchObject({ code: 'unauthorized' });
    expect(op.hits('/token') - before).toBe(1);

    // A new login (here: another sign-in written to the store) brings the session back.
    const again = await signIn(clock, 'alice');
    await s.set(HUB, again);
    expect(await session.getAccessToken()).toBe(again.access_token);
    expect(session.state()).toBe('signed-in');
  });

  it('an unreachable provider is unavailable and changes nothing; it works once it is back', async () => {
    const { session, clock, tokens } = await setup();
    clock.advance(tokens.expires_at - clock.now() + 1);
    op.setDown(true);
    await expect(session.getAccessToken()).rejects.toMatchObject({ code: 'unavailable' });
    expect(session.state()).not.toBe('sign-in-needed');
    op.setDown(false);
    expect(await session.getAccessToken()).not.toBe(tokens.access_token);
  });

  it('signed out: getToken is undefined (an open hub), getAccessToken says to sign in', async () => {
    const session = createSession({ hub: HUB, stores: [store()] });
    expect(await session.getToken()).toBeUndefined();
    expect(session.state()).toBe('signed-out');
    await expect(session.getAccessToken()).rejects.toThrow(/not signed in.*heph auth login/);
  });

  it('finds tokens in a later store and writes the refresh back there', async () => {
    const clock = new ManualClock(Date.now());
    const empty = store();
    const holding = store();
    const tokens = await signIn(clock);
    await holding.set(HUB, tokens);
    const session = createSession({
      hub: `${HUB}/`,
      stores: [empty, holding],
      clock,
    });
    clock.advance(tokens.expires_at - clock.now() + 1);
    const t = await session.getAccessToken();
    expect((await holding.get(HUB))?.access_token).toBe(t);
    expect(await empty.get(HUB)).toBeUndefined();
  });
});
