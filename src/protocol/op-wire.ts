// The op's wire form from sync protocol 4 on (docs/sync-protocol.md, "Ops on the wire"). A field
// set, nearly every op, travels as an array without member names, and the stamps in its `prev`
// and `change` that share the op's own origin without it:
//   [id, target, field, value, prev]            or   [id, target, field, value, prev, change]
// a stamp of the op's origin as `wwwwwwwwwwww-cccc` (17 characters), any other in full. Every
// other op, and a field set whose payload holds anything else (a member this version does not
// know, no `prev`), travels as the object it is. Guarantees: decodeWireOp(encodeWireOp(op)) has
// the same canonical text as `op` (the hub stores that text and compares it byte for byte, so an
// op sent once in each form is a duplicate, never a reused id); a malformed array is refused by
// name, never guessed at.

import { HephError } from '../core/errors.js';
import { isHlcString, originOf } from '../core/hlc.js';
import type { Json } from '../core/json.js';
import type { Op } from '../core/op.js';

const SHORT_STAMP = /^[0-9a-f]{12}-[0-9a-f]{4}$/;
const SET_KEYS = new Set(['field', 'value', 'prev', 'change']);

function shorten(stamp: string, origin: string): string {
  return originOf(stamp) === origin ? stamp.slice(0, 17) : stamp;
}

/** The wire form of `op` (an array for a plain field set, else the op itself). */
export function encodeWireOp(op: Op): Op | Json[] {
  const p = op.payload;
  if (op.kind !== 'node.set' || typeof p.field !== 'string' || p.value === undefined) {
    return op;
  }
  const prev = p.prev;
  if (!Array.isArray(prev) || !prev.every(isHlcString)) return op;
  const change = p.change;
  if (change !== undefined && !isHlcString(change)) return op;
  for (const k of Object.keys(p)) if (!SET_KEYS.has(k)) return op;
  const origin = originOf(op.id);
  const out: Json[] = [op.id, op.target, p.field, p.value!, prev.map((s) => shorten(s, origin))];
  if (change !== undefined) out.push(shorten(change, origin));
  return out;
}

function bad(id: unknown, message: string): HephError {
  const shown = typeof id === 'string' && id.length <= 64 ? id : '?';
  return new HephError('invalid_op', `op ${shown}: ${message}`, { id: shown });
}

function lengthen(v: unknown, origin: string): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (SHORT_STAMP.test(v)) return `${v}-${origin}`;
  return isHlcString(v) ? v : undefined;
}

/**
 * An op from its wire form: an array is a field set (checked here), anything else is returned as
 * it came, for the store to check as it checks every op. Throws `invalid_op` naming the op.
 */
export function decodeWireOp(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  const [id, target, field, value, prev, change] = v as unknown[];
  if (!isHlcString(id)) throw bad(id, 'a field set’s first member must be its id (an HLC stamp)');
  if (v.length !== 5 && v.length !== 6) {
    throw bad(id, 'a field set is [id, target, field, value, prev] or [… , change]');
  }
  if (typeof target !== 'string' || typeof field !== 'string') {
    throw bad(id, 'a field set’s target and field must be strings');
  }
  const origin = originOf(id);
  if (!Array.isArray(prev)) throw bad(id, 'a field set’s prev must be a list of stamps');
  const full: string[] = [];
  for (const s of prev) {
    const f = lengthen(s, origin);
    if (f === undefined) throw bad(id, 'a field set’s prev must be a list of stamps');
    full.push(f);
  }
  // Members in canonical (sorted) order: the store then encodes the payload in one native call.
  const rest = { field, prev: full, value: value as Json };
  if (v.length === 5) return { id, kind: 'node.set', target, payload: rest };
  const c = lengthen(change, origin);
  if (c === undefined) throw bad(id, 'a field set’s change must be a stamp');
  return { id, kind: 'node.set', target, payload: { change: c, ...rest } };
}
