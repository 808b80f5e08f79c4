/* eslint-disable @typescript-eslint/no-explicit-any -- JSON-RPC replies are read loosely here */
// The daemon's methods as the harness runs them (harness.ts: the real registry and dispatcher, a
// real SQLite file, a hand-driven clock, every result checked against its schema), with replies
// as {result} or {error}: what the older rpc tests call methods through.

import type { ManualClock } from '../../src/ports/clock.js';
import type { Registry } from '../../src/rpc/registry.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { openMethods } from './harness.js';

export interface Env {
  store: SqliteStore;
  registry: Registry;
  call(method: string, params?: unknown): Promise<{ result?: any; error?: any }>;
  notes: { method: string; params: unknown }[];
  abort: AbortController;
  cleanup(): void;
}

export function setup(opts: { seed?: number; clock?: ManualClock } = {}): Env {
  const m = openMethods(opts.seed ?? 3, opts.clock);
  return {
    store: m.store,
    registry: m.registry,
    notes: m.notes,
    abort: m.abort,
    call: m.reply,
    cleanup: m.close,
  };
}

/** A call's result, or a thrown error naming the method and its message. */
export async function ok(env: Env, method: string, params: unknown): Promise<any> {
  const r = await env.call(method, params);
  if (r.error) throw new Error(`${method}: ${r.error.message}`);
  return r.result;
}
