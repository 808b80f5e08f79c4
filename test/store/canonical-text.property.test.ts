// canonicalText must be canonicalJson, string for string and error for error; canonicalOpText
// must give one text for one op content, whatever its payload's key order. Seeded.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/core/json.js';
import { canonicalOpText, canonicalText } from '../../src/store/canonical-text.js';
import type { Op } from '../../src/core/op.js';

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

/** A payload's keys in reverse order, at every level (the same content, another text). */
function reversed(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversed);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).reverse()) out[k] = reversed((v as Record<string, unknown>)[k]);
  return out;
}

describe(`canonicalOpText (seed ${SEED})`, () => {
  it('writes an op as {id, kind, target, payload} with a canonical payload, whatever its key order', () => {
    const payload = fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 });
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), payload, (id, kind, target, p) => {
        const op = { id, kind, target, payload: p } as unknown as Op;
        const text = canonicalOpText(op);
        expect(text).toBe(
          `{"id":${JSON.stringify(id)},"kind":${JSON.stringify(kind)},` +
            `"target":${JSON.stringify(target)},"payload":${canonicalJson(p)}}`,
        );
        const other = { ...op, payload: reversed(p) } as Op;
        expect(canonicalOpText(other)).toBe(text);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(op)));
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });
});
