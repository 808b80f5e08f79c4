// Floors: what the machine itself can do, measured in the same run as the figures compared with
// them. A plain batched SQLite insert of op-sized rows, a bare unix-socket echo round trip
// between two processes, and the start-up time of an empty Node process.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { ulidFactory } from '../src/core/ulid-factory.js';
import { seededRandom } from '../src/ports/random.js';
import { medianIfShort, medianOf, median, nowMs, perSecond } from './stats.js';
import { startReady } from './line-server.js';
import type { BenchContext, BenchModule, FigureMeta } from './types.js';

const BATCH = 1000;
/** Runs of the raw insert; the median is the figure. */
const INSERT_RUNS = 5;

export const floorFigures: FigureMeta[] = [
  {
    name: 'raw_insert_rows_per_s',
    unit: 'rows/s',
    description:
      'Plain better-sqlite3 insert of 100,000 op-sized rows (34-char id primary key, kind, ' +
      '26-char target, ~100-byte JSON payload) in transactions of 1,000; WAL, ' +
      `synchronous=NORMAL; the median of ${INSERT_RUNS} runs, each into a new file, after a ` +
      'warm-up run of the same size',
  },
  {
    name: 'raw_insert_durable_rows_per_s',
    unit: 'rows/s',
    description:
      'The same insert with synchronous=FULL, the durability a hub gives a push (each ' +
      'transaction of 1,000 rows is on disk when it commits: one fsync of the WAL each). Not a ' +
      'target’s floor; shown so push_ops_per_s can be read beside the disk’s own cost',
  },
  {
    name: 'echo_rtt_p50_us',
    unit: 'µs',
    description:
      'Median round trip of one small JSON line to a bare echo server in another process over ' +
      'a unix socket (20,000 round trips after warm-up)',
  },
  {
    name: 'node_startup_ms',
    unit: 'ms',
    description: 'Median wall time of spawning `node -e 0` (20 spawns)',
  },
];

type Row = [id: string, kind: string, target: string, payload: string];

/** Op-shaped rows in id order, like a replica's log. */
function opRows(count: number, seed: number): Row[] {
  const random = seededRandom(seed);
  const ulid = ulidFactory(random);
  const origin = 'bb6c3a069c514758';
  const start = Date.UTC(2026, 0, 1);
  const targets = Array.from({ length: Math.max(1, Math.ceil(count / 10)) }, (_, i) =>
    ulid(start + i),
  );
  const stamp = (i: number): string =>
    `${(start + i).toString(16).padStart(12, '0')}-0000-${origin}`;
  const rows: Row[] = [];
  for (let i = 0; i < count; i++) {
    const target = targets[Math.floor(random.next() * targets.length)]!;
    const title = `Task ${i} ${Math.floor(random.next() * 1e9).toString(36)}`.padEnd(24, '.');
    const payload = JSON.stringify({ field: 'title', prev: [stamp(i - 1)], value: title });
    rows.push([stamp(i), 'node.set', target, payload]);
  }
  return rows;
}

function insertRows(path: string, rows: readonly Row[], sync = 'NORMAL'): number {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${sync}`);
    db.exec(
      'CREATE TABLE ops (id TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, ' +
        'payload TEXT NOT NULL)',
    );
    const ins = db.prepare('INSERT INTO ops (id, kind, target, payload) VALUES (?, ?, ?, ?)');
    const batch = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) ins.run(rows[i]!);
    });
    const t0 = nowMs();
    for (let i = 0; i < rows.length; i += BATCH) batch(i, Math.min(i + BATCH, rows.length));
    return nowMs() - t0;
  } finally {
    db.close();
  }
}

async function rawInsert(ctx: BenchContext, sync: 'NORMAL' | 'FULL'): Promise<number> {
  const count = ctx.size(100_000, 10_000);
  const rows = opRows(count, 1);
  const avgPayload = rows.reduce((n, r) => n + r[3].length, 0) / rows.length;
  const label = `raw insert (synchronous=${sync})`;
  ctx.progress(`${label}: ${count} rows, payload ${avgPayload.toFixed(0)} bytes on average`);
  const dir = ctx.tempDir();
  // A whole run as warm-up: the first run of a process measured up to 40% below the next ones.
  insertRows(join(dir, `warmup-${sync}.db`), opRows(count, 2), sync);
  const best = await medianOf(
    ctx.size(INSERT_RUNS, 3),
    (attempt) => {
      const path = join(dir, `raw-${sync}-${attempt}.db`);
      const ms = insertRows(path, rows, sync);
      // Each run writes a new file; the last one's pages are not left for the next to flush.
      rmSync(path);
      rmSync(`${path}-wal`, { force: true });
      rmSync(`${path}-shm`, { force: true });
      return { ms, value: perSecond(count, ms) };
    },
    (s, attempt) => ctx.progress(`${label} run ${attempt}: ${s.value.toFixed(0)} rows/s`),
  );
  ctx.progress(
    `${label}: median ${best.value.toFixed(0)} rows/s ` +
      `(runs from ${best.min.toFixed(0)} to ${best.max.toFixed(0)})`,
  );
  return best.value;
}

function startEchoServer(socketPath: string): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('./echo-server.js', import.meta.url));
  return startReady('echo server', script, [socketPath]);
}

/** A client that sends one line and waits for its echo. */
function lineClient(socket: Socket): (line: string) => Promise<void> {
  let waiting: (() => void) | undefined;
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    const nl = pending.indexOf('\n');
    if (nl !== -1 && waiting) {
      pending = pending.slice(nl + 1);
      const w = waiting;
      waiting = undefined;
      w();
    }
  });
  return (line) =>
    new Promise<void>((resolve) => {
      waiting = resolve;
      socket.write(line);
    });
}

async function echoRtt(ctx: BenchContext): Promise<number> {
  const trips = ctx.size(20_000, 2_000);
  const socketPath = join(ctx.tempDir(), 'echo.sock');
  const server = await startEchoServer(socketPath);
  const socket = connect(socketPath);
  try {
    await once(socket, 'connect');
    const send = lineClient(socket);
    const line = (i: number): string =>
      JSON.stringify({ jsonrpc: '2.0', id: i, method: 'ping', params: {} }) + '\n';
    for (let i = 0; i < 2000; i++) await send(line(i));
    const best = await medianIfShort(
      async () => {
        const rtts = new Float64Array(trips);
        const t0 = nowMs();
        for (let i = 0; i < trips; i++) {
          const s = process.hrtime.bigint();
          await send(line(i));
          rtts[i] = Number(process.hrtime.bigint() - s) / 1000;
        }
        return { ms: nowMs() - t0, value: median(Array.from(rtts)) };
      },
      (s, attempt) =>
        ctx.progress(`echo run ${attempt}: ${trips} round trips, p50 ${s.value.toFixed(1)} µs`),
    );
    return best.value;
  } finally {
    socket.destroy();
    server.kill('SIGTERM');
    if (server.exitCode === null) await once(server, 'exit');
  }
}

async function spawnNodeMs(): Promise<number> {
  const t0 = nowMs();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number | null];
  const ms = nowMs() - t0;
  if (code !== 0) throw new Error(`node -e 0 exited with ${code}`);
  return ms;
}

async function nodeStartup(ctx: BenchContext): Promise<number> {
  const spawns = ctx.size(20, 5);
  for (let i = 0; i < 2; i++) await spawnNodeMs();
  const best = await medianIfShort(
    async () => {
      const times: number[] = [];
      const t0 = nowMs();
      for (let i = 0; i < spawns; i++) times.push(await spawnNodeMs());
      return { ms: nowMs() - t0, value: median(times) };
    },
    (s, attempt) => ctx.progress(`node startup run ${attempt}: median ${s.value.toFixed(1)} ms`),
  );
  return best.value;
}

export const floors: BenchModule = {
  name: 'floors',
  figures: floorFigures,
  async run(ctx) {
    return {
      raw_insert_rows_per_s: await rawInsert(ctx, 'NORMAL'),
      raw_insert_durable_rows_per_s: await rawInsert(ctx, 'FULL'),
      echo_rtt_p50_us: await echoRtt(ctx),
      node_startup_ms: await nodeStartup(ctx),
    };
  },
};
