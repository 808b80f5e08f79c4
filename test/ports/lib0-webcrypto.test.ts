// The `lib0/webcrypto` the bundled daemon gives Yjs (src/ports/lib0-webcrypto.ts): WebCrypto's
// getRandomValues with small draws served from a pool.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { getRandomValues, subtle } from '../../src/ports/lib0-webcrypto.js';

const REPO = join(import.meta.dirname, '..', '..');

describe('lib0-webcrypto', () => {
  it('fills small integer arrays of every width, without repeats, across pool refills', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      const a = getRandomValues(new Uint32Array(1));
      seen.add(a[0]!);
    }
    // 3,000 draws of 32 bits: a repeat would mean bytes handed out twice.
    expect(seen.size).toBe(3000);
    const bytes = getRandomValues(new Uint8Array(200));
    expect(bytes.some((b) => b !== 0)).toBe(true);
    const wide = getRandomValues(new BigUint64Array(4));
    expect(new Set(wide).size).toBe(4);
    // A view into a larger buffer is filled where it lies, and nowhere else.
    const buf = new Uint8Array(64);
    getRandomValues(new Uint32Array(buf.buffer, 16, 4));
    expect(buf.subarray(0, 16).every((b) => b === 0)).toBe(true);
    expect(buf.subarray(32).every((b) => b === 0)).toBe(true);
    expect(buf.subarray(16, 32).some((b) => b !== 0)).toBe(true);
  });

  it('passes large or non-integer arrays to WebCrypto, with its errors', () => {
    expect(getRandomValues(new Uint8Array(65536)).some((b) => b !== 0)).toBe(true);
    expect(() => getRandomValues(new Uint8Array(65537))).toThrow(/65,536/);
    expect(() => getRandomValues(new Float64Array(2))).toThrow(/integer/i);
    expect(() => webcrypto.getRandomValues(new Float64Array(2) as never)).toThrow(/integer/i);
    expect(subtle).toBe(webcrypto.subtle);
  });

  it('is what the bundled daemon gives Yjs (and Yjs documents still get client ids)', () => {
    const dir = join(REPO, 'dist', 'bundle', 'daemon');
    const sources = readdirSync(dir)
      .filter((f) => f.endsWith('.js.map'))
      .flatMap(
        (f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { sources: string[] }).sources,
      );
    expect(sources.some((s) => s.endsWith('lib0/random.js'))).toBe(true);
    expect(
      sources.some(
        (s) =>
          s.endsWith('src/ports/lib0-webcrypto.ts') || s.endsWith('src/ports/lib0-webcrypto.js'),
      ),
    ).toBe(true);
    expect(sources.some((s) => s.includes('lib0/webcrypto'))).toBe(false);
    const ids = new Set(Array.from({ length: 50 }, () => new Y.Doc().clientID));
    expect(ids.size).toBe(50);
  });
});
