// POST /auth/enroll, /auth/device, /auth/rotate and /auth/revoke-self: how a device gets, renews
// and gives up its own credential.
// Guarantees:
// - /auth/enroll takes a one-time enrolment token in its body (never a header, and no other
//   credential), and exchanges it for a new device credential bound to the owner and the
//   replica it names, answered once; the token is consumed atomically (the hub store's
//   exchangeEnrolment), so of concurrent exchanges exactly one succeeds; an unknown, used or
//   expired token, and one of a malformed shape, all get the same 401; failures spend the
//   address's failure budget (429 with Retry-After once spent), a valid token is never slowed;
// - /auth/device takes only an owner's login (`heph auth login` on the device): it answers, once,
//   a new credential for the replica in its body, whose device (registered if new, its id and
//   history kept if not) drops every credential it held before; a revoked replica gets 403
//   device_revoked; a device credential is refused (403 forbidden, below admin);
// - /auth/rotate takes only a device credential (authenticated by the hub's auth hook, so a
//   revoked device's gets 403 device_revoked): it answers a new credential once and the old one
//   stops working in the same transaction; an owner's login is refused (403);
// - /auth/revoke-self takes only a device credential and revokes that device at once (as
//   device.revoke does): `heph auth logout` on an enrolled device; an owner's login gets 403;
// - on an open hub (no sign-in) all three answer 403 explaining that credentials need sign-in;
// - no secret appears in a log line or an error message.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { FailureLimiter } from '../../auth/rate-limit.js';
import { HephError } from '../../core/errors.js';
import type { Clock } from '../../ports/clock.js';
import type { DeviceFacts, HubStore } from '../../ports/hub-store.js';
import type { Logger } from '../../ports/logger.js';
import { parseWire } from '../body.js';
import { bearerOf, secretRefusal } from '../auth.js';
import { hashSecret, isSecret, newDeviceId, newSecret } from '../credentials.js';
import type { HubPrincipal } from '../devices.js';
import { errorBody } from '../http-errors.js';

export const EnrollRequest = z.strictObject({
  token: z.string(),
  replica: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lower-case hex digits'),
  platform: z.string().max(100).optional(),
  arch: z.string().max(100).optional(),
  cpus: z.number().int().min(0).max(1_000_000).optional(),
  memory_bytes: z.number().int().min(0).optional(),
  version: z.string().max(100).optional(),
});

/** POST /auth/device: an owner's login asks a credential for the replica it signs in on. */
export const DeviceRequest = EnrollRequest.omit({ token: true }).extend({
  name: z.string().min(1).max(100).optional(),
});

/** What a device's request says about its machine, as the store takes it. */
function factsOf(body: z.infer<typeof DeviceRequest>): DeviceFacts {
  return {
    platform: body.platform,
    arch: body.arch,
    cpus: body.cpus,
    memoryBytes: body.memory_bytes,
    version: body.version,
  };
}

export interface EnrollResponse {
  /** The device credential: shown this once. */
  credential: string;
  device: { id: string; name: string; replica: string };
}

export interface AuthRouteOptions {
  store: HubStore;
  clock: Clock;
  logger: Logger;
  /** undefined: an open hub (no sign-in). */
  signIn: { limiter: FailureLimiter | undefined } | undefined;
  principalOf(request: FastifyRequest): HubPrincipal;
}

function openHub(): HephError {
  return new HephError(
    'forbidden',
    'this hub is open (no sign-in): every device syncs without a credential, so there is ' +
      'nothing to enrol or rotate; start the hub with --oidc-issuer to give devices credentials',
    { reason: 'open_hub' },
  );
}

const BAD_TOKEN =
  'the enrolment token is not valid: mistyped, already used or expired; ask for a new one ' +
  '(heph device enroll --regenerate ID)';

export function authRoutes(app: FastifyInstance, o: AuthRouteOptions): void {
  const { store, logger } = o;

  // Open to the auth hook: the enrolment token in the body is its credential, checked here.
  const selfAuthenticated = { config: { access: 'open' } } as const;
  app.post(
    '/auth/enroll',
    selfAuthenticated,
    async (request: FastifyRequest, reply: FastifyReply) => {
      if (o.signIn === undefined) throw openHub();
      const limiter = o.signIn.limiter;
      const wait = limiter?.retryAfterSec(request.ip) ?? 0;
      const body = parseWire(EnrollRequest, request.body, 'body');
      const credential = newSecret('device');
      const device = isSecret('enrolment', body.token)
        ? await store.exchangeEnrolment(
            {
              tokenHash: hashSecret(body.token),
              replica: body.replica,
              facts: factsOf(body),
              credentialHash: credential.hash,
            },
            o.clock.now(),
          )
        : undefined;
      if (device === undefined) {
        const r = secretRefusal(limiter, request.ip, wait, BAD_TOKEN);
        logger.debug({ status: r.status, url: request.url }, 'enrolment refused');
        return reply.code(r.status).headers(r.headers).send(errorBody(r.error));
      }
      logger.info({ device: device.id, replica: device.replica }, 'a device enrolled');
      const answer: EnrollResponse = {
        credential: credential.plain,
        device: { id: device.id, name: device.name, replica: body.replica },
      };
      return reply.header('cache-control', 'no-store').send(answer);
    },
  );

  // Through the auth hook as admin (an owner's login; a device credential is only an editor),
  // then an owner's login only: an open hub's callers are admin too, but have no credentials.
  app.post(
    '/auth/device',
    { config: { access: 'admin' } },
    async (request: FastifyRequest, reply: FastifyReply) => {
      if (o.signIn === undefined) throw openHub();
      const caller = o.principalOf(request);
      if (caller.via !== 'owner_login') {
        throw new HephError(
          'forbidden',
          'POST /auth/device gives a device its credential on its owner’s sign-in and takes ' +
            'only an owner’s login',
          { reason: 'owner_login_required' },
        );
      }
      const body = parseWire(DeviceRequest, request.body, 'body');
      const credential = newSecret('device');
      const device = await store.issueCredential(
        {
          owner: caller.owner,
          replica: body.replica,
          fresh: { id: newDeviceId(), name: body.name ?? body.replica },
          facts: factsOf(body),
          credentialHash: credential.hash,
        },
        o.clock.now(),
      );
      logger.info({ device: device.id, replica: device.replica }, 'a device signed in');
      const answer: EnrollResponse = {
        credential: credential.plain,
        device: { id: device.id, name: device.name, replica: body.replica },
      };
      return reply.header('cache-control', 'no-store').send(answer);
    },
  );

  // Through the auth hook (a revoked device is refused there), then a device credential only.
  const deviceRoute = { config: { access: 'editor' } } as const;
  app.post('/auth/rotate', deviceRoute, async (request: FastifyRequest, reply: FastifyReply) => {
    if (o.signIn === undefined) throw openHub();
    const caller = o.principalOf(request);
    const device = caller.deviceRecord;
    const bearer = bearerOf(request.headers.authorization);
    if (caller.via !== 'device' || device === undefined || bearer === undefined) {
      throw new HephError(
        'forbidden',
        'POST /auth/rotate replaces a device credential and takes only one; an owner’s login ' +
          'cannot rotate (a device that lost its credential enrols again)',
        { reason: 'device_credential_required' },
      );
    }
    const next = newSecret('device');
    const rotated = await store.rotateCredential(hashSecret(bearer), next.hash, o.clock.now());
    if (!rotated) {
      // Revoked or rotated by another request since this one was authenticated.
      throw new HephError('unauthorized', 'the device credential is no longer valid', {
        reason: 'invalid_token',
      });
    }
    logger.info({ device: device.id }, 'a device rotated its credential');
    return reply
      .header('cache-control', 'no-store')
      .send({ credential: next.plain, device: { id: device.id } });
  });

  // Through the auth hook as /auth/rotate is; then a device credential only.
  app.post('/auth/revoke-self', deviceRoute, async (request: FastifyRequest) => {
    if (o.signIn === undefined) throw openHub();
    const caller = o.principalOf(request);
    const device = caller.deviceRecord;
    if (caller.via !== 'device' || device === undefined) {
      throw new HephError(
        'forbidden',
        'POST /auth/revoke-self revokes the device credential it is called with and takes only ' +
          'one; an owner revokes other devices with device.revoke',
        { reason: 'device_credential_required' },
      );
    }
    const d = await store.revokeDevice(caller.owner, device.id, o.clock.now());
    logger.info({ device: d.id }, 'a device revoked its own credential');
    return { device: { id: d.id, status: d.status } };
  });
}
