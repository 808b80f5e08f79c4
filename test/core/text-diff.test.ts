import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  alignSplices,
  applySplices,
  changedLines,
  diffEdit,
  diffText,
} from '../../src/core/text-diff.js';

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

  it('writes a first text, or empties one, in one splice', () => {
    const long = Array.from({ length: 3000 }, (_, i) => `line ${i}\n`).join('');
    expect(diffText('', long)).toEqual([{ index: 0, remove: 0, insert: long }]);
    expect(diffText(long, '')).toEqual([{ index: 0, remove: long.length, insert: '' }]);
    expect(diffText('', 'a\nb')).toEqual([{ index: 0, remove: 0, insert: 'a\nb' }]);
  });

  it('handles large rewrites by falling back to one splice', () => {
    const a = Array.from({ length: 6000 }, (_, i) => `line ${i}`).join('\n');
    const b = Array.from({ length: 6000 }, (_, i) => `other ${i}`).join('\n');
    expect(applySplices(a, diffText(a, b))).toBe(b);
  });
});

describe('diffEdit (a save of a long text)', () => {
  const line = fc.oneof(
    fc.constantFrom('alpha', 'beta', '', '😀', 'e\u0301', 'x\r', '\r'),
    fc.string({ unit: 'grapheme', maxLength: 5 }),
  );
  const text = fc.array(line, { maxLength: 30 }).map((ls) => ls.join('\n'));
  /** A text and the same text with a few characters typed, deleted or replaced somewhere. */
  const edited = fc
    .tuple(text, fc.array(fc.tuple(fc.nat(), fc.nat(3), line), { minLength: 1, maxLength: 3 }))
    .map(([a, edits]) => {
      let b = a;
      for (const [at, remove, insert] of edits) {
        const i = b.length === 0 ? 0 : at % (b.length + 1);
        b = b.slice(0, i) + insert + b.slice(i + remove);
      }
      return [a, b] as const;
    });

  it('round-trips any pair of texts exactly, and small edits of related ones (property)', () => {
    console.log(`diffEdit property: seed ${SEED}`);
    fc.assert(
      fc.property(fc.oneof(fc.tuple(text, text), edited), ([a, b]) => {
        expect(applySplices(a, diffEdit(a, b))).toBe(b);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('finds the whole lines that differ, with the same text around them (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.tuple(text, text), edited), ([a, b]) => {
        const { start, endBefore, endAfter } = changedLines(a, b);
        expect(a.slice(0, start)).toBe(b.slice(0, start));
        expect(start === 0 || a[start - 1] === '\n').toBe(true);
        expect(a.slice(endBefore)).toBe(b.slice(endAfter));
        expect(endBefore === a.length || a[endBefore - 1] === '\n').toBe(true);
        expect(endAfter === b.length || b[endAfter - 1] === '\n').toBe(true);
        expect(start).toBeLessThanOrEqual(Math.min(endBefore, endAfter));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('splices only the changed line of a long text, across the block comparisons', () => {
    const long = Array.from({ length: 3000 }, (_, i) => `line ${i} of a long note\n`).join('');
    const at = long.indexOf('line 1717 ') + 5;
    const after = long.slice(0, at) + 'X' + long.slice(at);
    expect(diffEdit(long, after)).toEqual([{ index: at, remove: 0, insert: 'X' }]);
    const lines = changedLines(long, after);
    expect(long.slice(lines.start, lines.endBefore)).toBe('line 1717 of a long note\n');
    expect(diffEdit(long, long.slice(0, at) + long.slice(at + 1))).toEqual([
      { index: at, remove: 1, insert: '' },
    ]);
  });

  it('is diffText where the texts share no line at either end and no splice can slide', () => {
    expect(diffEdit('a\nb\nc', 'x\nb\ny')).toEqual(diffText('a\nb\nc', 'x\nb\ny'));
  });

  it('keeps what was typed in one piece: " [x] " typed after "a" in "a [y]"', () => {
    const before = 'a [y] b\n';
    const after = 'a [x]  [y] b\n';
    // A character diff takes the "[" of "[y]" for the first character of what was typed.
    expect(diffText(before, after)).toEqual([{ index: 3, remove: 0, insert: 'x]  [' }]);
    const [typed, ...rest] = diffEdit(before, after);
    expect(rest).toEqual([]);
    expect(typed).toMatchObject({ remove: 0, insert: expect.stringContaining('[x]') });
    expect(applySplices(before, [typed!])).toBe(after);
    // Removing it again takes "[x]" out in one piece too.
    const [removed] = diffEdit(after, before);
    expect(after.slice(removed!.index, removed!.index + removed!.remove)).toContain('[x]');
  });

  it('moves a typed line to the start of a line and removes a word with one of its spaces', () => {
    expect(diffEdit('one\ntwo\n', 'one\nnew\ntwo\n')).toEqual([
      { index: 4, remove: 0, insert: 'new\n' },
    ]);
    const before = 'see the thee end';
    const [s] = diffEdit(before, 'see the end');
    expect(before.slice(s!.index, s!.index + s!.remove).trim()).toBe('thee');
  });

  it('aligns only within its neighbours and never splits a surrogate pair (property)', () => {
    const unit = fc.constantFrom('a', ' ', '[', ']', '\n', '😀', '\ud83d', 'e\u0301');
    const str = fc.array(unit, { maxLength: 40 }).map((u) => u.join(''));
    fc.assert(
      fc.property(str, str, (a, b) => {
        const raw = diffText(a, b);
        const aligned = alignSplices(a, raw);
        expect(applySplices(a, aligned)).toBe(b);
        expect(aligned.map((s) => [s.remove, s.insert.length])).toEqual(
          raw.map((s) => [s.remove, s.insert.length]),
        );
        for (let i = 0; i + 1 < aligned.length; i++) {
          expect(aligned[i]!.index).toBeGreaterThanOrEqual(
            aligned[i + 1]!.index + aligned[i + 1]!.remove,
          );
        }
        for (const s of aligned) {
          const lowAt = (t: string, i: number) => /[\udc00-\udfff]/.test(t[i] ?? '');
          const highAt = (t: string, i: number) => /[\ud800-\udbff]/.test(t[i] ?? '');
          if (highAt(a, s.index - 1) && lowAt(a, s.index)) {
            // Only where diffText itself put it (a lone high surrogate typed before a low one).
            expect(raw).toContainEqual(s);
          }
        }
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});
