// Who is calling, and the device registry as requests see it. Guarantees:
// - every request on /sync/* and /rpc names its caller (HubPrincipal): an owner's login, a device
//   credential (with its device, read from the store on this request), or the open hub;
// - a revoked device is refused (device_revoked, 403) on each request, whatever it presents: by
//   its credential, or by its replica id in Heph-Replica with an owner's login or on an open hub;
//   the store is read on every request (no cache to go stale across hub processes), and a
//   long-poll that waited reads it again before it answers (a device folded meanwhile into the
//   one its replica enrolled as is judged by that one, not taken for revoked);
// - a replica that syncs without a device credential (an owner's login, an open hub) is
//   registered as a device by the first of its sync requests the hub serves (the route calls
//   back once the request is valid: a refused one registers nothing);
// - last seen and the pull cursor are written at most every LAST_SEEN_WRITE_MS per device per
//   process (newer values kept in memory meanwhile and shown by this process's listings);
// - status: online (a request within ONLINE_MS, or a long-poll open in this process: a
//   long-poll lasts at most 60 s and writes its start, so one open in another process is within
//   ONLINE_MS of its last seen too), idle (within IDLE_MS), stale, pending, revoked.

import type { OwnedPrincipal } from '../auth/principal.js';
import { HephError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import type { DeviceFacts, DeviceRecord, HubStore } from '../ports/hub-store.js';
import type { Logger } from '../ports/logger.js';
import { newDeviceId } from './credentials.js';

export const LAST_SEEN_WRITE_MS = 30_000;
export const ONLINE_MS = 2 * 60_000;
export const IDLE_MS = 24 * 3_600_000;

/** A request's principal on the hub: always on some owner's data, with its device as the store
 *  had it for this request when a device credential proved it. */
export type HubPrincipal = OwnedPrincipal & { readonly deviceRecord?: DeviceRecord };

export type DeviceState = 'online' | 'idle' | 'stale' | 'pending' | 'revoked';

export function revokedError(d: DeviceRecord): HephError {
  return new HephError(
    'device_revoked',
    `this device (${d.name}, ${d.id}) was revoked on the hub: it can no longer sync; ` +
      'its data stays on the device (heph export still works)',
    { device: d.id },
  );
}

interface Latest {
  seenMs: number;
  cursor?: number;
}

export class DeviceTracker {
  private readonly written = new Map<string, number>();
  private readonly latest = new Map<string, Latest>();
  private readonly polls = new Map<string, number>();

  constructor(
    private readonly store: HubStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /**
   * The caller's device for a request with this replica id (from Heph-Replica, when valid),
   * registered when `register` and new; throws device_revoked for a revoked one.
   */
  async seen(
    caller: HubPrincipal,
    replica: string | undefined,
    o: { register: boolean; cursor?: number | undefined; facts?: DeviceFacts | undefined },
  ): Promise<DeviceRecord | undefined> {
    let d = caller.deviceRecord;
    if (d === undefined && replica !== undefined) {
      d = await this.store.findDevice(caller.owner, replica);
      if (d === undefined && o.register) {
        d = await this.store.registerDevice(
          caller.owner,
          replica,
          { id: newDeviceId(), name: replica, facts: {} },
          this.clock.now(),
        );
      }
    }
    if (d === undefined) return undefined;
    if (d.status === 'revoked') throw revokedError(d);
    await this.touch(d, o.cursor, o.facts);
    return d;
  }

  /** Reads the device again (after a long-poll waited): throws device_revoked if it is now. */
  async recheck(caller: HubPrincipal, device: DeviceRecord | undefined): Promise<void> {
    if (device === undefined) return;
    let now = await this.store.findDevice(caller.owner, device.id);
    // Gone by id: its replica enrolled meanwhile, and its row was folded into the enrolled
    // device, which now decides (a fold is not a revocation).
    if (now === undefined && device.replica !== undefined) {
      now = await this.store.findDevice(caller.owner, device.replica);
    }
    if (now === undefined || now.status === 'revoked') throw revokedError(now ?? device);
  }

  /** Marks a long-poll of the device open; call the result when it ends. */
  polling(device: DeviceRecord | undefined): () => void {
    if (device === undefined) return () => undefined;
    const id = device.id;
    this.polls.set(id, (this.polls.get(id) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.polls.get(id) ?? 1) - 1;
      if (n <= 0) this.polls.delete(id);
      else this.polls.set(id, n);
    };
  }

  /** Records last seen (at most every LAST_SEEN_WRITE_MS) and reported facts (at once). */
  private async touch(
    d: DeviceRecord,
    cursor: number | undefined,
    facts: DeviceFacts | undefined,
  ): Promise<void> {
    const now = this.clock.now();
    const prev = this.latest.get(d.id);
    this.latest.set(d.id, {
      seenMs: now,
      ...((cursor ?? prev?.cursor) !== undefined && { cursor: cursor ?? prev!.cursor! }),
    });
    const last = this.written.get(d.id) ?? d.lastSeenMs;
    if (
      facts === undefined &&
      last !== undefined &&
      now - last < LAST_SEEN_WRITE_MS &&
      now >= last
    ) {
      return;
    }
    this.written.set(d.id, now);
    try {
      await this.store.touchDevice({
        owner: d.owner,
        id: d.id,
        seenMs: now,
        cursor: cursor ?? prev?.cursor,
        facts,
      });
    } catch (e) {
      // Last seen is a hint: a request is not failed for it.
      this.logger.warn(
        { device: d.id, err: e instanceof Error ? e.message : String(e) },
        'could not record when a device was last seen',
      );
    }
  }

  /** A device as this process knows it: the store's row, with newer last seen and cursor. */
  current(d: DeviceRecord): DeviceRecord {
    const l = this.latest.get(d.id);
    if (l === undefined) return d;
    return {
      ...d,
      lastSeenMs: Math.max(l.seenMs, d.lastSeenMs ?? 0),
      cursor: l.cursor ?? d.cursor,
    };
  }

  state(d: DeviceRecord): DeviceState {
    if (d.status !== 'active') return d.status;
    const now = this.clock.now();
    const last = d.lastSeenMs;
    if ((this.polls.get(d.id) ?? 0) > 0) return 'online';
    if (last === undefined) return 'stale';
    if (now - last <= ONLINE_MS) return 'online';
    if (now - last <= IDLE_MS) return 'idle';
    return 'stale';
  }
}
