// The hub's HTTP application: /sync/push, /sync/pull, /rpc, /healthz, /readyz and /config on
// fastify, over a hub store (ports/hub-store.ts) and its cache replicas (cache.ts).
// Guarantees: bodies are JSON only (anything else is 415), plain or in gzip or br (encoding.ts),
// at most bodyLimit bytes decoded whether or not a Content-Length is sent (413), nested at most
// 64 levels and well-formed (400 with the reason); every error is `{error: {code, message}}`
// with the status from the error table; a client that trickles its headers or body is dropped
// after headersTimeoutMs / requestTimeoutMs; close() ends every long-polling pull so the hub stops at once.
// With `auth` (an OIDC issuer), /sync/* and /rpc serve only authenticated callers, each on its
// owner's data (see auth.ts); /healthz, /readyz and /config stay open, and /config names the
// issuer, client id and audience the CLI signs in with. Without it the hub is open and
// everything is the hub owner's (HUB_OWNER). /readyz answers 200 when the store answers, else
// 503 (for load balancers); /healthz is liveness only. Devices (devices.ts): every request on
// /sync/* and /rpc is checked against the device registry after it is authenticated and before
// its body is read (a revoked device is refused); POST /auth/enroll and /auth/rotate give
// devices their credentials (routes/auth-routes.ts); device.* methods are served on /rpc only.

import * as http from 'node:http';
import * as https from 'node:https';
import fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { DaemonConfig } from '../config/config.js';
import { HephError } from '../core/errors.js';
import { DEFAULT_MAX_DRIFT_MS, isOrigin } from '../core/hlc.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { HUB_OWNER, type DeviceRecord, type HubStore, type OwnerId } from '../ports/hub-store.js';
import type { Logger } from '../ports/logger.js';
import { cryptoRandom, type Random } from '../ports/random.js';
import {
  Cursor,
  HEADER_REPLICA,
  MAX_PULL_WAIT_S,
  MAX_PUSH_OPS,
  SUPPORTED_PROTOCOLS,
  type HubConfig,
} from '../protocol/sync.js';
import { failureLimiterFor, makeAuthenticate, type HubAuthOptions } from './auth.js';
import { deviceMethods } from './device-methods.js';
import { DeviceTracker, type HubCaller } from './devices.js';
import { authRoutes } from './routes/auth-routes.js';
import { MAX_JSON_DEPTH, parseJsonBody } from './body.js';
import {
  CacheReplicas,
  DEFAULT_CACHE_MAX_MB,
  DEFAULT_CACHE_MAX_OWNERS,
  type CacheOptions,
} from './cache.js';
import { contentCodings } from './encoding.js';
import { errorBody, makeErrorHandler } from './http-errors.js';
import { PushQueue } from './push-queue.js';
import { cachedRegistry, rpcRoutes, type HubRpcContext } from './routes/rpc.js';
import { syncRoutes } from './routes/sync.js';
import type { Registry } from '../rpc/registry.js';

export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;

/** Routes served without sign-in: the CLI needs /config to know where to sign in. */
export const OPEN_ROUTES: readonly string[] = ['/healthz', '/readyz', '/config'];

/** Routes that check their own credential (an enrolment token in the body), not the hook. */
export const SELF_AUTHENTICATED_ROUTES: readonly string[] = ['/auth/enroll'];

/** Routes a device syncs or calls on: each request is checked against the device registry. */
const DEVICE_ROUTES: readonly string[] = ['/sync/push', '/sync/pull', '/rpc'];

export interface HubTimeouts {
  /** Whole request head must arrive within this (default 10 s). */
  headersMs?: number;
  /** Whole request (head and body) must arrive within this (default 120 s). */
  requestMs?: number;
  /** A socket with no traffic either way is closed after this; must exceed the longest
   *  long-poll (default MAX_PULL_WAIT_S + 30 s). */
  idleMs?: number;
  /** How often Node checks the two request timeouts (default 1 s). */
  checkIntervalMs?: number;
  /** Keep-alive connections idle between requests are closed after this (default 72 s). */
  keepAliveMs?: number;
  /** On close, requests still running after this are cut off (default 2 s). */
  closeGraceMs?: number;
}

export interface HubOptions {
  hubStore: HubStore;
  /** Where the cache replicas live and how many to keep (see cache.ts). */
  cache: Pick<CacheOptions, 'dir'> & Partial<CacheOptions>;
  /** The hub's configuration, given to the cache replicas' methods (time zone, mode). */
  config: DaemonConfig;
  version: string;
  logger: Logger;
  /** Refuse pushed ops stamped more than this ahead of the store's clock (default 5 min). */
  maxDriftMs?: number;
  /** Largest request body in bytes (default 16 MiB). */
  bodyLimit?: number;
  /** Most ops one push may carry (default and maximum MAX_PUSH_OPS). */
  maxOpsPerPush?: number;
  /** The hub's clock, reported by /healthz; give the store the same one. */
  clock?: Clock;
  timeouts?: HubTimeouts;
  /** Serve HTTPS with this certificate chain and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Require sign-in with this identity provider (see auth.ts); omit for an open hub. */
  auth?: HubAuthOptions;
  /** Take the client address from X-Forwarded-For (the hub is behind a reverse proxy). */
  trustProxy?: boolean;
  /** For the cache replicas' ids (default: crypto randomness). */
  random?: Random;
}

export interface HubApp {
  app: FastifyInstance;
  caches: CacheReplicas;
  /** The daemon's methods over the cache replicas, for the hub's own socket. */
  socketRegistry: Registry<HubRpcContext>;
  /** Closes the HTTP app (ending long-polls) and the cache replicas; not the store. */
  close(): Promise<void>;
}

/** The hub: its push queue, cache replicas and HTTP app over `o.hubStore` (not yet listening). */
export async function buildHub(o: HubOptions): Promise<HubApp> {
  const bodyLimit = o.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const maxOpsPerPush = o.maxOpsPerPush ?? MAX_PUSH_OPS;
  if (!Number.isInteger(maxOpsPerPush) || maxOpsPerPush < 1 || maxOpsPerPush > MAX_PUSH_OPS) {
    throw new TypeError(`maxOpsPerPush must be 1-${MAX_PUSH_OPS}`);
  }
  const auth = o.auth;
  if (auth !== undefined && (auth.issuer === '' || auth.audience === '')) {
    throw new TypeError('auth needs an issuer and an audience');
  }
  const { logger, hubStore } = o;
  const clock = o.clock ?? systemClock;
  const queue = new PushQueue(hubStore);
  const caches = await CacheReplicas.open(
    {
      dir: o.cache.dir,
      maxOwners: o.cache.maxOwners ?? DEFAULT_CACHE_MAX_OWNERS,
      maxBytes: o.cache.maxBytes ?? DEFAULT_CACHE_MAX_MB * 1024 * 1024,
    },
    {
      hubStore,
      append: (owner, ops) => queue.submit({ owner, ops }),
      clock,
      random: o.random ?? cryptoRandom,
      logger,
      config: o.config,
      version: o.version,
      startedMs: clock.now(),
    },
  );
  let app: FastifyInstance;
  try {
    app = await httpApp(o, { queue, caches, bodyLimit, maxOpsPerPush, clock });
  } catch (e) {
    await caches.close();
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    app,
    caches,
    socketRegistry: cachedRegistry(caches, false),
    close() {
      closing ??= (async () => {
        await app.close();
        await caches.close();
      })();
      return closing;
    },
  };
}

interface Parts {
  queue: PushQueue;
  caches: CacheReplicas;
  bodyLimit: number;
  maxOpsPerPush: number;
  clock: Clock;
}

async function httpApp(o: HubOptions, p: Parts): Promise<FastifyInstance> {
  const t = o.timeouts ?? {};
  const serverOptions: http.ServerOptions = {
    headersTimeout: t.headersMs ?? 10_000,
    requestTimeout: t.requestMs ?? 120_000,
    connectionsCheckingInterval: t.checkIntervalMs ?? 1000,
    keepAliveTimeout: t.keepAliveMs ?? 72_000,
  };
  const idleMs = t.idleMs ?? (MAX_PULL_WAIT_S + 30) * 1000;
  const tls = o.tls;
  const app = fastify({
    bodyLimit: p.bodyLimit,
    trustProxy: o.trustProxy === true,
    forceCloseConnections: 'idle',
    serverFactory: (handler) => {
      const server = tls
        ? https.createServer({ ...serverOptions, cert: tls.cert, key: tls.key }, handler)
        : http.createServer(serverOptions, handler);
      server.setTimeout(idleMs);
      return server;
    },
  });
  const { logger, hubStore, auth } = o;
  // The caller of each authenticated request; a request without one is the hub owner's only
  // when the hub is open.
  const callerOfRequest = new WeakMap<FastifyRequest, HubCaller>();
  const openCaller: HubCaller = { owner: HUB_OWNER, kind: 'open' };
  const callerOf = (request: FastifyRequest): HubCaller => {
    if (auth === undefined) return openCaller;
    const caller = callerOfRequest.get(request);
    if (caller === undefined) {
      throw new HephError('unauthorized', 'this request was not authenticated');
    }
    return caller;
  };
  const ownerOf = (request: FastifyRequest): OwnerId => callerOf(request).owner;
  const tracker = new DeviceTracker(hubStore, p.clock, logger);
  const deviceOfRequest = new WeakMap<FastifyRequest, DeviceRecord>();

  app.removeAllContentTypeParsers();
  // As a buffer, decoded once: fastify's string mode decodes chunk by chunk and joins strings,
  // which cost a push of 1,000 ops (195 KB) more than parsing it.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body.toString('utf8'), MAX_JSON_DEPTH));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  contentCodings(app, p.bodyLimit);
  app.setErrorHandler(makeErrorHandler(logger, p.bodyLimit));
  app.setNotFoundHandler((request, reply) => {
    const e = new HephError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
    void reply.code(404).send(errorBody(e));
  });
  // Stopping: end long-polls, and have every reply still in flight close its connection, or
  // server.close() would wait for those keep-alive connections to time out.
  const stopping = new AbortController();
  let cut: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    stopping.abort();
    // Connections still busy after the grace period (a client that stopped reading, a socket the
    // peer abandoned mid-request) are cut, so stop() is bounded.
    cut = setTimeout(() => app.server.closeAllConnections(), t.closeGraceMs ?? 2000);
    cut.unref();
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (stopping.signal.aborted) void reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onClose', (_app, done) => {
    clearTimeout(cut);
    done();
  });

  const limiter = auth === undefined ? undefined : failureLimiterFor(auth, auth.clock ?? p.clock);
  if (auth !== undefined) {
    const authenticate = await makeAuthenticate(
      auth,
      hubStore,
      auth.clock ?? p.clock,
      logger,
      limiter,
      (r, caller) => callerOfRequest.set(r, caller),
    );
    // Before the body is read: an unauthenticated caller cannot make the hub parse anything.
    // By matched route, not by URL text, and every route but the open ones (default deny).
    app.addHook('onRequest', (request, reply) => {
      const route = request.routeOptions.url;
      if (
        route === undefined ||
        OPEN_ROUTES.includes(route) ||
        SELF_AUTHENTICATED_ROUTES.includes(route)
      ) {
        return Promise.resolve(undefined);
      }
      return authenticate(request, reply);
    });
  }
  // After authentication, before the body: the caller's device, refused when revoked.
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    if (route === undefined || !DEVICE_ROUTES.includes(route)) return;
    const header = request.headers[HEADER_REPLICA];
    const replica = isOrigin(header) ? header : undefined;
    const after = (request.query as Record<string, unknown> | undefined)?.after;
    const cursor =
      route === '/sync/pull' && Cursor.safeParse(after).success ? Number(after) : undefined;
    const device = await tracker.seen(callerOf(request), replica, {
      register: route !== '/rpc',
      cursor,
    });
    if (device !== undefined) deviceOfRequest.set(request, device);
  });
  authRoutes(app, {
    store: hubStore,
    clock: p.clock,
    logger,
    signIn: auth === undefined ? undefined : { limiter },
    callerOf,
  });
  syncRoutes(app, {
    ownerOf,
    devices: {
      polling: (request) => tracker.polling(deviceOfRequest.get(request)),
      recheck: (request) => tracker.recheck(callerOf(request), deviceOfRequest.get(request)),
    },
    store: hubStore,
    queue: p.queue,
    logger,
    maxOpsPerPush: p.maxOpsPerPush,
    maxDriftMs: o.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS,
    stopping: stopping.signal,
  });
  const hubMethods = deviceMethods({ store: hubStore, clock: p.clock, tracker });
  rpcRoutes(app, cachedRegistry(p.caches, true, hubMethods), callerOf, logger);
  // The hub's time lets a spoke see its own clock drift before a push is refused for it.
  app.get('/healthz', () => ({ ok: true, time_ms: p.clock.now() }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await hubStore.ping();
      return { ok: true };
    } catch (e) {
      const error = new HephError(
        'unavailable',
        `the hub store does not answer: ${e instanceof Error ? e.message : String(e)}`,
      );
      return reply.code(503).send(errorBody(error));
    }
  });
  app.get('/config', (): HubConfig => ({
    issuer: auth?.issuer ?? null,
    client_id: auth?.clientId ?? null,
    audience: auth?.audience ?? null,
    protocol: [...SUPPORTED_PROTOCOLS],
  }));
  return app;
}
