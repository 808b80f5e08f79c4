// Real hephd processes for process-level tests: each runs the built daemon (bin/hephd.js →
// dist/) as a child of the test on a temp database and a short temp socket path, with a clean
// environment, so nothing touches the real home directory. Every helper hands back something
// the test closes; useDaemons() closes whatever a test leaves behind.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { connect, type RpcClient } from '../../src/transport/socket-client.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const HEPHD = join(REPO, 'bin', 'hephd.js');
const BUILT_MAIN = join(REPO, 'dist', 'src', 'daemon', 'main.js');

/** Fails the suite at once, with what to run, when the daemon has not been built. */
export function requireBuild(): void {
  if (!existsSync(BUILT_MAIN)) {
    throw new Error(
      `test/daemon runs the built daemon, and ${BUILT_MAIN} is missing: run \`npm run build\` first`,
    );
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until cond() holds; fails after ms with what was awaited. */
export async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DaemonProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly db: string;
  readonly socket: string;
  /** Everything the daemon wrote to stderr so far. */
  stderr(): string;
  stdout(): string;
  readonly exited: Promise<Exit>;
  /** null while running. */
  exit(): Exit | null;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<Exit>;
}

export interface SpawnOptions {
  db: string;
  socket: string;
  logLevel?: string;
  /** Extra flags, after --db/--socket/--log-level. */
  args?: string[];
  env?: Record<string, string>;
}

export interface Daemons {
  /** A fresh directory under os.tmpdir() with a short name, removed after the test. */
  dir(): string;
  spawn(opts: SpawnOptions): DaemonProcess;
  /** Spawns and waits until the daemon answers `status` with its own pid. */
  start(opts: SpawnOptions): Promise<DaemonProcess>;
  /** Runs hephd with raw arguments to completion (for processes expected to exit). */
  run(args: string[], env?: Record<string, string>): Promise<Exit & { stderr: string }>;
  /** A client connection, closed after the test. */
  client(socket: string): Promise<RpcClient>;
}

/** No HEPH_* or XDG_* from the caller: the XDG dirs point inside `home`. */
export function cleanEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('HEPH_') && !k.startsWith('XDG_')) env[k] = v;
  }
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'data'),
    XDG_RUNTIME_DIR: join(home, 'run'),
  };
}

/**
 * Bookkeeping for one test file: call once at its top. What a test makes is closed after that
 * test; what a beforeAll hook makes (a daemon shared by the file) is closed after the file.
 */
export function useDaemons(): Daemons {
  const base = mkdtempSync(join(tmpdir(), 'hd-'));
  const perTest = newScope();
  const perFile = newScope();
  let inTest = false;
  const scope = (): Scope => (inTest ? perTest : perFile);

  beforeAll(requireBuild);
  beforeEach(() => {
    inTest = true;
  });
  afterEach(async () => {
    inTest = false;
    await closeScope(perTest);
  });
  afterAll(async () => {
    await closeScope(perFile);
    rmSync(base, { recursive: true, force: true });
  });

  let n = 0;
  const dir = (): string => {
    // mkdtemp makes the directory 0700; short names keep socket paths far below the limit.
    const d = mkdtempSync(join(base, `${n++}-`));
    scope().dirs.push(d);
    return d;
  };

  const spawnDaemon = (opts: SpawnOptions): DaemonProcess => {
    const home = join(opts.db, '..');
    const args = [
      HEPHD,
      '--db',
      opts.db,
      '--socket',
      opts.socket,
      '--log-level',
      opts.logLevel ?? 'silent',
      ...(opts.args ?? []),
    ];
    const child = spawn(process.execPath, args, {
      env: { ...cleanEnv(home), ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    scope().children.add(child);
    let err = '';
    let out = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    let status: Exit | null = null;
    const exited = new Promise<Exit>((resolve) => {
      // 'close' rather than 'exit': stderr has been read to its end.
      child.once('close', (code, signal) => {
        status = { code, signal };
        resolve(status);
      });
    });
    return {
      child,
      pid: child.pid!,
      db: opts.db,
      socket: opts.socket,
      stderr: () => err,
      stdout: () => out,
      exited,
      exit: () => status,
      stop: () => {
        if (status === null) child.kill('SIGTERM');
        return exited;
      },
    };
  };

  const start = async (opts: SpawnOptions): Promise<DaemonProcess> => {
    const d = spawnDaemon(opts);
    await waitServing(d);
    return d;
  };

  const run = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const home = dir();
    const child = spawn(process.execPath, [HEPHD, ...args], {
      env: { ...cleanEnv(home), ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: home,
    });
    scope().children.add(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.resume();
    const exit = await new Promise<Exit>((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal })),
    );
    return { ...exit, stderr };
  };

  const client = async (socket: string): Promise<RpcClient> => {
    const c = await connect(socket);
    scope().clients.push(c);
    return c;
  };

  return { dir, spawn: spawnDaemon, start, run, client };
}

interface Scope {
  dirs: string[];
  children: Set<ChildProcess>;
  clients: RpcClient[];
}

function newScope(): Scope {
  return { dirs: [], children: new Set(), clients: [] };
}

async function closeScope(s: Scope): Promise<void> {
  await Promise.all(s.clients.splice(0).map((c) => c.close()));
  await Promise.all(
    [...s.children].map(async (c) => {
      if (c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await gone;
      }
    }),
  );
  s.children.clear();
  for (const d of s.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Waits until the daemon answers `status` with its own pid; fails with its stderr if it exits. */
export async function waitServing(d: DaemonProcess, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const exit = d.exit();
    if (exit !== null) {
      throw new Error(
        `hephd exited (code ${exit.code}, signal ${exit.signal}) before serving:\n${d.stderr()}`,
      );
    }
    if (await answersStatus(d.socket, d.pid)) return;
    if (Date.now() > deadline) throw new Error(`hephd did not serve in ${ms} ms:\n${d.stderr()}`);
    await sleep(10);
  }
}

/** True when a daemon with this pid answers on the socket. */
export async function answersStatus(socket: string, pid: number): Promise<boolean> {
  let c: RpcClient | undefined;
  try {
    c = await connect(socket);
    const s = (await c.call('status')) as { pid: number };
    return s.pid === pid;
  } catch {
    return false;
  } finally {
    await c?.close();
  }
}

/** What JSON.parse gives: wire data a test inspects with expect(). */
export type Wire = ReturnType<typeof JSON.parse>;

/** One JSON-RPC request line. */
export function req(method: string, params: unknown, id: string | number | null): string {
  return JSON.stringify({ jsonrpc: '2.0', method, params, id }) + '\n';
}
