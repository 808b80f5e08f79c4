// Preparing a unix socket path for a server. Guarantees: the path fits the platform's sun_path;
// the socket's directory exists, is a directory owned by this user and is not accessible to
// group or others (it is created 0700 when missing; an existing one is never loosened or
// silently tightened — a directory the user chose may be shared on purpose, so we refuse and
// say what to run); an existing socket file is removed only when nothing accepts on it, and a
// path that exists but is not a socket is never removed.

import { lstat, mkdir, chmod, stat, unlink } from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { HephError } from '../core/errors.js';
import { isErrno } from './errno.js';

/** Longest usable socket path in bytes: sizeof(sun_path) minus the terminating NUL. */
export function socketPathLimit(platform: NodeJS.Platform = process.platform): number {
  return platform === 'linux' ? 107 : 103;
}

export function assertSocketPathFits(socketPath: string, platform?: NodeJS.Platform): void {
  const bytes = Buffer.byteLength(socketPath);
  const limit = socketPathLimit(platform);
  if (bytes > limit) {
    throw new HephError(
      'invalid_params',
      `socket path is ${bytes} bytes, longer than the ${limit}-byte limit for unix sockets on ` +
        `this platform: ${socketPath}; choose a shorter path with --socket or HEPH_SOCKET`,
      { field: 'socket', path: socketPath, bytes, limit },
    );
  }
}

function modeString(mode: number): string {
  return '0' + (mode & 0o777).toString(8).padStart(3, '0');
}

/** Creates `dir` as 0700 if missing; refuses one that is not ours or not private. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const uid = process.getuid?.();
  let st = await stat(dir).catch((e: unknown) => {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw ioError(`cannot inspect socket directory ${dir}: ${errText(e)}`, dir);
  });
  if (st === undefined) {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700); // mkdir's mode is filtered by the umask
      st = await stat(dir);
    } catch (e) {
      throw ioError(`cannot create socket directory ${dir}: ${errText(e)}`, dir);
    }
  }
  if (!st.isDirectory()) throw ioError(`socket directory ${dir} is not a directory`, dir);
  if (uid !== undefined && st.uid !== uid) {
    throw ioError(
      `socket directory ${dir} is owned by uid ${st.uid}, not by you (uid ${uid}); ` +
        `socket access is full access to your data, so choose a directory you own`,
      dir,
    );
  }
  if ((st.mode & 0o077) !== 0) {
    throw ioError(
      `socket directory ${dir} has mode ${modeString(st.mode)}, so other users can reach it; ` +
        `run \`chmod 700 ${dir}\` or choose a socket path in a private directory`,
      dir,
    );
  }
}

export type ProbeResult = 'absent' | 'stale' | 'live';

/** Looks at whatever is at `socketPath` without changing it. */
export async function probeSocket(socketPath: string, timeoutMs = 1000): Promise<ProbeResult> {
  const st = await lstat(socketPath).catch((e: unknown) => {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw ioError(`cannot inspect ${socketPath}: ${errText(e)}`, socketPath);
  });
  if (st === undefined) return 'absent';
  if (!st.isSocket()) {
    throw ioError(`${socketPath} exists and is not a socket; refusing to replace it`, socketPath);
  }
  return new Promise<ProbeResult>((resolve, reject) => {
    const sock = net.connect(socketPath);
    const done = (r: ProbeResult | Error): void => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on('error', () => {});
      sock.destroy();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    // A listener that does not accept in time is still a listener: never unlink it.
    const timer = setTimeout(() => done('live'), timeoutMs);
    sock.once('connect', () => done('live'));
    sock.once('error', (e) => {
      if (isErrno(e, 'ECONNREFUSED')) done('stale');
      else if (isErrno(e, 'ENOENT')) done('absent');
      else done(ioError(`cannot probe ${socketPath}: ${errText(e)}`, socketPath));
    });
  });
}

/** Makes `socketPath` free to bind: validates it, prepares its directory, clears a stale file. */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  assertSocketPathFits(socketPath);
  await ensurePrivateDir(path.dirname(socketPath));
  const state = await probeSocket(socketPath);
  if (state === 'live') throw alreadyRunning(socketPath);
  if (state === 'stale') {
    await unlink(socketPath).catch((e: unknown) => {
      if (!isErrno(e, 'ENOENT')) {
        throw ioError(`cannot remove stale socket ${socketPath}: ${errText(e)}`, socketPath);
      }
    });
  }
}

export function alreadyRunning(socketPath: string): HephError {
  return new HephError(
    'already_running',
    `another process is already listening on ${socketPath}: stop it, or choose another --socket`,
    { path: socketPath },
  );
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function ioError(message: string, p: string): HephError {
  return new HephError('io', message, { path: p });
}
