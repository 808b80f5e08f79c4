// hephd --mode server: the hub. Its data directory is the folder of --db: the hub store (hub.db,
// see store/sqlite.ts, unless --hub-store names a PostgreSQL database, store/postgres.ts) and
// cache replicas (cache.ts) under --cache-dir (default <data dir>/cache) that serve /rpc and the
// hub's own unix socket (the hub owner's data). Guarantees: on SQLite, a data directory of the
// earlier layout is upgraded in place first (store/sqlite-upgrade.ts); the store is opened with
// synchronous=FULL (a 2xx is a promise to other machines) and SQLite's exclusive lock, so a second
// hub on the same directory stops with "already running"; on PostgreSQL any number of hub
// processes share the database, each with a data directory of its own (held under
// hub-process.lock, so two processes never share one cache); without an identity provider
// (--oidc-issuer) the hub binds to loopback only unless insecureOpen is set, and with one every
// /sync and /rpc call needs a bearer token from it; an issuer reached over plain http off loopback
// is refused before anything is opened unless the operator opted in (--insecure-oidc-http), and
// then every start logs a warning; TLS material is read and checked before anything is opened;
// stop() closes HTTP first (ending long-polls), then the socket, the caches and the store, and is
// idempotent.

import { readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { principalFor } from '../auth/principal.js';
import type { VerifierOptions } from '../auth/verifier.js';
import type { DaemonConfig } from '../config/config.js';
import { HephError } from '../core/errors.js';
import {
  alreadyRunningError,
  ownerFilePath,
  prepareDataDir,
  readOwner,
  socketOwnerError,
  type DaemonDeps,
} from '../daemon/daemon.js';
import { HUB_OWNER, type HubStore } from '../ports/hub-store.js';
import {
  checkProviderUrl,
  HUB_OPT_IN,
  isLoopbackHost,
  isPlainHttpOffLoopback,
} from '../auth/url-policy.js';
import { startSocketServer, type SocketServer } from '../transport/socket-server.js';
import { prepareSocketPath } from '../transport/unix-socket.js';
import { buildHub, type HubApp, type HubTimeouts } from './app.js';
import type { CacheReplicas } from './cache.js';
import type { HubRpcContext } from './routes/rpc.js';
import { passwordOnCommandLine, pgUrlHasPassword, PostgresHubStore } from './store/postgres.js';
import { SqliteHubStore } from './store/sqlite.js';
import { holdExclusively } from '../store/sqlite-errors.js';
import { hubDbPath, upgradeHubDir, type UpgradeReport } from './store/sqlite-upgrade.js';
import { databaseFiles, watchStartFiles } from '../daemon/start-files.js';

export const FAILPOINT_PUSH_MID_BATCH = 'hub.push.mid_batch';

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
  readonly hubStore: HubStore;
  readonly caches: CacheReplicas;
  /** What the in-place upgrade did at this start, if the data directory needed one. */
  readonly upgraded: UpgradeReport | undefined;
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

/** The hub.push.mid_batch failpoint: dies (SIGKILL) inside an append's transaction. */
function killMidAppend(logger: HubDeps['logger']): () => void {
  return () => {
    logger.error(
      { failpoint: FAILPOINT_PUSH_MID_BATCH },
      'failpoint: killing the hub in the middle of a push',
    );
    // The logger may write asynchronously, and SIGKILL drops what it has not written.
    writeSync(2, 'hephd: failpoint: killing the hub in the middle of a push\n');
    process.kill(process.pid, 'SIGKILL');
  };
}

/** Turns "another process listens there" into who it is. */
function socketInUse(socket: string, db: string, owned: string): (e: unknown) => Promise<never> {
  return async (e) => {
    if (!(e instanceof HephError && e.code === 'already_running')) throw e;
    const err = await socketOwnerError(socket, db);
    // This data directory's own hub, started again: its socket names the cache replica it
    // answers from, and another socket would not help, so name what it holds instead.
    const pid = err.details.pid;
    if (pid !== undefined && readOwner(owned)?.pid === pid) throw await alreadyRunningError(owned);
    throw err;
  };
}

async function prepareSocket(socket: string, db: string, owned: string): Promise<void> {
  await prepareSocketPath(socket).catch(socketInUse(socket, db, owned));
}

function midAppendOf(deps: HubDeps): { midAppend?: () => void } {
  return deps.hubFailpoint === FAILPOINT_PUSH_MID_BATCH
    ? { midAppend: killMidAppend(deps.logger) }
    : {};
}

async function openSqliteHubStore(path: string, deps: HubDeps): Promise<SqliteHubStore> {
  try {
    return SqliteHubStore.open(
      { path },
      { clock: deps.clock, logger: deps.logger, ...midAppendOf(deps) },
    );
  } catch (e) {
    if (e instanceof HephError && e.code === 'already_running') {
      throw await alreadyRunningError(path);
    }
    throw e;
  }
}

/** The store on PostgreSQL: the data directory (caches, socket, pid file) stays this process's
 *  own, held under a lock file, while the database is shared with any other hub process. */
async function openPostgresHubStore(
  url: string,
  config: DaemonConfig,
  lockPath: string,
  deps: HubDeps,
): Promise<{ store: HubStore; release: () => void }> {
  let release: () => void;
  try {
    release = holdExclusively(lockPath, 'hub data directory');
  } catch (e) {
    if (e instanceof HephError && e.code === 'already_running') {
      throw await alreadyRunningError(lockPath);
    }
    throw e;
  }
  if (config.hubStoreFrom === 'flag' && pgUrlHasPassword(url)) {
    deps.logger.warn({}, passwordOnCommandLine('--hub-store', 'HEPH_HUB_STORE'));
  }
  try {
    const store = await PostgresHubStore.open(
      { url, ...(config.hubStorePool !== undefined && { poolSize: config.hubStorePool }) },
      { clock: deps.clock, logger: deps.logger, ...midAppendOf(deps) },
    );
    return { store, release };
  } catch (e) {
    release();
    throw e;
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

  const dataDir = dirname(config.db);
  /** The file whose owner file (<path>.pid) names this process. */
  const ownedPath =
    config.hubStore === undefined ? hubDbPath(dataDir) : join(dataDir, 'hub-process.lock');
  const cacheDir = config.cacheDir ?? join(dataDir, 'cache');
  // A refused start leaves the filesystem as it was: whatever it made is taken back.
  const made = watchStartFiles(
    [...databaseFiles(ownedPath), cacheDir],
    [dataDir, dirname(config.socket)],
  );
  let upgraded: UpgradeReport | undefined;
  let hubStore: HubStore;
  let release = (): void => undefined;
  try {
    prepareDataDir(config.db);
    // The socket's directory and path are checked before the data directory is upgraded, so a
    // start that cannot succeed changes nothing.
    await prepareSocket(config.socket, config.db, ownedPath);
    if (config.hubStore === undefined) {
      upgraded = upgradeHubDir({ dataDir, legacyDb: config.db, now: deps.clock.now(), logger });
      hubStore = await openSqliteHubStore(ownedPath, deps);
    } else {
      ({ store: hubStore, release } = await openPostgresHubStore(
        config.hubStore,
        config,
        ownedPath,
        deps,
      ));
    }
  } catch (e) {
    made.undo({ owned: false });
    throw e;
  }
  const pidFile = ownerFilePath(ownedPath);
  let hub: HubApp | undefined;
  let socket: SocketServer | undefined;
  try {
    writeFileSync(
      pidFile,
      JSON.stringify({
        pid: process.pid,
        socket: config.socket,
        started: new Date(deps.clock.now()).toISOString(),
      }) + '\n',
      { mode: 0o600 },
    );
    try {
      hub = await buildHub({
        hubStore,
        cache: {
          dir: cacheDir,
          ...(config.cacheMaxOwners !== undefined && { maxOwners: config.cacheMaxOwners }),
          ...(config.cacheMaxMb !== undefined && { maxBytes: config.cacheMaxMb * 1024 * 1024 }),
        },
        config,
        version: deps.version,
        logger,
        clock: deps.clock,
        random: deps.random,
        ...(deps.maxDriftMs !== undefined && { maxDriftMs: deps.maxDriftMs }),
        ...(deps.timeouts && { timeouts: deps.timeouts }),
        ...(tls && { tls }),
        ...(config.trustProxy === true && { trustProxy: true }),
        ...(config.oidc !== undefined && {
          auth: {
            ...config.oidc,
            clock: deps.clock,
            ...(deps.verifier !== undefined && { verifier: deps.verifier }),
          },
        }),
      });
    } catch (e) {
      if (!tls || !(e instanceof Error) || e instanceof HephError) throw e;
      throw new HephError(
        'invalid_params',
        `--tls-cert ${config.tlsCert} and --tls-key ${config.tlsKey} are not a usable PEM ` +
          `certificate and key: ${e.message}`,
        { field: 'tls-cert' },
      );
    }
    await listen(hub.app, addr, config.httpAddr);
    // Last: whoever waits for the socket to answer may count on the hub serving HTTP already.
    const principal = principalFor({ kind: 'local_socket', owner: HUB_OWNER });
    socket = await startSocketServer<HubRpcContext>({
      path: config.socket,
      registry: hub.socketRegistry,
      logger,
      principal,
      makeContext: (base) => ({ ...base, principal, owner: HUB_OWNER }),
    }).catch(socketInUse(config.socket, config.db, ownedPath));
  } catch (e) {
    await hub?.close();
    await socket?.stop();
    await hubStore.close();
    release();
    rmSync(pidFile, { force: true });
    // A data folder upgraded in place keeps its new form (its old files are in pre-upgrade-*).
    made.undo({ owned: upgraded === undefined });
    throw e;
  }
  const url = urlOf(hub.app, tls !== undefined);
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
      // "open" would read as "no sign-in", which the message says; these two say each thing.
      sign_in: oidc !== undefined,
      loopback_only: isLoopbackHost(addr.host),
      store: hubStore.description,
      cache: cacheDir,
      socket: config.socket,
      ...(oidc !== undefined && { issuer: oidc.issuer, audience: oidc.audience }),
    },
    oidc === undefined
      ? `hub listening on ${url} (open: no sign-in required)`
      : `hub listening on ${url}; sign-in required (issuer ${oidc.issuer})`,
  );
  let stopping: Promise<void> | undefined;
  const running = hub;
  const server = socket;
  return {
    url,
    hubStore,
    caches: running.caches,
    upgraded,
    stop() {
      stopping ??= (async () => {
        await running.app.close();
        await server.stop();
        await running.close();
        await hubStore.close();
        if (readPid(pidFile) === process.pid) rmSync(pidFile, { force: true });
        release();
        logger.info({}, 'hephd stopped');
      })();
      return stopping;
    },
  };
}

function readPid(path: string): number | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown };
    return typeof v.pid === 'number' ? v.pid : undefined;
  } catch {
    return undefined;
  }
}
