// One crash trial against real processes: a spoke hephd with HEPH_FAILPOINT set dies by SIGKILL
// at that point of a sync; restarted without it, it syncs, and the hub holds every op exactly
// once and the same state as the spoke. Shared by test/sync/process.test.ts (a few trials) and
// scripts/test-faults.mjs (many).

import { join } from 'node:path';
import { FAILPOINTS, syncOnce, type Failpoint } from '../../src/sync/sync-once.js';
import type { Daemons } from '../daemon/helpers.js';
import { waitServing } from '../daemon/helpers.js';
import { opIds, openSpoke, type TestHub } from './helpers.js';

export { FAILPOINTS };

export interface TrialResult {
  failpoint: Failpoint;
  crashed: boolean;
  hubOps: number;
  spokeOps: number;
}

export async function crashTrial(
  h: Daemons,
  hub: TestHub,
  failpoint: Failpoint,
  trial: number,
): Promise<TrialResult> {
  // Another device's edits on the hub, so that there is something to pull.
  const other = openSpoke('other', hub.url, 500 + trial);
  try {
    for (let i = 0; i < 3; i++)
      other.store.createNode({ kind: 'doc', title: `other ${trial}.${i}` });
    await syncOnce(other.store, other.client);
  } finally {
    await other.close();
  }
  const dir = h.dir();
  const db = join(dir, 'heph.db');
  const socket = join(dir, 'd.sock');
  const args = ['--hub-url', hub.url];
  const d = h.spawn({ db, socket, args, env: { HEPH_FAILPOINT: failpoint } });
  if (failpoint !== 'pull.after_apply') {
    await waitServing(d);
    const c = await h.client(socket);
    // The debounced sync after the first edit may already hit the failpoint: the daemon can
    // die at any of these calls, which is the point.
    try {
      for (let i = 0; i < 4; i++) await c.call('node.create', { kind: 'doc', title: `spoke ${i}` });
      await c.call('sync.now');
    } catch {
      // killed
    }
  }
  const exit = await d.exited;
  const crashed = exit.signal === 'SIGKILL';
  if (!crashed)
    throw new Error(`hephd did not die at ${failpoint}: ${JSON.stringify(exit)}\n${d.stderr()}`);
  const again = await h.start({ db, socket, args });
  const c = await h.client(socket);
  await c.call('sync.now');
  const status = (await c.call('status', { digest: true })) as { ops: number; digest: string };
  await again.stop();
  const view = await hub.view();
  const ids = opIds(view);
  if (new Set(ids).size !== ids.length) throw new Error('the hub holds an op twice');
  if (status.ops !== ids.length) {
    throw new Error(`spoke has ${status.ops} ops, hub ${ids.length} (${failpoint})`);
  }
  if (status.digest !== view.digest()) throw new Error(`digests differ after ${failpoint}`);
  return { failpoint, crashed, hubOps: ids.length, spokeOps: status.ops };
}
