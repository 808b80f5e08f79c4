// `heph daemon start|stop|restart|status|uninstall`. With a systemd user manager, hephd runs as
// a user unit (installed, enabled, restarted by systemd); elsewhere (containers, CI) it is
// started detached with a pid file and a log file under $XDG_STATE_HOME/heph/. Every verb is
// idempotent: starting a running daemon or stopping a stopped one says so and succeeds; stop
// means the daemon on the socket asked about, so under systemd a hephd started by hand that
// still answers there once the unit is stopped is stopped too (and the report says so); status
// reports either way and exits 5 (the daemon is not running) when nothing answers. The
// service options given to start (--hub-url, --db, --socket, --log-level, --sync-interval,
// --insecure-http, --device-name) are checked, kept (daemon-args.ts) and written into the unit's command line
// or the detached launch, so a restart keeps them; status shows them and the hub in use.

import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stateDir, type Env } from '../../config/paths.js';
import { HephError } from '../../core/errors.js';
import { optArg, type Args } from '../args.js';
import type { Cli } from '../context.js';
import type { Output } from '../output.js';
import { renderUnit, UNIT_NAME } from '../unit-file.js';
import { hephdNodeFlags } from '../../config/node-flags.js';
import { connect } from '../../transport/socket-client.js';
import {
  asFlags,
  forgetDaemonOptions,
  readDaemonOptions,
  writeDaemonOptions,
  type DaemonOptions,
} from '../daemon-args.js';
import { isRec, type Rec } from '../wire.js';
import { wireFor } from '../../protocol/error-wire.js';

type Manager = 'systemd' | 'detached';
export type DaemonVerb = 'start' | 'stop' | 'restart' | 'status' | 'uninstall';

interface Files {
  env: Env;
  socket: string;
  pidFile: string;
  logFile: string;
  unitFile: string;
}

function home(env: Env): string {
  return env.HOME || '/';
}

export function unitPath(env: Env): string {
  return join(env.XDG_CONFIG_HOME || join(home(env), '.config'), 'systemd', 'user', UNIT_NAME);
}

function systemctl(...args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('systemctl', ['--user', ...args], { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

function detectManager(a: Args): Manager {
  const m = optArg(a, 'manager') ?? 'auto';
  if (m === 'systemd' || m === 'detached') return m;
  return systemctl('show-environment').ok ? 'systemd' : 'detached';
}

/** The daemon's status with the hub it syncs with, or undefined when nothing answers. */
async function probe(socket: string): Promise<Rec | undefined> {
  try {
    const conn = await connect(socket);
    try {
      const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000).unref());
      const [st, sync] = await Promise.race([
        Promise.all([conn.call('status', {}), conn.call('sync.status', {}).catch(() => undefined)]),
        timeout.then(() => [undefined, undefined] as const),
      ]);
      if (!isRec(st)) return undefined;
      return { ...st, hub: isRec(sync) && typeof sync.hub === 'string' ? sync.hub : null };
    } finally {
      void conn.close();
    }
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Guards against a stale pid file naming a process that is no longer hephd. */
function looksLikeHephd(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('hephd');
  } catch {
    return true; // no /proc (macOS): trust the pid file
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The kept options with those given now in their place, checked before anything starts. */
async function optionsFor(cli: Cli, a: Args, socket: string): Promise<DaemonOptions> {
  const o: DaemonOptions = { ...readDaemonOptions(cli.env) };
  const given = (k: keyof DaemonOptions) => optArg(a, k);
  const hub = given('hub-url');
  if (hub !== undefined) o['hub-url'] = hub;
  const db = given('db');
  if (db !== undefined) o.db = resolve(cli.cwd, db);
  if (cli.socketFlag !== undefined) o.socket = socket;
  const level = given('log-level');
  if (level !== undefined) o['log-level'] = level;
  const interval = given('sync-interval');
  if (interval !== undefined) {
    const { syncIntervalSeconds } = await import('../../config/config.js');
    o['sync-interval'] = String(syncIntervalSeconds(interval));
  }
  const name = given('device-name');
  if (name !== undefined) {
    const { deviceNameProblem } = await import('../../core/op.js');
    const problem = deviceNameProblem(name);
    if (problem !== undefined) {
      throw new HephError('invalid_params', `--device-name ${problem}`, { field: 'device-name' });
    }
    o['device-name'] = name;
  }
  if (a['insecure-http'] === true) o['insecure-http'] = true;
  if (a['insecure-http'] === false) delete o['insecure-http'];
  if (o['hub-url'] !== undefined) {
    const { checkHubUrl } = await import('../../sync/hub-client.js');
    checkHubUrl(o['hub-url'], o['insecure-http'] === true);
  }
  return o;
}

function hephdArgs(cli: Cli, a: Args, socket: string, kept: DaemonOptions): string[] {
  const mode = optArg(a, 'mode') ?? 'local';
  const { db: keptDb, socket: _socket, ...rest } = kept;
  const db = keptDb ?? cli.env.HEPH_DB;
  const config = cli.env.HEPH_CONFIG;
  return [
    '--mode',
    mode,
    '--socket',
    socket,
    ...(db ? ['--db', resolve(cli.cwd, db)] : []),
    ...(config ? ['--config', resolve(cli.cwd, config)] : []),
    ...asFlags(rest),
  ];
}

function report(
  heading: string,
  manager: Manager,
  f: Files,
  st: Rec | undefined,
  extra: Rec = {},
): Output {
  const env = f.env;
  return {
    kind: 'summary',
    heading,
    data: {
      ...extra,
      running: st !== undefined,
      manager,
      pid: st?.pid ?? null,
      socket: f.socket,
      db: st?.db ?? null,
      hub: st?.hub ?? null,
      options: asFlags(readDaemonOptions(env)).join(' ') || null,
      log: manager === 'detached' ? f.logFile : `journalctl --user -u ${UNIT_NAME}`,
      ...(manager === 'systemd' && { unit: f.unitFile }),
    },
  };
}

async function waitUntilUp(
  socket: string,
  exited: () => string | undefined,
  logFile: string | undefined,
): Promise<Rec> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const st = await probe(socket);
    if (st) return st;
    const why = exited();
    if (why !== undefined || Date.now() > deadline) {
      let detail = why ?? 'it did not answer within 15 s';
      if (logFile) {
        const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n') : [];
        const last =
          [...tail].reverse().find((l) => l.startsWith('hephd:')) ?? tail[tail.length - 1];
        if (last) detail += `: ${last.replace(/^hephd: /, '')}`;
        detail += ` (log: ${logFile})`;
      }
      throw new HephError('unavailable', `hephd did not start; ${detail}`);
    }
    await sleep(100);
  }
}

/** Checks and keeps the options for this start; hephd's arguments, and whether they changed. */
async function keep(cli: Cli, a: Args, f: Files): Promise<{ args: string[]; changed: boolean }> {
  const before = readDaemonOptions(cli.env);
  const kept = await optionsFor(cli, a, f.socket);
  const changed = JSON.stringify(asFlags(kept)) !== JSON.stringify(asFlags(before));
  if (changed) writeDaemonOptions(cli.env, kept);
  return { args: hephdArgs(cli, a, f.socket, kept), changed };
}

/** `heph daemon status`'s exit code when nothing answers: the error table's for unavailable. */
const NOT_RUNNING_EXIT = wireFor('unavailable').exit;

const CHANGED = 'hephd is running; its options changed, run `heph daemon restart` to apply them';

async function startDetached(cli: Cli, a: Args, f: Files): Promise<Output> {
  const { args, changed } = await keep(cli, a, f);
  const running = await probe(f.socket);
  if (running) {
    const heading = changed ? CHANGED : 'hephd is already running';
    return report(heading, 'detached', f, running, { action: 'none' });
  }
  mkdirSync(dirname(f.logFile), { recursive: true, mode: 0o700 });
  const fd = openSync(f.logFile, 'a', 0o600);
  let exitedWith: string | undefined;
  try {
    // `heph daemon` starts mode local only (its --mode takes nothing else).
    const flags = hephdNodeFlags('local');
    const child = spawn(process.execPath, [...flags, cli.hephdPath, ...args], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...cli.env },
    });
    child.on('exit', (code, signal) => {
      exitedWith = `it exited with ${code ?? signal ?? 'an error'}`;
    });
    child.on('error', (e) => {
      exitedWith = `it could not be run (${e.message})`;
    });
    if (child.pid !== undefined) writeFileSync(f.pidFile, `${child.pid}\n`);
    child.unref();
  } finally {
    closeSync(fd);
  }
  const st = await waitUntilUp(f.socket, () => exitedWith, f.logFile);
  return report('hephd started', 'detached', f, st, { action: 'started' });
}

/** SIGTERM, then waits up to 10 s for the process to be gone. */
async function terminate(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
  if (alive(pid)) {
    throw new HephError(
      'unavailable',
      `hephd (pid ${pid}) did not stop within 10 s; it may still be finishing work`,
      { pid },
    );
  }
}

async function stopDetached(f: Files): Promise<Output> {
  const st = await probe(f.socket);
  let pid = readPid(f.pidFile);
  if (pid === undefined || !alive(pid) || !looksLikeHephd(pid)) {
    pid = typeof st?.pid === 'number' ? st.pid : undefined;
  }
  if (pid === undefined || !alive(pid)) {
    rmSync(f.pidFile, { force: true });
    return report('hephd is not running', 'detached', f, undefined, { action: 'none' });
  }
  await terminate(pid);
  rmSync(f.pidFile, { force: true });
  return report('hephd stopped', 'detached', f, undefined, { action: 'stopped', stopped_pid: pid });
}

async function startSystemd(cli: Cli, a: Args, f: Files): Promise<Output> {
  const unit = renderUnit({
    node: process.execPath,
    hephd: cli.hephdPath,
    args: (await keep(cli, a, f)).args,
  });
  const old = existsSync(f.unitFile) ? readFileSync(f.unitFile, 'utf8') : undefined;
  if (old !== unit) {
    mkdirSync(dirname(f.unitFile), { recursive: true });
    writeFileSync(f.unitFile, unit);
    systemctl('daemon-reload');
  }
  if (systemctl('is-active', '--quiet', UNIT_NAME).ok) {
    const st = await probe(f.socket);
    const heading = old !== unit ? CHANGED : 'hephd is already running';
    return report(heading, 'systemd', f, st, { action: 'none' });
  }
  const r = systemctl('enable', '--now', UNIT_NAME);
  if (!r.ok)
    throw new HephError(
      'unavailable',
      `systemctl --user enable --now ${UNIT_NAME} failed: ${r.out}`,
    );
  const st = await waitUntilUp(
    f.socket,
    () => (systemctl('is-failed', '--quiet', UNIT_NAME).ok ? 'the unit failed' : undefined),
    undefined,
  );
  return report('hephd started', 'systemd', f, st, { action: 'started' });
}

interface Stopped {
  /** Something answered on the socket before. */
  was: boolean;
  pid?: number;
  /** The one stopped was not the unit's: a hephd started by hand (or by another unit). */
  outside?: true;
}

/**
 * Stops the unit (uninstall: and disables it), then whatever still answers on the socket: a
 * hephd started by hand, or by another unit, holds it and the database, and `stop` is asked for
 * the daemon on this socket, not only for the service.
 */
async function stopSystemd(f: Files, verb: 'stop' | 'uninstall'): Promise<Stopped> {
  const before = await probe(f.socket);
  // A unit never installed has nothing to stop (systemctl would fail on it: not loaded).
  if (existsSync(f.unitFile)) {
    const args = verb === 'stop' ? ['stop', UNIT_NAME] : ['disable', '--now', UNIT_NAME];
    const r = systemctl(...args);
    if (!r.ok) {
      throw new HephError('unavailable', `systemctl --user ${args.join(' ')} failed: ${r.out}`);
    }
  }
  const left = await probe(f.socket);
  const pid = typeof left?.pid === 'number' ? left.pid : undefined;
  if (pid === undefined) {
    return {
      was: before !== undefined,
      ...(typeof before?.pid === 'number' && { pid: before.pid }),
    };
  }
  try {
    await terminate(pid);
  } catch (e) {
    throw new HephError(
      'unavailable',
      `hephd (pid ${pid}) on ${f.socket} was not started by ${UNIT_NAME} and still runs ` +
        `(${(e as Error).message}); stop it with kill ${pid}`,
      { pid },
    );
  }
  return { was: true, pid, outside: true };
}

/** What `stop` and `uninstall` report of a stop under systemd. */
function stoppedData(s: Stopped): Rec {
  return {
    action: s.was ? 'stopped' : 'none',
    ...(s.pid !== undefined && { stopped_pid: s.pid }),
    ...(s.outside && { outside_unit: true }),
  };
}

function stoppedHeading(s: Stopped): string {
  if (!s.was) return 'hephd is not running';
  return s.outside ? `hephd stopped (pid ${s.pid}, started outside ${UNIT_NAME})` : 'hephd stopped';
}

function retitle(out: Output, heading: string): Output {
  return out.kind === 'summary' ? { ...out, heading } : out;
}

export async function daemon(cli: Cli, a: Args, verb: DaemonVerb): Promise<Output> {
  const manager = detectManager(a);
  const state = stateDir(cli.env);
  const f: Files = {
    env: cli.env,
    socket: await cli.socketPath(),
    pidFile: join(state, 'hephd.pid'),
    logFile: join(state, 'hephd.log'),
    unitFile: unitPath(cli.env),
  };
  switch (verb) {
    case 'status': {
      const st = await probe(f.socket);
      if (st !== undefined) return report('hephd is running', manager, f, st);
      // Not running is the answer a script asks status for: the report, and the exit code of
      // "the daemon is not running" (5, as every command that cannot reach it).
      return { ...report('hephd is not running', manager, f, st), exit: NOT_RUNNING_EXIT };
    }
    case 'start':
      return manager === 'systemd' ? startSystemd(cli, a, f) : startDetached(cli, a, f);
    case 'stop': {
      if (manager !== 'systemd') return stopDetached(f);
      const stopped = await stopSystemd(f, 'stop');
      return report(stoppedHeading(stopped), manager, f, undefined, stoppedData(stopped));
    }
    case 'restart':
      if (manager === 'systemd') {
        await startSystemd(cli, a, f); // installs or refreshes the unit
        const r = systemctl('restart', UNIT_NAME);
        if (!r.ok)
          throw new HephError(
            'unavailable',
            `systemctl --user restart ${UNIT_NAME} failed: ${r.out}`,
          );
        const st = await waitUntilUp(f.socket, () => undefined, undefined);
        return report('hephd restarted', manager, f, st, { action: 'restarted' });
      }
      await stopDetached(f);
      return retitle(await startDetached(cli, a, f), 'hephd restarted');
    case 'uninstall': {
      if (manager === 'systemd') {
        const stopped = await stopSystemd(f, 'uninstall');
        rmSync(f.unitFile, { force: true });
        systemctl('daemon-reload');
        forgetDaemonOptions(cli.env);
        const heading = `${stoppedHeading(stopped)}, its unit removed and its options forgotten`;
        return report(heading, manager, f, undefined, {
          ...stoppedData(stopped),
          action: 'uninstalled',
        });
      }
      const stopped = await stopDetached(f);
      forgetDaemonOptions(cli.env);
      return retitle(stopped, 'hephd is stopped and its kept options are forgotten');
    }
  }
}
