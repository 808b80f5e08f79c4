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
    polls: 0,
    fail: false,
    change: () => listener?.(),
    answerPoll: (n) => pollResolve?.(n),
    loop: undefined as unknown as SyncLoop,
  };
  const deps: SyncLoopDeps = {
    run: () => {
      h.runs.push(Date.now());
      return h.fail ? Promise.reject(offline()) : Promise.resolve();
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
  h.loop = new SyncLoop(deps, { intervalMs: 30_000, debounceMs: 1000, backoffMaxMs: 300_000 });
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

  it('syncs one debounce after the last of a burst of local changes', async () => {
    const h = harness();
    h.loop.start();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 5; i++) {
      h.change();
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(h.runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(h.runs.map((t) => t - T0)).toEqual([0, 3000]);
    await h.loop.stop();
  });

  it('backs off exponentially with jitter while the hub is unreachable, capped', async () => {
    const h = harness();
    h.fail = true;
    h.loop.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    const gaps = h.runs.slice(1).map((t, i) => t - h.runs[i]!);
    for (let i = 0; i < gaps.length; i++) {
      const raw = Math.min(300_000, 1000 * 2 ** i);
      expect(gaps[i]).toBeGreaterThanOrEqual(raw * 0.5);
      expect(gaps[i]).toBeLessThanOrEqual(raw);
    }
    expect(Math.max(...gaps)).toBeLessThanOrEqual(300_000);
    expect(h.loop.failing).toBe(h.runs.length);
    // Local edits do not hammer an unreachable hub.
    const before = h.runs.length;
    h.change();
    await vi.advanceTimersByTimeAsync(2000);
    expect(h.runs.length).toBe(before);
    // Back online: the next scheduled run succeeds and the interval resumes.
    h.fail = false;
    await vi.advanceTimersByTimeAsync(300_000);
    expect(h.loop.failing).toBe(0);
    const n = h.runs.length;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(h.runs.length).toBe(n + 1);
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
    await vi.advanceTimersByTimeAsync(1000); // the poll's first backoff is at most 1 s
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
