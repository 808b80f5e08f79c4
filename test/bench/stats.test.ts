// The benchmark's repeat-and-take-the-median helper.

import { describe, expect, it } from 'vitest';
import { medianOf } from '../../bench/stats.js';

describe('medianOf', () => {
  it('runs the given number of times and returns the median sample with the spread', async () => {
    const values = [30, 10, 50, 20, 40];
    const seen: number[] = [];
    const best = await medianOf(
      5,
      (attempt) => ({ ms: 2000, value: values[attempt - 1]!, attempt }),
      (_s, attempt) => seen.push(attempt),
    );
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(best).toMatchObject({ value: 30, attempt: 1, min: 10, max: 50 });
  });

  it('takes the lower middle of an even count, and one run as it is', async () => {
    const four = [4, 1, 3, 2];
    expect(await medianOf(4, (a) => ({ ms: 1, value: four[a - 1]! }))).toMatchObject({
      value: 2,
      min: 1,
      max: 4,
    });
    expect(await medianOf(1, () => Promise.resolve({ ms: 1, value: 7 }))).toMatchObject({
      value: 7,
      min: 7,
      max: 7,
    });
  });
});
