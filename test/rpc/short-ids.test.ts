/* eslint-disable @typescript-eslint/no-explicit-any -- JSON-RPC replies are read loosely here */
// Short ids are cached between calls: a node whose id ends like another's must lengthen the
// other's short id at once, however it arrived (a local create, ops from another replica, a
// rebuild), and a rolled-back write must not leave a longer one behind.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { principalFor } from '../../src/auth/principal.js';
import { EventHub } from '../../src/daemon/events.js';
import { ManualClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { dispatchMessage } from '../../src/rpc/dispatch.js';
import { createServices } from '../../src/rpc/methods/context.js';
import { buildNamespaces } from '../../src/rpc/methods/index.js';
import { shortIds } from '../../src/rpc/methods/refs.js';
import { Registry, type RpcContext } from '../../src/rpc/registry.js';
import { openStore } from '../../src/store/open-store.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/temp.js';
import { daemonConfig } from '../sync/helpers.js';

/** A doc made on another replica: its two ops, as a pull would bring them. */
function remoteDoc(id: string, origin: string, title: string): unknown[] {
  const stamp = (n: number): string => `01a2027bd680-000${n}-${origin}`;
  return [
    {
      id: stamp(0),
      kind: 'node.set',
      target: id,
      payload: { field: 'kind', prev: [], value: 'doc' },
    },
    {
      id: stamp(1),
      kind: 'node.set',
      target: id,
      payload: { field: 'title', prev: [], value: title },
    },
  ];
}

/** A ULID ending in the last `shared` characters of `id`, and differing just before them. */
function collider(id: string, shared: number, filler: string): string {
  const before = id.at(-shared - 1) === '0' ? '1' : '0';
  return ('01' + filler.repeat(26)).slice(0, 26 - shared - 1) + before + id.slice(-shared);
}

interface Env {
  store: SqliteStore;
  call(method: string, params?: unknown): Promise<any>;
  cleanup(): void;
}

function setup(seed: number): Env {
  const t = tempDir();
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 9));
  const store = openStore({ path: `${t.dir}/heph.db` }, { clock, random: seededRandom(seed) });
  const config = daemonConfig(`${t.dir}/heph.db`, { mode: 'local' });
  const events = new EventHub(store, silentLogger);
  const services = createServices(store, events, config, { clock, version: 'test' });
  const registry = new Registry(buildNamespaces(services));
  const ctx: RpcContext = {
    connectionId: 'c1',
    notify: () => true,
    signal: new AbortController().signal,
    principal: principalFor({ kind: 'local_socket' }),
    surface: 'socket',
  };
  let id = 0;
  return {
    store,
    call: async (method, params) => {
      const r = (await dispatchMessage(
        registry,
        { jsonrpc: '2.0', id: ++id, method, params: params ?? {} },
        ctx,
      )) as { result?: any; error?: any };
      if (r.error) throw new Error(JSON.stringify(r.error));
      return r.result;
    },
    cleanup: () => {
      events.close();
      store.close();
      t.cleanup();
    },
  };
}

const shortOf = async (env: Env, id: string): Promise<string> =>
  ((await env.call('node.get', { id })) as { short_id: string }).short_id;

describe('cached short ids', () => {
  let env: Env;
  beforeEach(() => {
    env = setup(3);
  });
  afterEach(() => env.cleanup());

  it('grow when a colliding node is created here', async () => {
    // The same seed and clock give the same next id.
    const scratch = setup(3);
    const next = (await scratch.call('node.create', { kind: 'doc', title: 'x' })).id;
    scratch.cleanup();
    const y = collider(next, 8, 'Y');
    expect(env.store.applyOps(remoteDoc(y, '00000000000000a1', 'y')).refused).toEqual([]);
    expect(await shortOf(env, y)).toBe(y.slice(-6).toLowerCase());
    expect(await shortOf(env, y)).toBe(y.slice(-6).toLowerCase()); // now from the cache
    const x = await env.call('node.create', { kind: 'doc', title: 'x' });
    expect(x.id).toBe(next);
    expect(x.short_id).toBe(next.slice(-9).toLowerCase());
    expect(await shortOf(env, y)).toBe(y.slice(-9).toLowerCase());
  });

  it('grow when colliding nodes arrive as ops from another replica', async () => {
    const a = (await env.call('node.create', { kind: 'doc', title: 'a' })).id;
    expect(await shortOf(env, a)).toBe(a.slice(-6).toLowerCase());
    const b = collider(a, 7, 'B');
    env.store.applyOps(remoteDoc(b, '00000000000000b1', 'b'));
    expect(await shortOf(env, a)).toBe(a.slice(-8).toLowerCase());
    expect(await shortOf(env, b)).toBe(b.slice(-8).toLowerCase());
    const c = collider(b, 10, 'C');
    env.store.applyOps(remoteDoc(c, '00000000000000c1', 'c'));
    expect(await shortOf(env, a)).toBe(a.slice(-8).toLowerCase());
    expect(await shortOf(env, b)).toBe(b.slice(-11).toLowerCase());
    const resolved = await env.call('node.resolve', { name: c.slice(-11) });
    expect([resolved.id, resolved.short_id]).toEqual([c, c.slice(-11).toLowerCase()]);
    const listed = ((await env.call('node.list', {})) as { nodes: any[] }).nodes;
    expect(Object.fromEntries(listed.map((n) => [n.id, n.short_id]))).toEqual({
      [a]: a.slice(-8).toLowerCase(),
      [b]: b.slice(-11).toLowerCase(),
      [c]: c.slice(-11).toLowerCase(),
    });
  });

  it('stay short when a colliding write rolls back', async () => {
    const a = (await env.call('node.create', { kind: 'doc', title: 'a' })).id;
    expect(await shortOf(env, a)).toBe(a.slice(-6).toLowerCase());
    const b = collider(a, 7, 'B');
    expect(() =>
      env.store.transaction(() => {
        env.store.applyOps(remoteDoc(b, '00000000000000b1', 'b'));
        // Inside the transaction the new row counts, and nothing is cached from it.
        expect(shortIds(env.store, [a]).get(a)).toBe(a.slice(-8).toLowerCase());
        throw new Error('roll back');
      }),
    ).toThrow('roll back');
    expect(env.store.findNode(b)).toBeUndefined();
    expect(await shortOf(env, a)).toBe(a.slice(-6).toLowerCase());
  });

  it('are right after a rebuild', async () => {
    const a = (await env.call('node.create', { kind: 'doc', title: 'a' })).id;
    const b = collider(a, 7, 'B');
    env.store.applyOps(remoteDoc(b, '00000000000000b1', 'b'));
    expect(await shortOf(env, a)).toBe(a.slice(-8).toLowerCase());
    env.store.rebuild();
    expect(await shortOf(env, a)).toBe(a.slice(-8).toLowerCase());
    expect(await shortOf(env, b)).toBe(b.slice(-8).toLowerCase());
  });
});
