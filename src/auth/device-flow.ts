// Sign-in with the OAuth 2.0 device authorization grant (RFC 8628) on openid-client v6, asking
// for the hub's audience both as an RFC 8707 `resource` and as `audience` (the name Auth0 and
// some others use). Guarantees: the first poll comes one interval after the code is shown and
// no poll comes sooner than the current interval after the last; every `slow_down` adds 5 s to
// the interval for all later polls; polling stops when the code expires (by the injected clock)
// or the provider says expired_token/access_denied; time and sleep are injected, so tests run
// without waiting. openid-client's own polling loop is not used because it sleeps on real
// timers. Every request to the provider (discovery, device authorization, token) passes the one
// provider URL policy (url-policy.ts): https, or plain http on loopback, or plain http elsewhere
// only with the user's --insecure-http. Every foreign error becomes one HephError here; no token
// reaches a message.

import type { JWTPayload } from 'jose';
import type * as oidc from 'openid-client';
import { HephError } from '../core/errors.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { Tokens } from './token-store.js';
import {
  checkProviderUrl,
  CLI_OPT_IN,
  guardedFetch,
  isPlainHttpOffLoopback,
} from './url-policy.js';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const DEFAULT_SCOPE = 'openid offline_access';
const DEFAULT_INTERVAL_SEC = 5;
const SLOW_DOWN_SEC = 5;

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new HephError('unavailable', 'sign-in was cancelled'));
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new HephError('unavailable', 'sign-in was cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** How to reach the identity provider. */
export interface ProviderOptions {
  issuer: string;
  clientId: string;
  /** Used for every request to the provider (tests count, delay or rewrite requests). */
  fetch?: oidc.CustomFetch;
  /** The user allowed plain http to a provider that is not on loopback (--insecure-http). */
  insecureHttp?: boolean;
  /** Per-request timeout, seconds (openid-client's default is 30). */
  timeoutSec?: number;
}

export interface LoginOptions extends ProviderOptions {
  /** The hub's audience (resource indicator) the access token must be issued for. */
  audience: string;
  scope?: string;
  clock?: Clock;
  sleep?: Sleep;
  /** Shows a line to the person signing in (stderr on the CLI: never part of --json). */
  print: (line: string) => void;
  signal?: AbortSignal;
}

/** What openid-client does without a customFetch, spelled out so the policy can wrap it. */
const globalFetch: oidc.CustomFetch = (url, { body, signal, ...init }) =>
  fetch(url, { ...init, body: body ?? null, ...(signal && { signal }) });

let openid: typeof oidc | undefined;

/** openid-client, loaded when a provider is first reached: neither the CLI's nor hephd's start-up
 *  pays for it. */
export async function openidClient(): Promise<typeof oidc> {
  return (openid ??= await import('openid-client'));
}

/** Whether `e` is openid-client's error for a provider's OAuth error response. */
export function isResponseBodyError(e: unknown): e is oidc.ResponseBodyError {
  return openid !== undefined && e instanceof openid.ResponseBodyError;
}

/** A JWT's claims, decoded and not verified (jose's decodeJwt, without loading jose). */
function decodeJwt(token: string): JWTPayload {
  const parts = token.split('.');
  if (parts.length !== 3 || !/^[\w-]+$/.test(parts[1]!)) throw new Error('not a JWT');
  const claims: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new Error('a JWT payload is an object');
  }
  return claims as JWTPayload;
}

/** Provider metadata and client settings, discovered from the issuer. */
export async function discover(o: ProviderOptions): Promise<oidc.Configuration> {
  const client = await openidClient();
  const policy = { insecureHttp: o.insecureHttp === true, optIn: CLI_OPT_IN };
  const issuer = checkProviderUrl(o.issuer, policy);
  // openid-client's own check (https only) gives way to the policy, which every request passes.
  const options: oidc.DiscoveryRequestOptions = {
    execute: [client.allowInsecureRequests],
    [client.customFetch]: guardedFetch(o.fetch ?? globalFetch, policy),
  };
  if (o.timeoutSec !== undefined) options.timeout = o.timeoutSec;
  try {
    return await client.discovery(issuer, o.clientId, undefined, client.None(), options);
  } catch (e) {
    throw providerError(e, o.issuer, 'discovery');
  }
}

function causeCode(e: unknown): string | undefined {
  for (let cur = e, i = 0; cur && i < 5; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && /^E[A-Z]+$|^UND_ERR/.test(c)) return c;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** One HephError for anything openid-client or fetch throws while talking to the provider. */
export function providerError(e: unknown, issuer: string, what: string): HephError {
  if (e instanceof HephError) return e;
  if (isResponseBodyError(e)) {
    const desc = e.error_description ? `: ${e.error_description}` : '';
    return new HephError(
      'unauthorized',
      `the sign-in provider refused ${what} (${e.error}${desc})`,
      { oauth_error: e.error },
    );
  }
  const net = causeCode(e);
  if (net !== undefined || (e instanceof TypeError && /fetch failed/i.test(e.message))) {
    return new HephError(
      'unavailable',
      `cannot reach the sign-in provider at ${issuer} (${net ?? 'network error'})`,
      { offline: true },
    );
  }
  if (e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError')) {
    return new HephError('unavailable', `the sign-in provider at ${issuer} did not answer in time`);
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new HephError(
    'unavailable',
    `the sign-in provider at ${issuer} gave an unexpected answer to ${what} (${msg})`,
  );
}

function audiences(p: JWTPayload): string[] {
  return typeof p.aud === 'string' ? [p.aud] : Array.isArray(p.aud) ? p.aud : [];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The part of openid-client's token endpoint response that is kept. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number | undefined;
  refresh_token?: string | undefined;
  scope?: string | undefined;
  claims(): oidc.IDToken | undefined;
}

/**
 * Tokens to store from a token endpoint response. The access token must be a JWT for the
 * audience (the hub only accepts those); it is decoded, not verified: the hub verifies.
 */
export function tokensFrom(
  r: TokenResponse,
  o: {
    issuer: string;
    clientId: string;
    audience: string;
    now: number;
    previous?: Tokens;
    /** The user allowed plain http off loopback for this sign-in (kept for renewals). */
    insecureHttp?: boolean;
  },
): Tokens {
  let claims: JWTPayload;
  try {
    claims = decodeJwt(r.access_token);
  } catch {
    throw new HephError(
      'unauthorized',
      `the sign-in provider issued an opaque access token, but the hub needs a JWT access token ` +
        `for ${o.audience}; set the client (or the hub's API/resource) to issue JWT access tokens`,
    );
  }
  if (!audiences(claims).includes(o.audience)) {
    throw new HephError(
      'unauthorized',
      `the sign-in provider issued an access token for ${JSON.stringify(claims.aud ?? null)}, ` +
        `not for the hub's audience ${o.audience}; configure the provider to add that audience`,
    );
  }
  const id = r.claims();
  // The raw expires_in against the injected clock (the helper expiresIn() reads the real one).
  const expiresIn = r.expires_in;
  const expires_at =
    typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn >= 0
      ? o.now + expiresIn * 1000
      : typeof claims.exp === 'number'
        ? claims.exp * 1000
        : o.now + 3600_000;
  const t: Tokens = {
    access_token: r.access_token,
    expires_at,
    token_type: r.token_type,
    issuer: o.issuer,
    client_id: o.clientId,
    audience: o.audience,
  };
  const refresh = r.refresh_token ?? o.previous?.refresh_token;
  if (refresh !== undefined) t.refresh_token = refresh;
  const scope = r.scope ?? o.previous?.scope;
  if (scope !== undefined) t.scope = scope;
  const sub = str(id?.sub) ?? str(claims.sub) ?? o.previous?.sub;
  if (sub !== undefined) t.sub = sub;
  const name =
    str(id?.preferred_username) ??
    str(id?.email) ??
    str(id?.name) ??
    str(claims.preferred_username) ??
    str(claims.email) ??
    o.previous?.name;
  if (name !== undefined) t.name = name;
  const optedIn = o.insecureHttp === true || o.previous?.insecure_http === true;
  if (optedIn && isPlainHttpOffLoopback(new URL(o.issuer))) t.insecure_http = true;
  return t;
}

/** The extra parameters that ask for the hub's audience, under both names providers use. */
export function audienceParams(audience: string): Record<string, string> {
  return { resource: audience, audience };
}

function minutes(sec: number): string {
  const m = Math.round(sec / 60);
  return m <= 1 ? 'a minute' : `${m} minutes`;
}

/** Runs the device flow to completion and returns the tokens (the caller stores them). */
export async function login(o: LoginOptions): Promise<Tokens> {
  const clock = o.clock ?? systemClock;
  const sleep = o.sleep ?? realSleep;
  const client = await openidClient();
  const config = await discover(o);
  if (config.serverMetadata().device_authorization_endpoint === undefined) {
    throw new HephError(
      'unavailable',
      `the sign-in provider at ${o.issuer} does not offer the device authorization grant; ` +
        `enable it for client ${o.clientId}`,
    );
  }
  const extra = audienceParams(o.audience);
  let da: Awaited<ReturnType<typeof oidc.initiateDeviceAuthorization>>;
  try {
    da = await client.initiateDeviceAuthorization(config, {
      scope: o.scope ?? DEFAULT_SCOPE,
      ...extra,
    });
  } catch (e) {
    throw providerError(e, o.issuer, 'to start sign-in');
  }
  const started = clock.now();
  const deadline = started + da.expires_in * 1000;

  o.print(`To sign in, open ${da.verification_uri}`);
  o.print(`and enter the code: ${da.user_code}`);
  if (da.verification_uri_complete !== undefined) {
    o.print(`(or open ${da.verification_uri_complete}, which fills in the code)`);
  }
  o.print(`Waiting for approval; the code expires in ${minutes(da.expires_in)}.`);

  let interval = da.interval ?? DEFAULT_INTERVAL_SEC;
  for (;;) {
    await sleep(interval * 1000, o.signal);
    if (clock.now() >= deadline) throw expired();
    try {
      const r = await client.genericGrantRequest(config, DEVICE_CODE_GRANT, {
        device_code: da.device_code,
        ...extra,
      });
      return tokensFrom(r, {
        issuer: o.issuer,
        clientId: o.clientId,
        audience: o.audience,
        now: clock.now(),
        ...(o.insecureHttp === true && { insecureHttp: true }),
      });
    } catch (e) {
      if (!isResponseBodyError(e)) throw providerError(e, o.issuer, 'sign-in');
      switch (e.error) {
        case 'authorization_pending':
          continue;
        case 'slow_down':
          interval += SLOW_DOWN_SEC;
          continue;
        case 'access_denied':
          throw new HephError(
            'unauthorized',
            'sign-in was declined at the provider; run `heph auth login` to try again',
            { oauth_error: 'access_denied' },
          );
        case 'expired_token':
          throw expired();
        default:
          throw providerError(e, o.issuer, 'sign-in');
      }
    }
  }
}

function expired(): HephError {
  return new HephError(
    'unauthorized',
    'the sign-in code expired before it was approved; run `heph auth login` for a new code',
    { oauth_error: 'expired_token' },
  );
}
