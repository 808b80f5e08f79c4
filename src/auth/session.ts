// A signed-in session with one hub: hands out a valid access token, refreshing it shortly before
// it expires. Guarantees: refreshes are single-flight (any number of concurrent callers while a
// token is stale cause one refresh_token request and all get its result); a refresh the
// provider refuses puts the session in 'sign-in-needed', where calls fail at once with an
// 'unauthorized' error telling the user to run `heph auth login`, without another request, until
// different tokens appear in the store (a new login, even from another process); a provider
// that cannot be reached is an 'unavailable' error that changes nothing, so the caller's own
// schedule decides when to try again. Refreshed tokens are written back to the store they came
// from. The provider is reached only as url-policy.ts allows: plain http off loopback needs the
// choice made at sign-in (stored with the tokens) or hephd's --insecure-http. Tokens never reach
// a log line or an error message.

import type * as oidc from 'openid-client';
import { HephError } from '../core/errors.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import {
  audienceParams,
  discover,
  isResponseBodyError,
  openidClient,
  providerError,
  tokensFrom,
} from './device-flow.js';
import { hubKey, type TokenStore, type Tokens } from './token-store.js';

export type SessionState = 'unknown' | 'signed-out' | 'signed-in' | 'sign-in-needed';

export interface SessionOptions {
  hub: string;
  /** Stores to look in, in order (keyring first); refreshed tokens go back where they were. */
  stores: readonly TokenStore[];
  clock?: Clock;
  /** Refresh this long before the access token expires (default 60 s). */
  refreshLeewayMs?: number;
  logger?: Logger;
  /** For requests to the identity provider (tests). */
  fetch?: oidc.CustomFetch;
  /** Allow plain http to a provider off loopback for any stored sign-in (hephd --insecure-http);
   *  a sign-in made with `heph auth login --insecure-http` carries that choice itself. */
  insecureHttp?: boolean;
}

export interface Session {
  /** A valid access token; throws 'unauthorized' when signed out or sign-in is needed. */
  getAccessToken(): Promise<string>;
  /**
   * For the hub client's `getToken` hook: undefined when nothing is stored for this hub (an
   * open hub needs no sign-in), else as getAccessToken.
   */
  getToken(): Promise<string | undefined>;
  state(): SessionState;
}

interface Held {
  tokens: Tokens;
  store: TokenStore;
}

function sameTokens(a: Tokens, b: Tokens): boolean {
  return a.access_token === b.access_token && a.refresh_token === b.refresh_token;
}

export function createSession(o: SessionOptions): Session {
  const hub = hubKey(o.hub);
  const clock = o.clock ?? systemClock;
  const leeway = o.refreshLeewayMs ?? 60_000;
  const log = o.logger ?? silentLogger;
  let state: SessionState = 'unknown';
  let held: Held | undefined;
  /** The tokens whose refresh the provider refused. */
  let refused: { tokens: Tokens; reason: string } | undefined;
  let inflight: Promise<string> | undefined;
  let config: { key: string; promise: Promise<oidc.Configuration> } | undefined;

  const fresh = (t: Tokens) => t.expires_at - leeway > clock.now();

  function signInNeeded(reason: string): HephError {
    return new HephError(
      'unauthorized',
      `signing in to ${hub} is needed again (${reason}); run \`heph auth login --hub ${hub}\``,
      { hub, sign_in_needed: true },
    );
  }

  async function load(): Promise<Held | undefined> {
    let firstError: Error | undefined;
    for (const store of o.stores) {
      try {
        const tokens = await store.get(hub);
        if (tokens) return { tokens, store };
      } catch (e) {
        // A store that does not exist here (no Secret Service on a headless machine) holds no
        // tokens: that is not an error, an open hub needs none. A store that exists but fails
        // (a corrupt entry) is reported, unless another store has the tokens.
        if (!(await store.status()).available) continue;
        firstError ??= e instanceof Error ? e : new Error(String(e));
      }
    }
    if (firstError !== undefined) throw firstError;
    return undefined;
  }

  function configFor(t: Tokens): Promise<oidc.Configuration> {
    const insecureHttp = o.insecureHttp === true || t.insecure_http === true;
    const key = `${t.issuer} ${t.client_id} ${insecureHttp}`;
    if (config?.key !== key) {
      const opts: Parameters<typeof discover>[0] = { issuer: t.issuer, clientId: t.client_id };
      if (o.fetch) opts.fetch = o.fetch;
      if (insecureHttp) opts.insecureHttp = true;
      const promise = discover(opts);
      config = { key, promise };
      // A failed discovery is not cached.
      promise.catch(() => {
        if (config?.promise === promise) config = undefined;
      });
    }
    return config.promise;
  }

  async function refresh(h: Held): Promise<string> {
    const t = h.tokens;
    if (t.refresh_token === undefined) {
      refused = { tokens: t, reason: 'the sign-in has expired and cannot be renewed' };
      state = 'sign-in-needed';
      throw signInNeeded(refused.reason);
    }
    let next: Tokens;
    try {
      const cfg = await configFor(t);
      const client = await openidClient();
      const r = await client.refreshTokenGrant(cfg, t.refresh_token, audienceParams(t.audience));
      next = tokensFrom(r, {
        issuer: t.issuer,
        clientId: t.client_id,
        audience: t.audience,
        now: clock.now(),
        previous: t,
      });
    } catch (e) {
      const refusedByProvider =
        isResponseBodyError(e) || (e instanceof HephError && e.code === 'unauthorized');
      if (!refusedByProvider) throw providerError(e, t.issuer, 'to renew the sign-in');
      const reason = isResponseBodyError(e)
        ? `the provider refused to renew it: ${e.error}`
        : e.message;
      refused = { tokens: t, reason };
      state = 'sign-in-needed';
      log.warn({ hub, issuer: t.issuer }, 'sign-in renewal refused; sign-in needed');
      throw signInNeeded(reason);
    }
    held = { tokens: next, store: h.store };
    state = 'signed-in';
    try {
      await h.store.set(hub, next);
    } catch (e) {
      // The new token works now; the next process will have to sign in again if the provider
      // rotated the refresh token. Say so, without the tokens.
      log.warn(
        { hub, store: h.store.kind, err: e instanceof Error ? e.message : String(e) },
        'could not save renewed sign-in',
      );
    }
    log.info({ hub, expires_at: next.expires_at }, 'sign-in renewed');
    return next.access_token;
  }

  async function obtain(): Promise<string> {
    const h = await load();
    if (h === undefined) {
      held = undefined;
      state = 'signed-out';
      throw new HephError(
        'unauthorized',
        `not signed in to ${hub}; run \`heph auth login --hub ${hub}\``,
        { hub, sign_in_needed: true },
      );
    }
    if (refused !== undefined) {
      if (sameTokens(refused.tokens, h.tokens)) throw signInNeeded(refused.reason);
      refused = undefined;
    }
    held = h;
    if (fresh(h.tokens)) {
      state = 'signed-in';
      return h.tokens.access_token;
    }
    return refresh(h);
  }

  async function getAccessToken(): Promise<string> {
    if (inflight) return inflight;
    if (held && refused === undefined && fresh(held.tokens)) return held.tokens.access_token;
    const p = obtain().finally(() => {
      if (inflight === p) inflight = undefined;
    });
    inflight = p;
    return p;
  }

  return {
    getAccessToken,
    async getToken(): Promise<string | undefined> {
      if (held === undefined && !inflight && (await load()) === undefined) {
        state = 'signed-out';
        return undefined;
      }
      return getAccessToken();
    },
    state: () => state,
  };
}
