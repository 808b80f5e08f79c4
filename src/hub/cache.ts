// Cache replicas: /rpc and the hub's own socket run the ordinary model on a per-owner device
// store kept under the cache directory (owner-<id>.db), never on the hub store itself.
// Guarantees:
// - calls for one owner run one at a time; before each, the replica catches up from the owner's
//   log (leaving out its own ops, which it holds); after it, the ops the call wrote are appended
//   to the log in one append (one transaction, however many they are) before run() resolves, so
//   a reply always describes stored data;
// - when that append fails, run() rejects with `not_stored` in its details and the replica is
//   dropped (its file removed): the ops it held never reach anyone, and the next call rebuilds
//   from the log, so nothing of the call is half-applied;
// - a replica has its own replica id, kept across restarts with its file; a file that belongs to
//   another hub store or owner, whose cursor is ahead of the log or names another op there than
//   when it was saved (the store restored from an older copy, then written again past it), or
//   that holds ops it never got acknowledged (the hub died mid-call) is discarded and rebuilt;
// - at most maxOwners replicas and maxBytes of files are kept (least recently used go first,
//   never one in use or with event subscribers); they stay on disk across restarts;
// - a replica with event subscribers follows its owner's log, so they hear of every change;
// - close() ends following, waits for calls in progress, and closes every replica.

import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonConfig } from '../config/config.js';
import { HephError } from '../core/errors.js';
import { EventHub } from '../daemon/events.js';
import type { Clock } from '../ports/clock.js';
import type { AppendResult, HubStore, OwnerId } from '../ports/hub-store.js';
import type { Logger } from '../ports/logger.js';
import type { Random } from '../ports/random.js';
import { MAX_PULL_LIMIT, MAX_PULL_PAGE_CHARS, MAX_PUSH_OPS } from '../protocol/sync.js';
import { httpStatusFor } from '../protocol/error-wire.js';
import { createServices } from '../rpc/methods/context.js';
import { buildNamespaces, type Services } from '../rpc/methods/index.js';
import { Registry } from '../rpc/registry.js';
import { openStore } from '../store/open-store.js';
import { opIdAt } from './log-position.js';
import type { SqliteStore } from '../store/sqlite-store.js';

export const DEFAULT_CACHE_MAX_OWNERS = 32;
export const DEFAULT_CACHE_MAX_MB = 2048;
/**
 * Body documents each open replica keeps decoded (store/body-cache.ts): smaller than a daemon's,
 * since a hub may hold many owners' replicas at once (32 × 2 MiB at most by default).
 */
const REPLICA_BODY_CACHE = { maxBytes: 2 * 1024 * 1024, maxDocs: 16 };

/** Settings a cache replica keeps about itself. */
const STORE_ID = 'cache.store_id';
const OWNER = 'cache.owner';
const CURSOR = 'cache.cursor';
/** The id of the log's op at CURSOR when it was saved ('' for none): see catchUp. */
const CURSOR_OP = 'cache.cursor_op';
const PUSHED = 'cache.pushed_seq';

const FILE_RE = /^owner-(\d{1,15})\.db$/;
/**
 * The device name a cache replica gives itself with its first change, so history and conflicts on
 * the owner's devices say "from hub" for a change made through /rpc, not a replica id.
 */
export const CACHE_REPLICA_NAME = 'hub';
const FOLLOW_WAIT_MS = 30_000;

export interface CacheOptions {
  dir: string;
  maxOwners: number;
  maxBytes: number;
}

export interface CacheDeps {
  hubStore: HubStore;
  /** Appends a replica's own ops to its owner's log (the hub's push queue: group commit). */
  append(owner: OwnerId, ops: readonly unknown[]): Promise<AppendResult>;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** The hub's configuration, for the services of each replica (time zone, mode). */
  config: DaemonConfig;
  version: string;
  /** When the hub started (the replicas' `status` reports its uptime). */
  startedMs: number;
}

/** A replica ready for calls: its store and what the daemon's methods run on. */
export interface CacheReplica {
  readonly owner: OwnerId;
  readonly store: SqliteStore;
  readonly services: Services;
  readonly registry: Registry;
}

interface Open extends CacheReplica {
  events: EventHub;
  following: boolean;
}

interface Entry {
  owner: OwnerId;
  path: string;
  bytes: number;
  open: Open | undefined;
  /** Calls for this owner, one after another. */
  tail: Promise<void>;
  active: number;
}

function fileOf(dir: string, owner: OwnerId): string {
  return join(dir, `owner-${owner}.db`);
}

function sizeOf(path: string): number {
  let n = 0;
  for (const p of [path, `${path}-wal`]) {
    try {
      n += statSync(p).size;
    } catch {
      // not there
    }
  }
  return n;
}

function removeFiles(path: string): void {
  for (const s of ['', '-wal', '-shm', '-journal']) rmSync(path + s, { force: true });
}

/** The error a call gets when the hub store could not take the ops it wrote. */
function notStored(e: unknown): HephError {
  const cause = e instanceof HephError ? e : undefined;
  const code = cause !== undefined && httpStatusFor(cause) >= 500 ? cause.code : 'internal';
  const why = e instanceof Error ? e.message : String(e);
  return new HephError(
    code,
    `the hub could not store this change, so nothing of it was kept (${why}); try again`,
    { reason: 'not_stored' },
  );
}

export function isNotStored(e: unknown): e is HephError {
  return e instanceof HephError && e.details.reason === 'not_stored';
}

export class CacheReplicas {
  /** Least recently used first. */
  private readonly entries = new Map<OwnerId, Entry>();
  private readonly stopFollowing = new AbortController();
  private closed = false;

  private constructor(
    private readonly o: CacheOptions,
    private readonly deps: CacheDeps,
    private readonly storeId: string,
  ) {}

  /** Takes over the cache directory (created 0700), with the replicas left there before. */
  static async open(o: CacheOptions, deps: CacheDeps): Promise<CacheReplicas> {
    if (!Number.isInteger(o.maxOwners) || o.maxOwners < 1) {
      throw new HephError('invalid_params', '--cache-max-owners must be at least 1', {
        field: 'cache-max-owners',
      });
    }
    if (!(o.maxBytes > 0)) {
      throw new HephError('invalid_params', '--cache-max-mb must be more than 0', {
        field: 'cache-max-mb',
      });
    }
    try {
      mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new HephError(
        'io',
        `cannot create the cache directory ${o.dir}: ${(e as Error).message}`,
        {
          field: 'cache-dir',
        },
      );
    }
    const caches = new CacheReplicas(o, deps, await deps.hubStore.storeId());
    const found = readdirSync(o.dir)
      .map((f) => ({ f, m: FILE_RE.exec(f) }))
      .filter((x): x is { f: string; m: RegExpExecArray } => x.m !== null)
      .map(({ f, m }) => {
        const path = join(o.dir, f);
        return { owner: Number(m[1]), path, mtime: statSync(path).mtimeMs };
      })
      .sort((a, b) => a.mtime - b.mtime);
    for (const { owner, path } of found) caches.entry(owner, path);
    return caches;
  }

  /** Replicas known (open or on disk). */
  get size(): number {
    return this.entries.size;
  }

  /** Bytes of every replica's files, as last measured. */
  get bytes(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.bytes;
    return n;
  }

  /**
   * Runs `fn` on the owner's replica, caught up with the owner's log, and appends what it wrote
   * to the log before resolving (see the guarantees above).
   */
  run<T>(owner: OwnerId, fn: (r: CacheReplica) => T | Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new HephError('unavailable', 'the hub is stopping'));
    const e = this.entry(owner);
    e.active++;
    const run = e.tail.then(() => this.runNow(e, fn));
    e.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run.finally(() => {
      e.active--;
      this.evict();
    });
  }

  private async runNow<T>(e: Entry, fn: (r: CacheReplica) => T | Promise<T>): Promise<T> {
    if (this.closed) throw new HephError('unavailable', 'the hub is stopping');
    const r = await this.ready(e);
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await fn(r) };
    } catch (err) {
      outcome = { ok: false, error: err };
    }
    // What the call wrote reaches the log before its reply, whether it then failed or not.
    let pushed: boolean;
    try {
      pushed = await this.pushOwn(e, r);
    } catch (err) {
      this.drop(e, 'its change could not be stored');
      throw notStored(err);
    }
    // The cursor then moves past what the call wrote, so that it names an op of the replica's
    // own: a store restored from before that op is then told by the cursor (catchUp).
    if (pushed) {
      await this.catchUp(e.owner, r).catch((err: unknown) => {
        this.deps.logger.debug(
          { owner: e.owner, err: (err as Error).message },
          'a cache replica did not catch up after its change; the next call will',
        );
      });
    }
    e.bytes = sizeOf(e.path);
    if (r.events.count() > 0) this.follow(e, r);
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /** The owner's replica, open and caught up. */
  private async ready(e: Entry): Promise<Open> {
    const r = e.open ?? this.openReplica(e);
    try {
      await this.catchUp(e.owner, r);
      return r;
    } catch (err) {
      if (!(err instanceof HephError && err.code === 'conflict')) throw err;
      // The replica is ahead of the log, or its cursor names another op there: the hub store
      // was replaced or restored.
      this.drop(e, 'it does not match the hub store’s log (restored or replaced?)');
      const fresh = this.openReplica(e);
      await this.catchUp(e.owner, fresh);
      return fresh;
    }
  }

  private openReplica(e: Entry): Open {
    const { deps } = this;
    let store = this.openStore(e.path);
    const id = store.getSetting(STORE_ID);
    const owner = store.getSetting(OWNER);
    const pushed = Number(store.getSetting(PUSHED) ?? '0');
    const stale =
      id !== undefined &&
      (id !== this.storeId ||
        owner !== String(e.owner) ||
        store.countOwnOpsSince(Number.isSafeInteger(pushed) ? pushed : 0) > 0);
    if (stale) {
      deps.logger.info(
        { owner: e.owner, path: e.path },
        'discarding a cache replica that does not match the hub store; rebuilding it',
      );
      store.close();
      removeFiles(e.path);
      store = this.openStore(e.path);
    }
    if (store.getSetting(STORE_ID) === undefined) {
      store.transaction(() => {
        store.setSetting(STORE_ID, this.storeId);
        store.setSetting(OWNER, String(e.owner));
        store.setSetting(PUSHED, String(store.lastSeq()));
      });
    }
    const events = new EventHub(store, deps.logger);
    const services = createServices(store, events, { ...deps.config, db: e.path }, deps);
    const registry = new Registry(buildNamespaces(services));
    const r: Open = { owner: e.owner, store, services, registry, events, following: false };
    e.open = r;
    return r;
  }

  private openStore(path: string): SqliteStore {
    const { deps } = this;
    return openStore(
      { path, synchronous: 'NORMAL', exclusive: true, bodyCache: REPLICA_BODY_CACHE },
      { clock: deps.clock, random: deps.random, logger: deps.logger },
    );
  }

  /**
   * Applies what the owner's log holds past the replica's cursor. Throws `conflict` when the
   * cursor is ahead of the log, or names another op there than when it was saved (the log was
   * restored from an older copy and written again up to or past it): ready() then rebuilds.
   */
  private async catchUp(owner: OwnerId, r: Open): Promise<void> {
    const { store } = r;
    const { hubStore } = this.deps;
    let cursor = Number(store.getSetting(CURSOR) ?? '0');
    const named = store.getSetting(CURSOR_OP);
    if (cursor > 0 && named !== undefined && (await opIdAt(hubStore, owner, cursor)) !== named) {
      throw new HephError('conflict', `the log holds another op at ${cursor} than it did`);
    }
    if (cursor === (await hubStore.head(owner))) return;
    for (;;) {
      const upTo = store.ownHigh();
      const page = await hubStore.read(owner, {
        after: cursor,
        limit: MAX_PULL_LIMIT,
        maxChars: MAX_PULL_PAGE_CHARS,
        skip: upTo === undefined ? undefined : { origin: store.origin, upTo },
      });
      const ops = page.ops.length === 0 ? [] : (JSON.parse(`[${page.ops.join(',')}]`) as unknown[]);
      const at = await opIdAt(hubStore, owner, page.cursor, page);
      const refused = store.transaction(() => {
        const res = ops.length === 0 ? undefined : store.applyOps(ops);
        store.setSetting(CURSOR, String(page.cursor));
        store.setSetting(CURSOR_OP, at);
        return res?.refused ?? [];
      });
      if (refused.length > 0) {
        this.deps.logger.warn(
          { owner, refused: refused.length, first: refused[0] },
          'a cache replica refused ops of the log',
        );
      }
      cursor = page.cursor;
      if (!page.more) return;
    }
  }

  /** Appends every op the call wrote in one append (one transaction, however many pages of
   *  the replica's log they take), so the log gets all of the call or none of it. True when it
   *  appended any. */
  private async pushOwn(e: Entry, r: Open): Promise<boolean> {
    const { store } = r;
    const from = Number(store.getSetting(PUSHED) ?? '0');
    if (store.deviceName(store.origin) === undefined && store.countOwnOpsSince(from) > 0) {
      store.setDeviceName(store.origin, CACHE_REPLICA_NAME);
    }
    const ops: unknown[] = [];
    let cursor = from;
    for (;;) {
      const page = store.ownOpsSince(cursor, MAX_PUSH_OPS);
      for (const op of page.ops) ops.push(op);
      cursor = page.cursor;
      if (!page.more) break;
    }
    if (ops.length > 0) {
      const result = await this.deps.append(e.owner, ops);
      const bad = result.refused[0];
      if (bad !== undefined) {
        throw new HephError('internal', `the hub store refused op ${bad.id}: ${bad.message}`);
      }
    }
    if (cursor !== from) store.setSetting(PUSHED, String(cursor));
    return ops.length > 0;
  }

  /** Keeps a replica with subscribers caught up with its owner's log. */
  private follow(e: Entry, r: Open): void {
    if (r.following) return;
    r.following = true;
    const { signal } = this.stopFollowing;
    void (async () => {
      try {
        while (!signal.aborted && e.open === r && r.events.count() > 0) {
          const cursor = Number(r.store.getSetting(CURSOR) ?? '0');
          const end = await this.deps.hubStore.waitForAppend(
            e.owner,
            cursor,
            FOLLOW_WAIT_MS,
            signal,
          );
          if (end === 'closed' || end === 'aborted') break;
          if (end === 'appended') await this.run(e.owner, () => undefined);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.deps.logger.warn(
          { owner: e.owner, err: (err as Error).message },
          'a cache replica stopped following its log; subscribers hear of changes at the next call',
        );
      } finally {
        r.following = false;
      }
    })();
  }

  private entry(owner: OwnerId, path = fileOf(this.o.dir, owner)): Entry {
    let e = this.entries.get(owner);
    if (e === undefined) {
      e = { owner, path, bytes: sizeOf(path), open: undefined, tail: Promise.resolve(), active: 0 };
    } else {
      this.entries.delete(owner);
    }
    this.entries.set(owner, e); // most recently used last
    return e;
  }

  /** Closes an entry's replica, if open (its file stays). */
  private shut(e: Entry): void {
    const r = e.open;
    e.open = undefined;
    if (r !== undefined) {
      r.events.close();
      r.store.close();
    }
  }

  private drop(e: Entry, why: string): void {
    this.shut(e);
    removeFiles(e.path);
    e.bytes = 0;
    this.deps.logger.warn({ owner: e.owner, path: e.path }, `dropped a cache replica: ${why}`);
  }

  /**
   * Removes least recently used replicas beyond the bounds, if idle; never the most recently
   * used one (a replica larger than the byte bound on its own is kept while it is the last used).
   */
  private evict(): void {
    const over = (): boolean =>
      this.entries.size > this.o.maxOwners || this.bytes > this.o.maxBytes;
    if (!over()) return;
    for (const e of [...this.entries.values()].slice(0, -1)) {
      if (!over()) return;
      if (e.active > 0 || (e.open !== undefined && e.open.events.count() > 0)) continue;
      this.shut(e);
      removeFiles(e.path);
      this.entries.delete(e.owner);
      this.deps.logger.debug({ owner: e.owner }, 'evicted a cache replica');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopFollowing.abort();
    await Promise.all([...this.entries.values()].map((e) => e.tail));
    for (const e of this.entries.values()) this.shut(e);
  }
}
