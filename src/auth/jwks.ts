// The issuer's signing keys, found through OIDC discovery and cached. Guarantees: keys come only
// from the `jwks_uri` of `<issuer>/.well-known/openid-configuration` whose `issuer` equals the
// configured one exactly, never from anything inside a token; only public asymmetric signing keys
// are kept (a symmetric or encryption key in the set is dropped); at most one fetch is in flight,
// and a new fetch starts at most once per cooldown (after the first), whatever the tokens say, so
// random `kid`s cannot make the hub hammer the provider; when a refresh fails, the keys already
// held keep working; every URL fetched (the discovery document, the key set, each redirect) passes
// the one provider URL policy (url-policy.ts), so keys never come over plain http off loopback
// unless the operator opted in. Network, HTTP, document and policy errors become HephError
// 'unavailable' here, once.

import {
  createLocalJWKSet,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
} from 'jose';
import { HephError } from '../core/errors.js';
import { isPlainObject } from '../core/json.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import {
  checkProviderUrl,
  guardedFetch,
  HUB_OPT_IN,
  type FetchLike,
  type ProviderUrlPolicy,
} from './url-policy.js';

export type { FetchLike };

export interface JwksCacheOptions {
  issuer: string;
  fetch?: FetchLike;
  clock?: Clock;
  /** Least time between two fetches of the key set (default 30 s). */
  cooldownMs?: number;
  /** Keys older than this are refreshed on the next request; if that fails they are kept
   *  (default 10 min). */
  maxAgeMs?: number;
  /** Per request to the provider (default 5 s). */
  timeoutMs?: number;
  logger?: Logger;
  /** Plain http off loopback was allowed (`--insecure-oidc-http`); default false. */
  insecureHttp?: boolean;
}

export interface KeyLookup {
  /** false: use the keys already held, never fetch on this lookup's behalf (for clients being
   *  rate limited): no refresh of held keys, no refetch for an unknown kid. While no keys are
   *  held at all, the first load still runs (within the cooldown), since without it no token,
   *  however valid, could be checked. */
  network?: boolean;
}

/** Why no key was found for a header the cache could answer for. */
export type NoKeyReason = 'unknown_kid' | 'ambiguous_key';

export class NoKeyError extends Error {
  constructor(readonly reason: NoKeyReason) {
    super(reason);
    this.name = 'NoKeyError';
  }
}

export interface JwksCache {
  /** The key for this JWS header. Throws NoKeyError when the (fresh enough) set has no single
   *  match, HephError 'unavailable' when the provider cannot be reached and nothing held fits. */
  getKey(header: JWSHeaderParameters, lookup?: KeyLookup): Promise<CryptoKey>;
  /** How many times the key set has been requested (successfully or not). */
  readonly fetches: number;
}

const MAX_DOCUMENT_BYTES = 1024 * 1024;
const MAX_KEYS = 100;
const ASYMMETRIC_KTY = new Set(['RSA', 'EC', 'OKP']);
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** `<issuer>/.well-known/openid-configuration`, per OpenID Connect Discovery 1.0 §4. */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

async function fetchJson(
  fetchFn: (input: string, init: RequestInit) => Promise<Response>,
  url: string,
  timeoutMs: number,
  what: string,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetchFn(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    if (e instanceof HephError) {
      throw new HephError(
        'unavailable',
        `could not fetch the identity provider's ${what}: ${e.message}`,
        {
          ...e.details,
          url,
        },
      );
    }
    const why = e instanceof Error && e.name === 'TimeoutError' ? 'timed out' : 'unreachable';
    throw new HephError('unavailable', `identity provider ${why}: could not fetch its ${what}`, {
      url,
    });
  }
  const text = await res.text().catch(() => undefined);
  if (!res.ok || text === undefined) {
    throw new HephError(
      'unavailable',
      `identity provider answered ${res.status} for its ${what}; check the issuer URL`,
      { url, status: res.status },
    );
  }
  if (text.length > MAX_DOCUMENT_BYTES) {
    throw new HephError('unavailable', `identity provider's ${what} is too large`, { url });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HephError('unavailable', `identity provider's ${what} is not JSON`, { url });
  }
}

/** The `jwks_uri` of a discovery document, after checking it belongs to `issuer` and that the
 *  policy allows fetching it. */
export function parseDiscovery(doc: unknown, issuer: string, policy: ProviderUrlPolicy): string {
  const bad = (why: string) =>
    new HephError('unavailable', `identity provider's discovery document ${why}`, { issuer });
  if (!isPlainObject(doc)) throw bad('is not a JSON object');
  if (doc.issuer !== issuer) {
    throw bad(
      `names issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)}; ` +
        'the configured issuer must match it exactly',
    );
  }
  if (typeof doc.jwks_uri !== 'string') throw bad('has no jwks_uri');
  try {
    return checkProviderUrl(doc.jwks_uri, policy).href;
  } catch (e) {
    throw bad(`names a jwks_uri that cannot be used: ${(e as Error).message}`);
  }
}

/** The public asymmetric signing keys of a JWK Set; everything else is dropped. */
export function parseJwks(doc: unknown): JSONWebKeySet {
  if (!isPlainObject(doc) || !Array.isArray(doc.keys)) {
    throw new HephError('unavailable', "identity provider's key set is not a JWK Set");
  }
  const keys: JWK[] = [];
  for (const k of doc.keys.slice(0, MAX_KEYS)) {
    if (!isPlainObject(k) || typeof k.kty !== 'string' || !ASYMMETRIC_KTY.has(k.kty)) continue;
    if (k.use !== undefined && k.use !== 'sig') continue;
    if (k.key_ops !== undefined && !(Array.isArray(k.key_ops) && k.key_ops.includes('verify'))) {
      continue;
    }
    if (k.alg !== undefined && (typeof k.alg !== 'string' || k.alg.startsWith('HS'))) continue;
    const pub: Record<string, unknown> = { ...k };
    for (const m of PRIVATE_MEMBERS) delete pub[m];
    keys.push(pub);
  }
  return { keys };
}

export function createJwksCache(o: JwksCacheOptions): JwksCache {
  const policy: ProviderUrlPolicy = { insecureHttp: o.insecureHttp === true, optIn: HUB_OPT_IN };
  const fetchFn = guardedFetch<RequestInit>(
    o.fetch ?? ((input, init) => fetch(input, init)),
    policy,
  );
  const clock = o.clock ?? systemClock;
  const cooldownMs = o.cooldownMs ?? 30_000;
  const maxAgeMs = o.maxAgeMs ?? 10 * 60_000;
  const timeoutMs = o.timeoutMs ?? 5000;
  const logger = o.logger ?? silentLogger;

  let local: ReturnType<typeof createLocalJWKSet> | undefined;
  let loadedAt = -Infinity;
  let attemptedAt = -Infinity;
  let jwksUri: string | undefined;
  let inflight: Promise<void> | undefined;
  let fetches = 0;
  let lastFailed = false;

  async function load(): Promise<void> {
    attemptedAt = clock.now();
    try {
      jwksUri ??= parseDiscovery(
        await fetchJson(fetchFn, discoveryUrl(o.issuer), timeoutMs, 'discovery document'),
        o.issuer,
        policy,
      );
      fetches++;
      const set = parseJwks(await fetchJson(fetchFn, jwksUri, timeoutMs, 'key set'));
      local = createLocalJWKSet(set);
      loadedAt = clock.now();
      lastFailed = false;
      logger.debug({ keys: set.keys.length }, 'identity provider keys loaded');
    } catch (e) {
      jwksUri = undefined; // rediscover next time: the provider may have moved its keys
      lastFailed = true;
      const err =
        e instanceof HephError
          ? e
          : new HephError('unavailable', "identity provider's key set could not be loaded");
      logger.warn({ code: err.code, ...err.details }, err.message);
      throw err;
    }
  }

  /** Fetches unless one ran within the cooldown; joins a fetch already in flight. */
  function refresh(): Promise<void> | undefined {
    if (inflight !== undefined) return inflight;
    if (clock.now() - attemptedAt < cooldownMs) return undefined;
    inflight = load().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  const unavailable = () =>
    new HephError(
      'unavailable',
      "identity provider unreachable and none of the hub's cached keys fits this token; try again shortly",
    );

  async function select(header: JWSHeaderParameters): Promise<CryptoKey> {
    if (local === undefined) throw unavailable();
    try {
      return await local(header);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'ERR_JWKS_NO_MATCHING_KEY') throw new NoKeyError('unknown_kid');
      if (code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw new NoKeyError('ambiguous_key');
      throw e;
    }
  }

  return {
    get fetches() {
      return fetches;
    },
    async getKey(header, lookup = {}) {
      const network = lookup.network ?? true;
      // Keys never loaded: every caller needs them, limited or not (a valid token is never
      // refused for its address's failures), and the cooldown bounds the fetches.
      if (local === undefined || (network && clock.now() - loadedAt >= maxAgeMs)) {
        const p = refresh();
        if (p !== undefined) {
          // A failed refresh leaves the keys already held in place.
          await p.catch((e: unknown) => {
            if (local === undefined) throw e;
          });
        }
      }
      if (local === undefined) throw unavailable();
      try {
        return await select(header);
      } catch (e) {
        if (!(e instanceof NoKeyError) || e.reason !== 'unknown_kid' || !network) throw e;
        // A kid we do not know: perhaps the provider rotated its keys. Refetch, unless the
        // cooldown says we just did.
        const p = refresh();
        // Within the cooldown: the kid is unknown, unless the last fetch failed, in which case
        // we cannot tell and the provider is the problem.
        if (p === undefined) throw lastFailed ? unavailable() : e;
        try {
          await p;
        } catch {
          throw unavailable();
        }
        return select(header);
      }
    },
  };
}
