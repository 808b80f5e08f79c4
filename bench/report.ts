// Rendering a run: target checks, the console table, BENCHMARKS.md and results.json.

import { readFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, arch, totalmem } from 'node:os';
import type { FigureMeta, Target } from './types.js';

export interface Machine {
  cpus: number;
  cpu_model: string;
  total_mem_gb: number;
  node: string;
  platform: string;
  date: string;
}

export function machineInfo(date: Date): Machine {
  const list = cpus();
  return {
    cpus: list.length,
    cpu_model: list[0]?.model.trim() ?? 'unknown',
    total_mem_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${platform()} ${release()} ${arch()}`,
    date: date.toISOString(),
  };
}

export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}

export interface Row {
  meta: FigureMeta;
  value: number | undefined;
  floorValue: number | undefined;
  ratio: number | undefined;
  met: boolean | undefined;
}

export function rows(metas: readonly FigureMeta[], figures: Record<string, number>): Row[] {
  return metas.map((meta) => {
    const value = figures[meta.name];
    const floorValue = meta.floor === undefined ? undefined : figures[meta.floor];
    const ratio = value !== undefined && floorValue ? value / floorValue : undefined;
    return { meta, value, floorValue, ratio, met: targetMet(meta.target, value, ratio) };
  });
}

function targetMet(
  t: Target | undefined,
  value: number | undefined,
  ratio: number | undefined,
): boolean | undefined {
  if (!t) return undefined;
  const v = t.relative ? ratio : value;
  if (v === undefined) return undefined;
  return t.op === '>=' ? v >= t.value : v <= t.value;
}

/** Human-readable number: thousands separators for big ones, a few digits for small ones. */
export function fmt(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  const a = Math.abs(n);
  if (a >= 100) return Math.round(n).toLocaleString('en-US');
  if (a >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/**
 * fmt(n) beside a target value `t`: with more digits when fmt would write a missed value as the
 * target itself (0.296 as "0.30" beside ">= 0.30" reads as met).
 */
export function fmtAgainst(n: number | undefined, t: number | undefined): string {
  const s = fmt(n);
  if (n === undefined || t === undefined || n === t || s !== fmt(t)) return s;
  for (let d = 3; d <= 6; d++) {
    const x = n.toFixed(d);
    if (x !== t.toFixed(d)) return x;
  }
  return s;
}

/** The target value `r`'s value (or, for a target relative to its floor, its ratio) is held to. */
function valueTarget(r: Row): number | undefined {
  const t = r.meta.target;
  return t && !t.relative ? t.value : undefined;
}

function ratioTarget(r: Row): number | undefined {
  const t = r.meta.target;
  return t?.relative ? t.value : undefined;
}

function withUnit(n: number | undefined, unit: string, t?: number): string {
  return unit === '×' ? `${fmtAgainst(n, t)}×` : `${fmtAgainst(n, t)} ${unit}`;
}

function targetText(t: Target | undefined): string {
  if (!t) return '—';
  return `${t.op} ${fmt(t.value)}${t.relative ? ' × floor' : ''}`;
}

function status(r: Row): string {
  if (r.value === undefined) return 'not measured';
  if (r.met === undefined) return r.meta.target ? 'no floor' : '—';
  return r.met ? 'met' : '**missed**';
}

/** Rounds for results.json: whole numbers for large figures, three decimals for small ones. */
function rounded(n: number): number {
  return Math.abs(n) >= 100 ? Math.round(n) : Math.round(n * 1000) / 1000;
}

export function resultsJson(all: Row[], machine: Machine): string {
  const figures: Record<string, number> = {};
  const targets: Record<string, Target & { met: boolean | null }> = {};
  for (const r of all) {
    if (r.value !== undefined) figures[r.meta.name] = rounded(r.value);
    if (r.meta.target) targets[r.meta.name] = { ...r.meta.target, met: r.met ?? null };
  }
  return JSON.stringify({ figures, machine, targets }, null, 2) + '\n';
}

export function consoleTable(all: Row[]): string {
  const head = ['figure', 'value', 'unit', 'ratio to floor', 'target', 'status'];
  const body = all.map((r) => [
    r.meta.name,
    fmtAgainst(r.value, valueTarget(r)),
    r.meta.unit,
    r.ratio === undefined ? '—' : `${fmtAgainst(r.ratio, ratioTarget(r))}×`,
    targetText(r.meta.target),
    status(r).replaceAll('*', ''),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body]
    .map((cells) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  '))
    .join('\n');
}

export function benchmarksMarkdown(all: Row[], machine: Machine, load: string): string {
  const lines = [
    '# Benchmarks',
    '',
    'Produced by `npm run bench` (`node dist/bench/run.js` after a build), which measures every',
    'figure and its floors in one run on one machine. Workloads are generated from fixed seeds;',
    'each timing follows a warm-up, and a run shorter than one second is repeated three times',
    'and the median taken.',
    '',
    `- Machine: ${machine.cpus} × ${machine.cpu_model}, ${machine.total_mem_gb} GB RAM`,
    `- Platform: ${machine.platform}, Node ${machine.node}`,
    `- Date: ${machine.date}`,
    `- Load average at start (1 / 5 / 15 min): ${load}`,
    '',
    '| Figure | Value | Unit | Floor | Ratio to floor | Target | Status |',
    '| --- | ---: | --- | --- | ---: | --- | --- |',
    ...all.map((r) =>
      [
        '',
        `\`${r.meta.name}\``,
        fmtAgainst(r.value, valueTarget(r)),
        r.meta.unit,
        r.meta.floor === undefined ? '—' : `\`${r.meta.floor}\``,
        r.ratio === undefined ? '—' : `${fmtAgainst(r.ratio, ratioTarget(r))}×`,
        targetText(r.meta.target),
        status(r),
        '',
      ]
        .join(' | ')
        .trim(),
    ),
    '',
    'Ratios are value / floor for rates and latencies alike.',
    '',
    '## Notes',
    '',
  ];
  const missed = all.filter((r) => r.met === false);
  if (missed.length === 0) lines.push('All targets met.');
  for (const r of missed) {
    const measured = r.meta.target?.relative
      ? `${fmtAgainst(r.ratio, ratioTarget(r))}× its floor (${withUnit(r.value, r.meta.unit)})`
      : withUnit(r.value, r.meta.unit, valueTarget(r));
    lines.push(
      `- \`${r.meta.name}\` missed its target (${targetText(r.meta.target)}): measured ${measured}.`,
    );
  }
  // Hand-written analysis of the targets not yet met (profiles, what was tried) lives beside the
  // code in bench/notes.md, so every run carries it.
  const notes = readNotes();
  if (notes) lines.push('', notes.trim());
  lines.push('', '## What the figures measure', '');
  for (const r of all) lines.push(`- \`${r.meta.name}\`: ${r.meta.description}.`);
  return lines.join('\n') + '\n';
}

function readNotes(): string | undefined {
  try {
    return readFileSync(new URL('../../bench/notes.md', import.meta.url), 'utf8');
  } catch {
    return undefined;
  }
}
