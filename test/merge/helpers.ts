/* eslint-disable @typescript-eslint/no-explicit-any -- JSON-RPC replies are read loosely here */
// Devices for merge-safety tests, each as its daemon is: a real SQLite file in a temp dir, the
// real method registry and dispatcher (what the socket and the CLI reach), and a real sync
// service talking HTTP to a real hub on 127.0.0.1:0 (test/sync/helpers.ts). A device is offline
// until sync() takes it online for one `sync.now`; its loop never syncs on its own (an interval
// of an hour, no live push), so "offline" in a test means exactly that. Every helper returns something
// to close.

import { principalFor } from '../../src/auth/principal.js';
import { join } from 'node:path';
import { EventHub } from '../../src/daemon/events.js';
import type { BodyOp } from '../../src/core/op.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { dispatchMessage } from '../../src/rpc/dispatch.js';
import { createServices } from '../../src/rpc/methods/context.js';
import { buildNamespaces } from '../../src/rpc/methods/index.js';
import { Registry, type RpcContext } from '../../src/rpc/registry.js';
import { firstBody } from '../../src/store/body-crdt.js';
import { openStore } from '../../src/store/open-store.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { SyncService } from '../../src/sync/sync-service.js';
import type { SyncStatus } from '../../src/sync/sync-status.js';
import { tempDir } from '../helpers/temp.js';
import { daemonConfig, OffsetClock, startTestHub, type TestHub } from '../sync/helpers.js';

/** A JSON-RPC error reply, thrown by Device.call. */
export class RpcFailure extends Error {
  constructor(readonly error: { code: number; message: string; data?: any }) {
    super(`${error.message} (${String(error.data?.code ?? error.code)})`);
  }
}

export interface Device {
  name: string;
  store: SqliteStore;
  /** A method call as a client makes it; resolves with the result, rejects with RpcFailure. */
  call(method: string, params?: object): Promise<any>;
  /** A call expected to fail: its error object. */
  fail(method: string, params?: object): Promise<{ code: number; message: string; data: any }>;
  /** Goes online for one `sync.now` (which succeeds only when the hub has everything). */
  sync(): Promise<SyncStatus>;
  close(): Promise<void>;
}

let seed = 5100;

/**
 * Opens a device that syncs with `hubUrl` (or an existing database file at `path`, opened in
 * place: a copy of a fixture).
 */
export function openDevice(name: string, hubUrl: string, path?: string): Device {
  const t = path === undefined ? tempDir('heph-merge-') : undefined;
  const db = path ?? join((t as { dir: string }).dir, 'heph.db');
  const clock = new OffsetClock();
  const store = openStore({ path: db }, { clock, random: seededRandom(seed++) });
  const sync = new SyncService(
    {
      hubUrl,
      timeZone: 'UTC',
      longPollS: 0,
      loop: { intervalMs: 3_600_000, livePush: false },
      replica: { name },
    },
    { store, clock, random: seededRandom(seed++), logger: silentLogger },
  );
  const events = new EventHub(store, silentLogger);
  const services = createServices(store, events, daemonConfig(db, { mode: 'local', hubUrl }), {
    clock,
    version: 'test',
    sync,
  });
  const registry = new Registry(buildNamespaces(services));
  const abort = new AbortController();
  const ctx: RpcContext = {
    connectionId: name,
    notify: () => true,
    signal: abort.signal,
    principal: principalFor({ kind: 'local_socket' }),
    surface: 'socket',
  };
  let id = 0;
  let online = false;
  const reply = async (method: string, params: object) =>
    (await dispatchMessage(registry, { jsonrpc: '2.0', id: ++id, method, params }, ctx)) as {
      result?: any;
      error?: { code: number; message: string; data?: any };
    };
  const device: Device = {
    name,
    store,
    async call(method, params = {}) {
      const r = await reply(method, params);
      if (r.error) throw new RpcFailure(r.error);
      return r.result;
    },
    async fail(method, params = {}) {
      const r = await reply(method, params);
      if (!r.error) throw new Error(`${method} succeeded: ${JSON.stringify(r.result)}`);
      return r.error as { code: number; message: string; data: any };
    },
    async sync() {
      if (!online) sync.start();
      online = true;
      await device.call('sync.now');
      return (await device.call('sync.status')) as SyncStatus;
    },
    async close() {
      abort.abort();
      await sync.stop();
      events.close();
      store.close();
      t?.cleanup();
    },
  };
  return device;
}

/** Closes what a test opened, in reverse order, after each test. */
export class Closers {
  private list: (() => Promise<void> | void)[] = [];
  add(fn: () => Promise<void> | void): void {
    this.list.push(fn);
  }
  async run(): Promise<void> {
    for (const c of this.list.splice(0).reverse()) await c();
  }
  async hub(opts: Parameters<typeof startTestHub>[0] = {}): Promise<TestHub> {
    const h = await startTestHub(opts);
    this.add(() => h.close());
    return h;
  }
  device(name: string, hubUrl: string, path?: string): Device {
    const d = openDevice(name, hubUrl, path);
    this.add(() => d.close());
    return d;
  }
}

/** Syncs devices in turn until a round moves nothing: every one has every op. */
export async function syncAll(devices: readonly Device[]): Promise<SyncStatus[]> {
  for (let round = 0; round < 4; round++) {
    let moved = 0;
    for (const d of devices) {
      const before = d.store.opCount();
      await d.sync();
      moved += d.store.opCount() - before;
    }
    if (moved === 0 && round > 0) break;
  }
  const out: SyncStatus[] = [];
  for (const d of devices) out.push((await d.call('sync.status')) as SyncStatus);
  return out;
}

/** How many times `part` stands in `text` (non-overlapping). */
export function count(text: string, part: string): number {
  return text.split(part).length - 1;
}

/**
 * The text a body conflict rule shows: of the different first texts of a shared node, the one
 * whose first op (its body.init) has the higher op id. Worked out from the op-log and the texts,
 * without asking the store which one it shows.
 */
export function expectedShown(store: SqliteStore, id: string, texts: readonly string[]): string {
  const inits = new Map(
    store
      .bodyOps(id)
      .filter((k: BodyOp) => k.kind === 'body.init')
      .map((k) => [k.doc, k.id]),
  );
  let best: { text: string; op: string } | undefined;
  for (const text of texts) {
    const op = inits.get(firstBody(id, text).branch);
    if (op === undefined) throw new Error(`no body.init of ${id} holds ${JSON.stringify(text)}`);
    if (best === undefined || op > best.op) best = { text, op };
  }
  if (!best) throw new Error('no texts');
  return best.text;
}
