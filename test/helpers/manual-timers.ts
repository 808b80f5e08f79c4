// Idle timers that fire only when a test says so (src/daemon/idle-checkpoint.ts IdleTimers),
// recording how many were armed.

import type { IdleTimers } from '../../src/daemon/idle-checkpoint.js';

export function manualTimers(): IdleTimers & { armed: number; fireAll(): void; live(): number } {
  const live = new Map<number, () => void>();
  let next = 0;
  return {
    armed: 0,
    set(fn) {
      this.armed++;
      live.set(++next, fn);
      return next;
    },
    clear(h) {
      live.delete(h as number);
    },
    fireAll() {
      const fns = [...live.values()];
      live.clear();
      for (const fn of fns) fn();
    },
    live: () => live.size,
  };
}
