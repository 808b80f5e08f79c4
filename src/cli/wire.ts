// Reading daemon replies, which are `unknown` until checked: small accessors that either return
// the value of the expected type or throw an 'internal' error naming the field.

import { HephError } from '../core/errors.js';

export type Rec = Record<string, unknown>;

export function isRec(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(what: string): HephError {
  return new HephError('protocol_mismatch', `unexpected reply from hephd: ${what}`);
}

export function rec(v: unknown, what = 'result'): Rec {
  if (!isRec(v)) throw bad(`${what} is not an object`);
  return v;
}

export function str(o: Rec, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw bad(`${key} is not a string`);
  return v;
}

export function optStr(o: Rec, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

export function list(o: Rec, key: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw bad(`${key} is not a list`);
  return v as unknown[];
}

export function recs(o: Rec, key: string): Rec[] {
  return list(o, key).filter(isRec);
}
