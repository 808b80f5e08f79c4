// Typed reads of parsed command-line arguments (yargs hands them over loosely typed).

import { HephError } from '../core/errors.js';

export type Args = Readonly<Record<string, unknown>>;

/** Words yargs would not keep as written: a relative date such as -2d (read as options -2 -d)
 *  and `-` for standard input (dropped). */
const FRAGILE = /^(-\d{1,4}[dwmy]|-)$/i;

/** Gives each fragile word (before any `--`) a leading space, which the readers below remove. */
export function protectWords(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((w, i) => ((end === -1 || i < end) && FRAGILE.test(w) ? ` ${w}` : w));
}

function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v.startsWith(' ') && FRAGILE.test(v.slice(1)) ? v.slice(1) : v;
  return typeof v === 'number' ? String(v) : undefined;
}

export function optArg(a: Args, key: string): string | undefined {
  const v = a[key];
  if (Array.isArray(v)) return v.length ? scalar(v[v.length - 1]) : undefined;
  return scalar(v);
}

export function arg(a: Args, key: string): string {
  const v = optArg(a, key);
  if (v === undefined) throw new HephError('invalid_params', `missing ${key}`, { field: key });
  return v;
}

/** A positional that may be several words (`heph add Pay rent tomorrow`). */
export function words(a: Args, key: string): string {
  const v = a[key];
  return (Array.isArray(v) ? v : [v])
    .map(scalar)
    .filter((x) => x !== undefined)
    .join(' ');
}

export function many(a: Args, key: string): string[] {
  const v = a[key];
  if (v === undefined || v === null || v === false) return [];
  return (Array.isArray(v) ? v : [v]).map(scalar).filter((x) => x !== undefined);
}

export function optInt(a: Args, key: string): number | undefined {
  const v = a[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    const option = key.length === 1 ? `-${key}` : `--${key}`;
    throw new HephError('invalid_params', `${option} must be a positive whole number`, {
      field: key,
    });
  }
  return n;
}

export function flag(a: Args, key: string): boolean {
  return a[key] === true;
}
