// Daemon and CLI settings. Precedence: flags > environment > config file > defaults. The config
// file is JSON; unknown keys and wrong types are errors that name the key and the file.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseAllowUsers } from '../auth/owners.js';
import { didYouMean } from '../core/suggest.js';
import { HephError } from '../core/errors.js';
import { deviceNameProblem } from '../core/op.js';
import { defaultConfigPath, defaultDbPath, defaultSocketPath, type Env } from './paths.js';

export const MODES = ['local', 'server', 'client'] as const;
export type Mode = (typeof MODES)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const FileConfig = z.strictObject({
  mode: z.enum(MODES).optional(),
  db: z.string().min(1).optional(),
  socket: z.string().min(1).optional(),
  log_level: z.enum(LOG_LEVELS).optional(),
  hub_url: z.url().optional(),
  http_addr: z.string().min(1).optional(),
  time_zone: z.string().min(1).optional(),
  tls_cert: z.string().min(1).optional(),
  tls_key: z.string().min(1).optional(),
  insecure_http: z.boolean().optional(),
  insecure_storage: z.boolean().optional(),
  oidc_issuer: z.string().min(1).optional(),
  oidc_audience: z.string().min(1).optional(),
  oidc_client_id: z.string().min(1).optional(),
  insecure_oidc_http: z.boolean().optional(),
  owner: z.string().min(1).optional(),
  allow_users: z
    .union([z.string().min(1), z.array(z.string().min(1))], {
      error: 'must be a string ("SUB,SUB" or "*") or a list of subjects (["SUB", "SUB"])',
    })
    .optional(),
  trust_proxy: z.boolean().optional(),
  sync_interval: z.number().int().min(1).max(86_400).optional(),
  device_name: z.string().min(1).optional(),
  cache_dir: z.string().min(1).optional(),
  cache_max_owners: z.number().int().min(1).max(1_000_000).optional(),
  cache_max_mb: z.number().int().min(1).max(16_777_216).optional(),
  hub_store: z.string().min(1).optional(),
  hub_store_pool: z.number().int().min(1).max(1000).optional(),
});
export type FileConfig = z.infer<typeof FileConfig>;

/** Every key the config file may hold. */
export const CONFIG_KEYS: readonly string[] = Object.keys(FileConfig.shape);

export interface DaemonFlags {
  mode?: string | undefined;
  db?: string | undefined;
  socket?: string | undefined;
  logLevel?: string | undefined;
  config?: string | undefined;
  hubUrl?: string | undefined;
  httpAddr?: string | undefined;
  /** Mode server: listen beyond loopback without an identity provider. */
  insecureOpen?: boolean | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  /** Modes local and client: allow a plain-http hub that is not on loopback. */
  insecureHttp?: boolean | undefined;
  /** Mode server: require sign-in with this OpenID Connect issuer. */
  oidcIssuer?: string | undefined;
  oidcAudience?: string | undefined;
  oidcClientId?: string | undefined;
  /** Mode server: fetch the issuer's keys over plain http although it is not on loopback. */
  insecureOidcHttp?: boolean | undefined;
  /** Mode server: the hub owner's subject at the issuer. */
  owner?: string | undefined;
  /** Mode server: `SUB,SUB` or `*`. */
  allowUsers?: string | undefined;
  /** Mode server: take client addresses from X-Forwarded-For. */
  trustProxy?: boolean | undefined;
  /** Mode local with a hub: seconds between background syncs. */
  syncInterval?: string | undefined;
  /** Mode local: this device's name at first start (else the host name). */
  deviceName?: string | undefined;
  /** Mode server: where the cache replicas live. */
  cacheDir?: string | undefined;
  cacheMaxOwners?: string | undefined;
  cacheMaxMb?: string | undefined;
  /** Mode server: `sqlite` (default) or a postgres:// URL. */
  hubStore?: string | undefined;
  hubStorePool?: string | undefined;
}

export interface DaemonConfig {
  mode: Mode;
  db: string;
  socket: string;
  logLevel: LogLevel;
  configPath: string;
  hubUrl: string | undefined;
  httpAddr: string;
  timeZone: string | undefined;
  /** Shifts the wall clock (testing and diagnosis aid). */
  clockOffsetMs: number;
  /** Mode server: the hub may listen beyond loopback without an identity provider. */
  insecureOpen?: boolean;
  /** Mode server: serve HTTPS with this PEM certificate chain and key. */
  tlsCert?: string;
  tlsKey?: string;
  /** Modes local and client: a plain-http hub off loopback is allowed (tokens in the clear). */
  insecureHttp?: boolean;
  /** Keep sign-in tokens in a 0600 file where there is no OS keyring (`heph auth login`). */
  insecureStorage?: boolean;
  /** Mode server: the hub requires sign-in with this identity provider. */
  oidc?: OidcConfig;
  /** Mode server: the hub is behind a reverse proxy; client addresses come from
   *  X-Forwarded-For. */
  trustProxy?: boolean;
  /** Mode local with a hub: seconds between background syncs (default 30). */
  syncIntervalS?: number;
  /** Mode local: the name this device takes at first start (default: the host name). */
  deviceName?: string;
  /** Mode server: the cache replicas' directory (default: <data dir>/cache). */
  cacheDir?: string;
  /** Mode server: most owners with a cache replica kept (default 32). */
  cacheMaxOwners?: number;
  /** Mode server: most megabytes of cache replicas kept (default 2048). */
  cacheMaxMb?: number;
  /** Mode server: keep the hub store in this PostgreSQL database (postgres://…) instead of
   *  <data dir>/hub.db. */
  hubStore?: string;
  /** Where hubStore was given: a URL with a password on the command line is visible to every
   *  user of the machine, so the hub warns. */
  hubStoreFrom?: 'flag' | 'env' | 'file';
  /** Mode server: most PostgreSQL connections for requests (default 10). */
  hubStorePool?: number;
}

export interface OidcConfig {
  /** The issuer URL, exactly as in its tokens. */
  issuer: string;
  /** The value the hub expects in `aud`. */
  audience: string;
  /** The public client `heph auth login` uses (reported by /config). */
  clientId?: string;
  /** The hub owner's subject (`--owner`). */
  owner?: string;
  /** Other accounts served, each with a partition of its own (`--allow-users`). */
  allowUsers?: readonly string[] | '*';
  /** Keys may be fetched over plain http from an issuer off loopback (`--insecure-oidc-http`). */
  insecureHttp?: boolean;
  /** Where the issuer was set, for messages: a flag, a variable, or a key of a config file. */
  issuerFrom?: string;
}

function loadFile(path: string, required: boolean): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !required) return {};
    throw new HephError(
      'invalid_params',
      `cannot read config file ${path}: ${(e as Error).message}`,
      { field: 'config' },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new HephError(
      'invalid_params',
      `config file ${path} is not valid JSON: ${(e as Error).message}`,
      { field: 'config' },
    );
  }
  const parsed = FileConfig.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key =
      issue?.path.join('.') ||
      (issue && 'keys' in issue ? String((issue as { keys: string[] }).keys[0]) : '');
    const what =
      issue?.code === 'unrecognized_keys'
        ? `"${key}" is not a setting` +
          (didYouMean(key, CONFIG_KEYS).replace(/^ /, '. ') || ' (heph help config lists them)')
        : `${key ? `"${key}": ` : ''}${issue?.message ?? 'invalid'}`;
    throw new HephError('invalid_params', `config file ${path}: ${what}`, {
      field: key || 'config',
    });
  }
  return parsed.data;
}

/** The first value given (flag, then environment, then file), refused unless allowed, naming
 *  the setting where it was given (the flag, or the environment variable). */
function pick<T extends string>(
  names: readonly [flag: string, env: string, file: string],
  allowed: readonly T[],
  ...values: [flag: string | undefined, env: string | undefined, file: string | undefined]
): T | undefined {
  for (const [i, v] of values.entries()) {
    if (v === undefined || v === '') continue;
    if (!(allowed as readonly string[]).includes(v)) {
      const name = names[i]!;
      throw new HephError(
        'invalid_params',
        `${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`,
        { field: names[0] },
      );
    }
    return v as T;
  }
  return undefined;
}

function first(...values: (string | undefined)[]): string | undefined {
  return values.find((v) => v !== undefined && v !== '');
}

export function resolveDaemonConfig(flags: DaemonFlags, env: Env, cwd: string): DaemonConfig {
  const configPath = resolve(cwd, first(flags.config, env.HEPH_CONFIG) ?? defaultConfigPath(env));
  const file = loadFile(configPath, first(flags.config, env.HEPH_CONFIG) !== undefined);
  const offset = env.HEPH_CLOCK_OFFSET_MS;
  if (offset !== undefined && offset !== '' && !/^-?\d{1,15}$/.test(offset)) {
    throw new HephError(
      'invalid_params',
      `HEPH_CLOCK_OFFSET_MS must be a whole number of milliseconds (got ${JSON.stringify(offset)})`,
      {
        field: 'HEPH_CLOCK_OFFSET_MS',
      },
    );
  }
  return {
    mode:
      pick(
        ['--mode', 'HEPH_MODE', 'mode in the config file'],
        MODES,
        flags.mode,
        env.HEPH_MODE,
        file.mode,
      ) ?? 'local',
    db: resolve(cwd, first(flags.db, env.HEPH_DB, file.db) ?? defaultDbPath(env)),
    socket: resolve(
      cwd,
      first(flags.socket, env.HEPH_SOCKET, file.socket) ?? defaultSocketPath(env),
    ),
    logLevel:
      pick(
        ['--log-level', 'HEPH_LOG_LEVEL', 'log_level in the config file'],
        LOG_LEVELS,
        flags.logLevel,
        env.HEPH_LOG_LEVEL,
        file.log_level,
      ) ?? 'info',
    configPath,
    hubUrl: first(flags.hubUrl, env.HEPH_HUB_URL, file.hub_url),
    httpAddr: first(flags.httpAddr, env.HEPH_HTTP_ADDR, file.http_addr) ?? '127.0.0.1:8787',
    timeZone: timeZone(env, file),
    clockOffsetMs: offset ? Number(offset) : 0,
    ...syncInterval(flags, env, file),
    ...deviceName(flags, env, file),
    ...hubFields(flags, env, file, cwd, configPath),
    ...cacheFields(flags, env, file, cwd),
    ...hubStoreFields(flags, env, file),
    ...((flags.insecureHttp === true ||
      env.HEPH_INSECURE_HTTP === '1' ||
      env.HEPH_INSECURE_HTTP === 'true' ||
      file.insecure_http === true) && { insecureHttp: true }),
    ...((env.HEPH_INSECURE_STORAGE === '1' ||
      env.HEPH_INSECURE_STORAGE === 'true' ||
      file.insecure_storage === true) && { insecureStorage: true }),
  };
}

function syncInterval(
  flags: DaemonFlags,
  env: Env,
  file: FileConfig,
): Pick<DaemonConfig, 'syncIntervalS'> {
  const given = first(flags.syncInterval, env.HEPH_SYNC_INTERVAL);
  if (given === undefined) {
    return file.sync_interval === undefined ? {} : { syncIntervalS: file.sync_interval };
  }
  return { syncIntervalS: syncIntervalSeconds(given) };
}

/** HEPH_TIME_ZONE or `time_zone`, checked before anything is opened. */
function timeZone(env: Env, file: FileConfig): string | undefined {
  const given = first(env.HEPH_TIME_ZONE, file.time_zone);
  if (given === undefined) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: given });
  } catch {
    const from =
      env.HEPH_TIME_ZONE !== undefined ? 'HEPH_TIME_ZONE' : 'time_zone in the config file';
    throw new HephError(
      'invalid_params',
      `${from} ${JSON.stringify(given)} is not an IANA time zone (such as Europe/Paris)`,
      { field: 'time_zone' },
    );
  }
  return given;
}

function deviceName(
  flags: DaemonFlags,
  env: Env,
  file: FileConfig,
): Pick<DaemonConfig, 'deviceName'> {
  const given = first(flags.deviceName, env.HEPH_DEVICE_NAME, file.device_name);
  if (given === undefined) return {};
  const problem = deviceNameProblem(given);
  if (problem !== undefined) {
    throw new HephError('invalid_params', `--device-name ${problem}`, { field: 'device-name' });
  }
  return { deviceName: given };
}

/** A --sync-interval as given (text): whole seconds from 1 to 86400, else invalid_params. */
export function syncIntervalSeconds(given: string): number {
  const n = /^\d{1,5}$/.test(given) ? Number(given) : NaN;
  if (!(n >= 1 && n <= 86_400)) {
    throw new HephError(
      'invalid_params',
      `--sync-interval must be a whole number of seconds from 1 to 86400 (got ${JSON.stringify(given)})`,
      { field: 'sync-interval' },
    );
  }
  return n;
}

function wholeNumber(name: string, given: string, max: number): number {
  const n = /^\d{1,9}$/.test(given) ? Number(given) : NaN;
  if (!(n >= 1 && n <= max)) {
    throw new HephError(
      'invalid_params',
      `--${name} must be a whole number from 1 to ${max} (got ${JSON.stringify(given)})`,
      { field: name },
    );
  }
  return n;
}

function cacheFields(
  flags: DaemonFlags,
  env: Env,
  file: FileConfig,
  cwd: string,
): Pick<DaemonConfig, 'cacheDir' | 'cacheMaxOwners' | 'cacheMaxMb'> {
  const dir = first(flags.cacheDir, env.HEPH_CACHE_DIR, file.cache_dir);
  const owners = first(flags.cacheMaxOwners, env.HEPH_CACHE_MAX_OWNERS);
  const mb = first(flags.cacheMaxMb, env.HEPH_CACHE_MAX_MB);
  const maxOwners =
    owners !== undefined
      ? wholeNumber('cache-max-owners', owners, 1_000_000)
      : file.cache_max_owners;
  const maxMb = mb !== undefined ? wholeNumber('cache-max-mb', mb, 16_777_216) : file.cache_max_mb;
  return {
    ...(dir !== undefined && { cacheDir: resolve(cwd, dir) }),
    ...(maxOwners !== undefined && { cacheMaxOwners: maxOwners }),
    ...(maxMb !== undefined && { cacheMaxMb: maxMb }),
  };
}

/** --hub-store: `sqlite` (the default: <data dir>/hub.db) or a postgres:// URL. */
function hubStoreFields(
  flags: DaemonFlags,
  env: Env,
  file: FileConfig,
): Pick<DaemonConfig, 'hubStore' | 'hubStoreFrom' | 'hubStorePool'> {
  const from =
    flags.hubStore !== undefined && flags.hubStore !== ''
      ? 'flag'
      : env.HEPH_HUB_STORE !== undefined && env.HEPH_HUB_STORE !== ''
        ? 'env'
        : file.hub_store !== undefined
          ? 'file'
          : undefined;
  const store = first(flags.hubStore, env.HEPH_HUB_STORE, file.hub_store);
  const pool = first(flags.hubStorePool, env.HEPH_HUB_STORE_POOL);
  const poolSize =
    pool !== undefined ? wholeNumber('hub-store-pool', pool, 1000) : file.hub_store_pool;
  if (store !== undefined && store !== 'sqlite' && !/^postgres(ql)?:\/\/./.test(store)) {
    // Never echo the value: it may hold a password.
    throw new HephError(
      'invalid_params',
      '--hub-store must be sqlite (the default) or a PostgreSQL URL, ' +
        'postgres://USER@HOST[:PORT]/DATABASE[?sslmode=verify-full]',
      { field: 'hub-store' },
    );
  }
  if (poolSize !== undefined && (store === undefined || store === 'sqlite')) {
    throw new HephError(
      'invalid_params',
      '--hub-store-pool only means something with a PostgreSQL --hub-store',
      { field: 'hub-store-pool' },
    );
  }
  return {
    ...(store !== undefined && store !== 'sqlite' && { hubStore: store }),
    ...(store !== undefined && store !== 'sqlite' && from !== undefined && { hubStoreFrom: from }),
    ...(poolSize !== undefined && { hubStorePool: poolSize }),
  };
}

function hubFields(
  flags: DaemonFlags,
  env: Env,
  file: FileConfig,
  cwd: string,
  configPath: string,
): Pick<DaemonConfig, 'insecureOpen' | 'tlsCert' | 'tlsKey' | 'oidc' | 'trustProxy'> {
  const cert = first(flags.tlsCert, env.HEPH_TLS_CERT, file.tls_cert);
  const key = first(flags.tlsKey, env.HEPH_TLS_KEY, file.tls_key);
  const oidc = oidcFields(flags, env, file, configPath);
  return {
    ...(flags.insecureOpen === true && { insecureOpen: true }),
    ...(cert !== undefined && { tlsCert: resolve(cwd, cert) }),
    ...(key !== undefined && { tlsKey: resolve(cwd, key) }),
    ...(oidc !== undefined && { oidc }),
    ...((flags.trustProxy === true ||
      env.HEPH_TRUST_PROXY === '1' ||
      env.HEPH_TRUST_PROXY === 'true' ||
      file.trust_proxy === true) && { trustProxy: true }),
  };
}

function oidcFields(
  flags: DaemonFlags,
  env: Env,
  file: FileConfig,
  configPath: string,
): OidcConfig | undefined {
  const issuer = first(flags.oidcIssuer, env.HEPH_OIDC_ISSUER, file.oidc_issuer);
  const insecureHttp =
    flags.insecureOidcHttp === true ||
    env.HEPH_INSECURE_OIDC_HTTP === '1' ||
    env.HEPH_INSECURE_OIDC_HTTP === 'true' ||
    file.insecure_oidc_http === true;
  const audience = first(flags.oidcAudience, env.HEPH_OIDC_AUDIENCE, file.oidc_audience);
  const clientId = first(flags.oidcClientId, env.HEPH_OIDC_CLIENT_ID, file.oidc_client_id);
  const owner = first(flags.owner, env.HEPH_OWNER, file.owner);
  const fileAllow = Array.isArray(file.allow_users) ? file.allow_users.join(',') : file.allow_users;
  const allow = first(flags.allowUsers, env.HEPH_ALLOW_USERS, fileAllow);
  if (issuer === undefined) {
    const stray: [string, string | undefined][] = [
      ['oidc-audience', audience],
      ['oidc-client-id', clientId],
      ['owner', owner],
      ['allow-users', allow],
      ['insecure-oidc-http', insecureHttp ? 'set' : undefined],
    ];
    const given = stray.find(([, v]) => v !== undefined);
    if (given !== undefined) {
      throw new HephError(
        'invalid_params',
        `--${given[0]} only means something with --oidc-issuer (the identity provider the hub ` +
          'trusts); give both, or neither for an open hub',
        { field: given[0] },
      );
    }
    return undefined;
  }
  let url: URL | undefined;
  try {
    url = new URL(issuer);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new HephError(
      'invalid_params',
      `--oidc-issuer must be the identity provider's issuer URL, e.g. ` +
        `https://id.example.org/realms/home (got ${JSON.stringify(issuer)})`,
      { field: 'oidc-issuer' },
    );
  }
  if (audience === undefined) {
    throw new HephError(
      'invalid_params',
      '--oidc-issuer needs --oidc-audience: the value the hub expects in the `aud` claim of ' +
        "access tokens, usually the hub's own URL (e.g. https://hub.example.org)",
      { field: 'oidc-audience' },
    );
  }
  const allowUsers = allow === undefined ? undefined : parseAllowUsers(allow);
  return {
    issuer,
    issuerFrom:
      first(flags.oidcIssuer) !== undefined
        ? '--oidc-issuer'
        : first(env.HEPH_OIDC_ISSUER) !== undefined
          ? 'HEPH_OIDC_ISSUER'
          : `oidc_issuer in ${configPath}`,
    audience,
    ...(clientId !== undefined && { clientId }),
    ...(owner !== undefined && { owner }),
    ...(allowUsers !== undefined && { allowUsers }),
    ...(insecureHttp && { insecureHttp: true }),
  };
}

/** The socket path the CLI uses: --socket > HEPH_SOCKET > config file > default. */
export function resolveSocketPath(flag: string | undefined, env: Env, cwd: string): string {
  const explicit = first(flag, env.HEPH_SOCKET);
  if (explicit) return resolve(cwd, explicit);
  const configPath = resolve(cwd, first(env.HEPH_CONFIG) ?? defaultConfigPath(env));
  const file = loadFile(configPath, false);
  return resolve(cwd, file.socket ?? defaultSocketPath(env));
}
