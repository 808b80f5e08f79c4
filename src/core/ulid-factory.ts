// New ULIDs, from the store's injected random source. Apart from ids.ts: the ulid package loads
// node:crypto when required, which the CLI's commands, which only check ids, should not pay for.

import { monotonicFactory } from 'ulid';
import type { Random } from './ids.js';

export function ulidFactory(random: Random): (now: number) => string {
  const gen = monotonicFactory(() => random.next());
  return (now: number) => gen(now);
}
