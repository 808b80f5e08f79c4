// canonicalJson (core/json.ts), fast for values that are already in canonical order. Ops from
// other replicas arrive as JSON another store wrote canonically, and JSON.parse keeps key order,
// so their payloads almost always are; JSON.stringify (native) then gives the same string.
// Guarantee: canonicalText(v) === canonicalJson(v) for every value, including its errors; and
// canonicalOpText gives equal ops byte-equal texts.

import { canonicalJson } from '../core/json.js';
import type { Op } from '../core/op.js';

/** Whether JSON.stringify(v) is already canonical: plain data, finite numbers, sorted keys. */
function inCanonicalOrder(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (typeof v !== 'object') return false;
  if (Array.isArray(v)) {
    for (const x of v) if (!inCanonicalOrder(x)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  const o = v as Record<string, unknown>;
  let prev: string | undefined;
  for (const k of Object.keys(o)) {
    // Keys JSON.stringify leaves out are dropped by canonicalJson too; they need no order.
    if (o[k] === undefined) continue;
    if (prev !== undefined && !(prev < k)) return false;
    if (!inCanonicalOrder(o[k])) return false;
    prev = k;
  }
  return true;
}

export function canonicalText(v: unknown): string {
  return inCanonicalOrder(v) ? JSON.stringify(v) : canonicalJson(v);
}

/**
 * An op's canonical text, as the hub stores and serves it: `{"id","kind","target","payload"}` in
 * that order with the payload canonical, so two ops with the same content have byte-equal texts.
 */
export function canonicalOpText(op: Op): string {
  const { id, kind, target, payload } = op;
  // A payload already in canonical order (what devices send): one native call for the whole op.
  if (inCanonicalOrder(payload)) return JSON.stringify({ id, kind, target, payload });
  return (
    `{"id":${JSON.stringify(id)},"kind":${JSON.stringify(kind)},` +
    `"target":${JSON.stringify(target)},"payload":${canonicalJson(payload)}}`
  );
}
