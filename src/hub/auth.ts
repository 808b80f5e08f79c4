// Sign-in on the hub: who may call /sync/*, /rpc and /auth/rotate, whose data each caller gets,
// and whether its role suffices for the route. Guarantees: every request to a route that is not
// open gets a Principal (auth/principal.ts) before its body is read, or a refusal; with an issuer
// configured the request is authenticated (verifier.ts), failed attempts are rate limited per
// client address (rate-limit.ts) and the account is authorized by the owner policy (owners.ts);
// without one (an open hub) every caller is the hub owner's open_hub principal; refusals are 401
// with WWW-Authenticate, 403, 429 with Retry-After or 503 with Retry-After, each with the hub's
// usual `{error: {code, message}}` body, and a caller below the route's role gets 403
// `forbidden` naming the role needed; the hub owner (the `--owner` pin, else the first account
// to sign in, whose claim the hub store keeps, first claim winning) gets the hub's own data
// (HUB_OWNER), every other allowed account an owner of its own in the hub store, made on its
// first request; a request that was not authenticated never reaches anyone's data.
// A bearer value is told apart by its prefix: `hd_…` is a device credential, looked up by its
// SHA-256 in the hub store on every request (a revoked device gets 403 device_revoked, a request
// whose Heph-Replica is not the credential's replica 403 forbidden); `he_…` is an enrolment
// token, which only POST /auth/enroll takes; anything else is verified as the identity
// provider's JWT. Failed device credentials and enrolment tokens spend the same per-address
// failure budget as failed logins.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { createOwnerPolicy, identityKey, type Access } from '../auth/owners.js';
import { authorize, principalFor, type Role } from '../auth/principal.js';
import { createFailureLimiter, type FailureLimiter } from '../auth/rate-limit.js';
import { createAuthGuard, createVerifier, type VerifierOptions } from '../auth/verifier.js';
import { HephError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import { HUB_OWNER, type HubStore, type OwnerId } from '../ports/hub-store.js';
import type { Logger } from '../ports/logger.js';
import { HEADER_REPLICA } from '../protocol/sync.js';
import { hashSecret, isSecret, secretKindOf } from './credentials.js';
import { revokedError, type HubPrincipal } from './devices.js';
import { errorBody } from './http-errors.js';

export interface HubAuthOptions {
  /** The OIDC issuer, exactly as in its tokens. */
  issuer: string;
  /** The hub's audience (the token's `aud`). */
  audience: string;
  /** The public client the CLI signs in with (reported by /config). */
  clientId?: string | undefined;
  /** `--owner SUB`: the hub owner, whoever claimed the hub before. */
  owner?: string | undefined;
  /** `--allow-users`: other accounts, each with data of its own. */
  allowUsers?: readonly string[] | '*' | undefined;
  /** Clock for token expiry and the failure limiter (default: the hub's clock). */
  clock?: Clock;
  /** Failed-authentication limiter (default: 10 at once, then 10 a minute); false: none. */
  limiter?: FailureLimiter | false;
  /** Keys may come over plain http from a provider off loopback (`--insecure-oidc-http`). */
  insecureHttp?: boolean | undefined;
  /** Passed to the verifier (tests: a short key-fetch cooldown, a fetch). */
  verifier?: Pick<VerifierOptions, 'cooldownMs' | 'fetch' | 'leewaySec' | 'timeoutMs'>;
}

/**
 * An onRequest hook for a route that needs `role`: establishes the request's principal and
 * records it with `remember`, or replies with the refusal (and fastify then stops the request).
 */
export type Authenticate = (
  request: FastifyRequest,
  reply: FastifyReply,
  role: Role,
) => Promise<FastifyReply | undefined>;

type Remember = (request: FastifyRequest, principal: HubPrincipal) => void;

/** Records the principal and lets the request on if its role suffices, else answers 403. */
function admit(
  request: FastifyRequest,
  reply: FastifyReply,
  principal: HubPrincipal,
  role: Role,
  remember: Remember,
  logger: Logger,
): FastifyReply | undefined {
  try {
    authorize(principal, role, `${request.method} ${request.routeOptions.url ?? request.url}`);
    remember(request, principal);
    return undefined;
  } catch (e) {
    if (!(e instanceof HephError)) throw e;
    logger.debug({ code: e.code, status: 403, url: request.url }, e.message);
    return reply.code(403).send(errorBody(e));
  }
}

/** Every request is `principal`: a hub without an identity provider, where every caller is the
 *  hub owner's open_hub principal (auth/principal.ts says why that is admin). */
export function authenticateAs(
  principal: HubPrincipal,
  remember: Remember,
  logger: Logger,
): Authenticate {
  return async (request, reply, role) => admit(request, reply, principal, role, remember, logger);
}

export interface Refusal {
  status: number;
  error: HephError;
  headers: Record<string, string>;
}

const INVALID_TOKEN = 'Bearer error="invalid_token"';

/**
 * The answer to a secret (device credential, enrolment token) that matched nothing: 401, or 429
 * with Retry-After once the address has spent its failure budget (`wait` is what it had to wait
 * before this attempt).
 */
export function secretRefusal(
  limiter: FailureLimiter | undefined,
  address: string,
  wait: number,
  message: string,
): Refusal {
  const after = limiter?.recordFailure(address) ?? 0;
  if (wait > 0) {
    const retry = Math.max(wait, after);
    return {
      status: 429,
      error: new HephError(
        'rate_limited',
        `too many failed authentications from this address; retry in ${retry} s`,
        { reason: 'rate_limited', retry_after_s: retry },
      ),
      headers: { 'retry-after': String(retry) },
    };
  }
  return {
    status: 401,
    error: new HephError('unauthorized', message, { reason: 'invalid_token' }),
    headers: { 'www-authenticate': INVALID_TOKEN },
  };
}

/** The hub's limiter of failed authentications (undefined: none). */
export function failureLimiterFor(o: HubAuthOptions, clock: Clock): FailureLimiter | undefined {
  return o.limiter === false ? undefined : (o.limiter ?? createFailureLimiter({ clock }));
}

/** The value of an `Authorization: Bearer …` header. */
export function bearerOf(authorization: string | undefined): string | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  return m?.[1];
}

/** Authentication with an identity provider: a device credential or a bearer token from the
 *  provider, refused otherwise. */
export async function makeAuthenticate(
  o: HubAuthOptions,
  store: HubStore,
  clock: Clock,
  logger: Logger,
  limiter: FailureLimiter | undefined,
  remember: Remember,
): Promise<Authenticate> {
  const claimed = await store.claim();
  if (claimed !== undefined && claimed.iss !== o.issuer && o.owner === undefined) {
    logger.warn(
      { claimed_by: claimed.iss, issuer: o.issuer },
      'this hub was claimed by an account of another issuer; only --allow-users accounts can ' +
        'sign in until --owner names the owner at this issuer',
    );
  }
  const policy = createOwnerPolicy(
    {
      issuer: o.issuer,
      ...(o.owner !== undefined && { owner: o.owner }),
      ...(o.allowUsers !== undefined && { allowUsers: o.allowUsers }),
    },
    {
      ...(claimed !== undefined && { claimed }),
      async persist(owner, previous) {
        const now = await store.setClaim(owner, previous);
        if (now.iss === owner.iss && now.sub === owner.sub) {
          logger.info({ sub: owner.sub, iss: owner.iss }, 'the hub was claimed by its owner');
        }
        return now;
      },
    },
  );
  const verifier = createVerifier({
    issuer: o.issuer,
    audience: o.audience,
    clock,
    logger,
    ...(o.insecureHttp === true && { insecureHttp: true }),
    ...o.verifier,
  });
  const guard = createAuthGuard<Access>({
    verifier,
    ...(limiter !== undefined && { limiter }),
    authorize: (token) => policy.authorize({ iss: token.iss, sub: token.sub }),
  });

  // Accounts' owners, by identity key: an owner's number never changes.
  const owners = new Map<string, OwnerId>();
  const ownerOf = async (access: Access): Promise<OwnerId> => {
    if (access.role === 'owner') return HUB_OWNER;
    const key = identityKey(access.identity);
    let owner = owners.get(key);
    if (owner === undefined) {
      owner = await store.ownerOf(access.identity);
      owners.set(key, owner);
    }
    return owner;
  };

  const refuse = (request: FastifyRequest, reply: FastifyReply, outcome: Refusal) => {
    if (outcome.status >= 500) {
      logger.warn({ code: outcome.error.code, url: request.url }, outcome.error.message);
    } else {
      logger.debug(
        { code: outcome.error.code, status: outcome.status, url: request.url },
        outcome.error.message,
      );
    }
    // The challenge travels in the header; the body keeps the reason and the message.
    const { www_authenticate: _challenge, ...details } = outcome.error.details;
    void _challenge;
    const error = new HephError(outcome.error.code, outcome.error.message, details);
    return reply.code(outcome.status).headers(outcome.headers).send(errorBody(error));
  };

  /** A device credential: its device, read now, must be active and be the replica that calls. */
  const asDevice = async (
    request: FastifyRequest,
    bearer: string,
  ): Promise<HubPrincipal | Refusal> => {
    const wait = limiter?.retryAfterSec(request.ip) ?? 0;
    const device = isSecret('device', bearer)
      ? await store.deviceByCredential(hashSecret(bearer))
      : undefined;
    if (device === undefined) {
      return secretRefusal(limiter, request.ip, wait, 'the device credential is not valid');
    }
    if (device.status === 'revoked') {
      return { status: 403, error: revokedError(device), headers: {} };
    }
    const replica = request.headers[HEADER_REPLICA];
    if (replica !== undefined && replica !== device.replica) {
      return {
        status: 403,
        error: new HephError(
          'forbidden',
          `this device credential belongs to replica ${device.replica}, not to the replica ` +
            'named by Heph-Replica',
          { reason: 'replica_mismatch' },
        ),
        headers: {},
      };
    }
    return {
      ...principalFor({ kind: 'device', owner: device.owner, replica: device.replica }),
      deviceRecord: device,
    };
  };

  return async (request, reply, role) => {
    const bearer = bearerOf(request.headers.authorization);
    const kind = bearer === undefined ? undefined : secretKindOf(bearer);
    if (kind === 'device') {
      const r = await asDevice(request, bearer!);
      if ('error' in r) return refuse(request, reply, r);
      return admit(request, reply, r, role, remember, logger);
    }
    if (kind === 'enrolment') {
      const wait = limiter?.retryAfterSec(request.ip) ?? 0;
      return refuse(
        request,
        reply,
        secretRefusal(
          limiter,
          request.ip,
          wait,
          'an enrolment token is only taken by POST /auth/enroll, where a new device exchanges ' +
            'it for its own credential',
        ),
      );
    }
    const outcome = await guard(request.headers.authorization, request.ip);
    if (!outcome.ok) return refuse(request, reply, outcome);
    const owner = await ownerOf(outcome.access);
    return admit(
      request,
      reply,
      principalFor({ kind: 'owner_login', owner }),
      role,
      remember,
      logger,
    );
  };
}
