import { randomBytes } from 'node:crypto';
import type { Random } from '../core/ids.js';

export type { Random };

const POOL = 6 * 1024;
let pool = Buffer.alloc(0);
let at = POOL;

/**
 * Cryptographic randomness for ids in production: 48-bit draws from a pool refilled 1,024
 * draws at a time, so a ULID (16 draws) is not 16 system calls.
 */
export const cryptoRandom: Random = {
  next: () => {
    if (at >= POOL) {
      pool = randomBytes(POOL);
      at = 0;
    }
    const v = pool.readUIntBE(at, 6) / 2 ** 48;
    at += 6;
    return v;
  },
};

/** A small seeded PRNG (mulberry32) for tests and benchmarks. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
