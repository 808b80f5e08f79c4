// The hub's HTTP application: /sync/push, /sync/pull, /rpc, /healthz and /config on fastify.
// Guarantees: bodies are JSON only (anything else is 415), at most bodyLimit bytes whether or
// not a Content-Length is sent (413), nested at most 64 levels and well-formed (400 with the
// reason); every error is `{error: {code, message}}` with the status from the error table;
// a client that trickles its headers or body is dropped after headersTimeoutMs /
// requestTimeoutMs; close() wakes every long-polling pull so the hub stops at once.
// With `auth` (an OIDC issuer), /sync/* and /rpc serve only authenticated callers, each from its
// own partition (see auth.ts and partitions.ts); /healthz and /config stay open, and /config
// names the issuer, client id and audience the CLI signs in with. Without it the hub is open and
// everything is the hub database's.

import * as http from 'node:http';
import * as https from 'node:https';
import { dirname, join } from 'node:path';
import fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { identityKey, type Access } from '../auth/owners.js';
import { DEFAULT_MAX_DRIFT_MS } from '../core/hlc.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import { cryptoRandom, type Random } from '../ports/random.js';
import type { Services } from '../rpc/methods/index.js';
import {
  MAX_PULL_WAIT_S,
  MAX_PUSH_OPS,
  PROTOCOL_VERSION,
  type HubConfig,
} from '../protocol/sync.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { makeAuthenticate, type HubAuthOptions } from './auth.js';
import { MAX_JSON_DEPTH, parseJsonBody } from './body.js';
import { errorBody, makeErrorHandler } from './http-errors.js';
import type { CommitNotifier } from './notifier.js';
import { makePartition, Partitions, type Partition } from './partitions.js';
import { rpcRoutes } from './routes/rpc.js';
import { makeApplyGroup, syncRoutes } from './routes/sync.js';
import { HephError } from '../core/errors.js';

export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;

/** Routes served without sign-in: the CLI needs /config to know where to sign in. */
export const OPEN_ROUTES: readonly string[] = ['/healthz', '/config'];

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

export interface HubAppOptions {
  store: SqliteStore;
  /** The daemon's services, for /rpc. */
  services: Services;
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
  /** Testing aid, see routes/sync.ts. */
  failpoint?: string;
  /** Require sign-in with this identity provider (see auth.ts); omit for an open hub. */
  auth?: HubAuthOptions;
  /** Take the client address from X-Forwarded-For (the hub is behind a reverse proxy). */
  trustProxy?: boolean;
  /** For the stores of user partitions (default: crypto randomness). */
  random?: Random;
}

/** Where the other accounts' databases go for a hub database at `db`. */
export function defaultPartitionDir(db: string): string {
  return join(dirname(db), 'users');
}

export interface HubApp {
  app: FastifyInstance;
  /** Wakes long-polls on the hub database (the hub owner's partition). */
  notifier: CommitNotifier;
  /** The other accounts' partitions (undefined on an open hub). */
  partitions: Partitions | undefined;
}

export function buildHubApp(o: HubAppOptions): FastifyInstance {
  return buildHub(o).app;
}

export function buildHub(o: HubAppOptions): HubApp {
  const bodyLimit = o.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const maxOpsPerPush = o.maxOpsPerPush ?? MAX_PUSH_OPS;
  if (!Number.isInteger(maxOpsPerPush) || maxOpsPerPush < 1 || maxOpsPerPush > MAX_PUSH_OPS) {
    throw new TypeError(`maxOpsPerPush must be 1-${MAX_PUSH_OPS}`);
  }
  const t = o.timeouts ?? {};
  const serverOptions: http.ServerOptions = {
    headersTimeout: t.headersMs ?? 10_000,
    requestTimeout: t.requestMs ?? 120_000,
    connectionsCheckingInterval: t.checkIntervalMs ?? 1000,
    keepAliveTimeout: t.keepAliveMs ?? 72_000,
  };
  const idleMs = t.idleMs ?? (MAX_PULL_WAIT_S + 30) * 1000;
  const tls = o.tls;
  const auth = o.auth;
  if (auth !== undefined && (auth.issuer === '' || auth.audience === '')) {
    throw new TypeError('auth needs an issuer and an audience');
  }
  const app = fastify({
    bodyLimit,
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
  const { logger, store } = o;
  const clock = o.clock ?? systemClock;
  const maxDriftMs = o.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS;
  const main = makePartition(
    store,
    o.services,
    makeApplyGroup(store, logger, maxDriftMs, o.failpoint),
  );
  const { notifier } = main;
  const partitions =
    auth === undefined
      ? undefined
      : new Partitions({
          dir: auth.partitionDir,
          services: o.services,
          clock,
          random: o.random ?? cryptoRandom,
          logger,
          applyGroup: (s) => makeApplyGroup(s, logger, maxDriftMs),
        });
  // The access of each authenticated request; a request without one is served from the hub
  // database only when the hub is open.
  const accessOf = new WeakMap<FastifyRequest, Access>();
  const partitionOf = (request: FastifyRequest): Partition => {
    if (partitions === undefined) return main;
    const access = accessOf.get(request);
    if (access === undefined) {
      throw new HephError('unauthorized', 'this request was not authenticated');
    }
    return access.role === 'owner' ? main : partitions.get(identityKey(access.identity));
  };

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(String(body), MAX_JSON_DEPTH));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  app.setErrorHandler(makeErrorHandler(logger, bodyLimit));
  app.setNotFoundHandler((request, reply) => {
    const e = new HephError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
    void reply.code(404).send(errorBody(e));
  });
  // Stopping: wake long-polls, and have every reply still in flight close its connection, or
  // server.close() would wait for those keep-alive connections to time out.
  let closing = false;
  let cut: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    closing = true;
    notifier.close();
    partitions?.closeWaits();
    // Connections still busy after the grace period (a client that stopped reading, a socket the
    // peer abandoned mid-request) are cut, so stop() is bounded.
    cut = setTimeout(() => app.server.closeAllConnections(), t.closeGraceMs ?? 2000);
    cut.unref();
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onClose', (_app, done) => {
    clearTimeout(cut);
    main.offChange();
    partitions?.close();
    done();
  });

  if (auth !== undefined) {
    const authenticate = makeAuthenticate(auth, store, auth.clock ?? clock, logger, (r, a) =>
      accessOf.set(r, a),
    );
    // Before the body is read: an unauthenticated caller cannot make the hub parse anything.
    // By matched route, not by URL text, and every route but the open ones (default deny).
    app.addHook('onRequest', (request, reply) => {
      const route = request.routeOptions.url;
      if (route === undefined || OPEN_ROUTES.includes(route)) return Promise.resolve(undefined);
      return authenticate(request, reply);
    });
  }
  syncRoutes(app, { partitionOf, logger, maxOpsPerPush });
  rpcRoutes(app, (request) => partitionOf(request).registry, logger);
  // The hub's time lets a spoke see its own clock drift before a push is refused for it.
  app.get('/healthz', () => ({ ok: true, time_ms: clock.now() }));
  app.get('/config', (): HubConfig => ({
    issuer: auth?.issuer ?? null,
    client_id: auth?.clientId ?? null,
    audience: auth?.audience ?? null,
    protocol: [PROTOCOL_VERSION],
  }));
  return { app, notifier, partitions };
}
