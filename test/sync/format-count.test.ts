// Counts in sync status and progress lines are written as toLocaleString('en-US') writes them,
// without making an Intl formatter (see formatCount). Seeded; a failure prints the seed.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCount, plural } from '../../src/sync/sync-status.js';

const SEED = 0x5c0_1234;

describe('formatCount', () => {
  it('writes every safe integer as toLocaleString("en-US") does', () => {
    for (const n of [
      0, 1, 12, 999, 1000, 1001, 99_999, 100_000, 1_234_567, -1, -1000, -987_654_321,
    ]) {
      expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
    }
    expect(formatCount(Number.MAX_SAFE_INTEGER)).toBe(
      Number.MAX_SAFE_INTEGER.toLocaleString('en-US'),
    );
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => formatCount(n) === n.toLocaleString('en-US')),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('writes what is not a safe integer as String does, and plural names one or many', () => {
    expect(formatCount(1.5)).toBe('1.5');
    expect(formatCount(Number.NaN)).toBe('NaN');
    expect(formatCount(1e21)).toBe('1e+21');
    expect(plural(1, 'change')).toBe('1 change');
    expect(plural(12_000, 'change')).toBe('12,000 changes');
    expect(plural(2, 'copy', 'copies')).toBe('2 copies');
  });
});
