// Verifies the hub's `Authorization: Bearer <JWT>` access tokens against the issuer's published
// keys. Guarantees: only asymmetric signatures (RS*, PS*, ES*, EdDSA) are accepted, never HS* or
// `none`; `iss` must equal the configured issuer and `aud` must be (or contain) the hub's
// audience; `exp` and `sub` are required, `nbf` is honoured, both within `leewaySec`; keys come
// only from the issuer's discovery document (`jku`, `x5u`, `jwk` and `x5c` headers are never
// used) and only as url-policy.ts allows (https, or http on loopback unless the operator opted
// in); ID tokens are refused (see rejectIdToken). Every failure is a HephError: 'unauthorized'
// (401) with an RFC 6750 `WWW-Authenticate` value in details.www_authenticate, or 'unavailable'
// (503) when the provider cannot be reached and no cached key fits. jose's errors are translated
// here, once. The token never appears in an error message or a log line.

import { decodeProtectedHeader, jwtVerify, type JWTPayload, type JWSHeaderParameters } from 'jose';
import { HephError } from '../core/errors.js';
import { isPlainObject } from '../core/json.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import { httpStatusFor } from '../protocol/error-wire.js';
import { createJwksCache, NoKeyError, type FetchLike, type JwksCache } from './jwks.js';
import type { FailureLimiter } from './rate-limit.js';

export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** Default largest token accepted, in bytes; real access tokens are 1-3 KiB. */
export const MAX_TOKEN_BYTES = 16 * 1024;

export interface VerifierOptions {
  /** The OIDC issuer, exactly as it appears in `iss` and in its discovery document. */
  issuer: string;
  /** The hub's audience (the RFC 8707 resource the CLI asks for). */
  audience: string;
  clock?: Clock;
  /** Tolerance for `exp` and `nbf` in seconds (default 60). */
  leewaySec?: number;
  fetch?: FetchLike;
  /** Least time between two fetches of the key set (default 30 s). */
  cooldownMs?: number;
  /** Cached keys are refreshed after this (default 10 min); kept if the refresh fails. */
  maxKeyAgeMs?: number;
  /** Per request to the provider (default 5 s). */
  timeoutMs?: number;
  logger?: Logger;
  /** Narrow the accepted algorithms (default: all of ASYMMETRIC_ALGORITHMS). */
  algorithms?: readonly AsymmetricAlgorithm[];
  /** Require the RFC 9068 header `typ: at+jwt` (default false: many providers send `JWT`). */
  requireAtJwtType?: boolean;
  maxTokenBytes?: number;
  /** Fetch keys over plain http from a provider off loopback (`--insecure-oidc-http`). */
  insecureHttp?: boolean;
}

export interface VerifiedToken {
  iss: string;
  sub: string;
  /** The space-separated `scope` claim (or an `scp` array joined with spaces). */
  scope?: string;
  claims: JWTPayload;
}

export interface VerifyOptions {
  /** false: only keys already cached, no fetch (for a client being rate limited). */
  network?: boolean;
}

export interface Verifier {
  /** Verifies the value of an Authorization header (undefined when absent). */
  verify(authorization: string | undefined, opts?: VerifyOptions): Promise<VerifiedToken>;
}

/** Short machine-readable reasons, for logs and tests (details.reason). */
export type RejectReason =
  | 'missing'
  | 'not_bearer'
  | 'too_large'
  | 'malformed'
  | 'alg_not_allowed'
  | 'wrong_type'
  | 'id_token'
  | 'unknown_kid'
  | 'ambiguous_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'missing_claim'
  | 'invalid_claim';

/** An RFC 6750 §3 challenge. Quotes and backslashes cannot appear in error_description. */
export function bearerChallenge(error?: string, description?: string): string {
  if (error === undefined) return 'Bearer';
  const parts = [`error="${error}"`];
  if (description !== undefined) {
    parts.push(`error_description="${description.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '')}"`);
  }
  return `Bearer ${parts.join(', ')}`;
}

function reject(reason: RejectReason, description: string): HephError {
  const error =
    reason === 'missing'
      ? undefined
      : reason === 'not_bearer'
        ? 'invalid_request'
        : 'invalid_token';
  return new HephError('unauthorized', description, {
    reason,
    www_authenticate: bearerChallenge(error, error === undefined ? undefined : description),
  });
}

const TYP_ACCESS = new Set(['at+jwt', 'application/at+jwt']);
const TYP_GENERIC = new Set(['jwt', 'application/jwt']);
// Claims OpenID Connect defines for ID tokens only; an RFC 9068 access token never has them.
const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'];
const B64URL = /^[A-Za-z0-9_-]+$/;

/** Checks the compact form before any decoding: three base64url parts, bounded size. */
function parseCompact(token: string, maxBytes: number): JWSHeaderParameters {
  if (token.length > maxBytes) throw reject('too_large', `token is larger than ${maxBytes} bytes`);
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) {
    throw reject('malformed', 'token is not a compact JWS (three base64url parts)');
  }
  let header: unknown;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw reject('malformed', 'token header is not base64url-encoded JSON');
  }
  if (!isPlainObject(header)) throw reject('malformed', 'token header is not a JSON object');
  return header;
}

/**
 * An ID token is minted for the CLI (aud = the CLI's client id), not for the hub, so the
 * audience check already refuses it. Two more checks catch it should a provider put the hub
 * in an ID token's audience: an explicit `typ` other than an access-token or generic JWT type is
 * refused, and so is a token carrying ID-token-only claims.
 */
function rejectIdToken(header: JWSHeaderParameters, claims: JWTPayload, strictTyp: boolean): void {
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : undefined;
  if (
    strictTyp
      ? typ === undefined || !TYP_ACCESS.has(typ)
      : typ !== undefined && !TYP_ACCESS.has(typ) && !TYP_GENERIC.has(typ)
  ) {
    throw reject('wrong_type', 'token is not an access token (typ must be at+jwt)');
  }
  if (ID_TOKEN_CLAIMS.some((c) => c in claims)) {
    throw reject('id_token', 'token is an ID token; send the access token issued for the hub');
  }
}

function translateJose(e: unknown): HephError {
  if (e instanceof HephError) return e;
  if (e instanceof NoKeyError) {
    return e.reason === 'unknown_kid'
      ? reject('unknown_kid', 'token is signed by a key the identity provider does not publish')
      : reject(
          'ambiguous_key',
          'token has no kid and the identity provider publishes several keys',
        );
  }
  const { code, claim, reason } = e as { code?: unknown; claim?: unknown; reason?: unknown };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return reject('expired', 'token has expired; sign in again or refresh it');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      if (reason === 'missing' && typeof claim === 'string') {
        return reject('missing_claim', `token has no "${claim}" claim`);
      }
      if (claim === 'iss') return reject('wrong_issuer', 'token was issued by another issuer');
      if (claim === 'aud') return reject('wrong_audience', 'token is not meant for this hub (aud)');
      if (claim === 'nbf') return reject('not_yet_valid', 'token is not valid yet (nbf)');
      return reject('invalid_claim', `token has an invalid "${String(claim)}" claim`);
    }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return reject('bad_signature', 'token signature does not verify');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return reject('alg_not_allowed', 'token algorithm is not allowed');
    default:
      // JWSInvalid, JWTInvalid (payload not a JSON object, bad claim types), WebCrypto errors
      // for a key that does not suit the algorithm, …
      return reject('malformed', 'token could not be verified');
  }
}

export function createVerifier(o: VerifierOptions): Verifier {
  const clock = o.clock ?? systemClock;
  const logger = o.logger ?? silentLogger;
  const leewaySec = o.leewaySec ?? 60;
  const maxTokenBytes = o.maxTokenBytes ?? MAX_TOKEN_BYTES;
  const algorithms: readonly string[] = o.algorithms ?? ASYMMETRIC_ALGORITHMS;
  if (algorithms.some((a) => !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a))) {
    throw new TypeError('algorithms must be asymmetric JWS algorithms');
  }
  const jwks: JwksCache = createJwksCache({
    issuer: o.issuer,
    clock,
    logger,
    ...(o.fetch !== undefined && { fetch: o.fetch }),
    ...(o.cooldownMs !== undefined && { cooldownMs: o.cooldownMs }),
    ...(o.maxKeyAgeMs !== undefined && { maxAgeMs: o.maxKeyAgeMs }),
    ...(o.timeoutMs !== undefined && { timeoutMs: o.timeoutMs }),
    ...(o.insecureHttp === true && { insecureHttp: true }),
  });

  async function verifyToken(token: string, network: boolean): Promise<VerifiedToken> {
    const header = parseCompact(token, maxTokenBytes);
    if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
      throw reject(
        'alg_not_allowed',
        'token algorithm is not allowed (asymmetric algorithms only)',
      );
    }
    let claims: JWTPayload;
    try {
      // The key function sees only alg and kid; jku/x5u/jwk/x5c in the header are ignored.
      ({ payload: claims } = await jwtVerify(
        token,
        (h) => jwks.getKey({ alg: h.alg, ...(h.kid !== undefined && { kid: h.kid }) }, { network }),
        {
          issuer: o.issuer,
          audience: o.audience,
          algorithms: [...algorithms],
          clockTolerance: leewaySec,
          currentDate: new Date(clock.now()),
          requiredClaims: ['iss', 'aud', 'exp', 'sub'],
        },
      ));
    } catch (e) {
      throw translateJose(e);
    }
    rejectIdToken(header, claims, o.requireAtJwtType ?? false);
    if (typeof claims.sub !== 'string' || claims.sub === '') {
      throw reject('invalid_claim', 'token has an empty "sub" claim');
    }
    const scp = claims.scp;
    const scope =
      typeof claims.scope === 'string'
        ? claims.scope
        : Array.isArray(scp) && scp.every((s) => typeof s === 'string')
          ? scp.join(' ')
          : undefined;
    return {
      iss: o.issuer,
      sub: claims.sub,
      ...(scope !== undefined && { scope }),
      claims,
    };
  }

  return {
    async verify(authorization, opts = {}) {
      if (authorization === undefined || authorization.trim() === '') {
        throw reject('missing', 'this hub requires a bearer token; run `heph auth login`');
      }
      const m = /^Bearer +([^\s]+) *$/i.exec(authorization);
      if (m?.[1] === undefined) {
        throw reject('not_bearer', 'Authorization header must be "Bearer <token>"');
      }
      try {
        return await verifyToken(m[1], opts.network ?? true);
      } catch (e) {
        const err = translateJose(e);
        if (err.code === 'unauthorized') {
          logger.debug({ reason: err.details.reason }, 'bearer token refused');
        }
        throw err;
      }
    },
  };
}

/** Retry-After for a 503: about one key-refetch cooldown. */
export const UNAVAILABLE_RETRY_S = 30;

export interface AuthGuardOptions<A> {
  verifier: Verifier;
  /** Failed authentications per client address; omit to not limit. */
  limiter?: FailureLimiter;
  /** Who the hub serves (see owners.ts): returns the access, or throws HephError 'forbidden'. */
  authorize(token: VerifiedToken): Promise<A> | A;
}

export type AuthOutcome<A> =
  | { ok: true; token: VerifiedToken; access: A }
  | {
      ok: false;
      /** 401, 403, 429 or 503 (500 if authorize threw something unexpected). */
      status: number;
      error: HephError;
      /** Response headers to send: WWW-Authenticate on 401, Retry-After on 429 and 503. */
      headers: Record<string, string>;
    };

/**
 * One request's authentication: verify, rate-limit failures, authorize. A client that has spent
 * its failure budget still gets in with a valid token, but its tokens are checked against cached
 * keys only (no fetch on its behalf) and a failure is answered 429 with Retry-After.
 */
export function createAuthGuard<A>(o: AuthGuardOptions<A>) {
  return async (authorization: string | undefined, address: string): Promise<AuthOutcome<A>> => {
    const wait = o.limiter?.retryAfterSec(address) ?? 0;
    let token: VerifiedToken;
    try {
      token = await o.verifier.verify(authorization, { network: wait === 0 });
    } catch (e) {
      const err = e instanceof HephError ? e : translateJose(e);
      if (err.code === 'unauthorized') {
        const after = o.limiter?.recordFailure(address) ?? 0;
        const retry = Math.max(wait, after);
        if (wait > 0) {
          const tooMany = new HephError(
            'rate_limited',
            `too many failed authentications from this address; retry in ${retry} s`,
            { reason: 'rate_limited', retry_after_s: retry },
          );
          return {
            ok: false,
            status: 429,
            error: tooMany,
            headers: { 'retry-after': String(retry) },
          };
        }
        const challenge = err.details.www_authenticate;
        return {
          ok: false,
          status: 401,
          error: err,
          headers: typeof challenge === 'string' ? { 'www-authenticate': challenge } : {},
        };
      }
      return {
        ok: false,
        status: httpStatusFor(err),
        error: err,
        headers: err.code === 'unavailable' ? { 'retry-after': String(UNAVAILABLE_RETRY_S) } : {},
      };
    }
    try {
      return { ok: true, token, access: await o.authorize(token) };
    } catch (e) {
      const err = e instanceof HephError ? e : new HephError('internal', 'authorization failed');
      return { ok: false, status: httpStatusFor(err), error: err, headers: {} };
    }
  };
}
