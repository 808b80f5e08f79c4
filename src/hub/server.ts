// hephd --mode server: the local daemon (one owner per database, the owner's unix socket) plus
// the hub's HTTP endpoints on the same store. Guarantees: the store is opened with
// synchronous=FULL (a 2xx is a promise to other machines) and SQLite's exclusive lock; without an
// identity provider (--oidc-issuer) the hub binds to loopback only unless insecureOpen is set,
// and with one every /sync and /rpc call needs a bearer token from it; an issuer reached over
// plain http off loopback is refused before anything is opened unless the operator opted in
// (--insecure-oidc-http), and then every start logs a warning; TLS material is
// read and checked before anything is opened; stop() closes HTTP first (waking long-polls), then
// the daemon, and is idempotent.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { DaemonConfig } from '../config/config.js';
import { HephError } from '../core/errors.js';
import { startDaemon, type DaemonDeps } from '../daemon/daemon.js';
import { EventHub } from '../daemon/events.js';
import { createServices } from '../rpc/methods/context.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import {
  checkProviderUrl,
  HUB_OPT_IN,
  isLoopbackHost,
  isPlainHttpOffLoopback,
} from '../auth/url-policy.js';
import type { VerifierOptions } from '../auth/verifier.js';
import { buildHubApp, defaultPartitionDir, type HubTimeouts } from './app.js';

export interface HubDeps extends DaemonDeps {
  /** Testing aid (HEPH_FAILPOINT): `hub.push.mid_batch`. */
  hubFailpoint?: string | undefined;
  timeouts?: HubTimeouts;
  maxDriftMs?: number;
  /** Testing aid: verifier settings (a short key-fetch cooldown). */
  verifier?: Pick<VerifierOptions, 'cooldownMs' | 'fetch' | 'leewaySec' | 'timeoutMs'>;
}

export interface Hub {
  /** Where the hub listens, with the real port (e.g. http://127.0.0.1:8787). */
  readonly url: string;
  readonly store: SqliteStore;
  stop(): Promise<void>;
}

export interface HttpAddr {
  host: string;
  port: number;
}

/** Parses HOST:PORT, [V6]:PORT or :PORT (all interfaces); port 0 picks a free one. */
export function parseHttpAddr(addr: string): HttpAddr {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new HephError(
      'invalid_params',
      `--http-addr must be HOST:PORT, e.g. 127.0.0.1:8787 or [::1]:8787 (got ${JSON.stringify(addr)})`,
      { field: 'http-addr' },
    );
  }
  const host = m[1] ?? (m[2] === '' || m[2] === undefined ? '0.0.0.0' : m[2]);
  if (m[1] !== undefined && isIP(host) !== 6) {
    throw new HephError('invalid_params', `--http-addr: ${host} is not an IPv6 address`, {
      field: 'http-addr',
    });
  }
  return { host, port };
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new HephError('io', `cannot read ${flag} ${path}: ${(e as Error).message}`, {
      field: flag.slice(2),
      path,
    });
  }
}

export function loadTls(config: DaemonConfig): { cert: Buffer; key: Buffer } | undefined {
  const { tlsCert, tlsKey } = config;
  if (tlsCert === undefined && tlsKey === undefined) return undefined;
  if (tlsCert === undefined || tlsKey === undefined) {
    throw new HephError('invalid_params', '--tls-cert and --tls-key must be given together', {
      field: tlsCert === undefined ? 'tls-cert' : 'tls-key',
    });
  }
  return { cert: readPem(tlsCert, '--tls-cert'), key: readPem(tlsKey, '--tls-key') };
}

function checkExposure(addr: HttpAddr, config: DaemonConfig): void {
  if (isLoopbackHost(addr.host) || config.insecureOpen || config.oidc !== undefined) return;
  throw new HephError(
    'invalid_params',
    `refusing to listen on ${config.httpAddr}: without an identity provider the hub has no ` +
      'authentication, so anyone who can reach it could read and change your data. Listen on ' +
      'loopback (e.g. --http-addr 127.0.0.1:8787, behind an authenticating proxy), require ' +
      'sign-in with --oidc-issuer and --oidc-audience, or pass --insecure-open if the network ' +
      'is trusted',
    { field: 'http-addr' },
  );
}

/** The issuer must pass the provider URL policy; says which setting to change when not. */
function checkIssuer(config: DaemonConfig): void {
  const oidc = config.oidc;
  if (oidc === undefined) return;
  try {
    checkProviderUrl(oidc.issuer, { insecureHttp: oidc.insecureHttp === true, optIn: HUB_OPT_IN });
  } catch (e) {
    if (!(e instanceof HephError)) throw e;
    throw new HephError(
      'invalid_params',
      `cannot start the hub with ${oidc.issuerFrom ?? '--oidc-issuer'} ` +
        `${JSON.stringify(oidc.issuer)}: ${e.message}`,
      { ...e.details, field: 'oidc-issuer' },
    );
  }
}

function warnInsecureIssuer(config: DaemonConfig, logger: HubDeps['logger']): void {
  const oidc = config.oidc;
  if (oidc?.insecureHttp !== true) return;
  if (isPlainHttpOffLoopback(new URL(oidc.issuer))) {
    logger.warn(
      { issuer: oidc.issuer },
      `--insecure-oidc-http: the identity provider's signing keys are fetched over plain http ` +
        `from ${oidc.issuer}, which is not on loopback; anyone on the network path can forge ` +
        'sign-ins this hub accepts. Serve the provider over https and drop this setting',
    );
  } else {
    logger.warn(
      { issuer: oidc.issuer },
      '--insecure-oidc-http is set but the issuer is https or on loopback: it has no effect; ' +
        'drop it',
    );
  }
}

function urlOf(app: FastifyInstance, tls: boolean): string {
  const a = app.server.address() as AddressInfo;
  const host = a.family === 'IPv6' || a.address.includes(':') ? `[${a.address}]` : a.address;
  return `${tls ? 'https' : 'http'}://${host}:${a.port}`;
}

async function listen(app: FastifyInstance, addr: HttpAddr, raw: string): Promise<void> {
  try {
    await app.listen({ host: addr.host, port: addr.port });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? 'the address is in use (another hephd or program listens there)'
        : code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges)'
          : code === 'EADDRNOTAVAIL'
            ? 'no interface of this machine has that address'
            : (e as Error).message;
    throw new HephError('io', `cannot listen on ${raw}: ${why}`, { field: 'http-addr' });
  }
}

export async function startHub(given: DaemonConfig, deps: HubDeps): Promise<Hub> {
  const config: DaemonConfig = { ...given, mode: 'server' };
  const addr = parseHttpAddr(config.httpAddr);
  checkExposure(addr, config);
  checkIssuer(config);
  const tls = loadTls(config);
  const { logger } = deps;
  warnInsecureIssuer(config, logger);

  const daemon = await startDaemon(config, deps);
  const store = daemon.store;
  // /rpc gets its own model and event hub over the daemon's store: both hold no state of their
  // own beyond the store, and HTTP callers cannot subscribe to events anyway.
  const events = new EventHub(store, logger);
  let app: FastifyInstance | undefined;
  try {
    const services = createServices(store, events, config, deps);
    try {
      app = buildHubApp({
        store,
        services,
        logger,
        clock: deps.clock,
        ...(deps.maxDriftMs !== undefined && { maxDriftMs: deps.maxDriftMs }),
        ...(deps.timeouts && { timeouts: deps.timeouts }),
        ...(tls && { tls }),
        ...(deps.hubFailpoint !== undefined && { failpoint: deps.hubFailpoint }),
        ...(config.trustProxy === true && { trustProxy: true }),
        random: deps.random,
        ...(config.oidc !== undefined && {
          auth: {
            ...config.oidc,
            partitionDir: defaultPartitionDir(config.db),
            clock: deps.clock,
            ...(deps.verifier !== undefined && { verifier: deps.verifier }),
          },
        }),
      });
    } catch (e) {
      if (!tls) throw e;
      throw new HephError(
        'invalid_params',
        `--tls-cert ${config.tlsCert} and --tls-key ${config.tlsKey} are not a usable PEM ` +
          `certificate and key: ${(e as Error).message}`,
        { field: 'tls-cert' },
      );
    }
    await listen(app, addr, config.httpAddr);
  } catch (e) {
    await app?.close();
    events.close();
    await daemon.stop();
    throw e;
  }
  const url = urlOf(app, tls !== undefined);
  if (deps.hubFailpoint !== undefined) {
    logger.warn(
      { failpoint: deps.hubFailpoint },
      'failpoint armed (a testing aid): expect a crash',
    );
  }
  const oidc = config.oidc;
  if (oidc !== undefined && oidc.clientId === undefined) {
    logger.warn(
      {},
      'no --oidc-client-id: /config names no client, so `heph auth login` cannot sign in to ' +
        'this hub until it does',
    );
  }
  if (oidc !== undefined && oidc.clientId === oidc.audience) {
    logger.warn(
      {},
      '--oidc-audience equals --oidc-client-id: the hub then relies on the token type and claims ' +
        "alone to refuse the CLI's ID tokens; prefer the hub's URL as its audience",
    );
  }
  logger.info(
    {
      url,
      open: !isLoopbackHost(addr.host),
      ...(oidc !== undefined && { issuer: oidc.issuer, audience: oidc.audience }),
    },
    oidc === undefined
      ? `hub listening on ${url} (open: no sign-in required)`
      : `hub listening on ${url}; sign-in required (issuer ${oidc.issuer})`,
  );
  let stopping: Promise<void> | undefined;
  const running = app;
  return {
    url,
    store,
    stop() {
      stopping ??= (async () => {
        await running.close();
        events.close();
        await daemon.stop();
      })();
      return stopping;
    },
  };
}
