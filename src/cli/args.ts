// Typed reads of parsed command-line arguments (yargs hands them over loosely typed).

import { HephError } from '../core/errors.js';

export type Args = Readonly<Record<string, unknown>>;

function scalar(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
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
    throw new HephError('invalid_params', `--${key} must be a positive whole number`, {
      field: key,
    });
  }
  return n;
}

export function flag(a: Args, key: string): boolean {
  return a[key] === true;
}
