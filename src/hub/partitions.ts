// Partitions: each owner's data on a hub. The hub's own database (--db) is the hub owner's
// partition; every other allowed account gets a SQLite file of its own under `dir`, named by a
// hash of its (iss, sub) key so no identity can choose or guess another's file. Guarantees: a
// partition is opened on its account's first request (synchronous=FULL and SQLite's exclusive
// lock, like the hub's own database) and then kept open until close(); each partition has its own
// push queue, long-poll notifier and RPC registry over its own store, so nothing read or written
// through one partition is visible through another; closeWaits() ends every long-poll of every
// partition (the hub is stopping), close() closes every store this module opened (never the
// hub's own, which belongs to the daemon).

import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EventHub } from '../daemon/events.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { Random } from '../ports/random.js';
import type { Services } from '../rpc/methods/index.js';
import { createServices } from '../rpc/methods/context.js';
import type { Registry } from '../rpc/registry.js';
import { openStore } from '../store/open-store.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { CommitNotifier } from './notifier.js';
import { PushQueue, type ApplyGroup } from './push-queue.js';
import { httpRegistry } from './routes/rpc.js';
import type { SyncPartition } from './routes/sync.js';

export interface Partition extends SyncPartition {
  registry: Registry;
}

/** The file name (without directory) of the partition for an identity key. */
export function partitionFileName(identityKey: string): string {
  return `${createHash('sha256').update(identityKey).digest('hex').slice(0, 32)}.db`;
}

/** A partition over `store`: its notifier wakes on every change of the store. */
export function makePartition(
  store: SqliteStore,
  services: Services,
  applyGroup: ApplyGroup,
): Partition & { offChange(): void } {
  const notifier = new CommitNotifier();
  // Local writes (the owner's socket, /rpc) wake pulls too; pushes notify explicitly, because ops
  // of kinds this version does not apply change no materialized row.
  const offChange = store.onChange(() => notifier.notify());
  return {
    store,
    notifier,
    queue: new PushQueue(applyGroup),
    registry: httpRegistry(services),
    offChange,
  };
}

export interface PartitionsOptions {
  /** Directory of the per-account databases (created 0700 on first use). */
  dir: string;
  /** The hub's own services; a partition gets the same ones over its own store. */
  services: Services;
  clock: Clock;
  random: Random;
  logger: Logger;
  applyGroup(store: SqliteStore): ApplyGroup;
}

interface Open {
  partition: Partition & { offChange(): void };
  events: EventHub;
}

export class Partitions {
  private readonly open = new Map<string, Open>();
  private closed = false;

  constructor(private readonly o: PartitionsOptions) {}

  /** Partitions open now. */
  get size(): number {
    return this.open.size;
  }

  /** The partition of the account with this identity key, opened if need be. */
  get(identityKey: string): Partition {
    const known = this.open.get(identityKey);
    if (known !== undefined) return known.partition;
    if (this.closed) throw new Error('partitions are closed');
    const { o } = this;
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    chmodSync(o.dir, 0o700);
    const path = join(o.dir, partitionFileName(identityKey));
    const store = openStore(
      { path, synchronous: 'FULL', exclusive: true },
      { clock: o.clock, random: o.random, logger: o.logger },
    );
    let events: EventHub | undefined;
    try {
      // Whose file this is, for whoever looks at the directory later.
      if (store.getSetting('hub.partition_of') === undefined) {
        store.setSetting('hub.partition_of', identityKey);
      }
      events = new EventHub(store, o.logger);
      const base = o.services;
      const services = createServices(store, events, { ...base.config, db: path }, base);
      const partition = makePartition(store, services, o.applyGroup(store));
      this.open.set(identityKey, { partition, events });
      o.logger.info({ partition: partitionFileName(identityKey) }, 'opened a user partition');
      return partition;
    } catch (e) {
      events?.close();
      store.close();
      throw e;
    }
  }

  /** Ends every long-poll, now and later. */
  closeWaits(): void {
    for (const { partition } of this.open.values()) partition.notifier.close();
  }

  /** Closes every partition's store; later get() calls fail. */
  close(): void {
    this.closed = true;
    for (const { partition, events } of this.open.values()) {
      partition.notifier.close();
      partition.offChange();
      events.close();
      partition.store.close();
    }
    this.open.clear();
  }
}
