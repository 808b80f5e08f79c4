// Request bodies and queries at the hub's boundary. Guarantees: a body is text until it passes
// the nesting guard (deeper than maxDepth is refused before JSON.parse, so nothing that walks it
// later can overflow the stack) and JSON.parse; a parsed value is `unknown` until a zod schema
// accepts it, and a rejection names the first offending field as a dotted path. A large body
// whose last member is an `"ops"` array (a push) may be parsed in pieces (parseJsonBuffer): the
// value, and any error, is exactly what one JSON.parse of the whole text gives.

import type { z } from 'zod';
import { HephError, invalid } from '../core/errors.js';
import { isPlainObject } from '../core/json.js';
import { parseMessage } from '../protocol/json-rpc.js';

export const MAX_JSON_DEPTH = 64;

/** Parses a JSON body; throws invalid_params with the reason. */
export function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (text.trim() === '') throw invalid('body', 'is empty; expected a JSON document');
  const parsed = parseMessage(text, maxDepth);
  if (parsed.ok) return parsed.value;
  const reason = 'error' in parsed.response ? parsed.response.error.message : 'parse error';
  throw new HephError('invalid_params', `body is not valid JSON: ${reason}`, { field: 'body' });
}

/** Bodies from this size on are parsed in pieces when they can be (parseJsonBuffer). */
export const PIECEWISE_BYTES = 96 * 1024;
/** The most text one piece holds: V8 keeps strings under 128 KiB in its ordinary heap; a larger
 *  one gets pages of its own, mapped for it and unmapped after it, which on this machine cost
 *  about 1 ms of system time per 195 KB push (more than parsing it). */
const PIECE_BYTES = 64 * 1024;

const OPS_OPEN = Buffer.from('"ops":[');
const COMMA = 0x2c;

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** The index of the last byte of `buf` before `end` that is not JSON white space, or -1. */
function lastNonSpace(buf: Buffer, end: number): number {
  let i = end - 1;
  while (i >= 0 && isSpace(buf[i])) i--;
  return i;
}

/**
 * Where the elements of an ops array may be cut: after each element that ends `}` or `]` and is
 * followed by one that starts `{` or `[` (no white space between), about every PIECE_BYTES. A
 * cut inside a string or a nested value is harmless: a piece that is not a whole list of values
 * fails to parse, and the body is then parsed whole.
 */
function cuts(buf: Buffer, from: number, to: number): number[] {
  const at: number[] = [];
  let pos = from + PIECE_BYTES;
  while (pos < to) {
    const c = buf.indexOf(COMMA, pos);
    if (c === -1 || c >= to) break;
    const before = buf[c - 1];
    const after = buf[c + 1];
    if ((before === 0x7d || before === 0x5d) && (after === 0x7b || after === 0x5b)) {
      at.push(c);
      pos = c + PIECE_BYTES;
    } else pos = c + 1;
  }
  return at;
}

/**
 * The body as one JSON.parse of its text would give it, without that text as one string when
 * the body is large and ends with an `"ops"` array member: the rest of the object with an empty
 * array, and the array's elements in pieces of at most about PIECE_BYTES, each parsed as an array
 * and joined. Each piece is a whole value list in its place (else it would not parse), so the
 * result is the whole parse's. Anything else, or any piece that does not parse, goes to
 * parseJsonBody on the whole text, whose value or error stands.
 */
export function parseJsonBuffer(buf: Buffer, maxDepth = MAX_JSON_DEPTH): unknown {
  const whole = (): unknown => parseJsonBody(buf.toString('utf8'), maxDepth);
  if (buf.length < PIECEWISE_BYTES) return whole();
  const close = lastNonSpace(buf, buf.length);
  const arrayEnd = close < 0 || buf[close] !== 0x7d ? -1 : lastNonSpace(buf, close);
  const open = buf.indexOf(OPS_OPEN);
  if (arrayEnd < 0 || buf[arrayEnd] !== 0x5d || open === -1) return whole();
  const start = open + OPS_OPEN.length;
  if (start > arrayEnd) return whole();
  // The object with its ops emptied, then the ops (two levels deeper: in the object, in the
  // array; each piece's own array stands for the second).
  const rest = parseMessage(
    buf.toString('utf8', 0, start) + buf.toString('utf8', arrayEnd),
    maxDepth,
  );
  if (!rest.ok || !isPlainObject(rest.value) || !Array.isArray(rest.value.ops)) return whole();
  const ops: unknown[] = [];
  let from = start;
  for (const end of [...cuts(buf, start, arrayEnd), arrayEnd]) {
    const piece = parseMessage(`[${buf.toString('utf8', from, end)}]`, maxDepth - 1);
    if (!piece.ok || !Array.isArray(piece.value)) return whole();
    for (const op of piece.value) ops.push(op);
    from = end + 1;
  }
  rest.value.ops = ops;
  return rest.value;
}

/** Runs a schema on wire data; throws invalid_params naming the first bad field. */
export function parseWire<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (issue === undefined) throw invalid(what, 'rejected');
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) {
    path.push(issue.keys[0]);
    throw invalid(path.join('.'), 'unknown field');
  }
  throw invalid(path.length > 0 ? path.join('.') : what, issue.message);
}
