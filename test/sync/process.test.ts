// Real hephd processes against a real hub: crash trials at each sync failpoint (more with
// `npm run test:faults -- --trials N`), a spoke's sync.status, and client mode.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncOnce } from '../../src/sync/sync-once.js';
import { useDaemons, until } from '../daemon/helpers.js';
import { eventually } from '../hub/helpers.js';
import { crashTrial, FAILPOINTS } from './faults.js';
import { openSpoke, startTestHub, type TestHub } from './helpers.js';

const h = useDaemons();
let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub.close();
});

describe('hephd spoke', () => {
  // One trial per failpoint in `npm test`; scripts/test-faults.mjs sets HEPH_FAULT_TRIALS.
  const trials = Math.max(1, Number(process.env.HEPH_FAULT_TRIALS ?? '1') || 1);
  for (const fp of FAILPOINTS) {
    it(
      `killed at ${fp}, restarted: nothing lost or doubled (${trials} trial(s))`,
      async () => {
        for (let trial = 0; trial < trials; trial++) {
          const r = await crashTrial(h, hub, fp, trial);
          expect(r.crashed).toBe(true);
          expect(r.spokeOps).toBe(r.hubOps);
        }
      },
      30_000 + trials * 15_000,
    );
  }

  it('syncs in the background and says so in sync.status', async () => {
    const dir = h.dir();
    const d = await h.start({
      db: join(dir, 'heph.db'),
      socket: join(dir, 'd.sock'),
      args: ['--hub-url', hub.url],
    });
    const c = await h.client(d.socket);
    await c.call('node.create', { kind: 'doc', title: 'background' });
    // Debounced push after the local change, no sync.now needed.
    await eventually(
      async () => (await hub.view()).listNodes().some((n) => n.title === 'background'),
      'the push',
    );
    type Status = { verdict: string; hub: string; pending: { changes: number; ops: number } };
    let st = (await c.call('sync.status')) as Status;
    for (let i = 0; st.pending.ops > 0 && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      st = (await c.call('sync.status')) as Status;
    }
    expect(st.hub).toBe(`${hub.url}/`);
    expect(st.verdict).toBe('in sync');
    // Another device's edit arrives through the long-poll within about a second.
    const other = openSpoke('other', hub.url);
    try {
      const n = other.store.createNode({ kind: 'doc', title: 'from elsewhere' });
      await syncOnce(other.store, other.client);
      const t0 = Date.now();
      for (;;) {
        const got = await c.call('node.get', { id: n.id }).catch(() => undefined);
        if (got) break;
        if (Date.now() - t0 > 5000) throw new Error('long-poll did not deliver within 5 s');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await other.close();
    }
  });

  it('without a hub: sync.status says so and sync.now errors clearly', async () => {
    const dir = h.dir();
    const d = await h.start({ db: join(dir, 'heph.db'), socket: join(dir, 'd.sock') });
    const c = await h.client(d.socket);
    expect(await c.call('sync.status')).toMatchObject({
      hub: null,
      verdict: 'not syncing: no hub configured',
    });
    await expect(c.call('sync.now')).rejects.toThrow(/--hub-url/);
  });

  it('refuses a plain-http hub off loopback unless --insecure-http', async () => {
    const dir = h.dir();
    const r = await h.run([
      '--db',
      join(dir, 'heph.db'),
      '--socket',
      join(dir, 'd.sock'),
      '--hub-url',
      'http://hub.example:8787',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--insecure-http/);
  });
});

describe('hephd --mode client', () => {
  it('forwards calls to the hub and feeds events', async () => {
    const dir = h.dir();
    const socket = join(dir, 'c.sock');
    const d = await h.start({
      db: join(dir, 'unused.db'),
      socket,
      args: ['--mode', 'client', '--hub-url', hub.url],
    });
    const c = await h.client(d.socket);
    const status = (await c.call('status')) as { mode: string; hub_reachable: boolean };
    expect(status).toMatchObject({ mode: 'client', hub_reachable: true });
    const n = (await c.call('node.create', { kind: 'doc', title: 'via client' })) as {
      id: string;
    };
    expect((await hub.view()).getNode(n.id).title).toBe('via client');
    // Errors come back with the hub's code.
    await expect(c.call('node.get', { id: 'nope' })).rejects.toMatchObject({
      code: expect.stringMatching(/invalid_params|not_found/),
    });
    expect(((await c.call('sync.status')) as { verdict: string }).verdict).toMatch(/online only/);
    // Events: another device's edit becomes node.changed here.
    const seen: unknown[] = [];
    c.onNotification((m, p) => seen.push({ m, p }));
    // Returns once the feed has reached the hub's end.
    await c.call('events.subscribe', { topics: ['node.changed'] });
    const other = openSpoke('other', hub.url);
    try {
      const m = other.store.createNode({ kind: 'doc', title: 'event source' });
      await syncOnce(other.store, other.client);
      await until(
        () =>
          seen.some(
            (s) =>
              (s as { m: string; p: { ids: string[] } }).m === 'node.changed' &&
              (s as { p: { ids: string[] } }).p.ids.includes(m.id),
          ),
        'node.changed from the hub',
        5000,
      );
    } finally {
      await other.close();
    }
  });
});
