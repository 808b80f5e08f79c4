// The compact wire form of protocol 4: every op comes back from its wire form (through JSON
// text, as it travels) with the same canonical text, the text the hub stores and compares, and
// a malformed compact op is refused by name.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHlc } from '../../src/core/hlc.js';
import type { Json } from '../../src/core/json.js';
import { parseOp, type Op } from '../../src/core/op.js';
import { decodeWireOp, encodeWireOp } from '../../src/protocol/op-wire.js';
import { canonicalOpText } from '../../src/store/canonical-text.js';

const SEED = 0x0_4_e1_7e;
const ORIGINS = ['0123456789abcdef', 'fedcba9876543210', 'aaaaaaaaaaaaaaaa'];
const stamp = fc
  .record({
    wall: fc.integer({ min: 0, max: 2 ** 40 }),
    counter: fc.integer({ min: 0, max: 0xffff }),
    origin: fc.constantFrom(...ORIGINS),
  })
  .map(encodeHlc);
const json: fc.Arbitrary<Json> = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;

const fieldSet = fc.record(
  {
    id: stamp,
    target: fc.oneof(fc.constant('01KDVDNCT206VZTSQQX95E4Q6K'), fc.string({ minLength: 1 })),
    field: fc.oneof(fc.constantFrom('title', 'state', 'do_date'), fc.string()),
    value: json,
    prev: fc.oneof(fc.array(stamp, { maxLength: 4 }), json),
    change: stamp,
    extra: json,
  },
  { requiredKeys: ['id', 'target', 'field', 'value'] },
);

/** Field sets of every shape (with and without prev, change, unknown members), and other ops. */
const plainSet: fc.Arbitrary<Op> = fc
  .record(
    { id: stamp, value: json, prev: fc.array(stamp, { maxLength: 4 }), change: stamp },
    { requiredKeys: ['id', 'value', 'prev'] },
  )
  .map(({ id, ...payload }) => ({
    id,
    kind: 'node.set',
    target: '01KDVDNCT206VZTSQQX95E4Q6K',
    payload: { field: 'title', ...payload },
  }));

const anyOp: fc.Arbitrary<Op> = fc.oneof(
  plainSet,
  fieldSet.map(({ id, target, extra, ...payload }) => ({
    id,
    kind: 'node.set',
    target,
    payload: extra === undefined ? payload : { ...payload, extra },
  })),
  fc.record({
    id: stamp,
    kind: fc.constantFrom('link.add', 'body.update', 'future.kind'),
    target: fc.string({ minLength: 1 }),
    payload: fc.dictionary(fc.string(), json, { maxKeys: 4 }),
  }),
);

describe('the compact wire form', () => {
  it('gives back every op with its canonical text, through JSON', () => {
    let packed = 0;
    fc.assert(
      fc.property(anyOp, (op) => {
        const encoded = encodeWireOp(op);
        if (Array.isArray(encoded)) packed++;
        const wire = JSON.parse(JSON.stringify(encoded)) as unknown;
        const back = parseOp(decodeWireOp(wire));
        expect(canonicalOpText(back)).toBe(canonicalOpText(op));
      }),
      { seed: SEED, numRuns: 3000 },
    );
    expect(packed).toBeGreaterThan(300); // the compact path was exercised, not only objects
  });

  it('packs a plain field set into an array, its own origin’s stamps shortened', () => {
    const a = ORIGINS[0]!;
    const b = ORIGINS[1]!;
    const op: Op = {
      id: encodeHlc({ wall: 1000, counter: 2, origin: a }),
      kind: 'node.set',
      target: '01KDVDNCT206VZTSQQX95E4Q6K',
      payload: {
        change: encodeHlc({ wall: 1000, counter: 0, origin: a }),
        field: 'title',
        prev: [
          encodeHlc({ wall: 900, counter: 1, origin: a }),
          encodeHlc({ wall: 950, counter: 0, origin: b }),
        ],
        value: 'Buy milk',
      },
    };
    const wire = encodeWireOp(op);
    expect(wire).toEqual([
      op.id,
      op.target,
      'title',
      'Buy milk',
      ['000000000384-0001', encodeHlc({ wall: 950, counter: 0, origin: b })],
      '0000000003e8-0000',
    ]);
    expect(JSON.stringify(wire).length).toBeLessThan(canonicalOpText(op).length * 0.7);
    // Decoded with its members already in canonical order (the store's fast path).
    expect(JSON.stringify(decodeWireOp(wire))).toBe(canonicalOpText(op));
    // Other ops, and field sets with more (or less) than it knows, go as they are.
    const { prev: _p, ...noPrev } = op.payload;
    for (const o of [
      { ...op, payload: noPrev },
      { ...op, payload: { ...op.payload, later: 1 } },
      { ...op, kind: 'body.update' },
    ]) {
      expect(encodeWireOp(o)).toBe(o);
    }
  });

  it('refuses a malformed compact op by name, and leaves objects to the store', () => {
    const id = encodeHlc({ wall: 1000, counter: 2, origin: ORIGINS[0]! });
    const cases: [unknown[], RegExp][] = [
      [[], /op \?: a field set’s first member must be its id/],
      [['nope', 't', 'title', 'x', []], /op nope: .*first member must be its id/],
      [[id, 't', 'title', 'x'], /\[id, target, field, value, prev\]/],
      [[id, 't', 'title', 'x', [], 'c', 'extra'], /\[id, target, field, value, prev\]/],
      [[id, 7, 'title', 'x', []], /target and field must be strings/],
      [[id, 't', 'title', 'x', 'p'], /prev must be a list of stamps/],
      [[id, 't', 'title', 'x', ['0000000003e8']], /prev must be a list of stamps/],
      [[id, 't', 'title', 'x', [], 5], /change must be a stamp/],
    ];
    for (const [wire, re] of cases) {
      expect(() => decodeWireOp(wire), JSON.stringify(wire)).toThrow(re);
    }
    const obj = { id, kind: 'x' };
    expect(decodeWireOp(obj)).toBe(obj);
  });
});
