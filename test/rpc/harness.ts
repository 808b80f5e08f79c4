// Every daemon method in-process, through the real registry and dispatcher (no socket), on a
// real SQLite file in a temp dir with a hand-driven clock. Replies are JSON-RPC responses.

import { z } from 'zod';
import { principalFor } from '../../src/auth/principal.js';
import { EventHub } from '../../src/daemon/events.js';
import { ManualClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { dispatchMessage } from '../../src/rpc/dispatch.js';
import { createServices } from '../../src/rpc/methods/context.js';
import { doctorMethods } from '../../src/rpc/methods/doctor.js';
import { buildNamespaces } from '../../src/rpc/methods/index.js';
import { Registry, type RpcContext } from '../../src/rpc/registry.js';
import { openStore } from '../../src/store/open-store.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/temp.js';
import { daemonConfig } from '../sync/helpers.js';

/** What JSON.parse gives: replies a test inspects with expect(). */
export type Wire = ReturnType<typeof JSON.parse>;

export interface MethodsEnv {
  store: SqliteStore;
  clock: ManualClock;
  registry: Registry;
  dir: string;
  /** Notifications sent to the caller's connection (events.subscribe). */
  notes: { method: string; params: unknown }[];
  /** The reply to one call: {result} or {error}. A result that does not match the schema
   *  rpc.methods publishes for it throws, naming what differs. */
  reply: (method: string, params?: unknown) => Promise<{ result?: Wire; error?: Wire }>;
  /** Aborted by close(): the caller's connection going away. */
  abort: AbortController;
  /** The result of one call; throws with the error's message when it fails. */
  call(method: string, params?: unknown): Promise<Wire>;
  close: () => void;
}

/** Throws when `result` is not what the method's published result schema says. */
export function checkResult(registry: Registry, method: string, result: unknown): void {
  const def = registry.get(method);
  if (def === undefined) throw new Error(`no method ${method}`);
  const r = def.result.safeParse(result);
  if (!r.success) {
    throw new Error(
      `${method}: the result does not match its schema: ${z.prettifyError(r.error)}\n` +
        JSON.stringify(result),
    );
  }
}

export function openMethods(
  seed = 3,
  clock = new ManualClock(Date.UTC(2026, 10, 22, 9)),
): MethodsEnv {
  const t = tempDir();
  const db = `${t.dir}/heph.db`;
  const store = openStore({ path: db }, { clock, random: seededRandom(seed) });
  const events = new EventHub(store, silentLogger);
  const services = createServices(store, events, daemonConfig(db, { mode: 'local' }), {
    clock,
    version: 'test',
  });
  // As the daemon builds it (daemon/daemon.ts): every namespace, and doctor.check.
  const registry = new Registry([...buildNamespaces(services), doctorMethods(services)]);
  const abort = new AbortController();
  const notes: { method: string; params: unknown }[] = [];
  const ctx: RpcContext = {
    connectionId: 'c1',
    notify: (method, params) => {
      notes.push({ method, params });
      return true;
    },
    signal: abort.signal,
    principal: principalFor({ kind: 'local_socket' }),
    surface: 'socket',
  };
  let id = 0;
  // Every answer is checked against the method's result schema.
  const reply = async (method: string, params?: unknown) => {
    const r = (await dispatchMessage(
      registry,
      { jsonrpc: '2.0', id: ++id, method, params: params ?? {} },
      ctx,
    )) as { result?: Wire; error?: Wire };
    if (r.error === undefined) checkResult(registry, method, r.result);
    return r;
  };
  return {
    store,
    clock,
    registry,
    dir: t.dir,
    notes,
    reply,
    abort,
    call: async (method, params) => {
      const r = await reply(method, params);
      if (r.error !== undefined) {
        throw new Error(`${method}: ${r.error.message} (${r.error.data?.code ?? r.error.code})`);
      }
      return r.result;
    },
    close: () => {
      abort.abort();
      events.close();
      store.close();
      t.cleanup();
    },
  };
}
