/* eslint-disable @typescript-eslint/no-explicit-any -- JSON-RPC replies are read loosely here */
// The daemon's methods over the real registry and dispatcher (no socket), on a real SQLite file
// in a temp dir with a hand-driven clock: what the rpc tests call methods through.

import { EventHub } from '../../src/daemon/events.js';
import { ManualClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { dispatchMessage } from '../../src/rpc/dispatch.js';
import { createServices } from '../../src/rpc/methods/context.js';
import { buildNamespaces } from '../../src/rpc/methods/index.js';
import { Registry, type RpcContext } from '../../src/rpc/registry.js';
import { openStore } from '../../src/store/open-store.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/temp.js';
import { daemonConfig } from '../sync/helpers.js';

export interface Env {
  store: SqliteStore;
  registry: Registry;
  call(method: string, params?: unknown): Promise<{ result?: any; error?: any }>;
  notes: { method: string; params: unknown }[];
  abort: AbortController;
  cleanup(): void;
}

export function setup(opts: { seed?: number; clock?: ManualClock } = {}): Env {
  const t = tempDir();
  const clock = opts.clock ?? new ManualClock(Date.UTC(2026, 10, 22, 9));
  const store = openStore(
    { path: `${t.dir}/heph.db` },
    { clock, random: seededRandom(opts.seed ?? 3) },
  );
  const config = daemonConfig(`${t.dir}/heph.db`, { mode: 'local' });
  const events = new EventHub(store, silentLogger);
  const services = createServices(store, events, config, { clock, version: 'test' });
  const registry = new Registry(buildNamespaces(services));
  const notes: { method: string; params: unknown }[] = [];
  const abort = new AbortController();
  const ctx: RpcContext = {
    connectionId: 'c1',
    notify: (method, params) => {
      notes.push({ method, params });
      return true;
    },
    signal: abort.signal,
  };
  let id = 0;
  return {
    store,
    registry,
    notes,
    abort,
    call: async (method, params) =>
      (await dispatchMessage(
        registry,
        { jsonrpc: '2.0', id: ++id, method, params: params ?? {} },
        ctx,
      )) as {
        result?: any;
        error?: any;
      },
    cleanup: () => {
      abort.abort();
      events.close();
      store.close();
      t.cleanup();
    },
  };
}

/** A call's result, or a thrown error naming the method and its message. */
export async function ok(env: Env, method: string, params: unknown): Promise<any> {
  const r = await env.call(method, params);
  if (r.error) throw new Error(`${method}: ${r.error.message}`);
  return r.result;
}
