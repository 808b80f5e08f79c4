// The JSON-RPC 2.0 codec every surface shares: the daemon's socket server, the hub's /rpc, the
// socket client (used by the CLI, the tests and the daemon itself) and the hub's body parser.
// No validators and no IO, so a client that imports it loads nothing but this file and the error
// table. Guarantees: parseMessage never throws, and input nested deeper than maxDepth (at most
// MAX_NESTING_LIMIT; deeper could overflow the stack of anything that walks it later) or that is
// not JSON becomes a ready-made -32700 response with id null; serialize never throws, and a
// result that cannot be serialized becomes an internal error for the same id.

import { toWireError, RPC_PARSE_ERROR } from './error-wire.js';

export type RpcId = string | number | null;

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}

export type RpcResponse =
  | { jsonrpc: '2.0'; result: unknown; id: RpcId }
  | { jsonrpc: '2.0'; error: RpcErrorObject; id: RpcId };

export const DEFAULT_MAX_DEPTH = 64;
/** The deepest nesting any limit allows: the check recurses, and callers ask for 64 or 512. */
export const MAX_NESTING_LIMIT = 1000;

export function errorResponse(id: RpcId, error: RpcErrorObject): RpcResponse {
  return { jsonrpc: '2.0', error, id };
}

export type ParsedLine = { ok: true; value: unknown } | { ok: false; response: RpcResponse };

/** JSON.parse behind a nesting guard; failures are ready-made -32700 responses. */
export function parseMessage(text: string, maxDepth: number = DEFAULT_MAX_DEPTH): ParsedLine {
  const parseError = (message: string): ParsedLine => ({
    ok: false,
    response: errorResponse(null, { code: RPC_PARSE_ERROR, message }),
  });
  let value: unknown;
  try {
    // V8's JSON.parse does not recurse, so any depth parses; what walks the value later might.
    value = JSON.parse(text) as unknown;
  } catch (e) {
    // SyntaxError for bad JSON; RangeError if the engine runs out of memory or stack.
    return parseError(e instanceof SyntaxError ? `parse error: ${e.message}` : 'parse error');
  }
  // The depth never passes the number of opening brackets, which indexOf counts far faster than
  // a walk (a node.get reply: 0.2 µs against 2.7 µs).
  const max = Math.min(maxDepth, MAX_NESTING_LIMIT);
  if (!openersAtMost(text, max) && nestingExceeds(value, max)) {
    return parseError(`parse error: JSON nested deeper than ${max} levels`);
  }
  return { ok: true, value };
}

/** Whether arrays and objects nest deeper than max (at most MAX_NESTING_LIMIT) in a parsed
 *  value, visiting only containers. It recurses, at most max + 1 frames deep; a stack that runs
 *  out first (a small one) counts as too deep, as anything walking the value later would. Indexed
 *  loops, not for-of and an explicit stack: a process that runs this once (the CLI reading a
 *  1,642-task `next`) runs it in V8's interpreter, where that walk took 9 ms of CPU, this 1.2. */
function nestingExceeds(root: unknown, max: number): boolean {
  if (typeof root !== 'object' || root === null) return false;
  try {
    return containerExceeds(root, max);
  } catch (e) {
    if (e instanceof RangeError) return true;
    throw e;
  }
}

/** Whether `v`, a container with `left` levels allowed (itself included), goes deeper. */
function containerExceeds(v: object, left: number): boolean {
  if (left === 0) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object' && x !== null && containerExceeds(x, left - 1)) return true;
    }
    return false;
  }
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (typeof x === 'object' && x !== null && containerExceeds(x, left - 1)) return true;
  }
  return false;
}

function openersAtMost(s: string, max: number): boolean {
  let n = 0;
  for (let i = s.indexOf('{'); i !== -1; i = s.indexOf('{', i + 1)) if (++n > max) return false;
  for (let i = s.indexOf('['); i !== -1; i = s.indexOf('[', i + 1)) if (++n > max) return false;
  return true;
}

/** Where serialize reports a result it could not encode. */
export interface SerializeLogger {
  error(obj: object, msg: string): void;
}

/** One response to text; a result that cannot be serialized becomes an internal error. */
export function serialize(r: RpcResponse, logger?: SerializeLogger): string {
  try {
    const s = JSON.stringify(r);
    if (typeof s === 'string') return s;
  } catch (err) {
    logger?.error({ err, id: r.id }, 'rpc result is not serializable');
  }
  return JSON.stringify(errorResponse(r.id, toWireError(undefined)));
}

/** A message from the server as a client sees it. */
export type Incoming =
  | { kind: 'notification'; method: string; params: unknown }
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; error: unknown }
  /** Not JSON, not an object, or a reply with an id a client never sends (string or null). */
  | { kind: 'other' };

/**
 * Reads one line a server sent to a client that numbers its requests. The nesting guard is
 * the caller's to choose: a reply may carry deeper data (a node's extra fields) than a request.
 */
export function decodeIncoming(text: string, maxDepth: number): Incoming {
  const parsed = parseMessage(text, maxDepth);
  if (!parsed.ok) return { kind: 'other' };
  const msg = parsed.value;
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return { kind: 'other' };
  const m = msg as Record<string, unknown>;
  if (typeof m.method === 'string' && !Object.hasOwn(m, 'id')) {
    return { kind: 'notification', method: m.method, params: m.params };
  }
  if (typeof m.id !== 'number') return { kind: 'other' };
  if (Object.hasOwn(m, 'error')) return { kind: 'error', id: m.id, error: m.error };
  return { kind: 'result', id: m.id, result: m.result };
}
