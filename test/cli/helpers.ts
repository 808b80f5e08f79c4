// Runs the real `heph` and `hephd` as a user would: built files, real processes, a real socket
// and database in a temp dir. Every helper returns something to stop, and tests stop it.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export const ROOT = resolve(import.meta.dirname, '../..');
export const HEPH = join(ROOT, 'bin', 'heph.js');
export const HEPHD = join(ROOT, 'bin', 'hephd.js');

export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'bundle', 'cli', 'main.cjs'))) {
    throw new Error('the CLI is not built: run `npm run build` before these tests');
  }
}

export interface Home {
  dir: string;
  /** HOME and XDG_* inside the temp dir, so nothing touches the real home. */
  env: {
    HOME: string;
    XDG_CONFIG_HOME: string;
    XDG_DATA_HOME: string;
    XDG_STATE_HOME: string;
    XDG_RUNTIME_DIR: string;
  };
  cleanup(): void;
}

export function tempHome(): Home {
  const dir = mkdtempSync(join(tmpdir(), 'heph-cli-'));
  const env = {
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_RUNTIME_DIR: join(dir, 'run'),
  };
  mkdirSync(env.XDG_RUNTIME_DIR, { mode: 0o700 });
  return { dir, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Only what the CLI needs from the parent environment, plus the given variables. */
export function baseEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' };
  if (process.env.TZ) env.TZ = process.env.TZ;
  return { ...env, ...extra };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  out: Buffer;
}

export function heph(
  args: string[],
  opts: {
    env: Record<string, string>;
    input?: string | Buffer;
    cwd?: string;
    /** Leave standard input open (a pipe nobody writes to or closes), as a script might. */
    openStdin?: boolean;
  },
): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [HEPH, ...args], {
      env: opts.env,
      cwd: opts.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', fail);
    child.on('close', (code) => {
      const o = Buffer.concat(out);
      done({
        code,
        stdout: o.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        out: o,
      });
    });
    // A command may exit without reading its input (a refusal, --version): writing the rest
    // then fails with EPIPE, which is no failure of the run; its exit code and output say.
    child.stdin.on('error', () => undefined);
    if (opts.openStdin === true) child.once('close', () => child.stdin.destroy());
    else child.stdin.end(opts.input ?? '');
  });
}

export function str(u: unknown): string {
  if (typeof u !== 'string') throw new Error(`expected a string, got ${JSON.stringify(u)}`);
  return u;
}

export function arr(u: unknown): unknown[] {
  if (!Array.isArray(u)) throw new Error(`expected a list, got ${JSON.stringify(u)}`);
  return u as unknown[];
}

/** Parses stdout as one JSON document (read loosely, as tests do), failing with the output. */
export function json(r: Run) {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}

export async function waitForSocket(path: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(path);
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no daemon on ${path} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Daemon {
  socket: string;
  db: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startDaemon(
  dir: string,
  extraArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<Daemon> {
  const run = join(dir, 'd');
  mkdirSync(run, { recursive: true, mode: 0o700 });
  const socket = join(run, 'hephd.sock');
  const db = join(dir, 'heph.db');
  const child = spawn(
    process.execPath,
    [HEPHD, '--db', db, '--socket', socket, '--log-level', 'silent', ...extraArgs],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: baseEnv({ HOME: dir, ...env }),
    },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitForSocket(socket);
  return {
    socket,
    db,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The user's local day, as the CLI computes it. */
export function localToday(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** Fails with the command's output unless it exited 0. */
export function ok(r: Run): Run {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

export interface Device {
  home: Home;
  daemon: Daemon;
  /** The CLI's environment: the temp home and the daemon's socket. */
  env: Record<string, string>;
  run(args: string[], input?: string | Buffer, extraEnv?: Record<string, string>): Promise<Run>;
}

/**
 * A temp home with a daemon for the whole test file: started before the first test, stopped and
 * removed after the last. Read its fields inside tests (they are set by then).
 */
export function useDevice(extraArgs: string[] = []): Device {
  const d = {} as Device;
  beforeAll(async () => {
    assertBuilt();
    d.home = tempHome();
    d.daemon = await startDaemon(d.home.dir, extraArgs);
    d.env = baseEnv({ ...d.home.env, HEPH_SOCKET: d.daemon.socket });
  });
  afterAll(async () => {
    await d.daemon?.stop();
    d.home?.cleanup();
  });
  d.run = (args, input, extraEnv = {}) =>
    heph(args, { env: { ...d.env, ...extraEnv }, ...(input !== undefined && { input }) });
  return d;
}

/** Every file under `dir`, as one text (sockets and other non-files skipped): for scanning a
 *  home for a secret. */
export function filesText(dir: string): string {
  let all = '';
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) all += readFileSync(join(e.parentPath, e.name)).toString('latin1');
  }
  return all;
}
