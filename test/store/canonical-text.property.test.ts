// canonicalText must be canonicalJson, string for string and error for error. Seeded.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/core/json.js';
import { canonicalText } from '../../src/store/canonical-text.js';

const SEED = Number(process.env.HEPH_PROPERTY_SEED ?? 20261123);

function outcome(f: () => string): string {
  try {
    return `ok ${f()}`;
  } catch (e) {
    return `throws ${(e as Error).constructor.name}`;
  }
}

describe(`canonicalText (seed ${SEED})`, () => {
  it('equals canonicalJson on JSON values, parsed JSON (sorted or not) and anything else', () => {
    const sortedParsed = fc.jsonValue().map((v) => JSON.parse(canonicalJson(v)) as unknown);
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), sortedParsed, fc.anything()), (v) => {
        expect(outcome(() => canonicalText(v))).toBe(outcome(() => canonicalJson(v)));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('handles the cases JSON.stringify and canonicalJson could part on', () => {
    const cases: unknown[] = [
      { b: 1, a: 2 },
      { 10: 'x', 2: 'y', a: 1 },
      { a: undefined, b: 1 },
      { a: [1, undefined] },
      { a: NaN },
      { d: new Date(0) },
      [Infinity],
      { z: { b: 1, a: 1 } },
      -0,
      { ['\u{1F600}']: 1, ['\uFFFF']: 2 },
      Object.create(null) as unknown,
    ];
    for (const v of cases) {
      expect(outcome(() => canonicalText(v))).toBe(outcome(() => canonicalJson(v)));
    }
  });
});
