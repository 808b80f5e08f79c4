// A tool for profiling initial_sync_100k_s, not a benchmark module:
//   node dist/bench/profile-sync.js [--hub-db FILE] [--runs N] [--cpu-prof DIR] [--node-flag F]…
//     [--gc 1] [--floor 1]
// Builds the spoke module's hub (100,000 ops) once and keeps its database in FILE (reused when it
// exists, so a run costs the sync alone), then, N times, starts a hub on a copy of it and a fresh
// spoke, and reports the wall time to "in sync" like the bench, plus the CPU time (user + system)
// each process spent in that window, read from /proc. With --cpu-prof both processes write V8 CPU
// profiles into DIR (they are stopped with SIGTERM, so the profiles are flushed). Each
// --node-flag is added to both processes' node flags (--trace-gc, --max-semi-space-size=16, …).
// With --gc 1 both run with --trace-gc-nvp, and the spoke's collections up to "in sync" are
// summed: what scavenges promoted and copied within the young generation is what they cost.
// With --floor 1, once the spoke is in sync, the plain client (bench/plain-sync.ts) pulls the same
// hub into this process: initial_sync_floor_s as the bench measures it.

import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ManualClock } from '../src/ports/clock.js';
import { seededRandom } from '../src/ports/random.js';
import { openStore } from '../src/store/open-store.js';
import {
  connectWhenUp,
  generate,
  extraNodeFlags,
  opCount,
  plainFloor,
  pushAll,
  spawned,
  startHub,
  startSpoke,
  stdoutReader,
  waitSynced,
} from './spoke.js';
import { nowMs } from './stats.js';
import type { BenchContext } from './types.js';

interface Args {
  hubDb: string;
  runs: number;
  cpuProf: string | undefined;
  nodeFlags: string[];
  gc: boolean;
  floor: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    hubDb: join(tmpdir(), 'heph-profile-hub.db'),
    runs: 1,
    cpuProf: undefined,
    nodeFlags: [],
    gc: false,
    floor: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[++i];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === '--hub-db') a.hubDb = resolve(v);
    else if (k === '--runs') a.runs = Number(v);
    else if (k === '--cpu-prof') a.cpuProf = resolve(v);
    else if (k === '--node-flag') a.nodeFlags.push(v);
    else if (k === '--gc') a.gc = v === '1';
    else if (k === '--floor') a.floor = v === '1';
    else {
      throw new Error(
        `unknown argument ${k}; use --hub-db FILE, --runs N, --cpu-prof DIR, --node-flag FLAG, ` +
          '--gc 1, --floor 1',
      );
    }
  }
  return a;
}

const log = (m: string): void => void process.stderr.write(`${m}\n`);

/** CPU seconds (user + system) a live process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime), counted from the state field (3): indexes 11, 12.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Collections of one process, summed from its --trace-gc-nvp lines. */
interface GcSums {
  scavenges: number;
  scavengeMs: number;
  promotedBytes: number;
  copiedBytes: number;
  fullGcs: number;
  fullGcMs: number;
}

const gcOf = new Map<number, GcSums>();

/** Sums the --trace-gc-nvp lines a process writes to its stdout (into gcOf, by pid). */
function readGc(child: ChildProcess): void {
  const sums: GcSums = {
    scavenges: 0,
    scavengeMs: 0,
    promotedBytes: 0,
    copiedBytes: 0,
    fullGcs: 0,
    fullGcMs: 0,
  };
  gcOf.set(child.pid!, sums);
  let rest = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const field = (name: string): number => {
        const m = new RegExp(` ${name}=([0-9.]+)`).exec(line);
        return m ? Number(m[1]) : 0;
      };
      if (line.includes(' gc=s ')) {
        sums.scavenges++;
        sums.scavengeMs += field('pause');
        sums.promotedBytes += field('promoted');
        sums.copiedBytes += field('new_space_survived');
      } else if (line.includes(' gc=mc ')) {
        sums.fullGcs++;
        sums.fullGcMs += field('pause');
      }
    }
  });
}

function formatGc(g: GcSums): string {
  const mb = (b: number): string => (b / 1e6).toFixed(1);
  return (
    `${g.scavenges} scavenges (pause ${g.scavengeMs.toFixed(0)} ms) promoted ` +
    `${mb(g.promotedBytes)} MB and copied ${mb(g.copiedBytes)} MB within the young generation; ` +
    `${g.fullGcs} mark-compacts (pause ${g.fullGcMs.toFixed(0)} ms)`
  );
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = once(child, 'exit');
  child.kill(signal);
  await gone;
}

async function buildHubDb(path: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'heph-profile-build-'));
  try {
    const ctx: BenchContext = {
      quick: false,
      size: (full) => full,
      tempDir: () => dir,
      figures: {},
      progress: log,
    };
    const clock = new ManualClock(Date.now() - 30 * 60_000);
    const src = openStore({ path: join(dir, 'source.db') }, { clock, random: seededRandom(67) });
    // A hub keeps its store as hub.db in the directory of --db: built there, then copied.
    const hub = await startHub(dir);
    try {
      generate(ctx, src, clock, 10_000);
      log(`pushed ${await pushAll(hub.url, src)} ops`);
    } finally {
      src.close();
      await stop(hub.proc.child, 'SIGTERM');
    }
    copyFileSync(join(dir, 'hub.db'), path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(a: Args, n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'heph-profile-'));
  try {
    copyFileSync(a.hubDb, join(dir, 'hub.db'));
    const hub = await startHub(dir, join(dir, 'hub.db'));
    const hc = await connectWhenUp(hub.proc, hub.socket);
    const ops = await opCount(hc);
    await hc.close();
    const hubCpu0 = cpuSeconds(hub.proc.child.pid!);
    const t0 = nowMs();
    const s = startSpoke(dir, hub.url);
    const c = await connectWhenUp(s.proc, s.socket);
    const synced = await waitSynced(s.proc, c, ops, 300_000);
    const wall = (synced.at - t0) / 1000;
    const spokeCpu = cpuSeconds(s.proc.child.pid!);
    const gc = gcOf.get(s.proc.child.pid!);
    const spokeGc = gc && { ...gc };
    const hubCpu = cpuSeconds(hub.proc.child.pid!) - hubCpu0;
    log(
      `run ${n}: ${ops} ops in sync after ${wall.toFixed(2)} s; CPU spoke ${spokeCpu.toFixed(2)} s, ` +
        `hub ${hubCpu.toFixed(2)} s; slowest status poll ${synced.slowestPollMs.toFixed(0)} ms`,
    );
    if (spokeGc) log(`run ${n}: spoke GC until in sync: ${formatGc(spokeGc)}`);
    if (a.floor) {
      const ctx = { tempDir: () => mkdtempSync(join(dir, 'plain-')), progress: log };
      const c0 = process.cpuUsage();
      const floorS = await plainFloor(ctx, hub.url, c);
      const c1 = process.cpuUsage(c0);
      log(
        `run ${n}: floor ${floorS.toFixed(2)} s, CPU ${((c1.user + c1.system) / 1e6).toFixed(2)} s`,
      );
    }
    await c.close();
    await stop(s.proc.child, a.cpuProf ? 'SIGTERM' : 'SIGKILL');
    await stop(hub.proc.child, a.cpuProf ? 'SIGTERM' : 'SIGKILL');
  } finally {
    for (const child of spawned) await stop(child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.cpuProf) extraNodeFlags.push('--cpu-prof', '--cpu-prof-dir', a.cpuProf);
  extraNodeFlags.push(...a.nodeFlags);
  if (a.gc) {
    extraNodeFlags.push('--trace-gc-nvp');
    stdoutReader.read = readGc;
  }
  if (!existsSync(a.hubDb)) {
    log(`building the hub database ${a.hubDb}`);
    const flags = extraNodeFlags.splice(0);
    await buildHubDb(a.hubDb);
    extraNodeFlags.push(...flags);
  }
  for (let i = 1; i <= a.runs; i++) await run(a, i);
}

main().catch((e: unknown) => {
  log(`profile-sync failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
