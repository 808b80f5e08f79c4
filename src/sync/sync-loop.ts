// When to sync (CONVENTIONS 10): this module only schedules; `run` does the exchange. Guarantees:
// - at most one run at a time, and never a run while the long-poll is open (the poll is
//   aborted and awaited first), so two exchanges never apply pages side by side;
// - a run starts on start(), every intervalMs after a success, debounceMs after the last local
//   change (unless the hub is failing: then backoff decides), and on now();
// - while runs fail, the next waits backoffBaseMs·2^(n−1), capped at backoffMaxMs, times a
//   jitter in [0.5, 1), so a fleet of devices does not return to a hub in lockstep;
// - after a success, one long-poll stays open (when `longPoll` is given) so other devices'
//   edits arrive within about a second; a poll that fails hands over to a run, after a backoff
//   of its own (so a hub that answers runs but breaks long-polls is not hammered);
// - now() resolves or rejects with the outcome of a run that started after it was called;
// - start() and stop() are idempotent; stop() clears every timer, aborts the run and the
//   long-poll, unsubscribes from changes, waits for both to settle and rejects waiting now()s.

import { HephError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { Random } from '../ports/random.js';

export interface SyncLoopOptions {
  intervalMs?: number;
  debounceMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A long-poll that returns nothing sooner than this is followed by this much rest. */
  minPollMs?: number;
}

export interface SyncLoopDeps {
  /** One exchange with the hub; throws when it fails. */
  run(signal: AbortSignal): Promise<void>;
  /** One long-poll page; resolves with how many ops it received. */
  longPoll?: (signal: AbortSignal) => Promise<number>;
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
  private debounce: ReturnType<typeof setTimeout> | undefined;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private runAbort: AbortController | undefined;
  private pollAbort: AbortController | undefined;
  private polling: Promise<void> | undefined;
  private waiters: Waiter[] = [];
  private again = false;
  private failures = 0;
  private pollFailures = 0;

  constructor(
    private readonly deps: SyncLoopDeps,
    options: SyncLoopOptions = {},
  ) {
    this.o = {
      intervalMs: options.intervalMs ?? 30_000,
      debounceMs: options.debounceMs ?? 1000,
      backoffBaseMs: options.backoffBaseMs ?? 1000,
      backoffMaxMs: options.backoffMaxMs ?? 5 * 60_000,
      minPollMs: options.minPollMs ?? 1000,
    };
  }

  /** Consecutive failed runs (0 when the last run succeeded). */
  get failing(): number {
    return this.failures;
  }

  get isRunning(): boolean {
    return this.started && this.stopping === undefined;
  }

  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    this.unsubscribe = this.deps.subscribe?.(() => this.onLocalChange());
    this.schedule(0);
  }

  /** Runs a sync as soon as the current one (if any) is done; settles with its outcome. */
  now(): Promise<void> {
    if (!this.isRunning) {
      return Promise.reject(new HephError('unavailable', 'sync is not running'));
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.kick();
    });
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** The delay before retry number n (n ≥ 1), jittered. */
  backoffMs(n: number): number {
    const raw = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** Math.min(n - 1, 30));
    return Math.round(raw * (0.5 + this.deps.random.next() / 2));
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.timer);
    clearTimeout(this.debounce);
    this.timer = undefined;
    this.debounce = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.runAbort?.abort();
    this.pollAbort?.abort();
    await Promise.allSettled([this.running, this.polling]);
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
    // While the hub fails, backoff decides when to try again, not every edit.
    if (!this.isRunning || this.failures > 0) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.kick();
    }, this.o.debounceMs);
  }

  private kick(): void {
    if (!this.isRunning) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.cycle().finally(() => {
      this.running = undefined;
      if (this.isRunning && (this.again || this.waiters.length > 0)) this.kick();
    });
  }

  private async cycle(): Promise<void> {
    this.again = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.stopPoll();
    const served = this.waiters.splice(0);
    const ac = new AbortController();
    this.runAbort = ac;
    let error: unknown;
    let ok = true;
    try {
      await this.deps.run(ac.signal);
    } catch (e) {
      ok = false;
      error = e;
    } finally {
      this.runAbort = undefined;
    }
    if (ok) {
      this.failures = 0;
      for (const w of served) w.resolve();
      this.schedule(this.o.intervalMs);
      this.startPoll();
    } else {
      this.failures++;
      for (const w of served) w.reject(error);
      this.schedule(this.backoffMs(this.failures));
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
          this.deps.logger.debug({ err: (e as Error).message }, 'long-poll failed');
          // A run classifies and reports the failure (and backs off if the hub is gone); a poll
          // that keeps failing while runs succeed backs off on its own count.
          this.pollFailures++;
          this.schedule(this.backoffMs(this.pollFailures));
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
