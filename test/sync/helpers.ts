// Real parts for sync tests: a real hub (src/hub) on 127.0.0.1:0 over a SQLite hub store in a
// temp dir, spokes on real SQLite files (syncing like a daemon's: protocol 2 with their own high
// mark), and a proxy that can swallow a reply after the hub sent it. Every helper returns
// something to close.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { DaemonConfig } from '../../src/config/config.js';
import { EventHub } from '../../src/daemon/events.js';
import type { Clock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/ports/logger.js';
import { createServices } from '../../src/rpc/methods/context.js';
import type { Services } from '../../src/rpc/methods/index.js';
import { seededRandom } from '../../src/ports/random.js';
import { openStore } from '../../src/store/open-store.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { HubClient } from '../../src/sync/hub-client.js';
import type { SyncService } from '../../src/sync/sync-service.js';
import { tempDir } from '../helpers/temp.js';
import { hubConfig, makeHub, type TestHub } from '../hub/helpers.js';

/** A clock at real time plus an offset the test changes (the hub judges drift by real time). */
export class OffsetClock implements Clock {
  constructor(public offsetMs = 0) {}
  now(): number {
    return Date.now() + this.offsetMs;
  }
}

export type { TestHub } from '../hub/helpers.js';

let seed = 1000;

export function daemonConfig(db: string, over: Partial<DaemonConfig> = {}): DaemonConfig {
  return hubConfig(dirname(db), { db, ...over });
}

export function servicesFor(
  store: SqliteStore,
  clock: Clock,
  config: DaemonConfig,
  sync?: SyncService,
): Services {
  return createServices(store, new EventHub(store, silentLogger), config, {
    clock,
    version: 'test',
    sync,
  });
}

export async function startTestHub(
  opts: {
    clock?: Clock;
    maxDriftMs?: number;
    bodyLimit?: number;
    /** Serve only these sync protocols (an older hub). */
    protocols?: readonly number[];
  } = {},
): Promise<TestHub> {
  const h = await makeHub({ ...opts, clock: opts.clock ?? new OffsetClock() });
  try {
    await h.listen();
  } catch (e) {
    await h.close();
    throw e;
  }
  return h;
}

export interface Spoke {
  name: string;
  store: SqliteStore;
  clock: OffsetClock;
  client: HubClient;
  close(): Promise<void>;
}

export function openSpoke(name: string, hubUrl: string, s = seed++): Spoke {
  const t = tempDir('heph-spoke-');
  const clock = new OffsetClock();
  const store = openStore({ path: join(t.dir, 'heph.db') }, { clock, random: seededRandom(s) });
  const client = new HubClient({
    url: hubUrl,
    origin: store.origin,
    ownHigh: () => store.ownHigh(),
    clock,
    timeoutMs: 5000,
  });
  return {
    name,
    store,
    clock,
    client,
    async close() {
      await client.close();
      store.close();
      t.cleanup();
    },
  };
}

export interface Proxy {
  url: string;
  /** The next push is forwarded, and the hub's reply dropped on the floor (socket destroyed). */
  dropNextPushReply(): void;
  dropped: number;
  close(): Promise<void>;
}

/** An HTTP proxy in front of the hub that can lose a reply after the hub committed. */
export async function startProxy(target: string, port = 0): Promise<Proxy> {
  const to = new URL(target);
  let armed = false;
  const state = { dropped: 0 };
  const server = http.createServer((req, res) => {
    const drop = armed && req.url?.startsWith('/sync/push') === true;
    if (drop) armed = false;
    const up = http.request(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (upRes) => {
        if (drop) {
          upRes.resume();
          upRes.on('end', () => {
            state.dropped++;
            req.socket.destroy();
          });
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    dropNextPushReply() {
      armed = true;
    },
    get dropped() {
      return state.dropped;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Every op id in a store's log, sorted (to compare op sets). */
export function opIds(store: SqliteStore): string[] {
  const ids: string[] = [];
  let cursor = 0;
  for (;;) {
    const page = store.opsSince(cursor, 5000);
    for (const op of page.ops) ids.push(op.id);
    cursor = page.cursor;
    if (!page.more) break;
  }
  return ids.sort();
}
