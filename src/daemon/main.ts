// hephd's composition root: reads flags, environment and config, builds the real clock,
// randomness and logger, starts the daemon, and stops it on SIGINT/SIGTERM (a second signal
// exits at once). Exit codes come from the error table.

import { packageVersion } from '../config/package-version.js';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { resolveDaemonConfig, type DaemonConfig } from '../config/config.js';
import { nodeFlagsMismatch } from '../config/node-flags.js';
import { clearStartError, recordStartError } from '../config/start-error.js';
import { HephError, isHephError } from '../core/errors.js';
import { exitCodeFor } from '../protocol/error-wire.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import { cryptoRandom } from '../ports/random.js';
import { isFailpoint } from '../sync/sync-once.js';
import { startDaemon } from './daemon.js';

const HELP = `Usage: hephd [options]
       hephd hub-migrate --from DATA_DIR --to postgres://…   (see hephd hub-migrate --help)

The heph daemon: owns your heph database and serves the heph CLI and editor plugins
over a unix socket.

Options:
  --mode MODE        local (default), server or client
  --db PATH          database file        (default: $XDG_DATA_HOME/heph/heph.db; env HEPH_DB)
  --socket PATH      unix socket          (default: $XDG_RUNTIME_DIR/heph/hephd.sock; env HEPH_SOCKET)
  --config PATH      config file          (default: $XDG_CONFIG_HOME/heph/config.json; env HEPH_CONFIG)
  --log-level LEVEL  fatal, error, warn, info (default), debug, trace or silent
  --hub-url URL      the hub to sync with (modes local and client)
  --insecure-http    allow a plain http:// hub, and renewing sign-in with a plain http://
                     identity provider, that is not on loopback (env HEPH_INSECURE_HTTP=1)
  --sync-interval S  mode local: seconds between background syncs (default 30; env
                     HEPH_SYNC_INTERVAL); changes made here are pushed at once
  --device-name NAME mode local: the name other devices show for this one, taken at first
                     start (default: the host name; env HEPH_DEVICE_NAME); rename it later
                     with \`heph device rename\`
  --http-addr ADDR   where the hub listens (mode server; default 127.0.0.1:8787; port 0 = any)
  --insecure-open    mode server: allow a non-loopback --http-addr without an identity provider
  --tls-cert PATH    mode server: serve HTTPS with this PEM certificate chain (env HEPH_TLS_CERT)
  --tls-key PATH     mode server: and this PEM private key (env HEPH_TLS_KEY)
  --oidc-issuer URL  mode server: require sign-in with this OpenID Connect issuer; the hub may
                     then listen beyond loopback (env HEPH_OIDC_ISSUER)
  --oidc-audience AUD
                     required with --oidc-issuer: the aud of the hub's access tokens, usually
                     the hub's URL (env HEPH_OIDC_AUDIENCE)
  --oidc-client-id ID
                     the public client \`heph auth login\` uses (env HEPH_OIDC_CLIENT_ID)
  --insecure-oidc-http
                     allow an http:// --oidc-issuer that is not on loopback: its signing keys
                     then travel unencrypted (env HEPH_INSECURE_OIDC_HTTP=1; warns at every start)
  --owner SUB        the hub owner's subject at the issuer; else the first account to sign in
                     claims the hub (env HEPH_OWNER)
  --allow-users LIST
                     other accounts to serve, each with data of its own: SUB,SUB or '*'
                     (env HEPH_ALLOW_USERS; default: the owner only)
  --trust-proxy      mode server: behind a reverse proxy, take client addresses from
                     X-Forwarded-For (env HEPH_TRUST_PROXY=1)
  --cache-dir DIR    mode server: where the cache replicas that serve /rpc and the hub's socket
                     live (default: the cache folder beside --db; env HEPH_CACHE_DIR)
  --cache-max-owners N
                     mode server: keep cache replicas for at most N owners (default 32; env
                     HEPH_CACHE_MAX_OWNERS); the least recently used go first
  --cache-max-mb N   mode server: keep at most N MB of cache replicas (default 2048; env
                     HEPH_CACHE_MAX_MB)
  --hub-store STORE  mode server: sqlite (default: hub.db beside --db) or a PostgreSQL database,
                     postgres://USER@HOST[:PORT]/DATABASE[?sslmode=verify-full], which any
                     number of hub processes may share (env HEPH_HUB_STORE; keep the password
                     out of the command line: HEPH_HUB_STORE, the config file or PGPASSWORD)
  --hub-store-pool N mode server, PostgreSQL: most database connections for requests (default
                     10; env HEPH_HUB_STORE_POOL)
  -h, --help         show this help
  -v, --version      print the version

Logs go to standard error as JSON lines. Precedence: flags, then environment, then the
config file, then defaults. HEPH_CLOCK_OFFSET_MS shifts the daemon's clock (a testing and
diagnosis aid). HEPH_FAILPOINT=hub.push.mid_batch makes a hub kill itself in the middle
of applying a push, and push.before_send, push.after_response or pull.after_apply make a
spoke kill itself at that point of a sync (crash-testing aids; never set them in production).
Mode server keeps its data in the folder of --db: hub.db holds every owner's changes, and a
data folder of an earlier version is upgraded in place on the first start (the old files are
copied to pre-upgrade-<date>/ first). Mode client keeps no data: every call goes to the hub;
export, import and backup work on this machine's files with the hub's data.`;

export const version = packageVersion;

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        mode: { type: 'string' },
        db: { type: 'string' },
        socket: { type: 'string' },
        config: { type: 'string' },
        'log-level': { type: 'string' },
        'hub-url': { type: 'string' },
        'http-addr': { type: 'string' },
        'insecure-open': { type: 'boolean' },
        'insecure-http': { type: 'boolean' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'oidc-issuer': { type: 'string' },
        'oidc-audience': { type: 'string' },
        'oidc-client-id': { type: 'string' },
        'insecure-oidc-http': { type: 'boolean' },
        owner: { type: 'string' },
        'allow-users': { type: 'string' },
        'trust-proxy': { type: 'boolean' },
        'sync-interval': { type: 'string' },
        'device-name': { type: 'string' },
        'cache-dir': { type: 'string' },
        'cache-max-owners': { type: 'string' },
        'cache-max-mb': { type: 'string' },
        'hub-store': { type: 'string' },
        'hub-store-pool': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    }).values;
  } catch (e) {
    throw new HephError(
      'invalid_params',
      `${(e as Error).message}\nRun hephd --help for the options.`,
    );
  }
}

/**
 * The bearer for this hub: the device credential from `heph auth enroll` when one is held (read
 * on every request, so a credential enrolled, rotated or removed while hephd runs is used from
 * the next request on), else the tokens from `heph auth login` (the OS keyring first, then the
 * opt-in file).
 */
async function signedInSession(
  hub: string,
  insecureHttp: boolean,
  env: NodeJS.ProcessEnv,
  clock: Clock,
  logger: Logger,
): Promise<() => Promise<string | undefined>> {
  const [{ createSession }, { keyringStore }, { fileStore, tokensFilePath }, device] =
    await Promise.all([
      import('../auth/session.js'),
      import('../auth/keyring-store.js'),
      import('../auth/file-store.js'),
      import('../auth/device-credential.js'),
    ]);
  const credentials = device.deviceCredentialStores(env);
  const session = createSession({
    hub,
    stores: [keyringStore(), fileStore({ path: tokensFilePath(env) })],
    clock,
    logger,
    ...(insecureHttp && { insecureHttp: true }),
  });
  return async () => {
    const held = await device.heldCredential(credentials, hub);
    return held !== undefined ? held.held.credential : session.getToken();
  };
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv[0] === 'hub-migrate') {
    return (await import('../hub/hub-migrate-main.js')).hubMigrateMain(argv.slice(1), env);
  }
  let config: DaemonConfig;
  try {
    const flags = parseFlags(argv);
    if (flags.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    if (flags.version) {
      process.stdout.write(version() + '\n');
      return 0;
    }
    config = resolveDaemonConfig(
      {
        mode: flags.mode,
        db: flags.db,
        socket: flags.socket,
        logLevel: flags['log-level'],
        config: flags.config,
        hubUrl: flags['hub-url'],
        httpAddr: flags['http-addr'],
        insecureOpen: flags['insecure-open'],
        insecureHttp: flags['insecure-http'],
        tlsCert: flags['tls-cert'],
        tlsKey: flags['tls-key'],
        oidcIssuer: flags['oidc-issuer'],
        oidcAudience: flags['oidc-audience'],
        oidcClientId: flags['oidc-client-id'],
        insecureOidcHttp: flags['insecure-oidc-http'],
        owner: flags.owner,
        allowUsers: flags['allow-users'],
        trustProxy: flags['trust-proxy'],
        syncInterval: flags['sync-interval'],
        deviceName: flags['device-name'],
        cacheDir: flags['cache-dir'],
        cacheMaxOwners: flags['cache-max-owners'],
        cacheMaxMb: flags['cache-max-mb'],
        hubStore: flags['hub-store'],
        hubStorePool: flags['hub-store-pool'],
      },
      env,
      process.cwd(),
    );
  } catch (e) {
    process.stderr.write(`hephd: ${(e as Error).message}\n`);
    return exitCodeFor(e);
  }
  // Everything the daemon creates (database, WAL, socket, pid file) is for this user only.
  process.umask(0o077);
  const logger = pino({ level: config.logLevel, base: { pid: process.pid } }, pino.destination(2));
  const missing = nodeFlagsMismatch(config.mode, process.execArgv, env.NODE_OPTIONS);
  if (missing.length > 0) {
    logger.warn(
      { node_flags: missing },
      `hephd runs mode ${config.mode} without its node flags (${missing.join(' ')}); the hephd ` +
        'command gives them, or pass them to node before the script',
    );
  }
  const offset = config.clockOffsetMs;
  const clock: Clock = { now: () => Date.now() + offset };
  let daemon: { stop(): Promise<void> };
  try {
    const deps = {
      clock,
      random: cryptoRandom,
      logger,
      version: version(),
      getToken:
        config.hubUrl === undefined
          ? undefined
          : await signedInSession(config.hubUrl, config.insecureHttp === true, env, clock, logger),
    };
    const failpoint = env.HEPH_FAILPOINT;
    daemon =
      config.mode === 'server'
        ? await (
            await import('../hub/server.js')
          ).startHub(config, {
            ...deps,
            ...(failpoint?.startsWith('hub.') && { hubFailpoint: failpoint }),
          })
        : config.mode === 'client'
          ? await (await import('./client-mode.js')).startClientDaemon(config, deps)
          : await startDaemon(config, {
              ...deps,
              ...(isFailpoint(failpoint) && { syncFailpoint: failpoint }),
            });
  } catch (e) {
    const message = isHephError(e)
      ? e.message
      : `unexpected error: ${(e as Error).stack ?? String(e)}`;
    const code = isHephError(e) ? e.code : 'internal';
    logger.error({ code }, message);
    logger.flush();
    process.stderr.write(`hephd: ${message}\n`);
    // For `heph doctor`, which has no daemon to ask (another daemon running is not a failure).
    if (code !== 'already_running') {
      recordStartError(env, {
        at: new Date(clock.now()).toISOString(),
        code,
        message: isHephError(e) ? e.message : 'unexpected error; see the log',
        socket: config.socket,
        db: config.db,
      });
    }
    return exitCodeFor(e);
  }
  clearStartError(env, config.socket);
  return await new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal: sig }, 'second signal: exiting now');
        logger.flush();
        process.exit(130);
      }
      logger.info({ signal: sig }, 'stopping');
      daemon.stop().then(
        () => resolve(0),
        (e: unknown) => {
          logger.error({ err: (e as Error).message }, 'stop failed');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
