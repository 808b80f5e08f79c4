// Hubs for tests: the hub's app over a real SQLite hub store and cache replicas in a temp dir,
// in-process (for inject) or listening on 127.0.0.1:0 (for real HTTP). Every helper returns
// something the test closes.

import { SUPPORTED_PROTOCOLS } from '../../src/protocol/sync.js';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import type { DaemonConfig } from '../../src/config/config.js';
import { encodeHlc } from '../../src/core/hlc.js';
import { ulidFactory } from '../../src/core/ulid-factory.js';
import { buildHub, type HubApp, type HubOptions } from '../../src/hub/app.js';
import { SqliteHubStore } from '../../src/hub/store/sqlite.js';
import { ManualClock, type Clock } from '../../src/ports/clock.js';
import { HUB_OWNER, type OwnerId } from '../../src/ports/hub-store.js';
import { silentLogger, type Logger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { openStore } from '../../src/store/open-store.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/temp.js';

export const T0 = Date.UTC(2026, 10, 22, 12);
export const ORIGIN_A = 'aaaaaaaaaaaaaaaa';
export const ORIGIN_B = 'bbbbbbbbbbbbbbbb';

/** The oldest protocol the hub serves: its devices get their own ops back in pulls. */
export const ECHO_PROTOCOL = String(SUPPORTED_PROTOCOLS[0]);

export const SYNC_HEADERS = (
  origin = ORIGIN_A,
  protocol = ECHO_PROTOCOL,
): Record<string, string> => ({
  'heph-protocol': protocol,
  'heph-replica': origin,
  'content-type': 'application/json',
});

export function hubConfig(dir: string, over: Partial<DaemonConfig> = {}): DaemonConfig {
  return {
    mode: 'server',
    db: join(dir, 'hub.db'),
    socket: join(dir, 's.sock'),
    logLevel: 'silent',
    configPath: join(dir, 'config.json'),
    hubUrl: undefined,
    httpAddr: '127.0.0.1:0',
    timeZone: 'UTC',
    clockOffsetMs: 0,
    ...over,
  };
}

export interface TestHub {
  app: FastifyInstance;
  hub: HubApp;
  hubStore: SqliteHubStore;
  clock: Clock;
  dir: string;
  /** Set by listen(). */
  url: string;
  listen(): Promise<string>;
  /** An owner's data as a device store (its cache replica), caught up with its log. */
  view(owner?: OwnerId): Promise<SqliteStore>;
  /** Runs `fn` on an owner's cache replica and stores what it wrote in the log. */
  write<T>(fn: (store: SqliteStore) => T, owner?: OwnerId): Promise<T>;
  close(): Promise<void>;
}

let seed = 4200;

export interface MakeHubOptions extends Partial<
  Omit<HubOptions, 'hubStore' | 'cache' | 'config' | 'version' | 'logger' | 'clock'>
> {
  clock?: Clock;
  /** The hub's logger (default silent). */
  logger?: Logger;
  cache?: Partial<HubOptions['cache']>;
  /** Use this directory (and leave it) instead of a fresh one. */
  dir?: string;
}

export async function makeHub(opts: MakeHubOptions = {}): Promise<TestHub> {
  const t = opts.dir === undefined ? tempDir('heph-hub-') : undefined;
  const dir = opts.dir ?? t!.dir;
  const clock = opts.clock ?? new ManualClock(T0);
  const hubStore = SqliteHubStore.open({ path: join(dir, 'hub.db') }, { clock });
  const { dir: _d, cache, clock: _c, logger, ...rest } = opts;
  let hub: HubApp;
  try {
    hub = await buildHub({
      ...rest,
      hubStore,
      cache: { dir: join(dir, 'cache'), ...cache },
      config: hubConfig(dir),
      version: 'test',
      logger: logger ?? silentLogger,
      clock,
      random: rest.random ?? seededRandom(seed++),
      timeouts: { closeGraceMs: 300, ...rest.timeouts },
    });
  } catch (e) {
    await hubStore.close();
    t?.cleanup();
    throw e;
  }
  let closed = false;
  const h: TestHub = {
    app: hub.app,
    hub,
    hubStore,
    clock,
    dir,
    url: '',
    async listen() {
      await hub.app.listen({ host: '127.0.0.1', port: 0 });
      const a = hub.app.server.address();
      if (a === null || typeof a === 'string') throw new Error('no address');
      h.url = `http://127.0.0.1:${a.port}`;
      return h.url;
    },
    view: (owner = HUB_OWNER) => hub.caches.run(owner, (r) => r.store),
    write: (fn, owner = HUB_OWNER) => hub.caches.run(owner, (r) => fn(r.store)),
    async close() {
      if (closed) return;
      closed = true;
      await hub.close();
      await hubStore.close();
      t?.cleanup();
    },
  };
  return h;
}

export interface TestOp {
  id: string;
  kind: string;
  target: string;
  payload: Record<string, unknown>;
}

const newUlid = ulidFactory(seededRandom(7));
const targets = Array.from({ length: 50 }, () => newUlid(T0));

/** A valid title-set op stamped (wall, counter, origin). */
export function titleOp(wall: number, counter: number, origin: string, n = counter): TestOp {
  return {
    id: encodeHlc({ wall, counter, origin }),
    kind: 'node.set',
    target: targets[n % targets.length]!,
    payload: { field: 'title', value: `title ${origin.slice(0, 2)} ${n}`, prev: [] },
  };
}

export function pushBody(ops: readonly unknown[], origin = ORIGIN_A): string {
  return JSON.stringify({ replica: { id: origin, name: 'test' }, ops });
}

/** POST /sync/push over real HTTP. */
export async function httpPush(url: string, ops: readonly unknown[], origin = ORIGIN_A) {
  const r = await request(`${url}/sync/push`, {
    method: 'POST',
    headers: SYNC_HEADERS(origin),
    body: pushBody(ops, origin),
  });
  const body = (await r.body.json()) as Record<string, unknown>;
  if (r.statusCode !== 200) throw new Error(`push: ${r.statusCode} ${JSON.stringify(body)}`);
  return body as { accepted: number; duplicates: number; refused: unknown[] };
}

export interface Page {
  ops: TestOp[];
  cursor: string;
  more: boolean;
  remaining: number;
}

export interface PullAs {
  origin?: string;
  protocol?: string;
  ownHigh?: string;
}

/** GET /sync/pull over real HTTP (by default as replica B speaking ECHO_PROTOCOL). */
export async function httpPull(
  url: string,
  q: { after?: string; limit?: number; wait?: number },
  signal?: AbortSignal,
  as: PullAs = {},
): Promise<Page> {
  const qs = new URLSearchParams();
  if (q.after !== undefined) qs.set('after', q.after);
  if (q.limit !== undefined) qs.set('limit', String(q.limit));
  if (q.wait !== undefined) qs.set('wait', String(q.wait));
  const r = await request(`${url}/sync/pull?${qs.toString()}`, {
    headers: {
      'heph-protocol': as.protocol ?? ECHO_PROTOCOL,
      'heph-replica': as.origin ?? ORIGIN_B,
      ...(as.ownHigh !== undefined && { 'heph-own-high': as.ownHigh }),
    },
    ...(signal && { signal }),
  });
  const body = (await r.body.json()) as Page;
  if (r.statusCode !== 200) throw new Error(`pull: ${r.statusCode} ${JSON.stringify(body)}`);
  return body;
}

/** Pulls every page from `after` with page size `limit`. */
export async function pullAll(url: string, limit: number, after?: string) {
  const ops: TestOp[] = [];
  let cursor = after;
  let pages = 0;
  for (;;) {
    const p = await httpPull(url, { ...(cursor !== undefined && { after: cursor }), limit });
    pages++;
    ops.push(...p.ops);
    cursor = p.cursor;
    if (!p.more) return { ops, cursor, pages, last: p };
    if (p.ops.length !== limit) throw new Error(`page of ${p.ops.length} with more=true`);
  }
}

/** Waits until `cond` resolves true, checking every 20 ms, for at most `ms`. */
export async function eventually(
  cond: () => Promise<boolean>,
  what: string,
  ms = 20_000,
): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The state an old owner database holds, as this version reads it: a copy (made in `scratch`)
 * opened, and so migrated, by the device store. A fixture's recorded digest is what the old
 * version read; a later schema may read the same ops differently (a context doc's title is its
 * task's).
 */
export function digestAsReadNow(file: string, scratch: string): string {
  const copy = join(scratch, `digest-${seed++}.db`);
  copyFileSync(file, copy);
  const store = openStore({ path: copy }, { clock: { now: () => T0 }, random: seededRandom(9) });
  try {
    return store.digest();
  } finally {
    store.close();
  }
}
