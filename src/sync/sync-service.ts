// A spoke's sync, assembled: the hub client, the loop that schedules, the exchange it runs, and
// what sync.status reports. Guarantees: an unreachable hub is a state, not a crash — it is
// logged once when it begins and once when it ends; every change of the reported state (error
// kind, verdict, counts) is passed to onState exactly once; stop() stops the loop and closes
// the client, and is idempotent.

import type { ErrorCode } from '../core/errors.js';
import { HephError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { Random } from '../ports/random.js';
import { DEFAULT_PULL_LIMIT, MAX_PULL_WAIT_S } from '../protocol/sync.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { HubClient, isOffline } from './hub-client.js';
import { SyncLoop, type SyncLoopOptions } from './sync-loop.js';
import {
  applyPage,
  syncOnce,
  type Failpoint,
  type SyncProgress,
  type SyncResult,
} from './sync-once.js';
import { pendingCount, pullCursor, quarantine, unpulled } from './sync-state.js';

export type SyncErrorKind =
  'offline' | 'auth' | 'refused-by-hub' | 'clock-drift' | 'protocol' | 'hub-error';

export interface SyncErrorView {
  kind: SyncErrorKind;
  message: string;
  /** ISO time this kind of error began. */
  since: string;
}

export interface SyncStatus {
  mode: string;
  hub: string | null;
  replica_id: string | null;
  last_attempt: string | null;
  last_success: string | null;
  last_error: SyncErrorView | null;
  pending: number;
  unpulled: number;
  conflicts: number;
  quarantined: { id: string; code: ErrorCode; message: string }[];
  verdict: string;
}

export interface SyncNowResult {
  pulled: number;
  applied: number;
  pushed: number;
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

export function classify(e: unknown): SyncErrorKind {
  if (isOffline(e)) return 'offline';
  if (e instanceof HephError) {
    if (e.code === 'unauthorized' || e.code === 'forbidden') return 'auth';
    if (e.code === 'protocol_mismatch') return 'protocol';
    if (e.code === 'clock_drift') return 'clock-drift';
  }
  return 'hub-error';
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function hhmm(iso: string, timeZone: string | undefined): string {
  try {
    return new Intl.DateTimeFormat('en-GB', {
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      ...(timeZone !== undefined && { timeZone }),
    }).format(new Date(iso));
  } catch {
    return iso.slice(11, 16);
  }
}

/** The one-line verdict a person reads first. */
export function verdictOf(s: Omit<SyncStatus, 'verdict'>, timeZone?: string): string {
  if (s.mode === 'client') return s.hub ? `online only: every call goes to ${s.hub}` : 'no hub';
  if (s.hub === null) return 'not syncing: no hub configured';
  const parts: string[] = [];
  const e = s.last_error;
  if (e?.kind === 'offline') parts.push(`hub unreachable since ${hhmm(e.since, timeZone)}`);
  else if (e?.kind === 'auth') parts.push(`not syncing: sign-in needed (${e.message})`);
  else if (e?.kind === 'clock-drift') parts.push(`not uploading: ${e.message}`);
  else if (e?.kind === 'protocol') parts.push(`not syncing: ${e.message}`);
  else if (e?.kind === 'hub-error') parts.push(`sync failing: ${e.message}`);
  const refused = s.quarantined.filter((q) => q.code !== 'clock_drift').length;
  if (refused > 0) parts.push(`${plural(refused, 'change')} refused by the hub`);
  if (s.pending > 0) parts.push(`${plural(s.pending, 'change')} waiting to upload`);
  if (s.unpulled > 0) parts.push(`${plural(s.unpulled, 'change')} waiting to download`);
  if (parts.length === 0 && s.last_success === null) parts.push('not synced yet');
  return parts.length > 0 ? parts.join('; ') : 'in sync';
}

/** Status of a daemon that has no hub to sync with. */
export function unsyncedStatus(mode: string): SyncStatus {
  const s = {
    mode,
    hub: null,
    replica_id: null,
    last_attempt: null,
    last_success: null,
    last_error: null,
    pending: 0,
    unpulled: 0,
    conflicts: 0,
    quarantined: [],
  };
  return { ...s, verdict: verdictOf(s) };
}

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

  constructor(
    private readonly o: SyncServiceOptions,
    private readonly deps: SyncServiceDeps,
  ) {
    const { store } = deps;
    this.client = new HubClient({
      url: o.hubUrl,
      origin: store.origin,
      clock: deps.clock,
      ...(o.insecureHttp !== undefined && { insecureHttp: o.insecureHttp }),
      ...(o.replica && { replica: o.replica }),
      ...(deps.getToken && { getToken: deps.getToken }),
    });
    const longPollS = Math.min(o.longPollS ?? 25, MAX_PULL_WAIT_S);
    this.loop = new SyncLoop(
      {
        run: (signal) => this.runOnce(signal).then(() => undefined),
        ...(longPollS > 0 && {
          longPoll: (signal: AbortSignal) => this.longPoll(signal, longPollS),
        }),
        subscribe: (onLocal) =>
          store.onChange(() => {
            if (pendingCount(store) > 0) onLocal();
            this.publish();
          }),
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
   * Runs a sync now (after any in progress) and reports what it moved. `onProgress` hears the
   * pages of every run until this one ends.
   */
  async now(onProgress?: (p: SyncProgress) => void): Promise<SyncNowResult> {
    if (this.stopping) throw new HephError('unavailable', 'sync is stopping');
    if (onProgress) this.progress.add(onProgress);
    try {
      await this.loop.now();
    } finally {
      if (onProgress) this.progress.delete(onProgress);
    }
    const r = this.lastResult;
    return { pulled: r?.pulled ?? 0, applied: r?.applied ?? 0, pushed: r?.pushed ?? 0 };
  }

  status(): SyncStatus {
    const { store } = this.deps;
    const iso = (t: number | undefined): string | null =>
      t === undefined ? null : new Date(t).toISOString();
    const s = {
      mode: 'local',
      hub: this.client.url.href,
      replica_id: store.origin,
      last_attempt: iso(this.lastAttempt),
      last_success: iso(this.lastSuccess),
      last_error: this.lastError ?? null,
      pending: pendingCount(store),
      unpulled: unpulled(store),
      conflicts: store.conflicts().length,
      quarantined: quarantine(store).map(({ id, code, message }) => ({ id, code, message })),
    };
    return { ...s, verdict: verdictOf(s, this.o.timeZone) };
  }

  private async runOnce(signal: AbortSignal): Promise<SyncResult> {
    const { store, clock } = this.deps;
    this.lastAttempt = clock.now();
    try {
      const r = await syncOnce(store, this.client, {
        signal,
        onProgress: (p) => {
          for (const listener of this.progress) listener(p);
        },
        failpoint: this.o.failpoint,
        ...(this.deps.crash && { crash: this.deps.crash }),
      });
      this.lastResult = r;
      this.lastSuccess = clock.now();
      const refused = r.refused.find((x) => x.code !== 'clock_drift');
      if (r.driftHeld || r.refused.some((x) => x.code === 'clock_drift')) {
        const ahead = this.client.clockOffsetMs();
        const by = ahead === undefined ? '' : ` by about ${Math.round(ahead / 1000)} s`;
        this.setError(
          'clock-drift',
          `this device's clock is ahead of the hub's${by}; fix the clock and its changes will upload`,
        );
      } else if (refused) {
        this.setError('refused-by-hub', refused.message);
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

  private async longPoll(signal: AbortSignal, waitS: number): Promise<number> {
    const { store } = this.deps;
    const page = await this.client.pull(pullCursor(store), DEFAULT_PULL_LIMIT, waitS, signal);
    applyPage(store, page, { pulled: 0, applied: 0, remaining: 0 });
    // More than one page waiting: let a full run take them.
    if (page.more) void this.loop.now().catch(() => undefined);
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
    const { last_attempt: _a, last_success: _s, ...key } = s;
    const k = JSON.stringify(key);
    if (k === this.lastEmitted) return;
    this.lastEmitted = k;
    this.deps.onState(s);
  }
}

// The RPC methods find a daemon's sync service through its store: Services (rpc/methods/
// context.ts) is shared with other namespaces and has no sync member yet.
const services = new WeakMap<SqliteStore, SyncService>();

export function attachSyncService(store: SqliteStore, s: SyncService): () => void {
  services.set(store, s);
  return () => {
    if (services.get(store) === s) services.delete(store);
  };
}

export function syncServiceFor(store: SqliteStore): SyncService | undefined {
  return services.get(store);
}
