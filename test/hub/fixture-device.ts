// A committed hub fixture's device syncing on after its hub moved (an in-place upgrade, or a copy
// to PostgreSQL): the same checks for every way a hub's data can move.

import { expect } from 'vitest';
import type { Hub } from '../../src/hub/server.js';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { seededRandom } from '../../src/ports/random.js';
import { openStore } from '../../src/store/open-store.js';
import { HubClient } from '../../src/sync/hub-client.js';
import { syncOnce } from '../../src/sync/sync-once.js';
import { pendingCount, pullCursor } from '../../src/sync/sync-state.js';
import { opIds } from '../sync/helpers.js';

/** What a committed hub fixture says of its owner and of its device (see fixtures/hub-README.md). */
export interface FixtureDeviceFacts {
  owner: { last: number };
  device_a: { origin: string; cursor: string; pending: number; task: string };
}

/**
 * The fixture's device, whose pull cursor predates the hub's move to `hub` (an upgrade or a
 * copy to another store), syncs on: it pulls only what it lacks, pushes what it held, and ends
 * with the hub's ops and state; its task done on the device is done on the hub.
 */
export async function syncFixtureDevice(
  hub: Hub,
  devicePath: string,
  facts: FixtureDeviceFacts,
): Promise<void> {
  const store = openStore(
    { path: devicePath },
    { clock: { now: () => Date.now() }, random: seededRandom(8) },
  );
  const client = new HubClient({
    url: hub.url,
    origin: store.origin,
    ownHigh: () => store.ownHigh(),
  });
  try {
    expect(store.origin).toBe(facts.device_a.origin);
    expect(pullCursor(store)).toBe(facts.device_a.cursor);
    expect(pendingCount(store)).toBe(facts.device_a.pending);
    expect(await syncOnce(store, client)).toMatchObject({
      pulled: facts.owner.last - Number(facts.device_a.cursor),
      pushed: facts.device_a.pending,
      refused: [],
    });
    const last = facts.owner.last + facts.device_a.pending;
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(last);
    expect(pendingCount(store)).toBe(0);
    await syncOnce(store, client);
    expect(pullCursor(store)).toBe(String(last));
    const view = await hub.caches.run(HUB_OWNER, (x) => x.store);
    expect(store.digest()).toBe(view.digest());
    expect(opIds(store)).toEqual(opIds(view));
    expect(view.getNode(facts.device_a.task).state).toBe('done');
  } finally {
    await client.close();
    store.close();
  }
}
