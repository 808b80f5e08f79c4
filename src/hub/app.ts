// The hub's HTTP application: /sync/push, /sync/pull, /rpc, /healthz and /config on fastify.
// Guarantees: bodies are JSON only (anything else is 415), at most bodyLimit bytes whether or
// not a Content-Length is sent (413), nested at most 64 levels and well-formed (400 with the
// reason); every error is `{error: {code, message}}` with the status from the error table;
// a client that trickles its headers or body is dropped after headersTimeoutMs /
// requestTimeoutMs; close() wakes every long-polling pull so the hub stops at once.

import * as http from 'node:http';
import * as https from 'node:https';
import fastify, { type FastifyInstance } from 'fastify';
import { DEFAULT_MAX_DRIFT_MS } from '../core/hlc.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { Services } from '../rpc/methods/index.js';
import {
  MAX_PULL_WAIT_S,
  MAX_PUSH_OPS,
  PROTOCOL_VERSION,
  type HubConfig,
} from '../protocol/sync.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { MAX_JSON_DEPTH, parseJsonBody } from './body.js';
import { errorBody, makeErrorHandler } from './http-errors.js';
import { CommitNotifier } from './notifier.js';
import { httpRegistry, rpcRoutes } from './routes/rpc.js';
import { syncRoutes } from './routes/sync.js';
import { HephError } from '../core/errors.js';

export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;

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
}

export interface HubApp {
  app: FastifyInstance;
  notifier: CommitNotifier;
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
  const app = fastify({
    bodyLimit,
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
  const notifier = new CommitNotifier();
  // Local writes (the owner's socket, /rpc) wake pulls too; pushes notify explicitly, because ops
  // of kinds this version does not apply change no materialized row.
  const offChange = store.onChange(() => notifier.notify());

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
    offChange();
    done();
  });

  syncRoutes(app, {
    store,
    logger,
    notifier,
    maxDriftMs: o.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS,
    maxOpsPerPush,
    failpoint: o.failpoint,
  });
  rpcRoutes(app, httpRegistry(o.services), logger);
  const clock = o.clock ?? systemClock;
  // The hub's time lets a spoke see its own clock drift before a push is refused for it.
  app.get('/healthz', () => ({ ok: true, time_ms: clock.now() }));
  app.get('/config', (): HubConfig => ({
    issuer: null,
    client_id: null,
    audience: null,
    protocol: [PROTOCOL_VERSION],
  }));
  return { app, notifier };
}
