// The hub's JSON body parser: a large push body parsed in pieces gives exactly what one
// JSON.parse of its text gives, and any body it cannot cut cleanly (or that is not valid) gives
// parseJsonBody's own value or error.

import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  MAX_JSON_DEPTH,
  parseJsonBody,
  parseJsonBuffer,
  PIECEWISE_BYTES,
} from '../../src/hub/body.js';

/** What parseJsonBody gives for the whole text: the value, or the error's message. */
function wholeOutcome(text: string, depth = MAX_JSON_DEPTH): unknown {
  try {
    return { value: parseJsonBody(text, depth) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function pieceOutcome(text: string, depth = MAX_JSON_DEPTH): unknown {
  try {
    return { value: parseJsonBuffer(Buffer.from(text), depth) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const op = (i: number, value: unknown = `Task ${i}`): object => ({
  id: `0000000${i.toString(16).padStart(5, '0')}-0000-00000000000b0001`,
  kind: 'node.set',
  target: '01JGZ6B3M0ABCDEFGHJKMNPQRS',
  payload: { field: 'title', prev: [], value },
});

const pushText = (ops: readonly unknown[], extra = ''): string =>
  `{"replica":{"id":"00000000000b0001"${extra}},"ops":${JSON.stringify(ops)}}`;

describe('parseJsonBuffer', () => {
  it('parses a large push in pieces to the same value as JSON.parse', () => {
    const ops: unknown[] = Array.from({ length: 2000 }, (_, i) => op(i));
    // Compact field sets (arrays) and values that look like the places it cuts.
    ops[700] = ['0000000002bc-0000-00000000000b0001', 'x', 'title', 'a},{b', []];
    ops[701] = op(701, 'cut "here" },{ and ],[ and ,');
    ops[1500] = op(1500, 'é – 😀 unicode');
    const text = pushText(ops);
    expect(text.length).toBeGreaterThan(3 * PIECEWISE_BYTES);
    const expected: unknown = JSON.parse(text);
    // No text it parses is as long as 128 KiB (a string that size gets pages of its own).
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expect(parseJsonBuffer(Buffer.from(text))).toEqual(expected);
      const lengths = parse.mock.calls.map(([t]) => t.length);
      expect(lengths.length).toBeGreaterThan(3);
      expect(Math.max(...lengths)).toBeLessThan(128 * 1024);
    } finally {
      parse.mockRestore();
    }
    // White space around the ops array and at the end.
    const spaced = text.replace('"ops":[', '"ops":[ \n').replace(/\]\}$/, ' ]\n}\n');
    expect(parseJsonBuffer(Buffer.from(spaced))).toEqual(JSON.parse(spaced));
  });

  it('gives the whole parse’s value or error for bodies it cannot cut or that are not valid', () => {
    const big = Array.from({ length: 1500 }, (_, i) => op(i));
    const text = pushText(big);
    const cases = [
      text.slice(0, -1), // truncated
      text.replace('"Task 900"', '"Task 900'), // an unterminated string mid-body
      text.replace('"Task 900"', '"Task 900"]'), // a bracket too many
      `{"ops":[],"replica":{"ops":[1]},"ops":${JSON.stringify(big)}}`, // "ops" twice, nested
      `{"replica":{"ops":[${JSON.stringify(big).slice(1)}}}`, // ops array not a member of the top
      `\ufeff${text}`, // a byte order mark
      `[${text}]`, // not an object
      text.replace(/\]\}$/, ']}x'),
      text.replace('"ops":[', '"ops" : ['), // not cut, parsed whole
    ];
    for (const c of cases) expect(pieceOutcome(c)).toEqual(wholeOutcome(c));
  });

  it('refuses nesting deeper than the limit exactly as the whole parse does', () => {
    const ops: unknown[] = Array.from({ length: 1500 }, (_, i) => op(i));
    const nest = (depth: number): unknown => (depth === 0 ? 1 : [nest(depth - 1)]);
    // The op at index 1000 nests to exactly the limit, then one deeper (object, ops array, op).
    for (const extra of [0, 1]) {
      ops[1000] = nest(MAX_JSON_DEPTH - 2 + extra);
      const text = pushText(ops);
      const whole = wholeOutcome(text);
      expect(pieceOutcome(text)).toEqual(whole);
      expect(whole).toHaveProperty(extra === 0 ? 'value' : 'error');
    }
  });

  it('matches JSON.parse on generated push bodies (seeded)', () => {
    const seed = 1512;
    console.log(`parseJsonBuffer property seed ${seed}`);
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue({ maxDepth: 4 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 3000 }),
        (values, filler) => {
          const ops = [
            ...Array.from({ length: filler }, (_, i) => op(i)),
            ...values,
            ...values.map((v, i) => op(i, v)),
          ];
          const text = pushText(ops);
          expect(pieceOutcome(text)).toEqual(wholeOutcome(text));
        },
      ),
      { seed, numRuns: 60 },
    );
  });
});
