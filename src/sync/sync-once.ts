// One sync exchange between a spoke and its hub (ARCHITECTURE §5). Guarantees, for a crash or
// an error at any point, followed by another run:
// - pull: each page is applied and the pull cursor saved in ONE transaction, so a page is
//   either applied with its cursor or neither (re-applying a page is harmless anyway: ops are
//   identified by id);
// - push: own ops (origin = this replica) after `sync.push_seq` go in batches of at most
//   MAX_PUSH_OPS; push_seq moves only after the hub's 2xx, together with the quarantine of
//   what the hub refused, so an unacknowledged batch is simply sent again (the hub counts it as
//   duplicates) and nothing is lost or doubled;
// - clock drift: once the hub refuses ops for drift, pushing stops (later own ops stay unsent),
//   so every own op after push_seq has never reached anyone. When the local clock is back
//   within the limit (judged by the hub's Date header), the refused ops and every unsent own op
//   are re-stamped in one transaction (store.restampOps) and pushed like new ones.
// Failpoints are a testing aid: with `failpoint` set, `crash(name)` runs at that point (the
// composition root passes a crash that SIGKILLs the process; tests pass one that throws).

import { HephError } from '../core/errors.js';
import { DEFAULT_MAX_DRIFT_MS } from '../core/hlc.js';
import type { Op } from '../core/op.js';
import { MAX_PULL_LIMIT, MAX_PUSH_OPS, type Refused } from '../protocol/sync.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import type { SyncTransport } from './hub-client.js';
import {
  addToQuarantine,
  PULL_CURSOR,
  PULL_CURSOR_OP,
  pullCursor,
  pullCursorOp,
  PUSH_SEQ,
  pushSeq,
  quarantine,
  setQuarantine,
  UNPULLED,
} from './sync-state.js';

export const FAILPOINTS = ['push.before_send', 'push.after_response', 'pull.after_apply'] as const;
export type Failpoint = (typeof FAILPOINTS)[number];

export function isFailpoint(v: unknown): v is Failpoint {
  return typeof v === 'string' && (FAILPOINTS as readonly string[]).includes(v);
}

export interface SyncProgress {
  phase: 'pull' | 'push';
  /** Ops pulled or pushed so far in this run. */
  done: number;
  /** Ops the hub still holds for us (pull) or own ops left to send (push), when known. */
  remaining?: number;
}

export interface SyncOnceOptions {
  onProgress?: (p: SyncProgress) => void;
  signal?: AbortSignal;
  failpoint?: Failpoint | undefined;
  /** Called at the failpoint; must not return normally in real use (default: SIGKILL self). */
  crash?: (name: Failpoint) => void;
  /** The hub's drift limit (default 5 min). */
  maxDriftMs?: number;
  pullLimit?: number;
  pushLimit?: number;
  /** Ops of a pulled page applied per transaction (default PAGE_PART_OPS; applyPageInParts). */
  partOps?: number;
}

export interface SyncResult {
  /** Ops received from the hub (own echoes and duplicates included). */
  pulled: number;
  /** Of those, ops new to this replica. */
  applied: number;
  /** Own ops the hub acknowledged (accepted or already had). */
  pushed: number;
  /** Ops the hub refused in this run. */
  refused: Refused[];
  /** Ops re-stamped after a drift refusal. */
  restamped: number;
  /** The hub's `remaining` after the last page. */
  remaining: number;
  /** Pushing is held back because the hub refused ops for clock drift and the clock is still off. */
  driftHeld: boolean;
}

/** Ops a spoke asks for per pull page: fewer, larger pages mean fewer commits and requests. */
export const SYNC_PULL_LIMIT = MAX_PULL_LIMIT;

/** How close to the limit a re-stamp may come (the Date header has 1 s resolution). */
const DRIFT_MARGIN_MS = 2000;

function defaultCrash(): void {
  process.kill(process.pid, 'SIGKILL');
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new HephError('unavailable', 'sync was cancelled', { aborted: true });
  }
}

export async function syncOnce(
  store: SqliteStore,
  hub: SyncTransport,
  opts: SyncOnceOptions = {},
): Promise<SyncResult> {
  const result = emptyResult();
  // A pull of more than one page (a new device's first sync, a device back after a long time)
  // lets the WAL grow until this sync ends, its push included: the checkpoints the daemon's
  // bound would run inside its commits wait for the idle checkpoint (raiseWalBound).
  const bulk = { release: undefined as (() => void) | undefined };
  try {
    await pullAll(store, hub, opts, result, failpoints(opts), () => {
      bulk.release ??= store.raiseWalBound(BULK_WAL_PAGES);
    });
    await pushInto(store, hub, opts, result);
  } finally {
    bulk.release?.();
  }
  return result;
}

/** The WAL bound while a sync pulls more than one page: 256 MB of 4 KB pages. */
export const BULK_WAL_PAGES = 65_536;

/**
 * Sends this replica's ops the hub does not have yet (re-stamping drift-refused ones first when
 * the clock allows), without pulling: what a spoke does at once after a local change.
 */
export async function pushPending(
  store: SqliteStore,
  hub: SyncTransport,
  opts: SyncOnceOptions = {},
): Promise<SyncResult> {
  const result = emptyResult();
  await pushInto(store, hub, opts, result);
  return result;
}

function emptyResult(): SyncResult {
  return {
    pulled: 0,
    applied: 0,
    pushed: 0,
    refused: [],
    restamped: 0,
    remaining: 0,
    driftHeld: false,
  };
}

function failpoints(opts: SyncOnceOptions): (name: Failpoint) => void {
  return (name) => {
    if (opts.failpoint === name) (opts.crash ?? defaultCrash)(name);
  };
}

async function pushInto(
  store: SqliteStore,
  hub: SyncTransport,
  opts: SyncOnceOptions,
  result: SyncResult,
): Promise<void> {
  result.driftHeld = !restampIfClockRight(store, hub, opts, result);
  if (!result.driftHeld) await pushAll(store, hub, opts, result, failpoints(opts));
}

async function pullAll(
  store: SqliteStore,
  hub: SyncTransport,
  opts: SyncOnceOptions,
  result: SyncResult,
  fail: (name: Failpoint) => void,
  onMore: () => void = () => undefined,
): Promise<void> {
  const limit = opts.pullLimit ?? SYNC_PULL_LIMIT;
  // The next page is asked for before this one is applied, so the hub reads and sends it while
  // this process applies (pages are still applied one by one, in order, each with its cursor).
  // Leaving early (an error, a cancel) aborts the request still in flight.
  const local = new AbortController();
  const cancel = (): void => local.abort();
  opts.signal?.addEventListener('abort', cancel, { once: true });
  // Pages are read as sent where the transport can, each op decoded just before it is applied.
  // `sent` settles once the request is on its way (or settled): the page being applied waits for
  // it, since a request still being made when the apply starts goes out only as it ends (the
  // event loop turns only between parts; see request-sent.ts).
  let sent: Promise<unknown> = Promise.resolve();
  const fetchPage = (after: string | undefined, afterOp: string): Promise<AppliedPage> => {
    if (!hub.pullSent) {
      const p = hub.pull(after, limit, 0, local.signal, afterOp);
      p.catch(noop); // awaited below, or abandoned on the way out
      sent = Promise.resolve();
      return p;
    }
    let onSent = noop;
    const written = new Promise<void>((resolve) => (onSent = resolve));
    const p = hub.pullSent(after, limit, 0, local.signal, afterOp, onSent);
    p.catch(noop);
    sent = Promise.race([written, p.then(noop, noop)]);
    return p;
  };
  try {
    let next = fetchPage(pullCursor(store), pullCursorOp(store));
    for (;;) {
      checkAbort(opts.signal);
      let page;
      try {
        page = await next;
      } catch (e) {
        if (!(e instanceof HephError && e.code === 'conflict' && pullCursor(store) !== undefined)) {
          throw e;
        }
        // Our cursor is ahead of the hub's log, or names another op there: its database was
        // replaced or restored. Start over from its beginning, and offer it every own op again
        // (what it has counts as duplicates).
        store.transaction(() => {
          store.setSetting(PULL_CURSOR, undefined);
          store.setSetting(PULL_CURSOR_OP, undefined);
          store.setSetting(PUSH_SEQ, undefined);
        });
        next = fetchPage(undefined, '');
        continue;
      }
      if (page.more) {
        onMore();
        next = fetchPage(page.cursor, page.cursor_op ?? '');
        await sent;
      }
      if (opts.failpoint === 'pull.after_apply') applyPage(store, page, result, fail);
      else await applyPageInParts(store, page, result, opts.partOps, opts.signal);
      opts.onProgress?.({ phase: 'pull', done: result.pulled, remaining: page.remaining });
      if (!page.more) return;
    }
  } finally {
    opts.signal?.removeEventListener('abort', cancel);
    local.abort();
  }
}

const noop = (): void => undefined;

/** A pulled page: its ops decoded, or as sent with the function that decodes each. */
interface AppliedPage {
  ops: readonly unknown[];
  decode?: (raw: unknown) => unknown;
  cursor: string;
  /** The op at `cursor`, when the hub named it. */
  cursor_op?: string | undefined;
  more?: boolean;
  remaining: number;
}

/** A page's transaction leaves node rows pending, as applyOps's own does (see catchUpRows). */
const KEEP_ROWS = { keepRows: true } as const;

/**
 * Applies one pull page and saves its cursor in the same transaction. Exported for the sync
 * loop's long-poll, which must keep the same guarantee.
 */
export function applyPage(
  store: SqliteStore,
  page: AppliedPage,
  result: Pick<SyncResult, 'pulled' | 'applied' | 'remaining'>,
  fail?: (name: Failpoint) => void,
): void {
  const apply = (): number =>
    store.applyOps(page.ops, page.decode ? { decode: page.decode } : {}).applied.length;
  const save = (): void => {
    store.setSetting(PULL_CURSOR, page.cursor);
    store.setSetting(PULL_CURSOR_OP, page.cursor_op || undefined);
    store.setSetting(UNPULLED, String(page.remaining));
  };
  let applied: number;
  if (fail) {
    // Only under this failpoint the page commits before its cursor: a crash in between must
    // leave a state from which re-pulling the page is harmless.
    applied = apply();
    fail('pull.after_apply');
    store.transaction(save, KEEP_ROWS);
  } else {
    applied = store.transaction(() => {
      const n = apply();
      save();
      return n;
    }, KEEP_ROWS);
  }
  result.pulled += page.ops.length;
  result.applied += applied;
  result.remaining = page.remaining;
}

/** Ops of a pulled page applied per transaction by applyPageInParts. */
export const PAGE_PART_OPS = 1000;

/**
 * Applies a pull page as applyPage does, but PAGE_PART_OPS ops per transaction, letting the event
 * loop run between parts; the last part saves the cursor. While a transaction runs, this process
 * reads nothing from its sockets, so the next page (asked for before this one is applied) stalls
 * in the socket buffers, and its transfer, which needs the hub to run as well, waited until the
 * whole page was applied. Parts committed before a crash or an abort are ops without their cursor,
 * as under the pull.after_apply failpoint: pulling the page again applies each op once (the rest
 * are duplicates). Node rows stay pending across the parts as across pages.
 */
export async function applyPageInParts(
  store: SqliteStore,
  page: AppliedPage,
  result: Pick<SyncResult, 'pulled' | 'applied' | 'remaining'>,
  partOps = PAGE_PART_OPS,
  signal?: AbortSignal,
): Promise<void> {
  const options = page.decode ? { decode: page.decode } : {};
  const size = Math.max(1, Math.floor(partOps));
  let from = 0;
  for (; page.ops.length - from > size; from += size) {
    const part = page.ops.slice(from, from + size);
    result.applied += store.transaction(
      () => store.applyOps(part, options).applied.length,
      KEEP_ROWS,
    );
    result.pulled += part.length;
    await new Promise((resolve) => setImmediate(resolve));
    checkAbort(signal);
  }
  applyPage(store, { ...page, ops: from === 0 ? page.ops : page.ops.slice(from) }, result);
}

/** Own ops after push_seq, at most `max`, and the seq the batch reaches. */
function nextBatch(store: SqliteStore, from: number, max: number): { ops: Op[]; upTo: number } {
  const page = store.ownOpsSince(from, max);
  return { ops: page.ops, upTo: page.cursor };
}

async function pushAll(
  store: SqliteStore,
  hub: SyncTransport,
  opts: SyncOnceOptions,
  result: SyncResult,
  fail: (name: Failpoint) => void,
): Promise<void> {
  const max = Math.min(opts.pushLimit ?? MAX_PUSH_OPS, MAX_PUSH_OPS);
  for (;;) {
    checkAbort(opts.signal);
    const from = pushSeq(store);
    const batch = nextBatch(store, from, max);
    if (batch.ops.length === 0) {
      // Only other replicas' ops past push_seq: skip them for next time.
      if (batch.upTo > from) store.setSetting(PUSH_SEQ, String(batch.upTo));
      return;
    }
    fail('push.before_send');
    const res = await hub.push(batch.ops, opts.signal);
    fail('push.after_response');
    const sent = new Set(batch.ops.map((o) => o.id));
    const refused = res.refused.filter((r) => sent.has(r.id));
    store.transaction(() => {
      store.setSetting(PUSH_SEQ, String(batch.upTo));
      addToQuarantine(store, refused);
    });
    result.pushed += batch.ops.length - refused.length;
    result.refused.push(...refused);
    opts.onProgress?.({ phase: 'push', done: result.pushed });
    // After a drift refusal nothing more is sent: what follows stays unsent, to be re-stamped.
    if (refused.some((r) => r.code === 'clock_drift')) return;
  }
}

/**
 * Re-stamps drift-refused ops when the clock allows. Returns false when pushing must wait
 * (drift-refused ops exist and the clock is still too far ahead, or cannot be judged).
 */
function restampIfClockRight(
  store: SqliteStore,
  hub: SyncTransport,
  opts: SyncOnceOptions,
  result: SyncResult,
): boolean {
  const q = quarantine(store);
  const drifted = q.filter((r) => r.code === 'clock_drift');
  if (drifted.length === 0) return true;
  const offset = hub.clockOffsetMs(); // local − hub, from the pull this run just made
  const limit = opts.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS;
  // Without a Date header from the hub the clock cannot be judged: keep waiting.
  if (offset === undefined || offset > limit - DRIFT_MARGIN_MS) {
    return false;
  }
  store.transaction(() => {
    const unsent = nextBatch(store, pushSeq(store), Number.MAX_SAFE_INTEGER).ops.map((o) => o.id);
    const renamed = store.restampOps([...drifted.map((r) => r.id), ...unsent]);
    result.restamped = renamed.size;
    // The re-stamped ops now sit after push_seq with new seqs and go out in this run's push.
    setQuarantine(
      store,
      q.filter((r) => r.code !== 'clock_drift'),
    );
  });
  return true;
}
