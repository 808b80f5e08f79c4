import { describe, expect, it } from 'vitest';
import { cryptoRandom, seededRandom } from '../../src/ports/random.js';

describe('random sources', () => {
  it('cryptoRandom gives floats in [0, 1) across pool refills, without repeats', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const v = cryptoRandom.next();
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
      seen.add(v);
    }
    expect(seen.size).toBe(5000);
  });

  it('seededRandom repeats its sequence for a seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 10 }, () => a.next());
    expect(Array.from({ length: 10 }, () => b.next())).toEqual(xs);
    expect(new Set(xs).size).toBe(10);
  });
});
