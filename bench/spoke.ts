// Spoke figures against real processes: a hub (hephd --mode server on 127.0.0.1, free port) and
// spokes (hephd --mode local --hub-url …) on temp databases and sockets, driven through the
// socket client the CLI uses. How long a fresh device takes to pull a hub's 100,000 ops until it
// is queryable, and how long an edit on one device takes to be visible on another.

import { PROTOCOL_VERSION } from '../src/protocol/sync.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { ManualClock } from '../src/ports/clock.js';
import { seededRandom, type Random } from '../src/ports/random.js';
import { openStore } from '../src/store/open-store.js';
import type { SqliteStore } from '../src/store/sqlite-store.js';
import { connect, type RpcClient } from '../src/transport/socket-client.js';
import { median, nowMs, percentile, perSecond } from './stats.js';
import type { BenchContext, BenchModule, FigureMeta } from './types.js';
import type { Mode } from '../src/config/config.js';
import { hephdNodeFlags } from '../src/config/node-flags.js';
import { plainSync } from './plain-sync.js';

const HEPHD = fileURLToPath(new URL('../../bin/hephd.js', import.meta.url));
const BATCH = 1000;
const POLL_MS = 20;

export const spokeFigures: FigureMeta[] = [
  {
    name: 'initial_sync_100k_s',
    unit: 's',
    floor: 'initial_sync_floor_s',
    target: { op: '<=', value: 3 },
    description:
      'A fresh spoke (hephd --mode local --hub-url) against a hub holding 100,000 ops (10,000 ' +
      'tasks created, then title, attention, state and body edits, pushed in 1,000-op ' +
      'batches): from spawning the process until sync.status shows a success with nothing ' +
      'pending or unpulled and it holds at least the hub’s op count (it names itself too)',
  },
  {
    name: 'initial_sync_floor_s',
    unit: 's',
    description:
      'The same 100,000 ops pulled from the same hub by a plain client in the bench process ' +
      '(heph’s hub client: the same pages, compression and decoding, the next page asked for ' +
      'while one is applied), each page in one SQLite transaction: every op into an op-log ' +
      'table, field sets upserted last-writer-wins into one row per node and field, body ' +
      'updates merged by Yjs alone into one in-memory document per node with each touched ' +
      'text written once per page. No registers, conflicts, node rows, indexes, search, body ' +
      'parts or versions, and no process start (bench/plain-sync.ts); its texts are checked ' +
      'equal to the spoke’s',
  },
  {
    name: 'edit_to_other_device_p50_ms',
    unit: 'ms',
    target: { op: '<=', value: 60 },
    description:
      'Two spokes online against that hub: from a node.update of a task title on one until ' +
      'node.get on the other returns the new title (woken by its node.changed events, checked ' +
      `at least every ${POLL_MS} ms); median of 50 edits`,
  },
  {
    name: 'edit_to_other_device_p95_ms',
    unit: 'ms',
    target: { op: '<=', value: 150 },
    description: '95th percentile of the same 50 edits',
  },
  {
    name: 'edit_to_5_devices_p95_ms',
    unit: 'ms',
    target: { op: '<=', value: 150 },
    description:
      'Five spokes online: edits on one, each watched for on the four others as above; the ' +
      '95th percentile over every reader of 50 edits',
  },
  {
    name: 'burst_1000_pushes',
    unit: 'pushes',
    target: { op: '<=', value: 50 },
    description:
      'How many pushes a spoke made for 1,000 title edits made within one second (sync.status ' +
      'counts them)',
  },
];

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface Proc {
  child: ChildProcess;
  /** The last few KB the process wrote to stderr, for error messages. */
  stderr(): string;
}

/** Every process this module started; any still alive when it finishes is killed. */
export const spawned = new Set<ChildProcess>();

/** Node flags for every hephd this module starts after those of its mode: --cpu-prof when
 *  profiling. */
export const extraNodeFlags: string[] = [];

/** When set, every hephd this module starts has its stdout piped and given to `read` (V8's
 *  --trace-gc* output goes there); otherwise stdout is ignored. */
export const stdoutReader: { read?: (child: ChildProcess) => void } = {};

function spawnHephd(dir: string, mode: Mode, args: string[], logLevel: string): Proc {
  const argv = [
    ...hephdNodeFlags(mode),
    ...extraNodeFlags,
    HEPHD,
    '--mode',
    mode,
    ...args,
    '--log-level',
    logLevel,
  ];
  const child = spawn(process.execPath, argv, {
    // No config file or HEPH_* settings from the caller's environment.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      XDG_CONFIG_HOME: join(dir, 'config'),
    },
    stdio: ['ignore', stdoutReader.read ? 'pipe' : 'ignore', 'pipe'],
  });
  stdoutReader.read?.(child);
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  let tail = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    tail = (tail + d).slice(-8192);
  });
  return { child, stderr: () => tail };
}

export function exited(p: Proc): boolean {
  return p.child.exitCode !== null || p.child.signalCode !== null;
}

/** Kills every spoke (and hub) this module spawned and waits for each to exit. */
export async function killSpawned(): Promise<void> {
  for (const child of spawned) {
    const gone = once(child, 'exit');
    child.kill('SIGKILL');
    await gone;
  }
}

export async function startHub(
  dir: string,
  db = join(dir, 'hub.db'),
): Promise<{ url: string; socket: string; proc: Proc }> {
  const socket = join(dir, 'h.sock');
  const proc = spawnHephd(
    dir,
    'server',
    ['--http-addr', '127.0.0.1:0', '--db', db, '--socket', socket],
    'info',
  );
  const url = await new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const m = /"url":"(http[^"]+)"/.exec(proc.stderr());
      if (m) resolve(m[1]!);
    };
    proc.child.stderr!.on('data', check);
    proc.child.once('exit', (code) => reject(new Error(`hub exited (${code}):\n${proc.stderr()}`)));
  });
  return { url, socket, proc };
}

export function startSpoke(dir: string, hubUrl: string): { socket: string; proc: Proc } {
  const socket = join(dir, 's.sock');
  const proc = spawnHephd(
    dir,
    'local',
    ['--hub-url', hubUrl, '--db', join(dir, 'heph.db'), '--socket', socket],
    'warn',
  );
  return { socket, proc };
}

/** Connects as soon as the daemon's socket answers; fails if it exits first. */
export async function connectWhenUp(
  p: Proc,
  socket: string,
  timeoutMs = 60_000,
): Promise<RpcClient> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    if (exited(p)) throw new Error(`hephd exited (${p.child.exitCode}):\n${p.stderr()}`);
    try {
      return await connect(socket);
    } catch {
      if (nowMs() > deadline) throw new Error(`hephd did not answer within ${timeoutMs} ms`);
      await sleep(2);
    }
  }
}

interface SyncStatus {
  last_success: string | null;
  last_error: { kind: string; message: string; since: string } | null;
  pending: { changes: number; ops: number };
  unpulled: number;
  verdict: string;
}

export async function opCount(c: RpcClient): Promise<number> {
  return ((await c.call('status')) as { ops: number }).ops;
}

/**
 * Polls sync.status until a sync has succeeded with nothing pending or unpulled and the spoke
 * holds at least `ops` ops (a spoke also holds ops of its own, such as the name it gives itself
 * at its first start); resolves with the time the status first said so, and the slowest answer
 * to a poll (how long a call waited while the spoke applied pages).
 */
export async function waitSynced(p: Proc, c: RpcClient, ops: number, timeoutMs: number) {
  const deadline = nowMs() + timeoutMs;
  let last: SyncStatus | undefined;
  let slowestPollMs = 0;
  for (;;) {
    if (exited(p)) throw new Error(`spoke exited (${p.child.exitCode}):\n${p.stderr()}`);
    const asked = nowMs();
    last = (await c.call('sync.status')) as SyncStatus;
    slowestPollMs = Math.max(slowestPollMs, nowMs() - asked);
    const e = last.last_error;
    if (e && e.kind !== 'offline' && nowMs() - Date.parse(e.since) > 10_000) {
      throw new Error(`spoke failing to sync for 10 s: ${JSON.stringify(last)}\n${p.stderr()}`);
    }
    if (last.last_success !== null && last.unpulled === 0 && last.pending.ops === 0) {
      const at = nowMs();
      const held = await opCount(c);
      if (held >= ops) return { at, status: last, slowestPollMs };
    }
    if (nowMs() > deadline) {
      throw new Error(
        `spoke not in sync after ${timeoutMs} ms: ${JSON.stringify(last)}\n${p.stderr()}`,
      );
    }
    await sleep(POLL_MS);
  }
}

const ATTENTION = ['white', 'orange', 'red', 'blue'] as const;
const WORDS = ['review', 'draft', 'call', 'fix', 'plan', 'order', 'write', 'check', 'book', 'pay'];

function phrase(r: Random, n: number): string {
  return Array.from({ length: n }, () => WORDS[Math.floor(r.next() * WORDS.length)]!).join(' ');
}

/**
 * Writes `tasks` tasks and then edits to them on a source store until its log holds `target`
 * ops: titles (half the edits), attention, state, and body appends. The store's clock starts
 * 30 minutes in the past and moves 3 ms per action, so no op is near the hub's drift limit.
 */
export function generate(ctx: BenchContext, store: SqliteStore, clock: ManualClock, tasks: number) {
  const r = seededRandom(71);
  const ids: string[] = [];
  const target = ctx.size(100_000, 10_000);
  const CHUNK = 500;
  for (let i = 0; i < tasks; i += CHUNK) {
    store.transaction(() => {
      for (let j = i; j < Math.min(tasks, i + CHUNK); j++) {
        clock.advance(3);
        const body = r.next() < 0.25 ? `Notes: ${phrase(r, 12)}.\n` : undefined;
        const node = store.createNode({
          kind: 'task',
          title: `Task ${j}: ${phrase(r, 3)}`,
          ...(body !== undefined && { body }),
          ...(r.next() < 0.2 && { attention: ATTENTION[1 + Math.floor(r.next() * 3)]! }),
        });
        ids.push(node.id);
      }
    });
  }
  ctx.progress(`created ${tasks} tasks: ${store.opCount()} ops`);
  let ops = store.opCount();
  let edit = 0;
  while (ops < target) {
    store.transaction(() => {
      for (let k = 0; k < CHUNK && ops < target; k++, edit++) {
        clock.advance(3);
        const id = ids[Math.floor(r.next() * ids.length)]!;
        const x = r.next();
        // Near the end only title sets (one op each), so the log ends at exactly `target`.
        if (target - ops < 50 || x < 0.5) {
          store.updateNode(id, { title: `Task edit ${edit}: ${phrase(r, 3)}` });
        } else if (x < 0.7) {
          store.updateNode(id, { attention: ATTENTION[Math.floor(r.next() * 4)]! });
        } else if (x < 0.8) {
          store.updateNode(id, { state: r.next() < 0.8 ? 'done' : 'outstanding' });
        } else {
          const before = store.getNode(id).body;
          store.updateNode(id, { body: `${before}- ${phrase(r, 6)}\n` });
        }
        ops = store.opCount();
      }
    });
  }
  return { ids, ops };
}

function headers(origin: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'heph-protocol': String(PROTOCOL_VERSION),
    'heph-replica': origin,
  };
}

/** Pushes the source store's whole log to the hub in BATCH-op batches. */
export async function pushAll(url: string, store: SqliteStore): Promise<number> {
  let cursor = 0;
  let pushed = 0;
  for (;;) {
    const page = store.opsSince(cursor, BATCH);
    if (page.ops.length === 0) return pushed;
    const r = await request(`${url}/sync/push`, {
      method: 'POST',
      headers: headers(store.origin),
      body: JSON.stringify({ replica: { id: store.origin, name: 'bench-source' }, ops: page.ops }),
    });
    const reply = (await r.body.json()) as { accepted?: number };
    if (r.statusCode !== 200 || reply.accepted !== page.ops.length) {
      throw new Error(`push: ${r.statusCode} ${JSON.stringify(reply).slice(0, 300)}`);
    }
    pushed += page.ops.length;
    cursor = page.cursor;
    if (!page.more) return pushed;
  }
}

/**
 * Edits on `a` and waits for each on every reader; returns each edit's latency per reader, in ms.
 */
export async function editLatencies(
  ctx: BenchContext,
  a: RpcClient,
  readers: readonly RpcClient[],
  ids: string[],
  label: string,
) {
  const edits = ctx.size(50, 10);
  const r = seededRandom(113 + readers.length);
  const wakes = new Map<RpcClient, () => void>();
  for (const b of readers) {
    await b.call('events.subscribe', { topics: ['node.changed'] });
    b.onNotification((method) => {
      if (method === 'node.changed') wakes.get(b)?.();
    });
  }
  const seenOn = async (b: RpcClient, id: string, title: string, t0: number): Promise<number> => {
    const deadline = t0 + 30_000;
    for (;;) {
      if (((await b.call('node.get', { id })) as { title: string }).title === title) {
        return nowMs() - t0;
      }
      if (nowMs() > deadline) throw new Error(`${label}: an edit was not visible after 30 s`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, POLL_MS);
        wakes.set(b, () => {
          clearTimeout(t);
          res();
        });
      });
      wakes.delete(b);
    }
  };
  const times: number[] = [];
  for (let i = 0; i < edits; i++) {
    // Edits at uneven moments, so they do not fall into step with the spokes' sync loops.
    await sleep(100 + r.next() * 400);
    const id = ids[Math.floor(r.next() * ids.length)]!;
    const title = `Edited on A #${i} ${r.next().toString(36).slice(2, 10)}`;
    const t0 = nowMs();
    await a.call('node.update', { id, title });
    times.push(...(await Promise.all(readers.map((b) => seenOn(b, id, title, t0)))));
  }
  ctx.progress(
    `${label}: ${edits} edits, p50 ${median(times).toFixed(0)} ms, p95 ` +
      `${percentile(times, 95).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms`,
  );
  return times;
}

/** How many pushes a spoke makes for 1,000 title edits made within one second. */
async function burstPushes(ctx: BenchContext, a: RpcClient, ids: string[]): Promise<number> {
  const pushes = async () => ((await a.call('sync.status')) as { pushes: number }).pushes;
  const before = await pushes();
  const n = ctx.size(1000, 200);
  const t0 = nowMs();
  for (let i = 0; i < n; i++) {
    await a.call('node.update', { id: ids[i % ids.length]!, title: `Burst ${i}` });
    // Spread over one second.
    const due = t0 + ((i + 1) * 1000) / n;
    if (nowMs() < due) await sleep(due - nowMs());
  }
  await a.call('sync.now');
  const made = (await pushes()) - before;
  ctx.progress(`${n} edits in ${((nowMs() - t0) / 1000).toFixed(2)} s took ${made} pushes`);
  return made;
}

/**
 * initial_sync_floor_s: the hub's ops pulled by the plain client (bench/plain-sync.ts), after the
 * spoke `c` synced them; fails unless both hold as many ops (the spoke's own name included, which
 * it pushed) and every node's body reads the same.
 */
export async function plainFloor(
  ctx: Pick<BenchContext, 'tempDir' | 'progress'>,
  url: string,
  c: RpcClient,
): Promise<number> {
  const plain = await plainSync(url, ctx.tempDir());
  const ops = await opCount(c);
  if (plain.ops !== ops) throw new Error(`the plain client pulled ${plain.ops} ops, not ${ops}`);
  const { nodes } = (await c.call('node.list', { scope: 'all', limit: 10_000 })) as {
    nodes: { id: string; body: string }[];
  };
  const differ = nodes.filter((n) => (plain.bodies.get(n.id) ?? '') !== n.body).length;
  const withBody = nodes.filter((n) => n.body !== '').length;
  if (differ > 0 || withBody !== plain.bodies.size) {
    throw new Error(
      `the plain client's bodies are not the spoke's: ${differ} of ${nodes.length} nodes ` +
        `differ; ${withBody} bodies there, ${plain.bodies.size} merged here`,
    );
  }
  ctx.progress(
    `plain client pulled ${plain.ops} ops in ${plain.seconds.toFixed(2)} s ` +
      `(${plain.bodies.size} bodies, each as the spoke has it)`,
  );
  return plain.seconds;
}

export const spoke: BenchModule = {
  name: 'spoke',
  figures: spokeFigures,
  async run(ctx) {
    const clients: RpcClient[] = [];
    try {
      // The source device's data, written locally and pushed to the hub like a first sync.
      const clock = new ManualClock(Date.now() - 30 * 60_000);
      const src = openStore(
        { path: join(ctx.tempDir(), 'source.db') },
        { clock, random: seededRandom(67) },
      );
      let ids: string[];
      let ops: number;
      const hub = await startHub(ctx.tempDir());
      try {
        const t0 = nowMs();
        ({ ids, ops } = generate(ctx, src, clock, ctx.size(10_000, 1_000)));
        ctx.progress(`generated ${ops} ops in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
        const t1 = nowMs();
        const pushed = await pushAll(hub.url, src);
        ctx.progress(`pushed ${pushed} ops in ${((nowMs() - t1) / 1000).toFixed(1)} s`);
      } finally {
        src.close();
      }
      const hubClient = await connectWhenUp(hub.proc, hub.socket);
      clients.push(hubClient);
      const hubOps = await opCount(hubClient);
      if (hubOps !== ops) throw new Error(`the hub holds ${hubOps} ops, expected ${ops}`);

      // A fresh device: from spawning it until it has everything and answers.
      const t0 = nowMs();
      const a = startSpoke(ctx.tempDir(), hub.url);
      const ca = await connectWhenUp(a.proc, a.socket);
      clients.push(ca);
      ctx.progress(`fresh spoke answers after ${(nowMs() - t0).toFixed(0)} ms`);
      const synced = await waitSynced(a.proc, ca, hubOps, 120_000);
      const initialS = (synced.at - t0) / 1000;
      ctx.progress(
        `fresh spoke pulled ${hubOps} ops in ${initialS.toFixed(2)} s ` +
          `(${perSecond(hubOps, initialS * 1000).toFixed(0)} ops/s end to end): ` +
          synced.status.verdict,
      );

      const floor = await plainFloor(ctx, hub.url, ca);

      // A second device, then edits on the first watched for on the second.
      const b = startSpoke(ctx.tempDir(), hub.url);
      const cb = await connectWhenUp(b.proc, b.socket);
      clients.push(cb);
      const tb = nowMs();
      await waitSynced(b.proc, cb, hubOps, 120_000);
      ctx.progress(`second spoke in sync after ${((nowMs() - tb) / 1000).toFixed(2)} s`);
      const times = await editLatencies(ctx, ca, [cb], ids, 'A → B');
      // Three more devices: one writer, four readers.
      const readers = [cb];
      for (let i = 0; i < 3; i++) {
        const d = startSpoke(ctx.tempDir(), hub.url);
        const cd = await connectWhenUp(d.proc, d.socket);
        clients.push(cd);
        await waitSynced(d.proc, cd, await opCount(ca), 120_000);
        readers.push(cd);
      }
      const five = await editLatencies(ctx, ca, readers, ids, 'A → 4 others');
      const burst = await burstPushes(ctx, ca, ids);
      return {
        initial_sync_100k_s: initialS,
        initial_sync_floor_s: floor,
        edit_to_other_device_p50_ms: median(times),
        edit_to_other_device_p95_ms: percentile(times, 95),
        edit_to_5_devices_p95_ms: percentile(five, 95),
        burst_1000_pushes: burst,
      };
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await killSpawned();
    }
  },
};
