// Checkpoints the daemon's WAL when writing pauses. With SQLite's default a commit that brings
// the WAL to 1,000 pages copies it into the database file and syncs it twice, inside that call:
// under a stream of writes (about 20 pages per task.create) one call in 50 paid for it. The
// daemon instead lets the WAL grow to a larger bound (SqliteStore walAutocheckpointPages) and
// checkpoints here once no change has been committed for `idleMs`, so a checkpoint happens
// between bursts, and the WAL is short at rest (quick to open after a crash, small on disk).

import type { Logger } from '../ports/logger.js';
import type { CheckpointResult } from '../store/sqlite-store.js';

/** The daemon's WAL bound: a checkpoint inside a commit only once the WAL reaches 40 MB. */
export const DAEMON_WAL_PAGES = 10_000;
export const IDLE_CHECKPOINT_MS = 1000;

/** The store settings of a daemon's replica that go with checkpointing here (benches use them). */
export const DAEMON_STORE_OPTIONS = { walAutocheckpointPages: DAEMON_WAL_PAGES } as const;

/** Timers, injectable so tests decide when "idle" has come. */
export interface IdleTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: IdleTimers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface ChangeSource {
  onChange(listener: () => void): () => void;
}

export interface CheckpointTarget extends ChangeSource {
  checkpoint(): CheckpointResult;
}

export interface IdleCheckpoint {
  stop(): void;
}

/** Runs `work` each time `idleMs` pass without a committed change to `source`. */
export function whenIdle(
  source: ChangeSource,
  idleMs: number,
  timers: IdleTimers,
  work: () => void,
): IdleCheckpoint {
  let pending: unknown;
  const fire = (): void => {
    pending = undefined;
    work();
  };
  const off = source.onChange(() => {
    if (pending !== undefined) timers.clear(pending);
    pending = timers.set(fire, idleMs);
  });
  return {
    stop() {
      off();
      if (pending !== undefined) timers.clear(pending);
      pending = undefined;
    },
  };
}

/** Checkpoints `store` each time `idleMs` pass without a committed change. */
export function startIdleCheckpoint(
  store: CheckpointTarget,
  o: { logger: Logger; idleMs?: number; timers?: IdleTimers },
): IdleCheckpoint {
  return whenIdle(store, o.idleMs ?? IDLE_CHECKPOINT_MS, o.timers ?? realTimers, () => {
    try {
      const r = store.checkpoint();
      o.logger.debug({ ...r }, 'checkpointed the WAL while idle');
    } catch (e) {
      // Not fatal: the next commit past the WAL bound checkpoints anyway.
      o.logger.warn({ err: (e as Error).message }, 'idle checkpoint failed');
    }
  });
}
