// When to sync (CONVENTIONS 10): this module only schedules; `run`, `push` and `longPoll` do the
// exchanges. Guarantees:
// - at most one exchange that writes sync state at a time: a run (pull, then push) and a push
//   never overlap, and a run never goes while the long-poll is open (the poll is aborted and
//   awaited first), so two exchanges never apply pages side by side;
// - a local change is pushed at once, beside the open long-poll (which stays open): changes
//   made while a push is in flight go in the next push, and pushes start at least minPushGapMs
//   apart, so a burst of changes costs a bounded number of requests, never one per change;
// - a run starts on start(), every intervalMs after a success, and on now();
// - while exchanges fail, the next run waits retryMs (times a jitter in [0.5, 1)) for the first
//   outageWindowMs of the outage, so live updates resume within retryMs of the hub answering
//   again; after that the wait doubles with each failure, capped at backoffMaxMs;
// - after a success, one long-poll stays open (when `longPoll` is given) so other devices'
//   edits arrive as soon as the hub has them; a poll that fails hands over to a run, after a
//   backoff of its own (so a hub that answers runs but breaks long-polls is not hammered);
// - now() resolves or rejects with the outcome of a run that started after it was called;
// - start() and stop() are idempotent; stop() clears every timer, aborts the run, the push and
//   the long-poll, unsubscribes from changes, waits for them to settle and rejects waiting
//   now()s;
// - a failure `isFatal` accepts (the hub revoked this device) halts the loop: no retry, no
//   push, no poll, and every later now() rejects at once with that error, without a request;
// - a failure `needsSignIn` accepts (the hub refused the credential, or there is none) parks
//   the loop: no retry on the outage schedule, no push, no poll. Every signInCheckMs it asks
//   `signInChanged` (a local look, no request) and runs as soon as that says yes (a credential
//   was enrolled or signed in); otherwise it tries the hub again only signInRetryMs after the
//   last refusal. now() still runs at once. A hub's failure limit (10 a minute) is never
//   reached by a device that cannot sign in.

import { HephError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { Random } from '../ports/random.js';

export interface SyncLoopOptions {
  intervalMs?: number;
  /** Pushes start at least this far apart (default 25 ms: fewer than 50 a second). */
  minPushGapMs?: number;
  /** The wait between tries early in an outage (default 2 s). */
  retryMs?: number;
  /** How long an outage is retried every retryMs before waits double (default 5 min). */
  outageWindowMs?: number;
  backoffMaxMs?: number;
  /** A long-poll that returns nothing sooner than this is followed by this much rest. */
  minPollMs?: number;
  /** Push local changes as they happen (default true; false leaves them to the next run). */
  livePush?: boolean;
  /** After a sign-in failure, how long before the hub is asked again unprompted (15 min). */
  signInRetryMs?: number;
  /** After a sign-in failure, how often `signInChanged` is asked (default 5 s). */
  signInCheckMs?: number;
}

export interface SyncLoopDeps {
  /** One exchange with the hub (pull, then push); throws when it fails. */
  run(signal: AbortSignal): Promise<void>;
  /** Sends this replica's changes not yet on the hub; throws when it fails. */
  push?: (signal: AbortSignal) => Promise<void>;
  /** One long-poll page; resolves with how many ops it received. */
  longPoll?: (signal: AbortSignal) => Promise<number>;
  /** A failure that no retry can mend (default: none): the loop halts on it. */
  isFatal?: (e: unknown) => boolean;
  /** A failure only a new credential mends (default: none): the loop parks on it. */
  needsSignIn?: (e: unknown) => boolean;
  /** While parked: whether the credential changed since the hub refused it (no request). */
  signInChanged?: () => Promise<boolean>;
  /** Calls back on local changes that want uploading; returns an unsubscribe function. */
  subscribe?: (onLocalChange: () => void) => () => void;
  clock: Clock;
  random: Random;
  logger: Logger;
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

export class SyncLoop {
  private readonly o: Required<SyncLoopOptions>;
  private started = false;
  private stopping: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pushTimer: ReturnType<typeof setTimeout> | undefined;
  private unsubscribe: (() => void) | undefined;
  /** The exchange in flight (a run or a push): the next one waits for it. */
  private busy: Promise<void> | undefined;
  private running = false;
  private pushing = false;
  private exchangeAbort: AbortController | undefined;
  private pollAbort: AbortController | undefined;
  private polling: Promise<void> | undefined;
  private waiters: Waiter[] = [];
  private again = false;
  private pushAgain = false;
  private lastPushAt = -Infinity;
  private failures = 0;
  /** When the current outage began (its first failure), or undefined when online. */
  private outageSince: number | undefined;
  /** Failures since the outage window ended (the exponent of the wait). */
  private lateFailures = 0;
  private pollFailures = 0;
  /** The fatal failure the loop halted on. */
  private halted: Error | undefined;
  /** When the hub last refused this device's sign-in, while parked on it. */
  private parkedAt: number | undefined;
  /** Pushes made since start (for tests and the benchmark's burst figure). */
  pushes = 0;

  constructor(
    private readonly deps: SyncLoopDeps,
    options: SyncLoopOptions = {},
  ) {
    this.o = {
      intervalMs: options.intervalMs ?? 30_000,
      minPushGapMs: options.minPushGapMs ?? 25,
      retryMs: options.retryMs ?? 2000,
      outageWindowMs: options.outageWindowMs ?? 5 * 60_000,
      backoffMaxMs: options.backoffMaxMs ?? 5 * 60_000,
      minPollMs: options.minPollMs ?? 1000,
      livePush: options.livePush ?? true,
      signInRetryMs: options.signInRetryMs ?? 15 * 60_000,
      signInCheckMs: options.signInCheckMs ?? 5000,
    };
  }

  /** Consecutive failed exchanges (0 when the last one succeeded). */
  get failing(): number {
    return this.failures;
  }

  get isRunning(): boolean {
    return this.started && this.stopping === undefined && this.halted === undefined;
  }

  /** The fatal failure the loop halted on, or undefined. */
  get haltedBy(): Error | undefined {
    return this.halted;
  }

  /** Whether the loop waits for a sign-in (see the file comment). */
  get parked(): boolean {
    return this.parkedAt !== undefined;
  }

  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    this.unsubscribe = this.deps.subscribe?.(() => this.onLocalChange());
    this.schedule(0);
  }

  /**
   * Runs a sync as soon as the current exchange (if any) is done; settles with its outcome. A
   * call before start() waits for it (the daemon's socket may answer a moment before its sync
   * starts); after stop() it is refused.
   */
  now(): Promise<void> {
    if (this.stopping !== undefined) {
      return Promise.reject(new HephError('unavailable', 'sync is not running'));
    }
    if (this.halted !== undefined) return Promise.reject(this.halted);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.kick();
    });
  }

  /** Starts again after a halt (the device was enrolled anew); a no-op when not halted. */
  resume(): void {
    if (this.halted === undefined || this.stopping !== undefined) return;
    this.halted = undefined;
    this.failures = 0;
    this.outageSince = undefined;
    this.lateFailures = 0;
    this.schedule(0);
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** The wait before the next try after a failure (see the file comment), jittered. */
  retryDelayMs(): number {
    const since = this.outageSince ?? this.deps.clock.now();
    const early = this.deps.clock.now() - since < this.o.outageWindowMs;
    const raw = early
      ? this.o.retryMs
      : Math.min(this.o.backoffMaxMs, this.o.retryMs * 2 ** Math.min(this.lateFailures, 30));
    return Math.round(raw * (0.5 + this.deps.random.next() / 2));
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.timer);
    clearTimeout(this.pushTimer);
    this.timer = undefined;
    this.pushTimer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.exchangeAbort?.abort();
    this.pollAbort?.abort();
    await Promise.allSettled([this.busy, this.polling]);
    const stopped = new HephError('unavailable', 'sync stopped');
    for (const w of this.waiters.splice(0)) w.reject(stopped);
  }

  private schedule(ms: number): void {
    if (!this.isRunning) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, ms);
  }

  private onLocalChange(): void {
    // While the hub fails, the retry schedule decides when to try again, not every edit.
    if (!this.isRunning || this.failures > 0 || !this.o.livePush) return;
    if (!this.deps.push) {
      this.kick();
      return;
    }
    this.pushSoon();
  }

  /** A push now, or as soon as the exchange in flight and the gap since the last push allow. */
  private pushSoon(): void {
    if (this.pushing || this.running || this.pushTimer !== undefined) {
      this.pushAgain = true;
      return;
    }
    const wait = this.lastPushAt + this.o.minPushGapMs - this.deps.clock.now();
    if (wait > 0) {
      this.pushTimer = setTimeout(() => {
        this.pushTimer = undefined;
        this.pushSoon();
      }, wait);
      return;
    }
    this.pushAgain = false;
    this.pushing = true;
    this.lastPushAt = this.deps.clock.now();
    this.pushes++;
    this.busy = this.exchange(async (signal) => {
      await this.deps.push?.(signal);
    }).then(() => {
      this.pushing = false;
      this.busy = undefined;
      this.afterExchange();
    });
  }

  private kick(): void {
    if (!this.isRunning) return;
    if (this.running || this.pushing) {
      this.again = true;
      return;
    }
    this.running = true;
    this.busy = this.cycle().finally(() => {
      this.running = false;
      this.busy = undefined;
      this.afterExchange();
    });
  }

  /** What waited for the exchange that just ended goes next: a run first, then a push. */
  private afterExchange(): void {
    if (!this.isRunning) return;
    if (this.again || this.waiters.length > 0) {
      this.again = false;
      this.kick();
    } else if (this.pushAgain && this.failures === 0) {
      this.pushSoon();
    }
  }

  /** Runs one exchange; returns whether it succeeded, and reschedules either way. */
  private async exchange(work: (signal: AbortSignal) => Promise<void>): Promise<unknown> {
    const ac = new AbortController();
    this.exchangeAbort = ac;
    try {
      await work(ac.signal);
    } catch (e) {
      if (this.deps.isFatal?.(e) === true) this.halt(e);
      else if (this.deps.needsSignIn?.(e) === true) this.park();
      else this.failed();
      return e ?? new Error('sync failed');
    } finally {
      this.exchangeAbort = undefined;
    }
    this.succeeded();
    return undefined;
  }

  private succeeded(): void {
    this.failures = 0;
    this.outageSince = undefined;
    this.lateFailures = 0;
    this.parkedAt = undefined;
  }

  /** Waits for a sign-in instead of retrying: see the file comment. */
  private park(): void {
    this.failures++;
    this.outageSince = undefined;
    this.lateFailures = 0;
    this.parkedAt = this.deps.clock.now();
    this.pollAbort?.abort();
    this.checkSignInSoon();
  }

  private checkSignInSoon(): void {
    if (!this.isRunning) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.checkSignIn();
    }, this.o.signInCheckMs);
  }

  private async checkSignIn(): Promise<void> {
    const at = this.parkedAt;
    if (at === undefined || !this.isRunning) return;
    let changed = this.deps.clock.now() - at >= this.o.signInRetryMs;
    if (!changed && this.deps.signInChanged) {
      try {
        changed = await this.deps.signInChanged();
      } catch (e) {
        this.deps.logger.debug({ err: (e as Error).message }, 'sync: sign-in check failed');
      }
    }
    // A run (now(), a change of state) may have gone while the check looked.
    if (this.parkedAt !== at || this.running || this.timer !== undefined) return;
    if (changed) this.kick();
    else this.checkSignInSoon();
  }

  /** Stops every timer and the poll for good; waiting now()s get `e`. */
  private halt(e: unknown): void {
    this.halted = e instanceof Error ? e : new Error(String(e));
    clearTimeout(this.timer);
    clearTimeout(this.pushTimer);
    this.timer = undefined;
    this.pushTimer = undefined;
    this.pollAbort?.abort();
    for (const w of this.waiters.splice(0)) w.reject(this.halted);
    this.deps.logger.warn({ err: this.halted.message }, 'sync halted');
  }

  private failed(): void {
    const now = this.deps.clock.now();
    this.failures++;
    this.parkedAt = undefined;
    this.outageSince ??= now;
    if (now - this.outageSince >= this.o.outageWindowMs) this.lateFailures++;
    this.schedule(this.retryDelayMs());
  }

  private async cycle(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.stopPoll();
    const served = this.waiters.splice(0);
    const error = await this.exchange((signal) => this.deps.run(signal));
    if (error === undefined) {
      for (const w of served) w.resolve();
      this.schedule(this.o.intervalMs);
      this.startPoll();
    } else {
      for (const w of served) w.reject(error);
    }
  }

  private startPoll(): void {
    const longPoll = this.deps.longPoll;
    if (!longPoll || !this.isRunning || this.pollAbort) return;
    const ac = new AbortController();
    this.pollAbort = ac;
    this.polling = (async () => {
      while (!ac.signal.aborted) {
        const t0 = this.deps.clock.now();
        let n: number;
        try {
          n = await longPoll(ac.signal);
        } catch (e) {
          if (ac.signal.aborted) return;
          if (this.deps.isFatal?.(e) === true) {
            this.halt(e);
            return;
          }
          this.deps.logger.debug({ err: (e as Error).message }, 'long-poll failed');
          // A run classifies and reports the failure (and retries if the hub is gone); a poll
          // that keeps failing while runs succeed backs off on its own count.
          this.pollFailures++;
          const raw = Math.min(this.o.backoffMaxMs, this.o.retryMs * 2 ** (this.pollFailures - 1));
          this.schedule(Math.round(raw * (0.5 + this.deps.random.next() / 2)));
          return;
        }
        this.pollFailures = 0;
        if (n === 0 && this.deps.clock.now() - t0 < this.o.minPollMs) {
          await rest(this.o.minPollMs, ac.signal);
        }
      }
    })().finally(() => {
      if (this.pollAbort === ac) {
        this.pollAbort = undefined;
        this.polling = undefined;
      }
    });
  }

  private async stopPoll(): Promise<void> {
    this.pollAbort?.abort();
    await this.polling;
  }
}

function rest(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
