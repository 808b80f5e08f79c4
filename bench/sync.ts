// Sync figures against a real hub: a hephd --mode server process (bin/hephd.js, built) on a temp
// data directory, listening on 127.0.0.1 with a free port. Sustained push throughput of 1,000-op
// batches from one client, a warm /rpc read served from the hub's cache replica, and a load run
// (autocannon, 50 connections) pushing unique 10-op batches, after which every acknowledged op
// must be in the hub's log.

import { PROTOCOL_VERSION } from '../src/protocol/sync.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { decodeHlc, encodeHlc } from '../src/core/hlc.js';
import { ulidFactory } from '../src/core/ulid-factory.js';
import { seededRandom } from '../src/ports/random.js';
import { median, medianOf, nowMs, perSecond } from './stats.js';
import type { BenchContext, BenchModule, FigureMeta } from './types.js';
import { hephdNodeFlags } from '../src/config/node-flags.js';
import { decodeWireOp } from '../src/protocol/op-wire.js';

const HEPHD = fileURLToPath(new URL('../../bin/hephd.js', import.meta.url));
const BATCH = 1000;
const LOAD_BATCH = 10;
const LOAD_CONNECTIONS = 50;
/** Hubs the push figure is measured on; the median is the figure. */
const PUSH_RUNS = 3;
/** Batches pushed to each before timing. With 5, the 100 timed cost the hub 25 to 40% more CPU
 *  per push than the 100 after them (V8 still compiling its code): a hub is a long-running
 *  process, so the figure is meant to be its settled rate. */
const PUSH_WARMUP = 30;

export const syncFigures: FigureMeta[] = [
  {
    name: 'push_ops_per_s',
    unit: 'ops/s',
    floor: 'raw_insert_rows_per_s',
    target: { op: '>=', value: 0.35, relative: true },
    description:
      'POST /sync/push of 1,000-op batches (title sets over 1,000 tasks, payloads in canonical ' +
      'order as devices send them), one after another from one client, to a hephd --mode ' +
      `server process on loopback (hub store, synchronous=FULL): 100 batches after ` +
      `${PUSH_WARMUP} of warm-up (the same work), each request body encoded before timing; the ` +
      `median of ${PUSH_RUNS} runs, each on a new hub`,
  },
  {
    name: 'rpc_hub_read_p50_ms',
    unit: 'ms',
    target: { op: '<=', value: 2 },
    description:
      'Median round trip of POST /rpc node.get (one request at a time, keep-alive) to that hub ' +
      'holding those 100,000 ops, served from its warm cache replica: 2,000 calls after warm-up',
  },
  {
    name: 'hub_load_errors',
    unit: 'requests',
    target: { op: '<=', value: 0 },
    description:
      `Connection errors, timeouts and non-2xx replies while autocannon pushes unique ` +
      `${LOAD_BATCH}-op batches over ${LOAD_CONNECTIONS} connections for 30 s`,
  },
  {
    name: 'hub_load_p99_ms',
    unit: 'ms',
    description: '99th percentile latency of the pushes in that load run',
  },
  {
    name: 'hub_load_lost_ops',
    unit: 'ops',
    target: { op: '<=', value: 0 },
    description:
      'Ops of pushes acknowledged with a 2xx in that load run that are missing from the hub’s ' +
      'log afterwards (every op is pulled back and matched to its request)',
  },
];

// autocannon ships no type declarations: the part of its API used here.
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}
interface AutocannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  latency: { p99: number };
  requests: { total: number };
}
type Context = Record<string, unknown>;
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  timeout: number;
  requests: {
    method: string;
    path: string;
    headers: Record<string, string>;
    setupRequest(req: AutocannonRequest, context: Context): AutocannonRequest;
    onResponse(status: number, body: string, context: Context): void;
  }[];
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface Hub {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Every hub this module started; any still alive when it finishes is killed. */
const spawned = new Set<ChildProcess>();

/** A hephd --mode server process on `dir`; `env` adds to its environment (HEPH_HUB_STORE). */
export async function startHub(dir: string, env: Record<string, string> = {}): Promise<Hub> {
  const child = spawn(
    process.execPath,
    [
      ...hephdNodeFlags('server'),
      HEPHD,
      '--mode',
      'server',
      '--http-addr',
      '127.0.0.1:0',
      '--db',
      join(dir, 'hub.db'),
      '--socket',
      join(dir, 'h.sock'),
      '--log-level',
      'info',
    ],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        XDG_CONFIG_HOME: join(dir, 'config'),
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const m = /"url":"(http[^"]+)"/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`hub exited (${code}):\n${stderr}`)));
  });
  child.stderr.resume();
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = once(child, 'exit');
      child.kill('SIGTERM');
      await gone;
    },
  };
}

const TARGETS = 1000;

/**
 * Unique ops: op j of request n is op k = n * width + j, stamped (base + n div per ms,
 * (n mod per) * width + j) with per = 65536 div width. Op k sets the title of task k mod 1,000
 * and names op k - 1,000 (the previous title of that task) as its `prev`, like real edits: each
 * title keeps one head instead of piling up concurrent ones.
 */
export class OpSource {
  private readonly targets: string[];
  constructor(
    readonly origin: string,
    private readonly base: number,
    private readonly width: number,
  ) {
    const ulid = ulidFactory(seededRandom(17));
    this.targets = Array.from({ length: TARGETS }, () => ulid(base));
  }

  private idOf(k: number): string {
    const per = Math.floor(65536 / this.width);
    const n = Math.floor(k / this.width);
    const counter = (n % per) * this.width + (k % this.width);
    return encodeHlc({ wall: this.base + Math.floor(n / per), counter, origin: this.origin });
  }

  batch(n: number): object[] {
    return Array.from({ length: this.width }, (_, j) => {
      const k = n * this.width + j;
      return {
        id: this.idOf(k),
        kind: 'node.set',
        target: this.targets[k % TARGETS]!,
        // Keys in canonical order, as a device sends what its log holds.
        payload: {
          field: 'title',
          prev: k >= TARGETS ? [this.idOf(k - TARGETS)] : [],
          value: `Task ${k}`,
        },
      };
    });
  }

  /** The request number an op of this source came from. */
  requestOf(id: string): number {
    const h = decodeHlc(id);
    const per = Math.floor(65536 / this.width);
    return (h.wall - this.base) * per + Math.floor(h.counter / this.width);
  }

  body(n: number): string {
    return JSON.stringify({ replica: { id: this.origin, name: 'bench' }, ops: this.batch(n) });
  }
}

export function headers(origin: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'heph-protocol': String(PROTOCOL_VERSION),
    'heph-replica': origin,
  };
}

/** One push run on a new hub: its rate, and the hub (left running for the caller). */
async function pushRun(ctx: BenchContext): Promise<{ ms: number; value: number; hub: Hub }> {
  const hub = await startHub(ctx.tempDir());
  try {
    const batches = ctx.size(100, 10);
    // Stamped in the past, so no op is near the drift limit.
    const src = new OpSource('00000000000b0001', Date.now() - 600_000, BATCH);
    // Encoded before timing, as a device holds its request body (compressed) before sending it.
    const warmup = ctx.size(PUSH_WARMUP, 5);
    const bodies = Array.from({ length: warmup + batches }, (_, n) => Buffer.from(src.body(n)));
    const push = async (body: Buffer): Promise<void> => {
      const r = await request(`${hub.url}/sync/push`, {
        method: 'POST',
        headers: headers(src.origin),
        body,
      });
      const reply = (await r.body.json()) as { accepted?: number };
      if (r.statusCode !== 200 || reply.accepted !== BATCH) {
        throw new Error(`push: ${r.statusCode} ${JSON.stringify(reply).slice(0, 300)}`);
      }
    };
    for (const b of bodies.slice(0, warmup)) await push(b);
    const t0 = nowMs();
    for (const b of bodies.slice(warmup)) await push(b);
    const ms = nowMs() - t0;
    return { ms, value: perSecond(batches * BATCH, ms), hub };
  } catch (e) {
    await hub.stop();
    throw e;
  }
}

async function pushThroughput(ctx: BenchContext): Promise<Record<string, number>> {
  // Each run on a new hub (a new process and database), the same work: one run's rate moved by
  // a third between runs on this shared 2-core machine.
  const hubs: Hub[] = [];
  try {
    const best = await medianOf(
      ctx.size(PUSH_RUNS, 1),
      async () => {
        const run = await pushRun(ctx);
        hubs.push(run.hub);
        return run;
      },
      (s, attempt) =>
        ctx.progress(
          `push run ${attempt}: ${ctx.size(100, 10)} batches of ${BATCH} in ` +
            `${s.ms.toFixed(0)} ms: ${s.value.toFixed(0)} ops/s`,
        ),
    );
    ctx.progress(
      `push: median ${best.value.toFixed(0)} ops/s ` +
        `(runs from ${best.min.toFixed(0)} to ${best.max.toFixed(0)})`,
    );
    // The other hubs are stopped before the read is timed.
    for (const h of hubs) if (h !== best.hub) await h.stop();
    return { push_ops_per_s: best.value, rpc_hub_read_p50_ms: await rpcRead(ctx, best.hub.url) };
  } finally {
    for (const h of hubs) await h.stop();
  }
}

/** Sends one JSON-RPC call to the hub's /rpc; returns its result. */
async function rpc(url: string, method: string, params: object): Promise<unknown> {
  const r = await request(`${url}/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const reply = (await r.body.json()) as { result?: unknown; error?: unknown };
  if (r.statusCode !== 200 || reply.result === undefined) {
    throw new Error(`rpc ${method}: ${r.statusCode} ${JSON.stringify(reply).slice(0, 300)}`);
  }
  return reply.result;
}

/** node.get over /rpc, one call at a time, once the cache replica has caught up. */
async function rpcRead(ctx: BenchContext, url: string): Promise<number> {
  const t0 = nowMs();
  const { id } = (await rpc(url, 'node.create', { kind: 'doc', title: 'read me' })) as {
    id: string;
  };
  ctx.progress(`first /rpc call (the cache replica catching up): ${(nowMs() - t0).toFixed(0)} ms`);
  const calls = ctx.size(2000, 200);
  for (let i = 0; i < 200; i++) await rpc(url, 'node.get', { id }); // warm-up
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = nowMs();
    await rpc(url, 'node.get', { id });
    times.push(nowMs() - t);
  }
  const p50 = median(times);
  ctx.progress(`${calls} node.get over /rpc: p50 ${p50.toFixed(3)} ms`);
  return p50;
}

/** Every op id in the hub's log, pulled page by page. */
async function pullIds(url: string, origin: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (;;) {
    const q = new URLSearchParams({ limit: '5000', ...(after !== undefined && { after }) });
    const r = await request(`${url}/sync/pull?${q.toString()}`, { headers: headers(origin) });
    const page = (await r.body.json()) as { ops: unknown[]; cursor: string; more: boolean };
    if (r.statusCode !== 200) throw new Error(`pull: ${r.statusCode}`);
    // Field sets come as arrays in this protocol version (src/protocol/op-wire.ts).
    for (const op of page.ops) ids.push((decodeWireOp(op) as { id: string }).id);
    after = page.cursor;
    if (!page.more) return ids;
  }
}

async function hubLoad(ctx: BenchContext): Promise<Record<string, number>> {
  const hub = await startHub(ctx.tempDir());
  try {
    const duration = ctx.size(30, 5);
    const src = new OpSource('00000000000b0002', Date.now() - 600_000, LOAD_BATCH);
    let next = 0;
    const acked = new Set<number>();
    let badReplies = 0;
    ctx.progress(`autocannon: ${LOAD_CONNECTIONS} connections for ${duration} s`);
    const result = await autocannon({
      url: hub.url,
      connections: LOAD_CONNECTIONS,
      duration,
      timeout: 30,
      requests: [
        {
          method: 'POST',
          path: '/sync/push',
          headers: headers(src.origin),
          // One request in flight per connection, so the context names the request answered.
          setupRequest(req, context) {
            const n = next++;
            context.n = n;
            return { ...req, body: src.body(n) };
          },
          onResponse(status, body, context) {
            if (status < 200 || status >= 300 || typeof context.n !== 'number') return;
            const reply = JSON.parse(body) as { accepted?: number };
            if (reply.accepted === LOAD_BATCH) acked.add(context.n);
            else badReplies++;
          },
        },
      ],
    });
    const errors = result.errors + result.non2xx + badReplies;
    const stored = new Map<number, number>();
    for (const id of await pullIds(hub.url, src.origin)) {
      const n = src.requestOf(id);
      stored.set(n, (stored.get(n) ?? 0) + 1);
    }
    let lost = 0;
    for (const n of acked) lost += LOAD_BATCH - (stored.get(n) ?? 0);
    const total = [...stored.values()].reduce((a, b) => a + b, 0);
    const unacked = [...stored.keys()].filter((n) => !acked.has(n)).length;
    ctx.progress(
      `${result.requests.total} requests, ${acked.size} acknowledged (${acked.size * LOAD_BATCH} ` +
        `ops); hub holds ${total} ops; ${unacked} committed pushes were cut off unanswered at the ` +
        `end of the run; ${errors} errors; p99 ${result.latency.p99} ms`,
    );
    if (total !== acked.size * LOAD_BATCH + unacked * LOAD_BATCH) {
      ctx.progress(`the hub's log does not match the acknowledged pushes`);
    }
    return {
      hub_load_errors: errors,
      hub_load_p99_ms: result.latency.p99,
      hub_load_lost_ops: lost,
    };
  } finally {
    await hub.stop();
  }
}

export const sync: BenchModule = {
  name: 'sync',
  figures: syncFigures,
  async run(ctx) {
    try {
      const push = await pushThroughput(ctx);
      const load = await hubLoad(ctx);
      return { ...push, ...load };
    } finally {
      for (const child of spawned) {
        const gone = once(child, 'exit');
        child.kill('SIGKILL');
        await gone;
      }
    }
  },
};
