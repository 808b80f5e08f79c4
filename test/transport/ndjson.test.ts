import { describe, expect, it } from 'vitest';
import { encodeFrame, LineSplitter, type Frame } from '../../src/transport/ndjson.js';

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
