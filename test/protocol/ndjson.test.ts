import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, LineSplitter, type Frame } from '../../src/protocol/ndjson.js';

const texts = (fs: Frame[]): string[] =>
  fs.map((f) => (f.kind === 'line' ? f.text : `<${f.kind}>`));

describe('LineSplitter', () => {
  it('splits lines, strips \\r, skips blank lines', () => {
    const s = new LineSplitter();
    expect(texts(s.push(Buffer.from('a\nb\r\n\n \r\nc')))).toEqual(['a', 'b']);
    expect(s.bufferedBytes).toBe(1);
    expect(texts(s.push(Buffer.from('d\n')))).toEqual(['cd']);
    expect(s.bufferedBytes).toBe(0);
  });

  it('joins a half-written line across many chunks', () => {
    const s = new LineSplitter();
    const line = '{"jsonrpc":"2.0","method":"x","id":1}';
    const out: Frame[] = [];
    for (const ch of line) out.push(...s.push(Buffer.from(ch)));
    expect(out).toEqual([]);
    out.push(...s.push(Buffer.from('\n')));
    expect(texts(out)).toEqual([line]);
  });

  it('keeps multibyte UTF-8 split at every byte boundary intact', () => {
    const text = 'é漢🎉 — ok';
    const bytes = Buffer.from(text + '\n');
    for (let cut = 1; cut < bytes.length; cut++) {
      const s = new LineSplitter();
      const out = [...s.push(bytes.subarray(0, cut)), ...s.push(bytes.subarray(cut))];
      expect(texts(out)).toEqual([text]);
    }
  });

  it('reports invalid UTF-8 instead of replacing it', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from([0x22, 0xff, 0xfe, 0x22, 0x0a, 0x61, 0x0a]))).toEqual([
      { kind: 'invalid_utf8' },
      { kind: 'line', text: 'a' },
    ]);
  });

  it('accepts a line of exactly the limit, also with \\r\\n split across chunks', () => {
    const s = new LineSplitter(10);
    expect(texts(s.push(Buffer.from('0123456789\n')))).toEqual(['0123456789']);
    expect(s.push(Buffer.from('0123456789\r'))).toEqual([]);
    expect(texts(s.push(Buffer.from('\n')))).toEqual(['0123456789']);
    expect(texts(s.push(Buffer.from('0123456789X\n')))).toEqual(['<oversize>']);
  });

  it('reports an oversize line once, as soon as it crosses the limit, without buffering it', () => {
    const s = new LineSplitter(1024);
    const out: Frame[] = [];
    out.push(...s.push(Buffer.from('ok\n')));
    for (let i = 0; i < 1000; i++) {
      out.push(...s.push(Buffer.alloc(4096, 0x61)));
      expect(s.bufferedBytes).toBeLessThanOrEqual(1025);
    }
    expect(texts(out)).toEqual(['ok', '<oversize>']);
    out.push(...s.push(Buffer.from('aaaa\nnext\n')));
    expect(texts(out)).toEqual(['ok', '<oversize>', 'next']);
  });

  it('rejects a nonsensical limit', () => {
    expect(() => new LineSplitter(0)).toThrow(RangeError);
  });
});

describe('encodeFrame', () => {
  it('writes one line and refuses what JSON cannot encode', () => {
    expect(encodeFrame({ a: 'x\ny' })).toBe('{"a":"x\\ny"}\n');
    expect(() => encodeFrame(undefined)).toThrow(TypeError);
    expect(() => encodeFrame({ n: 1n })).toThrow(TypeError);
  });
});

describe('LineSplitter against a whole-input reference', () => {
  /** Frames of an input ending in '\n', computed line by line from the whole of it. */
  function reference(input: Uint8Array, max: number): Frame[] {
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    const out: Frame[] = [];
    let start = 0;
    for (let nl = input.indexOf(0x0a); nl !== -1; nl = input.indexOf(0x0a, start)) {
      let line = input.subarray(start, nl);
      start = nl + 1;
      if (line.length > max + 1) {
        out.push({ kind: 'oversize', limit: max });
        continue;
      }
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
      if (line.length > max) out.push({ kind: 'oversize', limit: max });
      else if (line.length === 0) continue;
      else {
        let text: string;
        try {
          text = decoder.decode(line);
        } catch {
          out.push({ kind: 'invalid_utf8' });
          continue;
        }
        if (text.trim() !== '') out.push({ kind: 'line', text });
      }
    }
    return out;
  }

  const pieces = [
    'a',
    '{"x":1}',
    'é',
    '€',
    '😀',
    '\uFEFF',
    ' ',
    '\r',
    '\n',
    '\n',
    [0xed, 0xa0, 0x80], // an encoded surrogate
    [0xc0, 0x80], // overlong NUL
    [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
    [0xe2, 0x82], // truncated
    [0xff],
  ].map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)));

  it('gives the same frames however the input is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: pieces.length - 1 }), { maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 12 }),
        (picks, cuts, max) => {
          const input = Buffer.concat([...picks.map((i) => pieces[i]!), Buffer.from('\n')]);
          const splitter = new LineSplitter(max);
          const got: Frame[] = [];
          let at = 0;
          for (let k = 0; at < input.length; k++) {
            const n = cuts[k % cuts.length]!;
            got.push(...splitter.push(input.subarray(at, at + n)));
            at += n;
          }
          expect(got).toEqual(reference(input, max));
        },
      ),
      { seed: 7, numRuns: 3000 },
    );
  });
});
