// hephd local mode: owns one database and serves JSON-RPC on one unix socket.
// Guarantees: exactly one process owns a database (SQLite's exclusive lock, released by the
// kernel however the owner dies); a second daemon on the same database or on a live socket
// fails with "already running (pid N, socket S)" and touches neither; a refused start (a busy
// socket or database, a bad hub URL, a socket folder others can reach) leaves no file or folder
// it made (start-files.ts), and a busy socket is refused before the database is even opened;
// stop() finishes in-flight requests, closes the database and removes the socket and the owner
// file, and is idempotent.

import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { arch, availableParallelism, hostname, platform, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { HephError } from '../core/errors.js';
import { deviceNameProblem, MAX_DEVICE_NAME } from '../core/op.js';
import type { DaemonConfig } from '../config/config.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { Random } from '../ports/random.js';
import { Registry } from '../rpc/registry.js';
import { principalFor } from '../auth/principal.js';
import { buildNamespaces, type DaemonContext } from '../rpc/methods/index.js';
import { createServices } from '../rpc/methods/context.js';
import { doctorMethods } from '../rpc/methods/doctor.js';
import { adminTokenMethods } from '../rpc/methods/admin-token.js';
import { AdminTokens } from '../auth/admin-token.js';
import { EventHub } from './events.js';
import { DAEMON_STORE_OPTIONS, startIdleCheckpoint } from './idle-checkpoint.js';
import { startIdleTrim } from './idle-trim.js';
import { databaseFiles, watchStartFiles } from './start-files.js';
import { openStore } from '../store/open-store.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { connect, type RpcClient } from '../transport/socket-client.js';
import { startSocketServer, type SocketServer } from '../transport/socket-server.js';
import { prepareSocketPath } from '../transport/unix-socket.js';
import type { Failpoint } from '../sync/sync-once.js';
import { SyncService } from '../sync/sync-service.js';

export interface DaemonDeps {
  clock: Clock;
  random: Random;
  logger: Logger;
  version: string;
  /** Testing aid (HEPH_FAILPOINT): where the sync exchange kills the process. */
  syncFailpoint?: Failpoint | undefined;
  /** The bearer token for the hub, when signed in (undefined for an open hub). */
  getToken?: (() => Promise<string | undefined>) | undefined;
}

export interface Daemon {
  readonly store: SqliteStore;
  readonly config: DaemonConfig;
  stop(): Promise<void>;
}

interface OwnerRecord {
  pid: number;
  socket: string;
  started: string;
}

export function ownerFilePath(db: string): string {
  return `${db}.pid`;
}

/** Who the owner file beside `db` says holds it, if it names anyone. */
export function readOwner(db: string): OwnerRecord | undefined {
  try {
    const v = JSON.parse(readFileSync(ownerFilePath(db), 'utf8')) as Partial<OwnerRecord>;
    if (typeof v.pid === 'number' && typeof v.socket === 'string') return v as OwnerRecord;
  } catch {
    // missing or half-written: the owner is still starting
  }
  return undefined;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * The refusal of a daemon whose database or socket another daemon owns: who that is, and the
 * three ways on. The message follows `hephd: ` on standard error, so it does not say hephd again.
 */
function ownedBy(
  pid: unknown,
  socket: string,
  owner: Serving,
  own = '--db and --socket',
): HephError {
  return new HephError(
    'already_running',
    `already running (pid ${String(pid)}, socket ${socket}) ${serving(owner)}: use that daemon, ` +
      `stop it first (heph daemon stop, or kill ${String(pid)}), or give this one its own ${own}`,
    { pid, socket, ...owner },
  );
}

/** What a running daemon serves: its database, or (client mode) its hub. */
type Serving = { db: unknown } | { hub: unknown };

function serving(s: Serving): string {
  return 'hub' in s ? `for the hub ${String(s.hub)}` : `on ${String(s.db)}`;
}

/** The owner's pid and socket, waiting briefly for a daemon that is still starting to record them. */
export async function alreadyRunningError(db: string): Promise<HephError> {
  for (let i = 0; i < 20; i++) {
    const o = readOwner(db);
    if (o) return ownedBy(o.pid, o.socket, { db });
    await sleep(50);
  }
  return new HephError(
    'already_running',
    `already running on ${db} (another process holds it): stop that process first, or give ` +
      `this one its own --db`,
    { db },
  );
}

/** How long whatever listens on our socket gets to answer `status` before we give up on it
 *  (generous: a daemon busy with a long import answers late). */
const OWNER_STATUS_TIMEOUT_MS = 5000;

/**
 * Makes the folder the database lives in (private to the user) and checks it can be written:
 * the database, its -wal file and the owner file are all written there. A folder that cannot be
 * made or written is a storage error saying which and why, before anything is opened.
 */
export function prepareDataDir(db: string): void {
  const dir = dirname(db);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const code = errnoOf(e, dir);
    const why =
      code === 'EROFS'
        ? 'it is on a read-only file system'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? 'a part of its path is a file, not a folder'
            : (e as Error).message;
    throw new HephError(
      'storage',
      `cannot write the database folder ${dir}: ${why}; hephd keeps the database and its ` +
        `-wal file there, so make the folder writable or pass --db a path elsewhere`,
      { path: dir },
    );
  }
}

/** The error's code; for a folder that could not be made (ENOENT from a recursive mkdir on a
 *  read-only file system), the reason its nearest existing parent cannot be written. */
function errnoOf(e: unknown, dir: string): string | undefined {
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== 'ENOENT') return code;
  let parent = dirname(dir);
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
  try {
    accessSync(parent, constants.W_OK);
    return code;
  } catch (inner) {
    return (inner as NodeJS.ErrnoException).code;
  }
}

/**
 * The refusal of a start whose socket is in use: who holds it (pid, what it serves) and what to
 * do. `db` is the database of the daemon starting; a client-mode daemon has none.
 */
export async function socketOwnerError(socket: string, db?: string): Promise<HephError> {
  // A listener that accepts but never answers (a hung process, or not hephd at all) must not
  // hang this start: the status call gets a deadline.
  let client: RpcClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    client = await connect(socket);
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer')), OWNER_STATUS_TIMEOUT_MS);
    });
    const status = (await Promise.race([client.call('status'), deadline])) as {
      pid?: unknown;
      db?: unknown;
      mode?: unknown;
      hub?: unknown;
    };
    // A client-mode daemon's status may carry its hub's database: what it serves is the hub.
    const owner: Serving = status.mode === 'client' ? { hub: status.hub } : { db: status.db };
    if (db === undefined) return ownedBy(status.pid, socket, owner, '--socket');
    if (!('hub' in owner) && owner.db === db) return ownedBy(status.pid, socket, owner);
    // Another database's daemon on this socket: this one needs a socket of its own.
    return new HephError(
      'already_running',
      `already running (pid ${String(status.pid)}, socket ${socket}) ${serving(owner)}; ` +
        `to run a second daemon beside it (this one on ${db}), give it its own --socket`,
      { pid: status.pid, socket },
    );
  } catch {
    return new HephError(
      'already_running',
      `another process is already listening on ${socket} and did not answer as hephd; ` +
        `stop it or choose another --socket`,
      { socket },
    );
  } finally {
    clearTimeout(timer);
    await client?.close();
  }
}

/**
 * Gives this device its name at first start (the name other devices show for its changes): the
 * one configured, else the host name. A name it already has (a later start, a rename on the hub)
 * is kept.
 */
function nameThisDevice(store: SqliteStore, configured: string | undefined, logger: Logger): void {
  if (store.deviceName(store.origin) !== undefined) return;
  const host = hostname().trim().slice(0, MAX_DEVICE_NAME);
  const name = configured ?? (deviceNameProblem(host) === undefined ? host : 'device');
  store.setDeviceName(store.origin, name);
  logger.info({ name }, 'named this device');
}

export async function startDaemon(config: DaemonConfig, deps: DaemonDeps): Promise<Daemon> {
  const { logger } = deps;
  // A refused start leaves the filesystem as it was: whatever it made is taken back.
  const made = watchStartFiles(databaseFiles(config.db), [
    dirname(config.db),
    dirname(config.socket),
  ]);
  try {
    prepareDataDir(config.db);
    // A socket in use is refused before the database is opened (and so made, or upgraded).
    await prepareSocketPath(config.socket).catch(async (e: unknown) => {
      if (e instanceof HephError && e.code === 'already_running')
        throw await socketOwnerError(config.socket, config.db);
      throw e;
    });
  } catch (e) {
    made.undo({ owned: false });
    throw e;
  }
  let store: SqliteStore;
  try {
    store = openStore(
      {
        path: config.db,
        exclusive: true,
        synchronous: config.mode === 'server' ? 'FULL' : 'NORMAL',
        ...DAEMON_STORE_OPTIONS,
      },
      { clock: deps.clock, random: deps.random, logger },
    );
  } catch (e) {
    made.undo({ owned: false });
    if (e instanceof HephError && e.code === 'already_running')
      throw await alreadyRunningError(config.db);
    throw e;
  }
  const owner: OwnerRecord = {
    pid: process.pid,
    socket: config.socket,
    started: new Date(deps.clock.now()).toISOString(),
  };
  let server: SocketServer | undefined;
  let sync: SyncService | undefined;
  const events = new EventHub(store, logger);
  const checkpoints = startIdleCheckpoint(store, { logger });
  const trims = startIdleTrim(store, { logger });
  try {
    if (config.mode === 'local') nameThisDevice(store, config.deviceName, logger);
    writeFileSync(ownerFilePath(config.db), JSON.stringify(owner) + '\n', { mode: 0o600 });
    // A spoke: built (and its hub URL checked) now, started once the socket is up.
    if (config.mode === 'local' && config.hubUrl !== undefined) {
      sync = new SyncService(
        {
          hubUrl: config.hubUrl,
          insecureHttp: config.insecureHttp,
          failpoint: deps.syncFailpoint,
          timeZone: config.timeZone,
          replica: { platform: process.platform, version: deps.version },
          facts: {
            platform: platform(),
            arch: arch(),
            cpus: availableParallelism(),
            memory_bytes: totalmem(),
            version: deps.version,
          },
          ...(config.syncIntervalS !== undefined && {
            loop: { intervalMs: config.syncIntervalS * 1000 },
          }),
        },
        {
          store,
          clock: deps.clock,
          random: deps.random,
          logger,
          onState: (status) => events.emit('sync.state', { ...status }),
          ...(deps.getToken && { getToken: deps.getToken }),
          listening: () => events.count() > 0,
        },
      );
    }
    const services = createServices(store, events, config, { ...deps, sync });
    const registry = new Registry<DaemonContext>([
      ...buildNamespaces(services),
      doctorMethods(services),
      adminTokenMethods(new AdminTokens(deps.clock)),
    ]);
    try {
      server = await startSocketServer<DaemonContext>({
        path: config.socket,
        registry,
        logger,
        principal: principalFor({ kind: 'local_socket', replica: store.origin }),
        makeContext: (base) => ({ ...base }),
      });
    } catch (e) {
      if (e instanceof HephError && e.code === 'already_running')
        throw await socketOwnerError(config.socket, config.db);
      throw e;
    }
  } catch (e) {
    checkpoints.stop();
    trims.stop();
    events.close();
    store.close();
    rmSync(ownerFilePath(config.db), { force: true });
    made.undo({ owned: true });
    throw e;
  }
  logger.info(
    { db: config.db, socket: config.socket, mode: config.mode, replica: store.origin },
    'hephd started',
  );
  if (sync) {
    sync.start();
    logger.info({ hub: config.hubUrl }, 'syncing with hub');
  }
  let stopping: Promise<void> | undefined;
  const running = server;
  const spoke = sync;
  return {
    store,
    config,
    stop() {
      stopping ??= (async () => {
        await spoke?.stop();
        await running.stop();
        checkpoints.stop();
        trims.stop();
        events.close();
        store.close();
        if (readOwner(config.db)?.pid === process.pid)
          rmSync(ownerFilePath(config.db), { force: true });
        logger.info({}, 'hephd stopped');
      })();
      return stopping;
    },
  };
}
