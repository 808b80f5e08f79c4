// Why an op from another replica is refused, worded once for the device store and the hub's:
// each refusal names the op, and a drift refusal also its origin and how far ahead it is.

import { HephError } from '../core/errors.js';
import { originOf } from '../core/hlc.js';
import { isPlainObject } from '../core/json.js';
import type { Op } from '../core/op.js';
import type { Refusal } from '../ports/store.js';

/** A refusal for `raw` from the HephError it raised; any other error is rethrown. */
export function refusalOf(raw: unknown, e: unknown): Refusal {
  const id = isPlainObject(raw) && typeof raw.id === 'string' ? raw.id.slice(0, 64) : '?';
  if (e instanceof HephError) return { id, code: e.code, message: e.message };
  throw e;
}

export function driftRefusal(op: Op, ahead: number, limit: number): Refusal {
  const origin = originOf(op.id);
  return {
    id: op.id,
    code: 'clock_drift',
    message:
      `op ${op.id} from replica ${origin} is stamped ${formatMs(ahead)} ahead of this clock ` +
      `(limit ${formatMs(limit)}); fix that device's clock`,
    origin,
    ahead_ms: ahead,
  };
}

export function formatMs(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
