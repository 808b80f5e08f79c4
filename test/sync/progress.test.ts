// sync.now {progress: true}: the daemon reports each page on the caller's connection as it goes,
// which `heph sync` shows as a self-rewriting line on a terminal. In-process, with the sync loop
// not started, so the only run is the one the call makes.

import { describe, expect, it } from 'vitest';
import { principalFor } from '../../src/auth/principal.js';
import { useCleanup } from '../helpers/temp.js';
import { progressLine } from '../../src/cli/commands/admin.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { dispatchMessage } from '../../src/rpc/dispatch.js';
import { buildNamespaces } from '../../src/rpc/methods/index.js';
import { Registry, type RpcContext } from '../../src/rpc/registry.js';
import { checkResult } from '../rpc/harness.js';
import { SYNC_PULL_LIMIT, syncOnce } from '../../src/sync/sync-once.js';
import { SyncService } from '../../src/sync/sync-service.js';
import { until } from '../daemon/helpers.js';
import { daemonConfig, openSpoke, servicesFor, startTestHub } from './helpers.js';

const closers = useCleanup();

interface Progress {
  phase: 'pull' | 'push';
  done: number;
  remaining?: number;
}

describe('sync progress', () => {
  it('reports pulled and remaining per page to the caller that asked', async () => {
    const hub = await startTestHub();
    closers.defer(() => hub.close());
    const me = openSpoke('me', hub.url);
    closers.defer(() => me.close());
    const svc = new SyncService(
      {
        hubUrl: hub.url,
        timeZone: 'UTC',
        longPollS: 0,
        loop: { intervalMs: 3_600_000, livePush: false },
      },
      { store: me.store, clock: me.clock, random: seededRandom(5), logger: silentLogger },
    );
    closers.defer(() => svc.stop());
    // The loop's first run, against an empty hub; nothing else goes out on its own for an hour.
    svc.start();
    await until(() => svc.status().last_success !== null, 'the first run');

    const seed = openSpoke('seed', hub.url);
    closers.defer(() => seed.close());
    seed.store.transaction(() => {
      // Each doc is two ops: more than two pages whatever the page size.
      for (let i = 0; i < SYNC_PULL_LIMIT + 100; i++)
        seed.store.createNode({ kind: 'doc', title: `doc ${i}` });
    });
    await syncOnce(seed.store, seed.client);
    const registry = new Registry(
      buildNamespaces(
        servicesFor(me.store, me.clock, daemonConfig(':memory:', { mode: 'local' }), svc),
      ),
    );
    const call = async (params: unknown, notes: unknown[]) => {
      const ctx: RpcContext = {
        connectionId: 'c',
        notify: (method, p) => {
          if (method === 'sync.progress') notes.push(p);
          return true;
        },
        signal: new AbortController().signal,
        principal: principalFor({ kind: 'local_socket' }),
        surface: 'socket',
      };
      const reply = (await dispatchMessage(
        registry,
        { jsonrpc: '2.0', id: 1, method: 'sync.now', params },
        ctx,
      )) as { result?: { pulled: number; pushed: number }; error?: unknown };
      expect(reply.error).toBeUndefined();
      return reply.result!;
    };

    const seen: Progress[] = [];
    me.store.createNode({ kind: 'doc', title: 'mine' });
    const r = await call({ progress: true }, seen);
    checkResult(registry, 'sync.now', r);
    const pulls = seen.filter((p) => p.phase === 'pull');
    const hubOps = seed.store.opCount();
    expect(r.pulled).toBe(hubOps);
    expect(r.pushed).toBeGreaterThan(0);
    // More than one page, each a step forward, ending with nothing left.
    expect(pulls.length).toBeGreaterThan(1);
    for (let i = 1; i < pulls.length; i++) {
      expect(pulls[i]!.done).toBeGreaterThan(pulls[i - 1]!.done);
      expect(pulls[i]!.remaining).toBeLessThan(pulls[i - 1]!.remaining!);
    }
    expect(pulls.at(-1)).toMatchObject({ done: hubOps, remaining: 0 });
    expect(pulls[0]!.done + pulls[0]!.remaining!).toBe(hubOps);
    expect(seen.filter((p) => p.phase === 'push').at(-1)).toMatchObject({ done: r.pushed });

    // Without progress: no notifications.
    const quiet: unknown[] = [];
    await call({}, quiet);
    expect(quiet).toEqual([]);
  });

  it('words a progress line', () => {
    expect(progressLine({ phase: 'pull', done: 3000, remaining: 97000 })).toBe(
      'pulling: 3,000 updates, 97,000 to go',
    );
    expect(progressLine({ phase: 'push', done: 12 })).toBe('pushing: 12 updates');
  });
});
