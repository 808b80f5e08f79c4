// Daemon figures: a real hephd process (bin/hephd.js, built) on a temp database and socket,
// driven through the same socket client the CLI uses. Round-trip latency of reads, sequential
// and pipelined throughput, how long a restart after kill -9 takes until a call succeeds, and
// the daemon's resident memory idle, right after 100,000 ops were written through it, and once
// it has gone quiet after them.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, type RpcClient } from '../src/transport/socket-client.js';
import { median, nowMs, percentile, perSecond, medianIfShort } from './stats.js';
import type { BenchContext, BenchModule, FigureMeta } from './types.js';
import { hephdNodeFlags } from '../src/config/node-flags.js';
import { IDLE_TRIM_MS } from '../src/daemon/idle-trim.js';
import { prepareWriteFloor, startWriteFloor } from './write-floor.js';

const HEPHD = fileURLToPath(new URL('../../bin/hephd.js', import.meta.url));
const IN_FLIGHT = 100;
/** How daemon_rss_mb_100k waits for the daemon to settle once the burst is over. */
const RSS_POLL_MS = 250;
const RSS_STABLE_MB = 1;
const STABLE_WINDOW_MS = IDLE_TRIM_MS + 3000;
const SETTLE_MAX_MS = 60_000;

export const daemonFigures: FigureMeta[] = [
  {
    name: 'rpc_read_p50_us',
    unit: 'µs',
    floor: 'echo_rtt_p50_us',
    target: { op: '<=', value: 3, relative: true },
    description:
      'Median round trip of node.get (a doc with a 200-byte body) from the socket client the CLI ' +
      'uses to a hephd process, one connection, 20,000 sequential calls after 2,000 warm-up calls',
  },
  {
    name: 'rpc_read_p99_us',
    unit: 'µs',
    floor: 'echo_rtt_p50_us',
    description: '99th percentile of the same node.get round trips',
  },
  {
    name: 'rpc_write_floor_per_s',
    unit: 'calls/s',
    description:
      'The floor of rpc_write_per_s: the same calls from the same client to a server that only ' +
      'writes the rows of one task.create (its ops, two node rows, a link) under new ids into a ' +
      "heph database with hephd's pragmas and indexes, one transaction per call, and replies as " +
      'large (bench/write-floor.ts)',
  },
  {
    name: 'rpc_write_per_s',
    unit: 'calls/s',
    floor: 'rpc_write_floor_per_s',
    target: { op: '>=', value: 3000 },
    description:
      'Sequential task.create calls (one in flight, each its own transaction: the task, its ' +
      'context doc and their link) over one connection, 5,000 after 500 warm-up calls',
  },
  {
    name: 'rpc_pipelined_per_s',
    unit: 'calls/s',
    description: `node.get over one connection with ${IN_FLIGHT} calls in flight, 50,000 calls`,
  },
  {
    name: 'restart_after_kill_ms',
    unit: 'ms',
    target: { op: '<=', value: 1000 },
    description:
      'kill -9 of a daemon holding 100,000+ ops, then spawning hephd until a first call ' +
      '(rpc.methods) succeeds: stale socket removed, database reopened; median of 5',
  },
  {
    name: 'daemon_rss_floor_mb',
    unit: 'MB',
    description:
      'Resident memory of a node process (same flags as hephd) that only loads what hephd ' +
      'cannot run without: better-sqlite3 with a WAL database open, zod, yjs, pino, rrule, and a ' +
      'listening unix socket; measured the same way, 1 s after start',
  },
  {
    name: 'daemon_rss_mb_idle',
    unit: 'MB',
    floor: 'daemon_rss_floor_mb',
    target: { op: '<=', value: 60 },
    description: 'Resident memory of a fresh daemon on an empty database after its first call',
  },
  {
    name: 'daemon_rss_mb_100k_busy',
    unit: 'MB',
    description:
      'Resident memory of the same daemon 200 ms after the last of 100,000+ ops written through ' +
      `it (pipelined task.create and task.update, ${IN_FLIGHT} in flight): right after the burst`,
  },
  {
    name: 'daemon_rss_mb_100k',
    unit: 'MB',
    target: { op: '<=', value: 120 },
    description:
      'Resident memory of that daemon once it has gone idle after the burst: RSS polled every ' +
      `${RSS_POLL_MS} ms from the end of the burst until it stayed within ${RSS_STABLE_MB} MB for ` +
      `${STABLE_WINDOW_MS / 1000} s (longer than the daemon's ${IDLE_TRIM_MS / 1000} s idle ` +
      `delay before it gives memory back), at most ${SETTLE_MAX_MS / 1000} s; no call is made meanwhile`,
  },
];

export interface Running {
  child: ChildProcess;
  socket: string;
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Every daemon this module started; any still alive when it finishes is killed. */
const spawned = new Set<ChildProcess>();

export function spawnDaemon(dir: string): Running {
  const socket = join(dir, 'd.sock');
  const child = spawn(
    process.execPath,
    [
      ...hephdNodeFlags('local'),
      HEPHD,
      '--db',
      join(dir, 'heph.db'),
      '--socket',
      socket,
      '--log-level',
      'silent',
    ],
    {
      // No config file or HEPH_* settings from the caller's environment.
      env: { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  return {
    child,
    socket,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = once(child, 'exit');
      child.kill('SIGTERM');
      await gone;
    },
  };
}

/**
 * Connects and makes one call until it succeeds; fails if the daemon exits first. The call is
 * rpc.methods, which touches no data: `status` computes the state digest, which grows with
 * the database and would be measured instead of the restart.
 */
export async function firstCall(d: Running, timeoutMs = 60_000): Promise<RpcClient> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    if (d.child.exitCode !== null) throw new Error(`hephd exited with ${d.child.exitCode}`);
    try {
      const c = await connect(d.socket);
      try {
        await c.call('rpc.methods');
        return c;
      } catch (e) {
        await c.close();
        throw e;
      }
    } catch {
      if (nowMs() > deadline) throw new Error(`hephd did not answer within ${timeoutMs} ms`);
      await sleep(2);
    }
  }
}

const run = promisify(execFile);

/** The floor of daemon_rss_mb_idle: hephd's required packages loaded, nothing of heph's own. */
async function rssFloorMb(dir: string): Promise<number> {
  const code = [
    `const db = new (require('better-sqlite3'))(${JSON.stringify(join(dir, 'floor.db'))});`,
    "db.pragma('journal_mode = WAL'); db.exec('CREATE TABLE t (a)');",
    "require('zod'); require('yjs'); require('pino'); require('rrule');",
    `require('node:net').createServer().listen(${JSON.stringify(join(dir, 'floor.sock'))});`,
    'setInterval(() => {}, 1000);',
  ].join('\n');
  const child = spawn(process.execPath, [...hephdNodeFlags('local'), '-e', code], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  try {
    await sleep(1000);
    if (child.exitCode !== null) throw new Error(`the floor process exited with ${child.exitCode}`);
    return await rssMb(child.pid!);
  } finally {
    const gone = once(child, 'exit');
    child.kill('SIGKILL');
    await gone;
  }
}

/**
 * The CPU time (user and system) a process has used so far, in ms, from /proc/<pid>/stat
 * (Linux), or undefined where there is none. Fields 14 and 15 are in clock ticks (CLK_TCK).
 */
function cpuMs(pid: number, ticksPerS: number): number | undefined {
  if (process.platform !== 'linux') return undefined;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After the command name (in parentheses, which may hold spaces) come fields 3, 4, ...
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerS;
}

/**
 * The daemon's own CPU per call of `method` (sequential calls on one connection, after 5 of
 * warm-up), read from /proc around them: what the call costs the daemon, apart from the client
 * and from the wait for a core on a loaded machine. Undefined where /proc is not there.
 */
export async function daemonCpuPerCallMs(
  d: Running,
  method: string,
  params: Record<string, unknown>,
  calls: number,
): Promise<number | undefined> {
  const pid = d.child.pid!;
  const ticks = Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
  const c = await connect(d.socket);
  try {
    for (let i = 0; i < 5; i++) await c.call(method, params);
    const before = cpuMs(pid, ticks);
    for (let i = 0; i < calls; i++) await c.call(method, params);
    const after = cpuMs(pid, ticks);
    return before === undefined || after === undefined ? undefined : (after - before) / calls;
  } finally {
    await c.close();
  }
}

async function rssMb(pid: number): Promise<number> {
  if (process.platform === 'linux') {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) return Number(m[1]) / 1024;
  }
  const { stdout } = await run('ps', ['-o', 'rss=', '-p', String(pid)]);
  return Number(stdout.trim()) / 1024;
}

/**
 * Polls a quiet daemon's RSS until it has stayed within RSS_STABLE_MB for STABLE_WINDOW_MS
 * (or SETTLE_MAX_MS passed); returns the last sample and when the settling ended.
 */
async function settledRssMb(pid: number): Promise<{ mb: number; afterMs: number }> {
  const t0 = nowMs();
  const samples: { t: number; mb: number }[] = [];
  for (;;) {
    const t = nowMs() - t0;
    samples.push({ t, mb: await rssMb(pid) });
    const last = samples.at(-1)!;
    const window = samples.filter((x) => x.t >= t - STABLE_WINDOW_MS);
    const stable =
      t >= STABLE_WINDOW_MS && window.every((x) => Math.abs(x.mb - last.mb) <= RSS_STABLE_MB);
    if (stable || t >= SETTLE_MAX_MS) {
      // The moment RSS last moved by more than the tolerance: when the daemon settled.
      const moved = samples.findLast((x) => Math.abs(x.mb - last.mb) > RSS_STABLE_MB);
      return { mb: last.mb, afterMs: moved?.t ?? 0 };
    }
    await sleep(RSS_POLL_MS);
  }
}

async function status(c: RpcClient): Promise<{ ops: number }> {
  return (await c.call('status')) as { ops: number };
}

/** Runs `count` calls with `inFlight` outstanding at a time; returns the wall time in ms. */
async function pipelined(
  count: number,
  inFlight: number,
  call: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const t0 = nowMs();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next < count) await call(next++);
    }),
  );
  return nowMs() - t0;
}

async function readLatency(ctx: BenchContext, c: RpcClient, ids: string[]) {
  const calls = ctx.size(20_000, 2_000);
  for (let i = 0; i < 2000; i++) await c.call('node.get', { id: ids[i % ids.length]! });
  return medianIfShort(
    async () => {
      const rtts = new Float64Array(calls);
      const t0 = nowMs();
      for (let i = 0; i < calls; i++) {
        const s = process.hrtime.bigint();
        await c.call('node.get', { id: ids[i % ids.length]! });
        rtts[i] = Number(process.hrtime.bigint() - s) / 1000;
      }
      const all = Array.from(rtts);
      return { ms: nowMs() - t0, value: median(all), p99: percentile(all, 99) };
    },
    (s, attempt) =>
      ctx.progress(`read run ${attempt}: p50 ${s.value.toFixed(1)} µs, p99 ${s.p99.toFixed(1)} µs`),
  );
}

async function writeRate(ctx: BenchContext, c: RpcClient, label = 'write'): Promise<number> {
  const calls = ctx.size(5_000, 500);
  let n = 0;
  const create = () => c.call('task.create', { title: `Bench task ${n++}` });
  for (let i = 0; i < 500; i++) await create();
  const best = await medianIfShort(
    async () => {
      const t0 = nowMs();
      for (let i = 0; i < calls; i++) await create();
      const ms = nowMs() - t0;
      return { ms, value: perSecond(calls, ms) };
    },
    (s, attempt) => ctx.progress(`${label} run ${attempt}: ${s.value.toFixed(0)} task.create/s`),
  );
  return best.value;
}

/** rpc_write_per_s's calls against the write floor's server (bench/write-floor.ts). */
async function writeFloor(ctx: BenchContext, dir: string): Promise<number> {
  const server = await startWriteFloor(join(dir, 'write-floor.sock'), prepareWriteFloor(dir));
  spawned.add(server);
  server.once('exit', () => spawned.delete(server));
  const c = await connect(join(dir, 'write-floor.sock'));
  try {
    return await writeRate(ctx, c, 'write floor');
  } finally {
    await c.close();
    const gone = once(server, 'exit');
    server.kill('SIGTERM');
    await gone;
  }
}

async function pipelinedReads(ctx: BenchContext, c: RpcClient, ids: string[]): Promise<number> {
  const calls = ctx.size(50_000, 5_000);
  await pipelined(5_000, IN_FLIGHT, (i) => c.call('node.get', { id: ids[i % ids.length]! }));
  const best = await medianIfShort(
    async () => {
      const ms = await pipelined(calls, IN_FLIGHT, (i) =>
        c.call('node.get', { id: ids[i % ids.length]! }),
      );
      return { ms, value: perSecond(calls, ms) };
    },
    (s, attempt) =>
      ctx.progress(
        `pipelined run ${attempt}: ${s.value.toFixed(0)} node.get/s, ${IN_FLIGHT} in flight`,
      ),
  );
  return best.value;
}

/** Writes through the daemon until its log holds `target` ops; a mix of creates and edits. */
async function fillTo(ctx: BenchContext, c: RpcClient, target: number): Promise<number> {
  const t0 = nowMs();
  let ops = (await status(c)).ops;
  let round = 0;
  const tasks: string[] = [];
  while (ops < target) {
    const batch = Math.max(IN_FLIGHT, Math.min(10_000, Math.ceil((target - ops) / 2)));
    await pipelined(batch, IN_FLIGHT, async (i) => {
      if (tasks.length < 100 || i % 2 === 0) {
        const r = (await c.call('task.create', {
          title: `Fill ${round}-${i}`,
          body: `Notes for task ${i}: `.padEnd(120, 'x'),
        })) as { task: { id: string } };
        tasks.push(r.task.id);
      } else {
        await c.call('task.update', {
          id: tasks[(i * 7919) % tasks.length]!,
          title: `Edited ${round}-${i}`,
        });
      }
    });
    round++;
    ops = (await status(c)).ops;
    ctx.progress(`filled ${ops} ops (${((nowMs() - t0) / 1000).toFixed(1)} s)`);
  }
  return ops;
}

async function restartAfterKill(ctx: BenchContext, dir: string, d: Running): Promise<number> {
  const times: number[] = [];
  let current = d;
  for (let i = 0; i < ctx.size(5, 3); i++) {
    const gone = once(current.child, 'exit');
    current.child.kill('SIGKILL');
    await gone;
    const t0 = nowMs();
    current = spawnDaemon(dir);
    const c = await firstCall(current);
    times.push(nowMs() - t0);
    await c.close();
    ctx.progress(`restart ${i + 1}: ${times.at(-1)!.toFixed(0)} ms`);
  }
  await current.stop();
  return median(times);
}

export const daemon: BenchModule = {
  name: 'daemon',
  figures: daemonFigures,
  async run(ctx) {
    const dir = ctx.tempDir();
    const floorMb = await rssFloorMb(dir);
    ctx.progress(`RSS floor (packages only) ${floorMb.toFixed(1)} MB`);
    const d = spawnDaemon(dir);
    try {
      const c = await firstCall(d);
      await sleep(200);
      const rssIdle = await rssMb(d.child.pid!);
      ctx.progress(`idle RSS ${rssIdle.toFixed(1)} MB`);

      const body = 'A line of notes that a context doc might hold. '.repeat(4).slice(0, 200);
      const ids: string[] = [];
      for (let i = 0; i < 1000; i++) {
        const n = (await c.call('node.create', { kind: 'doc', title: `Doc ${i}`, body })) as {
          id: string;
        };
        ids.push(n.id);
      }
      const read = await readLatency(ctx, c, ids);
      const pipelinedPerS = await pipelinedReads(ctx, c, ids);
      const writePerS = await writeRate(ctx, c);
      const writeFloorPerS = await writeFloor(ctx, dir);

      const ops = await fillTo(ctx, c, ctx.size(100_000, 10_000));
      await sleep(200);
      const rssBusy = await rssMb(d.child.pid!);
      ctx.progress(`RSS right after ${ops} ops: ${rssBusy.toFixed(1)} MB`);
      const settled = await settledRssMb(d.child.pid!);
      ctx.progress(
        `RSS once idle: ${settled.mb.toFixed(1)} MB (settled ${(settled.afterMs / 1000).toFixed(1)} s after the burst)`,
      );
      await c.close();

      const restartMs = await restartAfterKill(ctx, dir, d);
      return {
        rpc_read_p50_us: read.value,
        rpc_read_p99_us: read.p99,
        rpc_write_per_s: writePerS,
        rpc_write_floor_per_s: writeFloorPerS,
        rpc_pipelined_per_s: pipelinedPerS,
        restart_after_kill_ms: restartMs,
        daemon_rss_floor_mb: floorMb,
        daemon_rss_mb_idle: rssIdle,
        daemon_rss_mb_100k_busy: rssBusy,
        daemon_rss_mb_100k: settled.mb,
      };
    } finally {
      for (const child of spawned) {
        const gone = once(child, 'exit');
        child.kill('SIGKILL');
        await gone;
      }
    }
  },
};
