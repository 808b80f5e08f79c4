// Typed application errors with stable string codes. The code is the contract: messages may
// change, codes may not. protocol/error-wire.ts maps each code to a JSON-RPC code, an HTTP
// status and a CLI exit code.

export type ErrorCode =
  | 'invalid_params'
  | 'invalid_op'
  | 'op_id_reused'
  | 'clock_drift'
  | 'not_found'
  | 'ambiguous'
  | 'conflict'
  | 'already_exists'
  | 'cycle'
  | 'storage'
  | 'unavailable'
  | 'already_running'
  | 'unauthorized'
  | 'forbidden'
  | 'device_revoked'
  | 'rate_limited'
  | 'too_large'
  | 'protocol_mismatch'
  | 'io'
  | 'internal';

export class HephError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'HephError';
    this.code = code;
    this.details = details;
  }
}

export function invalid(field: string, message: string): HephError {
  return new HephError('invalid_params', `${field}: ${message}`, { field });
}

export function notFound(what: string, id: string): HephError {
  return new HephError('not_found', `${what} ${id} not found`, { id });
}

export function isHephError(e: unknown): e is HephError {
  return e instanceof HephError;
}
