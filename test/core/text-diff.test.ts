import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applySplices, diffText } from '../../src/core/text-diff.js';

const SEED = 20261122;

describe('diffText', () => {
  it('returns no splices for equal texts', () => {
    expect(diffText('abc\ndef', 'abc\ndef')).toEqual([]);
  });

  it('touches only the changed characters of a changed line', () => {
    const s = diffText('one\ntwo\nthree\n', 'one\ntwo!\nthree\n');
    expect(s).toEqual([{ index: 7, remove: 0, insert: '!' }]);
  });

  it('keeps separate changes separate', () => {
    const before = 'a\nb\nc\nd\ne\nf\n';
    const after = 'A\nb\nc\nd\ne\nF\n';
    const s = diffText(before, after);
    expect(s).toHaveLength(2);
    expect(s[0]!.index).toBeGreaterThan(s[1]!.index);
    expect(applySplices(before, s)).toBe(after);
  });

  it('never splits a surrogate pair', () => {
    const before = 'x😀y';
    const after = 'x😃y';
    const s = diffText(before, after);
    expect(applySplices(before, s)).toBe(after);
    for (const sp of s) {
      const c = before.charCodeAt(sp.index);
      expect(c >= 0xdc00 && c <= 0xdfff).toBe(false);
      expect(sp.insert.length % 2).toBe(0);
    }
  });

  it('round-trips any pair of texts exactly (property)', () => {
    const line = fc.oneof(
      fc.constantFrom('alpha', 'beta', 'gamma', '', '😀', 'e\u0301', '𝔘𝔫𝔦'),
      fc.string({ unit: 'grapheme', maxLength: 6 }),
    );
    const text = fc.array(line, { maxLength: 30 }).map((ls) => ls.join('\n'));
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(applySplices(a, diffText(a, b))).toBe(b);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('handles large rewrites by falling back to one splice', () => {
    const a = Array.from({ length: 6000 }, (_, i) => `line ${i}`).join('\n');
    const b = Array.from({ length: 6000 }, (_, i) => `other ${i}`).join('\n');
    expect(applySplices(a, diffText(a, b))).toBe(b);
  });
});
