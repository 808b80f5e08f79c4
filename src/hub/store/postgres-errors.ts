// PostgreSQL's errors (from pg, node-postgres), translated once where they are caught: a server
// that cannot be reached, is shutting down, refuses more connections or dropped the connection is
// `unavailable` (HTTP 503: the device backs off and retries); anything else is `storage`. The
// message never holds the connection string (so never a password).

import { HephError } from '../../core/errors.js';

const NODE_UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOENT',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

function unreachable(code: string, message: string): boolean {
  return (
    NODE_UNREACHABLE.has(code) ||
    code.startsWith('08') || // connection exception
    code.startsWith('53') || // insufficient resources (too many connections, disk full)
    code === '57P01' || // admin shutdown
    code === '57P02' || // crash shutdown
    code === '57P03' || // cannot connect now (starting up, in recovery)
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
      message,
    )
  );
}

export function translatePgError(e: unknown, context: string): HephError {
  if (e instanceof HephError) return e;
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const detail = typeof err.message === 'string' ? err.message : String(e);
  if (unreachable(code, detail)) {
    return new HephError(
      'unavailable',
      `${context}: the PostgreSQL database does not answer (${detail}); try again`,
      { pg: code },
    );
  }
  if (code === '28P01' || code === '28000') {
    return new HephError(
      'storage',
      `${context}: PostgreSQL refused the hub's sign-in (${detail}); check the role and password`,
      { pg: code },
    );
  }
  return new HephError('storage', `${context}: ${detail}`, { pg: code });
}
