// Timing helpers: a monotonic clock, medians and percentiles, and the "median of three when a
// run is short" rule every figure follows.

import { performance } from 'node:perf_hooks';

/** Runs shorter than this are repeated and the median taken. */
export const SHORT_RUN_MS = 1000;

export function nowMs(): number {
  return performance.now();
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0-100) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export interface Sample {
  /** Wall time of the timed part of the run, in ms: decides whether the run was short. */
  ms: number;
  /** The figure this run measured. */
  value: number;
}

/**
 * Runs `run` once; when its timed part took less than SHORT_RUN_MS, runs it twice more and
 * returns the sample with the median value. Each call of `run` does its own untimed setup.
 */
export async function medianIfShort<T extends Sample>(
  run: (attempt: number) => Promise<T> | T,
  onSample?: (s: T, attempt: number) => void,
): Promise<T> {
  const first = await run(1);
  onSample?.(first, 1);
  if (first.ms >= SHORT_RUN_MS) return first;
  const samples = [first];
  for (let attempt = 2; attempt <= 3; attempt++) {
    const s = await run(attempt);
    onSample?.(s, attempt);
    samples.push(s);
  }
  samples.sort((a, b) => a.value - b.value);
  return samples[1]!;
}

/**
 * Runs `run` `times` times and returns the sample with the median value, with the lowest and
 * highest values seen (the spread, for the progress line). For figures whose single runs are
 * long enough to pass SHORT_RUN_MS yet still move from run to run on a shared machine.
 */
export async function medianOf<T extends Sample>(
  times: number,
  run: (attempt: number) => Promise<T> | T,
  onSample?: (s: T, attempt: number) => void,
): Promise<T & { min: number; max: number }> {
  const samples: T[] = [];
  for (let attempt = 1; attempt <= times; attempt++) {
    const s = await run(attempt);
    onSample?.(s, attempt);
    samples.push(s);
  }
  samples.sort((a, b) => a.value - b.value);
  const mid = samples[Math.floor((samples.length - 1) / 2)]!;
  return { ...mid, min: samples[0]!.value, max: samples[samples.length - 1]!.value };
}

/** A rate in items per second. */
export function perSecond(items: number, ms: number): number {
  return (items * 1000) / ms;
}
