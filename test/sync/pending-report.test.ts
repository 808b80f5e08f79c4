// A device reports, with each push, how many of its changes the hub will still lack once that
// push is stored (replica.pending): what it holds unsent, less the batch. The hub keeps the last
// report per device, which `heph device list` and a revoke show.

import { describe, expect, it } from 'vitest';
import type { Op } from '../../src/core/op.js';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { HubClient } from '../../src/sync/hub-client.js';
import { useCleanup } from '../helpers/temp.js';
import { titleOp } from '../hub/helpers.js';
import { OffsetClock, startTestHub } from './helpers.js';

const cleanup = useCleanup();
const ORIGIN = '00000000000d0001';

describe('pending report', () => {
  it('each push reports what stays unsent after it; the hub keeps the latest', async () => {
    const h = await startTestHub();
    cleanup.defer(() => h.close());
    let unsent = 0;
    const client = new HubClient({
      url: h.url,
      origin: ORIGIN,
      clock: new OffsetClock(),
      timeoutMs: 5000,
      pending: () => unsent,
    });
    cleanup.defer(() => client.close());
    const wall = Date.now() - 60_000;
    const ops = Array.from({ length: 5 }, (_, i) => titleOp(wall, i, ORIGIN) as Op);
    const reported = async (): Promise<number | undefined> => {
      const devices = await h.hubStore.listDevices(HUB_OWNER);
      return devices.find((d) => d.replica === ORIGIN)?.pendingReported;
    };

    // 5 unsent, 2 pushed: 3 still to come.
    unsent = 5;
    expect((await client.push(ops.slice(0, 2))).accepted).toBe(2);
    expect(await reported()).toBe(3);
    // 3 unsent, all pushed: nothing left.
    unsent = 3;
    expect((await client.push(ops.slice(2))).accepted).toBe(3);
    expect(await reported()).toBe(0);
    // A count below the batch (changes made and sent meanwhile) never goes negative.
    unsent = 1;
    expect((await client.push(ops.slice(0, 2))).duplicates).toBe(2);
    expect(await reported()).toBe(0);
  });
});
