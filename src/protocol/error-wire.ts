// The one table from HephError codes to their JSON-RPC code, HTTP status and CLI exit code, and
// the two conversions every transport uses. Guarantees: every ErrorCode has exactly one row (the
// compiler enforces it) and a distinct JSON-RPC code; application codes sit in the server range
// -32000..-32099, except invalid_params (-32602, the spec's own code) and internal (-32603, the
// spec's "internal error"); a wire error always carries the string code in `data.code`; foreign
// errors never leak their message or stack, only a generic 'internal' error.

import { HephError, type ErrorCode } from '../core/errors.js';
import { isJson, isPlainObject, type Json } from '../core/json.js';

export interface WireMapping {
  /** JSON-RPC 2.0 `error.code`. */
  readonly rpc: number;
  /** HTTP status for the hub's routes. */
  readonly http: number;
  /** Process exit code for the CLI. */
  readonly exit: number;
}

// Exit codes group what a script can act on: 1 internal, 2 bad input, 3 not found,
// 4 conflicting state, 5 daemon/hub unavailable, 6 auth, 7 size/version, 8 storage/io.
export const ERROR_WIRE = {
  invalid_params: { rpc: -32602, http: 400, exit: 2 },
  invalid_op: { rpc: -32001, http: 400, exit: 2 },
  op_id_reused: { rpc: -32002, http: 409, exit: 4 },
  clock_drift: { rpc: -32003, http: 409, exit: 4 },
  not_found: { rpc: -32004, http: 404, exit: 3 },
  ambiguous: { rpc: -32005, http: 409, exit: 2 },
  conflict: { rpc: -32006, http: 409, exit: 4 },
  already_exists: { rpc: -32007, http: 409, exit: 4 },
  cycle: { rpc: -32008, http: 409, exit: 4 },
  storage: { rpc: -32009, http: 500, exit: 8 },
  unavailable: { rpc: -32010, http: 503, exit: 5 },
  already_running: { rpc: -32011, http: 409, exit: 5 },
  unauthorized: { rpc: -32012, http: 401, exit: 6 },
  forbidden: { rpc: -32013, http: 403, exit: 6 },
  device_revoked: { rpc: -32018, http: 403, exit: 6 },
  rate_limited: { rpc: -32017, http: 429, exit: 5 },
  too_large: { rpc: -32014, http: 413, exit: 7 },
  protocol_mismatch: { rpc: -32015, http: 409, exit: 7 },
  io: { rpc: -32016, http: 500, exit: 8 },
  internal: { rpc: -32603, http: 500, exit: 1 },
} as const satisfies Record<ErrorCode, WireMapping>;

export const ERROR_CODES = Object.keys(ERROR_WIRE) as readonly ErrorCode[];

/** JSON-RPC 2.0 protocol-level codes (no HephError code of their own). */
export const RPC_PARSE_ERROR = -32700;
export const RPC_INVALID_REQUEST = -32600;
export const RPC_METHOD_NOT_FOUND = -32601;

export interface WireError {
  code: number;
  message: string;
  data: { code: ErrorCode } & Record<string, Json>;
}

export function isErrorCode(v: unknown): v is ErrorCode {
  return typeof v === 'string' && Object.hasOwn(ERROR_WIRE, v);
}

export function wireFor(code: ErrorCode): WireMapping {
  return ERROR_WIRE[code];
}

export function httpStatusFor(e: unknown): number {
  return ERROR_WIRE[e instanceof HephError ? e.code : 'internal'].http;
}

export function exitCodeFor(e: unknown): number {
  return ERROR_WIRE[e instanceof HephError ? e.code : 'internal'].exit;
}

const INTERNAL_MESSAGE = 'internal error in hephd; see its log for details';

/**
 * The JSON-RPC `error` object for any thrown value. Details that are not plain JSON (or would
 * overwrite `code`) are dropped rather than risk a serialization failure on the error path.
 */
export function toWireError(e: unknown): WireError {
  if (!(e instanceof HephError) || !isErrorCode(e.code)) {
    return { code: ERROR_WIRE.internal.rpc, message: INTERNAL_MESSAGE, data: { code: 'internal' } };
  }
  const data: WireError['data'] = { code: e.code };
  for (const [k, v] of Object.entries(e.details)) {
    if (k !== 'code' && isJson(v, 16)) data[k] = v;
  }
  return { code: ERROR_WIRE[e.code].rpc, message: e.message, data };
}

const BY_RPC_CODE = new Map<number, ErrorCode>(
  ERROR_CODES.map((c): [number, ErrorCode] => [ERROR_WIRE[c].rpc, c]),
);

/**
 * A HephError for a JSON-RPC `error` object received by a client. `data.code` wins when it is a
 * code this build knows; otherwise the numeric code decides. A method the server does not know
 * (-32601) means client and daemon versions disagree, so it becomes protocol_mismatch.
 */
export function fromWireError(obj: unknown): HephError {
  if (!isPlainObject(obj) || typeof obj.code !== 'number' || typeof obj.message !== 'string') {
    return new HephError('internal', 'malformed JSON-RPC error object from server');
  }
  const rpcCode = obj.code;
  const message = obj.message;
  const data = isPlainObject(obj.data) ? obj.data : {};
  const { code: dataCode, ...details } = data;
  if (isErrorCode(dataCode)) return new HephError(dataCode, message, details);
  const known = BY_RPC_CODE.get(rpcCode);
  if (known !== undefined) return new HephError(known, message, { ...details, rpc_code: rpcCode });
  if (rpcCode === RPC_METHOD_NOT_FOUND) {
    return new HephError('protocol_mismatch', message, { ...details, rpc_code: rpcCode });
  }
  return new HephError('internal', message, { ...details, rpc_code: rpcCode });
}
