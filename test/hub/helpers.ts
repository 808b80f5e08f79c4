// Hubs for tests: an in-process app on a real SQLite file (for inject), or the same app
// listening on 127.0.0.1:0 (for real HTTP). Every helper returns something the test closes.

import { PROTOCOL_VERSION } from '../../src/protocol/sync.js';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import type { DaemonConfig } from '../../src/config/config.js';
import { encodeHlc } from '../../src/core/hlc.js';
import { ulidFactory } from '../../src/core/ids.js';
import { EventHub } from '../../src/daemon/events.js';
import { buildHub, type HubAppOptions } from '../../src/hub/app.js';
import type { CommitNotifier } from '../../src/hub/notifier.js';
import { createServices } from '../../src/rpc/methods/context.js';
import { ManualClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { openStore } from '../../src/store/open-store.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/temp.js';

export const T0 = Date.UTC(2026, 10, 22, 12);
export const ORIGIN_A = 'aaaaaaaaaaaaaaaa';
export const ORIGIN_B = 'bbbbbbbbbbbbbbbb';

export const SYNC_HEADERS = (origin = ORIGIN_A): Record<string, string> => ({
  'heph-protocol': String(PROTOCOL_VERSION),
  'heph-replica': origin,
  'content-type': 'application/json',
});

export interface TestHub {
  app: FastifyInstance;
  store: SqliteStore;
  clock: ManualClock;
  notifier: CommitNotifier;
  dir: string;
  /** Set by listen(). */
  url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export function makeHub(opts: Partial<Omit<HubAppOptions, 'store' | 'services'>> = {}): TestHub {
  const t = tempDir('heph-hub-');
  const clock = new ManualClock(T0);
  const db = join(t.dir, 'hub.db');
  const store = openStore(
    { path: db, synchronous: 'FULL', exclusive: true },
    { clock, random: seededRandom(42) },
  );
  const config: DaemonConfig = {
    mode: 'server',
    db,
    socket: join(t.dir, 's.sock'),
    logLevel: 'silent',
    configPath: join(t.dir, 'config.json'),
    hubUrl: undefined,
    httpAddr: '127.0.0.1:0',
    timeZone: 'UTC',
    clockOffsetMs: 0,
  };
  const events = new EventHub(store, silentLogger);
  const services = createServices(store, events, config, { clock, version: 'test' });
  const { app, notifier } = buildHub({
    store,
    services,
    logger: silentLogger,
    clock,
    ...opts,
    timeouts: { closeGraceMs: 300, ...opts.timeouts },
  });
  let closed = false;
  const h: TestHub = {
    app,
    store,
    clock,
    notifier,
    dir: t.dir,
    url: '',
    async listen() {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const a = app.server.address();
      if (a === null || typeof a === 'string') throw new Error('no address');
      h.url = `http://127.0.0.1:${a.port}`;
      return h.url;
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      events.close();
      store.close();
      t.cleanup();
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

/** GET /sync/pull over real HTTP. */
export async function httpPull(
  url: string,
  q: { after?: string; limit?: number; wait?: number },
  signal?: AbortSignal,
): Promise<Page> {
  const qs = new URLSearchParams();
  if (q.after !== undefined) qs.set('after', q.after);
  if (q.limit !== undefined) qs.set('limit', String(q.limit));
  if (q.wait !== undefined) qs.set('wait', String(q.wait));
  const r = await request(`${url}/sync/pull?${qs.toString()}`, {
    headers: { 'heph-protocol': String(PROTOCOL_VERSION), 'heph-replica': ORIGIN_B },
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
