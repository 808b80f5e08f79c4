// The view node.get and the other node methods return: isoOf is Date.prototype.toISOString's
// text for every millisecond count (its fast path covers 1970 to 9999), and empty aliases and
// extra parse as fresh values like any other.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoOf, toView, type NodeRow } from '../../src/store/node-rows.js';

const reference = (ms: number): string => new Date(ms).toISOString();

describe('isoOf', () => {
  it('matches toISOString over the whole fast range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), (ms) => {
        expect(isoOf(ms)).toBe(reference(ms));
      }),
      { seed: 42, numRuns: 20_000 },
    );
  });

  it('matches toISOString at the edges and outside the fast range', () => {
    const day = 86_400_000;
    const edges = [
      0,
      -0,
      1,
      999,
      1000,
      day - 1,
      day,
      Date.UTC(2000, 1, 29, 23, 59, 59, 999),
      Date.UTC(2100, 1, 28, 12),
      Date.UTC(2100, 2, 1),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(10000, 0, 1),
      -1,
      Date.UTC(1, 0, 1),
      Date.UTC(-1, 0, 1),
      8.64e15,
      1.5,
    ];
    for (const ms of edges) expect(isoOf(ms)).toBe(reference(ms));
    expect(() => isoOf(Number.NaN)).toThrow(RangeError);
    expect(() => isoOf(8.64e15 + 1)).toThrow(RangeError);
  });
});

describe('toView', () => {
  const row: NodeRow = {
    id: '01M817QNM0KHX2RH9446W7Z9H9',
    kind: 'doc',
    title: 'Doc',
    aliases: '[]',
    body: 'text',
    body_version: '',
    deleted: 0,
    state: null,
    attention: null,
    do_date: null,
    late_on: null,
    recurrence: null,
    extra: '{}',
    conflicts: 0,
    created_ms: 1_795_398_702_233,
    updated_ms: 1_795_398_702_240,
  };

  it('gives each view its own empty aliases and extra', () => {
    const a = toView(row);
    const b = toView(row);
    expect(a.aliases).toEqual([]);
    expect(a.extra).toEqual({});
    expect(a.aliases).not.toBe(b.aliases);
    expect(a.extra).not.toBe(b.extra);
    expect([a.created, a.updated]).toEqual([
      '2026-11-23T01:51:42.233Z',
      '2026-11-23T01:51:42.240Z',
    ]);
  });

  it('parses non-empty aliases and extra', () => {
    const v = toView({ ...row, aliases: '["a","b"]', extra: '{"x":1}' });
    expect(v.aliases).toEqual(['a', 'b']);
    expect(v.extra).toEqual({ x: 1 });
  });
});
