// The loop only schedules: these tests drive it with fake timers and fake work, never the wall
// clock, and restore real timers after each test.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { SyncLoop, type SyncLoopDeps } from '../../src/sync/sync-loop.js';

const offline = (): HephError => new HephError('unavailable', 'hub unreachable', { offline: true });

interface Harness {
  loop: SyncLoop;
  runs: number[];
  /** When each push started, and the changes made before it (what it carries). */
  pushes: { at: number; changes: number }[];
  changes: number;
  polls: number;
  fail: boolean;
  change(): void;
  /** Resolves the open long-poll with n ops. */
  answerPoll(n: number): void;
}

function harness(over: Partial<SyncLoopDeps> = {}, longPoll = false): Harness {
  let listener: (() => void) | undefined;
  let pollResolve: ((n: number) => void) | undefined;
  const h: Harness = {
    runs: [],
    pushes: [],
    changes: 0,
    polls: 0,
    fail: false,
    change: () => {
      h.changes++;
      listener?.();
    },
    answerPoll: (n) => pollResolve?.(n),
    loop: undefined as unknown as SyncLoop,
  };
  const deps: SyncLoopDeps = {
    run: () => {
      h.runs.push(Date.now());
      return h.fail ? Promise.reject(offline()) : Promise.resolve();
    },
    // A push takes 3 ms on the wire.
    push: async () => {
      h.pushes.push({ at: Date.now(), changes: h.changes });
      await new Promise((r) => setTimeout(r, 3));
      if (h.fail) throw offline();
    },
    subscribe: (cb) => {
      listener = cb;
      return () => (listener = undefined);
    },
    clock: { now: () => Date.now() },
    random: seededRandom(7),
    logger: silentLogger,
    ...(longPoll && {
      longPoll: (signal: AbortSignal) => {
        h.polls++;
        return new Promise<number>((resolve, reject) => {
          pollResolve = resolve;
          signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        });
      },
    }),
    ...over,
  };
  h.loop = new SyncLoop(deps, { intervalMs: 30_000, backoffMaxMs: 300_000 });
  return h;
}

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
});
afterEach(() => {
  vi.useRealTimers();
});

const T0 = Date.UTC(2026, 0, 1);

describe('SyncLoop', () => {
  it('runs at start and then every interval', async () => {
    const h = harness();
    h.loop.start();
    h.loop.start(); // idempotent
    await vi.advanceTimersByTimeAsync(0);
    expect(h.runs).toEqual([T0]);
    await vi.advanceTimersByTimeAsync(30_000);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(h.runs.map((t) => t - T0)).toEqual([0, 30_000, 60_000]);
    await h.loop.stop();
  });

  it('pushes a local change at once, beside the open long-poll', async () => {
    const h = harness({}, true);
    h.loop.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.polls).toBe(1);
    h.change();
    expect(h.pushes.map((p) => p.at - T0)).toEqual([0]);
    await vi.advanceTimersByTimeAsync(10);
    // The poll was not aborted for it, and no run was needed.
    expect(h.polls).toBe(1);
    expect(h.runs).toHaveLength(1);
    await h.loop.stop();
  });

  it('takes a burst of 1,000 changes in one second in at most 50 pushes, the last one included', async () => {
    const h = harness();
    h.loop.start();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 1000; i++) {
      h.change();
      await vi.advanceTimersByTimeAsync(1);
    }
    await vi.advanceTimersByTimeAsync(100);
    expect(h.pushes.length).toBeGreaterThan(1);
    expect(h.pushes.length).toBeLessThanOrEqual(50);
    expect(h.pushes.at(-1)!.changes).toBe(1000);
    // Never two in flight: each starts after the one before ended (3 ms) and 25 ms after it began.
    for (let i = 1; i < h.pushes.length; i++) {
      expect(h.pushes[i]!.at - h.pushes[i - 1]!.at).toBeGreaterThanOrEqual(25);
    }
    await h.loop.stop();
  });

  it('halts on a fatal failure: no retry, no push, no poll, and now() rejects without a run', async () => {
    const revoked = new HephError('forbidden', 'revoked', { hub_code: 'device_revoked' });
    let fatal = false;
    const h = harness(
      {
        run: () => {
          h.runs.push(Date.now());
          return fatal ? Promise.reject(revoked) : Promise.resolve();
        },
        isFatal: (e) => e === revoked,
      },
      true,
    );
    h.loop.start();
    await vi.advanceTimersByTimeAsync(0);
    expect([h.runs.length, h.polls]).toEqual([1, 1]);
    fatal = true;
    const waited = h.loop.now();
    const outcome = waited.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(await outcome).toBe(revoked);
    expect(h.runs).toHaveLength(2);
    expect(h.loop.isRunning).toBe(false);
    // An hour on: nothing was tried again, a change is not pushed, no poll reopened.
    h.change();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect([h.runs.length, h.pushes.length, h.polls]).toEqual([2, 0, 1]);
    await expect(h.loop.now()).rejects.toBe(revoked);
    expect(h.runs).toHaveLength(2);
    // The control: an ordinary failure is retried.
    const c = harness();
    c.fail = true;
    c.loop.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(c.runs.length).toBeGreaterThan(2);
    await c.loop.stop();
    await h.loop.stop();
  });

  it('parks on a sign-in failure: no timer retries, runs when the credential changes or on now()', async () => {
    const refused = new HephError('unauthorized', 'not signed in');
    let signedIn = false;
    let checks = 0;
    const h = harness(
      {
        run: () => {
          h.runs.push(Date.now());
          return signedIn ? Promise.resolve() : Promise.reject(refused);
        },
        needsSignIn: (e) => e === refused,
        signInChanged: () => {
          checks++;
          return Promise.resolve(signedIn);
        },
      },
      true,
    );
    h.loop.start();
    await vi.advanceTimersByTimeAsync(0);
    // Five minutes with no credential: one request, where the outage schedule makes 150 or more.
    h.change();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect([h.runs.length, h.pushes.length, h.polls]).toEqual([1, 0, 0]);
    expect(h.loop.parked).toBe(true);
    expect(h.loop.isRunning).toBe(true);
    expect(checks).toBeGreaterThanOrEqual(50);
    // `heph sync` asks the hub at once, and is told the truth.
    await expect(h.loop.now()).rejects.toBe(refused);
    expect(h.runs).toHaveLength(2);
    // Unprompted, the hub is asked again 15 minutes after its last refusal, not sooner.
    const refusedAt = h.runs[1]!;
    await vi.advanceTimersByTimeAsync(20 * 60_000);
    expect(h.runs).toHaveLength(3);
    expect(h.runs[2]! - refusedAt).toBeGreaterThanOrEqual(15 * 60_000);
    expect(h.runs[2]! - refusedAt).toBeLessThan(15 * 60_000 + 5000);
    // A credential appears: the next check runs, the sync goes live again (poll, interval).
    signedIn = true;
    const before = Date.now();
    await vi.advanceTimersByTimeAsync(5000);
    expect(h.runs).toHaveLength(4);
    expect(h.runs[3]! - before).toBeLessThanOrEqual(5000);
    expect([h.loop.parked, h.loop.failing, h.polls]).toEqual([false, 0, 1]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(h.runs).toHaveLength(5);
    await h.loop.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('retries an outage every 2 s for its first 5 minutes, then backs off, capped', async () => {
    const h = harness();
    h.fail = true;
    h.loop.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    const early = h.runs.filter((t) => t - T0 < 5 * 60_000);
    const gaps = h.runs.slice(1).map((t, i) => t - h.runs[i]!);
    for (let i = 0; i < early.length - 1; i++) {
      expect(gaps[i]).toBeGreaterThanOrEqual(1000);
      expect(gaps[i]).toBeLessThanOrEqual(2000);
    }
    // Then each wait at most doubles, up to the cap.
    const late = gaps.slice(early.length);
    for (let i = 0; i < late.length; i++) {
      expect(late[i]).toBeLessThanOrEqual(Math.min(300_000, 2000 * 2 ** (i + 1)));
    }
    expect(Math.max(...gaps)).toBeLessThanOrEqual(300_000);
    expect(Math.max(...gaps)).toBeGreaterThan(100_000);
    expect(h.loop.failing).toBe(h.runs.length);
    // Local edits do not hammer an unreachable hub.
    const before = h.runs.length;
    h.change();
    await vi.advanceTimersByTimeAsync(2000);
    expect(h.runs.length).toBe(before);
    expect(h.pushes).toEqual([]);
    // Back online: the next scheduled run succeeds and the interval resumes.
    h.fail = false;
    await vi.advanceTimersByTimeAsync(300_000);
    expect(h.loop.failing).toBe(0);
    const n = h.runs.length;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(h.runs.length).toBe(n + 1);
    await h.loop.stop();
  });

  it('after a short outage, goes live again within 2 s of the hub answering', async () => {
    const h = harness({}, true);
    h.loop.start();
    await vi.advanceTimersByTimeAsync(0);
    h.fail = true;
    h.change(); // the push fails: the outage begins
    await vi.advanceTimersByTimeAsync(10);
    expect(h.loop.failing).toBe(1);
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    const back = Date.now();
    h.fail = false;
    await vi.advanceTimersByTimeAsync(2000);
    expect(h.loop.failing).toBe(0);
    expect(h.runs.at(-1)! - back).toBeLessThanOrEqual(2000);
    // The long-poll is open again, and local changes go out at once.
    const polls = h.polls;
    await vi.advanceTimersByTimeAsync(0);
    expect(h.polls).toBeGreaterThanOrEqual(polls);
    const pushes = h.pushes.length;
    h.change();
    expect(h.pushes.length).toBe(pushes + 1);
    await vi.advanceTimersByTimeAsync(10);
    await h.loop.stop();
  });

  it('now() runs at once and settles with that run’s outcome', async () => {
    const h = harness();
    h.loop.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(5000);
    await expect(h.loop.now()).resolves.toBeUndefined();
    expect(h.runs.map((t) => t - T0)).toEqual([0, 5000]);
    h.fail = true;
    await expect(h.loop.now()).rejects.toMatchObject({ code: 'unavailable' });
    await h.loop.stop();
    await expect(h.loop.now()).rejects.toThrow('sync is not running');
  });

  it('now() before start() waits for the start and is served by its first run', async () => {
    const h = harness();
    let settled: string | undefined;
    const early = h.loop.now().then(
      () => (settled = 'ok'),
      (e: Error) => (settled = e.message),
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(settled).toBeUndefined();
    expect(h.runs).toEqual([]);
    h.loop.start();
    await vi.advanceTimersByTimeAsync(0);
    await early;
    expect(settled).toBe('ok');
    expect(h.runs.map((t) => t - T0)).toEqual([1000]);
    await h.loop.stop();
  });

  it('now() before a start that never comes is refused by stop()', async () => {
    const h = harness();
    const early = h.loop.now();
    await h.loop.stop();
    await expect(early).rejects.toThrow('sync stopped');
  });

  it('keeps one long-poll open while online and closes it for a run', async () => {
    const h = harness({}, true);
    h.loop.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.polls).toBe(1);
    h.answerPoll(3); // ops arrived: poll again at once
    await vi.advanceTimersByTimeAsync(0);
    expect(h.polls).toBe(2);
    h.answerPoll(0); // an empty answer that came back at once: rest before the next
    await vi.advanceTimersByTimeAsync(500);
    expect(h.polls).toBe(2);
    await vi.advanceTimersByTimeAsync(600);
    expect(h.polls).toBe(3);
    await h.loop.now(); // the open poll is aborted, the run goes, a new poll opens
    expect(h.runs).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(0);
    expect(h.polls).toBe(4);
    await h.loop.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a failing long-poll hands over to a run, which backs off', async () => {
    let pollFails = false;
    const h = harness(
      {
        longPoll: () => (pollFails ? Promise.reject(offline()) : new Promise<number>(() => {})),
      },
      false,
    );
    pollFails = true;
    h.loop.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.runs).toHaveLength(1);
    h.fail = true;
    await vi.advanceTimersByTimeAsync(2000); // the poll's first backoff is at most 2 s
    expect(h.runs).toHaveLength(2);
    expect(h.loop.failing).toBe(1);
    // Runs that succeed while polls keep failing: polls back off too, no tight loop.
    h.fail = false;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.runs.length).toBeLessThan(12);
    await h.loop.stop();
  });

  it('stop() is idempotent, aborts the run in flight and leaves no timer behind', async () => {
    let aborted = false;
    const h = harness({
      run: (signal) =>
        new Promise<void>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new HephError('unavailable', 'cancelled', { aborted: true }));
          });
        }),
    });
    h.loop.start();
    await vi.advanceTimersByTimeAsync(0);
    h.change();
    const waiting = h.loop.now();
    const s1 = h.loop.stop();
    const s2 = h.loop.stop();
    expect(s1).toBe(s2);
    await s1;
    expect(aborted).toBe(true);
    await expect(waiting).rejects.toMatchObject({ code: 'unavailable' });
    expect(vi.getTimerCount()).toBe(0);
  });
});
