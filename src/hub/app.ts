// The hub's HTTP application: /sync/push, /sync/pull, /rpc, /healthz, /readyz and /config on
// fastify, over a hub store (ports/hub-store.ts) and its cache replicas (cache.ts).
// Guarantees: bodies are JSON only (anything else is 415), plain or in gzip or br (encoding.ts),
// at most bodyLimit bytes decoded whether or not a Content-Length is sent (413), nested at most
// 64 levels and well-formed (400 with the reason); every error is `{error: {code, message}}`
// with the status from the error table; a client that trickles its headers or body is dropped
// after headersTimeoutMs / requestTimeoutMs; close() ends every long-polling pull so the hub
// stops at once. Every route declares its access (`config.access`: the least role, or 'open'),
// and a route without one cannot be registered; the auth hook (auth.ts) gives each request to a
// route that is not open its Principal and refuses it below the route's role, before the body
// is read. With `auth` (an OIDC issuer), /sync/* and /rpc serve only authenticated callers, each
// on its owner's data; /healthz, /readyz and /config stay open, and /config names the issuer,
// client id and audience the CLI signs in with. Without it the hub is open and every caller is
// the hub owner (HUB_OWNER) as an open_hub principal. /readyz answers 200 when the store
// answers, else
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
import { HUB_OWNER, type DeviceRecord, type HubStore } from '../ports/hub-store.js';
import type { Logger } from '../ports/logger.js';
import { cryptoRandom, type Random } from '../ports/random.js';
import {
  Cursor,
  HEADER_DEVICE_FACTS,
  HEADER_REPLICA,
  MAX_PULL_WAIT_S,
  MAX_PUSH_OPS,
  parseDeviceFacts,
  SUPPORTED_PROTOCOLS,
  type HubConfig,
} from '../protocol/sync.js';
import { isRole, principalFor, type Role } from '../auth/principal.js';
import {
  authenticateAs,
  failureLimiterFor,
  makeAuthenticate,
  type HubAuthOptions,
} from './auth.js';
import { deviceMethods } from './device-methods.js';
import { DeviceTracker, type HubPrincipal } from './devices.js';
import { authRoutes } from './routes/auth-routes.js';
import { MAX_JSON_DEPTH, parseJsonBuffer } from './body.js';
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

/** Who may call a route: the least role, or anyone ('open': no sign-in through the auth hook;
 *  such a route checks any credential it takes itself, as /auth/enroll does). */
export type RouteAccess = Role | 'open';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Required on every route (the hub refuses to register one without it). */
    access?: RouteAccess;
  }
}

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
  /**
   * The sync protocols served, oldest first: a subset of SUPPORTED_PROTOCOLS (the default).
   * A hub limited to older ones answers like a hub of an older version.
   */
  protocols?: readonly number[];
}

export interface HubRoute {
  method: string;
  url: string;
  access: RouteAccess;
}

export interface HubApp {
  app: FastifyInstance;
  /** Every route with who may call it (HEAD twins of GET routes left out). */
  routes: readonly HubRoute[];
  caches: CacheReplicas;
  /** The hub's methods (the daemon's over the cache replicas, and device.*), for /rpc and the
   *  hub's own socket: dispatch serves each on its surfaces only. */
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
  if (
    o.protocols !== undefined &&
    (o.protocols.length === 0 || o.protocols.some((n) => !SUPPORTED_PROTOCOLS.includes(n)))
  ) {
    throw new TypeError(`protocols must be some of ${SUPPORTED_PROTOCOLS.join(', ')}`);
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
  const tracker = new DeviceTracker(hubStore, clock, logger);
  const registry = cachedRegistry(
    caches,
    deviceMethods({
      store: hubStore,
      clock,
      tracker,
      nameInData: (owner, replica, name) =>
        caches.run(owner, (r) => r.store.setDeviceName(replica, name)),
      namesInData: (owner, replicas) =>
        caches.run(owner, (r) => {
          const names = new Map<string, string>();
          for (const replica of replicas) {
            const name = r.store.deviceName(replica);
            if (name !== undefined) names.set(replica, name);
          }
          return names;
        }),
      logger,
    }),
  );
  const routes: HubRoute[] = [];
  let app: FastifyInstance;
  try {
    app = await httpApp(o, {
      queue,
      caches,
      bodyLimit,
      maxOpsPerPush,
      clock,
      tracker,
      registry,
      routes,
    });
  } catch (e) {
    await caches.close();
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    app,
    routes,
    caches,
    socketRegistry: registry,
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
  tracker: DeviceTracker;
  registry: Registry<HubRpcContext>;
  /** Filled with the routes as they are registered. */
  routes: HubRoute[];
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
  const { tracker } = p;
  // Every route says who may call it; one that does not is a bug, caught at start-up.
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (access !== 'open' && !isRole(access)) {
      throw new TypeError(`route ${String(route.method)} ${route.url} declares no access`);
    }
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') p.routes.push({ method, url: route.url, access });
    }
  });
  // The principal of each request the auth hook let through.
  const principalOfRequest = new WeakMap<FastifyRequest, HubPrincipal>();
  const principalOf = (request: FastifyRequest): HubPrincipal => {
    const principal = principalOfRequest.get(request);
    if (principal === undefined) {
      throw new HephError('unauthorized', 'this request was not authenticated');
    }
    return principal;
  };
  const deviceOfRequest = new WeakMap<FastifyRequest, DeviceRecord>();

  app.removeAllContentTypeParsers();
  // As a buffer: fastify's string mode decodes chunk by chunk and joins strings, which cost a
  // push of 1,000 ops (195 KB) more than parsing it; a push's ops are parsed in pieces.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      // parseAs 'buffer' gives a Buffer; the parser's type also allows a string.
      const buf = typeof body === 'string' ? Buffer.from(body) : body;
      done(null, parseJsonBuffer(buf, MAX_JSON_DEPTH));
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
  const remember = (r: FastifyRequest, principal: HubPrincipal): void => {
    principalOfRequest.set(r, principal);
  };
  const authenticate =
    auth === undefined
      ? authenticateAs(principalFor({ kind: 'open_hub', owner: HUB_OWNER }), remember, logger)
      : await makeAuthenticate(auth, hubStore, auth.clock ?? p.clock, logger, limiter, remember);
  // Before the body is read: an unauthenticated caller cannot make the hub parse anything.
  // By matched route, not by URL text (an unmatched URL reaches only the 404 handler).
  app.addHook('onRequest', (request, reply) => {
    const access = request.routeOptions.config.access;
    if (request.routeOptions.url === undefined || access === 'open') {
      return Promise.resolve(undefined);
    }
    // Registration checked it; a route without one is refused rather than served.
    return authenticate(request, reply, access ?? 'admin');
  });
  // A replica seen for the first time, registered by its route once the request is valid (a
  // refused request, such as a bad body or an unknown protocol, leaves the registry as it was).
  const unregistered = new WeakMap<FastifyRequest, () => Promise<DeviceRecord | undefined>>();
  // After authentication, before the body: the caller's device, refused when revoked.
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    if (route === undefined || !DEVICE_ROUTES.includes(route)) return;
    const header = request.headers[HEADER_REPLICA];
    const replica = isOrigin(header) ? header : undefined;
    const after = (request.query as Record<string, unknown> | undefined)?.after;
    const cursor =
      route === '/sync/pull' && Cursor.safeParse(after).success ? Number(after) : undefined;
    const facts = parseDeviceFacts(request.headers[HEADER_DEVICE_FACTS]);
    const seen = (register: boolean) =>
      tracker.seen(principalOf(request), replica, {
        register,
        cursor,
        ...(facts !== undefined && {
          facts: {
            platform: facts.platform,
            arch: facts.arch,
            cpus: facts.cpus,
            memoryBytes: facts.memory_bytes,
            version: facts.version,
          },
        }),
      });
    const device = await seen(false);
    if (device !== undefined) deviceOfRequest.set(request, device);
    else if (replica !== undefined && route !== '/rpc') unregistered.set(request, () => seen(true));
  });
  authRoutes(app, {
    store: hubStore,
    clock: p.clock,
    logger,
    signIn: auth === undefined ? undefined : { limiter },
    principalOf,
  });
  syncRoutes(app, {
    ownerOf: (request) => principalOf(request).owner,
    devices: {
      register: async (request) => {
        const register = unregistered.get(request);
        if (register === undefined) return;
        unregistered.delete(request);
        const device = await register();
        if (device !== undefined) deviceOfRequest.set(request, device);
      },
      polling: (request) => tracker.polling(deviceOfRequest.get(request)),
      recheck: (request) => tracker.recheck(principalOf(request), deviceOfRequest.get(request)),
    },
    store: hubStore,
    queue: p.queue,
    logger,
    maxOpsPerPush: p.maxOpsPerPush,
    maxDriftMs: o.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS,
    ...(o.protocols && { protocols: o.protocols }),
    stopping: stopping.signal,
  });
  rpcRoutes(app, p.registry, principalOf, logger);
  // The hub's time lets a spoke see its own clock drift before a push is refused for it.
  const open = { config: { access: 'open' } } as const;
  app.get('/healthz', open, () => ({ ok: true, time_ms: p.clock.now() }));
  app.get('/readyz', open, async (_request, reply) => {
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
  // The CLI needs /config to know where to sign in.
  app.get('/config', open, (): HubConfig => ({
    issuer: auth?.issuer ?? null,
    client_id: auth?.clientId ?? null,
    audience: auth?.audience ?? null,
    protocol: [...(o.protocols ?? SUPPORTED_PROTOCOLS)],
  }));
  return app;
}
