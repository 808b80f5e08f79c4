// A spoke's sync, assembled: the hub client, the loop that schedules, the exchange it runs, and
// what sync.status reports (sync-status.ts words it). Guarantees: an unreachable hub is a state,
// not a crash — it is logged once when it begins and once when it ends, and it ends with the
// first reply the hub sends, whatever request it answers; every change of the reported state
// (error kind, verdict, counts) is passed to onState exactly once; now() settles as success only
// when the hub has every change this device holds; stop() stops the loop and closes the client,
// and is idempotent.

import { HephError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { Random } from '../ports/random.js';
import { DEFAULT_PULL_LIMIT, MAX_PULL_WAIT_S, type DeviceFactsWire } from '../protocol/sync.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { HubClient, isOffline } from './hub-client.js';
import { SyncLoop, type SyncLoopOptions } from './sync-loop.js';
import {
  applyPage,
  pushPending,
  syncOnce,
  type Failpoint,
  type SyncProgress,
  type SyncResult,
} from './sync-once.js';
import {
  pendingCount,
  pullCursor,
  pullCursorOp,
  pushSeq,
  quarantine,
  setQuarantine,
  unpulled,
  unsentCounts,
} from './sync-state.js';
import {
  plural,
  withVerdict,
  type SyncErrorKind,
  type SyncErrorView,
  type SyncState,
  type SyncStatus,
} from './sync-status.js';

export interface SyncNowResult {
  pulled: number;
  applied: number;
  pushed: number;
  /** After the run: `in_sync`, or `refused`/`pending` never (those throw), see sync-status. */
  state: SyncState;
  verdict: string;
}

export interface SyncServiceOptions {
  hubUrl: string;
  insecureHttp?: boolean | undefined;
  /** Testing aid (HEPH_FAILPOINT), read by the composition root. */
  failpoint?: Failpoint | undefined;
  timeZone?: string | undefined;
  loop?: SyncLoopOptions;
  /** Seconds a long-poll waits at the hub (default 25; 0 turns long-polling off). */
  longPollS?: number;
  replica?: { name?: string; platform?: string; version?: string };
  /** The machine's facts, reported with the first request after each start. */
  facts?: DeviceFactsWire;
}

export interface SyncServiceDeps {
  store: SqliteStore;
  clock: Clock;
  random: Random;
  logger: Logger;
  getToken?: () => Promise<string | undefined>;
  /** Called with the new status whenever it changes. */
  onState?: (status: SyncStatus) => void;
  /** Whether anyone listens to onState now (status is not computed for nobody). */
  listening?: () => boolean;
  /** For tests: the crash a failpoint performs (default SIGKILL). */
  crash?: (name: Failpoint) => void;
}

/** The hub's 403 device_revoked: this device never syncs again, so it stops asking. */
export function isRevoked(e: unknown): boolean {
  return (
    e instanceof HephError && e.code === 'forbidden' && e.details.hub_code === 'device_revoked'
  );
}

export function classify(e: unknown): SyncErrorKind {
  if (isOffline(e)) return 'offline';
  if (isRevoked(e)) return 'revoked';
  if (e instanceof HephError) {
    if (e.code === 'unauthorized' || e.code === 'forbidden') return 'auth';
    if (e.code === 'protocol_mismatch') return 'protocol';
    if (e.code === 'clock_drift') return 'clock-drift';
  }
  return 'hub-error';
}

/** How many runs one sync.now makes at most to take changes made while it ran. */
const NOW_ROUNDS = 3;

export class SyncService {
  readonly client: HubClient;
  readonly loop: SyncLoop;
  private lastAttempt: number | undefined;
  private lastSuccess: number | undefined;
  private lastError: SyncErrorView | undefined;
  private lastResult: SyncResult | undefined;
  private lastEmitted = '';
  private readonly progress = new Set<(p: SyncProgress) => void>();
  private stopping: Promise<void> | undefined;
  /** The bearer the last request went with (undefined: none, or none could be had). */
  private lastBearer: string | undefined;

  constructor(
    private readonly o: SyncServiceOptions,
    private readonly deps: SyncServiceDeps,
  ) {
    const { store } = deps;
    this.client = new HubClient({
      url: o.hubUrl,
      origin: store.origin,
      ownHigh: () => store.ownHigh(),
      pending: () => pendingCount(store),
      clock: deps.clock,
      ...(o.insecureHttp !== undefined && { insecureHttp: o.insecureHttp }),
      ...(o.replica && { replica: o.replica }),
      ...(o.facts && { facts: o.facts }),
      ...(deps.getToken && { getToken: () => this.bearer() }),
      onReply: () => this.reached(),
    });
    const longPollS = Math.min(o.longPollS ?? 25, MAX_PULL_WAIT_S);
    this.loop = new SyncLoop(
      {
        run: async (signal) => {
          this.lastResult = await this.runOnce(signal, syncOnce);
        },
        push: (signal) => this.runOnce(signal, pushPending).then(() => undefined),
        ...(longPollS > 0 && {
          longPoll: (signal: AbortSignal) => this.longPoll(signal, longPollS),
        }),
        subscribe: (onLocal) =>
          store.onChange(() => {
            if (pendingCount(store) > 0) onLocal();
            this.publish();
          }),
        isFatal: isRevoked,
        needsSignIn: (e) => classify(e) === 'auth',
        signInChanged: async () => (await this.bearerNow()) !== this.lastBearer,
        clock: deps.clock,
        random: deps.random,
        logger: deps.logger,
      },
      o.loop,
    );
  }

  start(): void {
    this.loop.start();
    this.publish();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.loop.stop();
      await this.client.close();
    })();
    return this.stopping;
  }

  /**
   * Runs a sync now (after any in progress) and reports what it moved. It settles only on the
   * truth: it resolves when the hub has every change this device holds (a change made while it
   * ran is taken by another run, at most NOW_ROUNDS in all), and otherwise rejects with what
   * could not be done: `clock_drift` (uploads held), the code of a change the hub refused,
   * `unavailable` for a hub that cannot be reached, `unauthorized` for sign-in. `onProgress`
   * hears the pages of every run until this one ends.
   */
  async now(onProgress?: (p: SyncProgress) => void): Promise<SyncNowResult> {
    if (this.stopping) throw new HephError('unavailable', 'sync is stopping');
    if (onProgress) this.progress.add(onProgress);
    const moved = { pulled: 0, applied: 0, pushed: 0 };
    try {
      for (let round = 1; ; round++) {
        await this.loop.now();
        const r = this.lastResult;
        moved.pulled += r?.pulled ?? 0;
        moved.applied += r?.applied ?? 0;
        moved.pushed += r?.pushed ?? 0;
        const st = this.status();
        if (st.state === 'pending' && st.pending.ops > 0 && round < NOW_ROUNDS) continue;
        const unsent = incompleteError(st, moved);
        if (unsent) throw unsent;
        return { ...moved, state: st.state, verdict: st.verdict };
      }
    } finally {
      if (onProgress) this.progress.delete(onProgress);
    }
  }

  /**
   * Makes this revoked device the new replica `replica` (the id its new credential is bound to)
   * and syncs again: its own ops the hub never acknowledged (and those held for clock drift) are
   * re-stamped under the new id in one transaction, so they go out once, under an origin the
   * hub accepts; the old origin's ops already on the hub stay as they are.
   */
  rejoin(replica: string): { previous: string; replica: string; restamped: number } {
    const { store } = this.deps;
    if (this.lastError?.kind !== 'revoked' && this.loop.haltedBy === undefined) {
      throw new HephError(
        'conflict',
        'this device was not revoked on its hub: it keeps its replica id',
        { reason: 'not_revoked' },
      );
    }
    const previous = store.origin;
    const unsent = store.ownOpsSince(pushSeq(store), Number.MAX_SAFE_INTEGER).ops;
    const q = quarantine(store);
    const held = q.filter((r) => r.code === 'clock_drift' || r.code === 'device_revoked');
    // The quarantine is rewritten in newOrigin's transaction: all of it happens, or none.
    const { renamed } = store.newOrigin(
      [...unsent.map((o) => o.id), ...held.map((r) => r.id)],
      replica,
      (moved) =>
        setQuarantine(
          store,
          q.filter((r) => !moved.has(r.id)),
        ),
    );
    const restamped = renamed.size;
    this.client.setOrigin(replica);
    this.deps.logger.info({ previous, replica, restamped }, 'sync: rejoined as a new replica');
    this.setError(undefined);
    this.loop.resume();
    this.publish();
    return { previous, replica, restamped };
  }

  status(): SyncStatus {
    const { store } = this.deps;
    const iso = (t: number | undefined): string | null =>
      t === undefined ? null : new Date(t).toISOString();
    const { pending, refused } = unsentCounts(store);
    return withVerdict(
      {
        mode: 'local',
        hub: this.client.url.href,
        replica_id: store.origin,
        device_name: store.deviceName(store.origin) ?? null,
        last_attempt: iso(this.lastAttempt),
        last_success: iso(this.lastSuccess),
        last_error: this.lastError ?? null,
        pending,
        unpulled: unpulled(store),
        refused,
        conflicts: store.conflicts().length,
        quarantined: quarantine(store).map(({ id, code, message }) => {
          const target = store.findOp(id)?.target;
          return { id, code, message, ...(target !== undefined && { target }) };
        }),
        pushes: this.loop.pushes,
      },
      this.o.timeZone,
    );
  }

  /** One exchange (a whole sync, or a push of local changes) and what it tells the status. */
  private async runOnce(signal: AbortSignal, exchange: typeof syncOnce): Promise<SyncResult> {
    const { store, clock } = this.deps;
    this.lastAttempt = clock.now();
    try {
      const r = await exchange(store, this.client, {
        signal,
        onProgress: (p) => {
          for (const listener of this.progress) listener(p);
        },
        failpoint: this.o.failpoint,
        ...(this.deps.crash && { crash: this.deps.crash }),
      });
      this.lastSuccess = clock.now();
      this.writeRows();
      if (r.driftHeld || r.refused.some((x) => x.code === 'clock_drift')) {
        this.setError('clock-drift', this.driftMessage(r));
      } else {
        this.setError(undefined);
      }
      return r;
    } catch (e) {
      if (e instanceof HephError && e.details.aborted === true) throw e;
      this.setError(classify(e), e instanceof Error ? e.message : String(e));
      throw e;
    } finally {
      this.publish();
    }
  }

  /** "this device's clock is 601 s ahead of the hub's; fix the clock, then `heph sync`" */
  private driftMessage(r: SyncResult): string {
    const ahead = this.client.clockOffsetMs() ?? r.refused.find((x) => x.ahead_ms)?.ahead_ms;
    const by = ahead === undefined ? 'ahead of' : `${Math.round(ahead / 1000)} s ahead of`;
    return `this device's clock is ${by} the hub's; fix the clock, then \`heph sync\``;
  }

  /**
   * Writes the node rows pulled pages left pending, now that no page follows: a crash while
   * the loop waits then has nothing to make again at the next start.
   */
  private writeRows(): void {
    try {
      this.deps.store.catchUpRows();
    } catch (e) {
      // They stay marked pending: the next read or start makes them.
      this.deps.logger.warn({ err: (e as Error).message }, 'sync: could not write node rows');
    }
  }

  /** The hub client's bearer, remembered so a parked loop can tell when it changes. */
  private async bearer(): Promise<string | undefined> {
    this.lastBearer = undefined;
    this.lastBearer = await this.deps.getToken?.();
    return this.lastBearer;
  }

  /** The bearer a request would go with now, or undefined (none, or sign-in needed). */
  private async bearerNow(): Promise<string | undefined> {
    try {
      return await this.deps.getToken?.();
    } catch {
      return undefined;
    }
  }

  /** Any reply from the hub proves it reachable: "hub unreachable" goes at once. */
  private reached(): void {
    if (this.lastError?.kind !== 'offline') return;
    this.setError(undefined);
    this.publish();
  }

  private async longPoll(signal: AbortSignal, waitS: number): Promise<number> {
    const { store } = this.deps;
    let page;
    try {
      page = await this.client.pull(
        pullCursor(store),
        DEFAULT_PULL_LIMIT,
        waitS,
        signal,
        pullCursorOp(store),
      );
    } catch (e) {
      // Revoked while the poll waited: say so now (the loop stops on it, no run follows).
      if (isRevoked(e)) {
        this.setError('revoked', (e as Error).message);
        this.publish();
      }
      throw e;
    }
    applyPage(store, page, { pulled: 0, applied: 0, remaining: 0 });
    // More than one page waiting: let a full run take them.
    if (page.more) void this.loop.now().catch(() => undefined);
    else this.writeRows();
    this.publish();
    return page.ops.length;
  }

  private setError(kind: SyncErrorKind | undefined, message = ''): void {
    const { logger, clock } = this.deps;
    const before = this.lastError?.kind;
    if (kind === undefined) {
      if (before !== undefined) logger.info({ hub: this.client.url.host }, 'sync: back in sync');
      this.lastError = undefined;
      return;
    }
    const since =
      before === kind && this.lastError
        ? this.lastError.since
        : new Date(clock.now()).toISOString();
    this.lastError = { kind, message, since };
    if (before !== kind) {
      const log = kind === 'offline' ? logger.info.bind(logger) : logger.warn.bind(logger);
      log({ hub: this.client.url.host, kind }, `sync: ${message}`);
    }
  }

  /** Hands the status to onState when anything but the timestamps changed. */
  private publish(): void {
    if (!this.deps.onState || this.deps.listening?.() === false) return;
    const s = this.status();
    const { last_attempt: _a, last_success: _s, pushes: _p, ...key } = s;
    const k = JSON.stringify(key);
    if (k === this.lastEmitted) return;
    this.lastEmitted = k;
    this.deps.onState(s);
  }
}

/**
 * The error a sync.now that did not get everything onto the hub settles with, or undefined when
 * the hub has every change this device holds (conflicts are on the hub too: they are not an
 * error of sync).
 */
function incompleteError(
  st: SyncStatus,
  moved: { pulled: number; applied: number; pushed: number },
): HephError | undefined {
  const details = { ...moved, state: st.state, pending: st.pending, refused: st.refused };
  if (st.state === 'clock_drift') {
    const what = plural(st.pending.changes, 'change');
    const why = st.last_error?.message ?? "this device's clock is ahead of the hub's";
    return new HephError('clock_drift', `${what} not uploaded: ${why}`, details);
  }
  if (st.refused.ops > 0) {
    const first = st.quarantined.find((q) => q.code !== 'clock_drift');
    const what = plural(st.refused.changes, 'change');
    return new HephError(
      first?.code ?? 'conflict',
      `${what} refused by the hub and kept here (${first?.message ?? 'no reason given'}); ` +
        'see `heph sync status --details`',
      details,
    );
  }
  if (st.pending.ops > 0) {
    return new HephError(
      'unavailable',
      `${plural(st.pending.changes, 'change')} made while syncing ${st.pending.changes === 1 ? 'is' : 'are'} ` +
        'not on the hub yet; run `heph sync` again',
      details,
    );
  }
  return undefined;
}
