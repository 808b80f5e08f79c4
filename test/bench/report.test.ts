// What BENCHMARKS.md writes beside a target: a missed value never rounds to the target itself.

import { describe, expect, it } from 'vitest';
import { benchmarksMarkdown, fmt, fmtAgainst, rows } from '../../bench/report.js';
import type { FigureMeta } from '../../bench/types.js';

describe('fmtAgainst', () => {
  it('writes as fmt does unless the value would read as its target', () => {
    expect(fmtAgainst(0.296, 0.3)).toBe('0.296');
    expect(fmtAgainst(0.2999, 0.3)).toBe('0.2999');
    expect(fmtAgainst(2999.6, 3000)).toBe('2999.600');
    expect(fmtAgainst(0.3, 0.3)).toBe(fmt(0.3));
    expect(fmtAgainst(0.31, 0.3)).toBe(fmt(0.31));
    expect(fmtAgainst(1234, undefined)).toBe(fmt(1234));
    expect(fmtAgainst(undefined, 1)).toBe('—');
  });

  it('keeps a missed figure and a missed ratio apart from their targets in BENCHMARKS.md', () => {
    const metas: FigureMeta[] = [
      { name: 'floor_per_s', unit: 'ops/s', description: 'a floor' },
      {
        name: 'rate_per_s',
        unit: 'ops/s',
        floor: 'floor_per_s',
        target: { op: '>=', value: 0.3, relative: true },
        description: 'a rate held to its floor',
      },
      { name: 'ratio', unit: '×', target: { op: '>=', value: 0.3 }, description: 'a ratio' },
    ];
    const md = benchmarksMarkdown(
      rows(metas, { floor_per_s: 1000, rate_per_s: 296, ratio: 0.2961 }),
      {
        cpus: 2,
        cpu_model: 'test',
        total_mem_gb: 1,
        node: 'v20',
        platform: 'linux',
        date: '2026-12-05T00:00:00.000Z',
      },
      '0.00 / 0.00 / 0.00',
    );
    expect(md).toContain(
      '| `rate_per_s` | 296 | ops/s | `floor_per_s` | 0.296× | >= 0.30 × floor | **missed** |',
    );
    expect(md).toContain('| `ratio` | 0.296 | × | — | — | >= 0.30 | **missed** |');
    expect(md).toContain('- `ratio` missed its target (>= 0.30): measured 0.296×.');
    expect(md).toContain(
      '- `rate_per_s` missed its target (>= 0.30 × floor): measured 0.296× its floor',
    );
  });
});
