import { describe, expect, it } from 'vitest';
import { HephError, type ErrorCode } from '../../src/core/errors.js';
import {
  ERROR_CODES,
  ERROR_WIRE,
  exitCodeFor,
  fromWireError,
  httpStatusFor,
  toWireError,
} from '../../src/protocol/error-wire.js';

// Kept in sync by hand on purpose: adding a code to errors.ts must fail here until it is mapped.
const ALL: ErrorCode[] = [
  'invalid_params',
  'invalid_op',
  'op_id_reused',
  'clock_drift',
  'not_found',
  'ambiguous',
  'conflict',
  'already_exists',
  'cycle',
  'storage',
  'unavailable',
  'already_running',
  'unauthorized',
  'forbidden',
  'device_revoked',
  'rate_limited',
  'too_large',
  'protocol_mismatch',
  'io',
  'internal',
];

describe('error-wire table', () => {
  it('maps every code exactly once, with distinct JSON-RPC codes in the allowed ranges', () => {
    expect([...ERROR_CODES].sort()).toEqual([...ALL].sort());
    const rpcCodes = ERROR_CODES.map((c) => ERROR_WIRE[c].rpc);
    expect(new Set(rpcCodes).size).toBe(rpcCodes.length);
    for (const c of ERROR_CODES) {
      const { rpc, http, exit } = ERROR_WIRE[c];
      if (c === 'invalid_params') expect(rpc).toBe(-32602);
      else if (c === 'internal') expect(rpc).toBe(-32603);
      else expect(rpc >= -32099 && rpc <= -32000).toBe(true);
      expect(http >= 400 && http <= 599).toBe(true);
      expect(exit >= 1 && exit <= 125).toBe(true);
    }
  });

  it('gives HTTP statuses and exit codes, foreign errors as internal', () => {
    expect(httpStatusFor(new HephError('not_found', 'x'))).toBe(404);
    expect(httpStatusFor(new HephError('too_large', 'x'))).toBe(413);
    expect(httpStatusFor(new HephError('unauthorized', 'x'))).toBe(401);
    expect(httpStatusFor(new TypeError('boom'))).toBe(500);
    expect(exitCodeFor(new HephError('invalid_params', 'x'))).toBe(2);
    expect(exitCodeFor('weird')).toBe(1);
  });
});

describe('toWireError', () => {
  it('carries the string code and JSON details', () => {
    const w = toWireError(new HephError('not_found', 'node 01X not found', { id: '01X', n: 2 }));
    expect(w).toEqual({
      code: -32004,
      message: 'node 01X not found',
      data: { code: 'not_found', id: '01X', n: 2 },
    });
  });

  it('drops details that are not JSON and never lets details override the code', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const w = toWireError(
      new HephError('conflict', 'c', {
        code: 'internal',
        big: 1n,
        fn: () => 1,
        cyclic,
        ok: [1, 'a'],
      }),
    );
    expect(w.data).toEqual({ code: 'conflict', ok: [1, 'a'] });
    expect(() => JSON.stringify(w)).not.toThrow();
  });

  it('hides foreign errors behind a generic internal error', () => {
    for (const e of [
      new Error('SQLITE_CORRUPT /home/me/secret.db'),
      'str',
      undefined,
      { code: 'not_found' },
    ]) {
      const w = toWireError(e);
      expect(w.code).toBe(-32603);
      expect(w.data).toEqual({ code: 'internal' });
      expect(JSON.stringify(w)).not.toMatch(/SQLITE|secret|at /);
    }
  });
});

describe('fromWireError', () => {
  it('round-trips every code', () => {
    for (const c of ERROR_CODES) {
      const back = fromWireError(
        JSON.parse(JSON.stringify(toWireError(new HephError(c, `m ${c}`, { field: 'x' })))),
      );
      expect(back).toBeInstanceOf(HephError);
      expect(back.code).toBe(c);
      expect(back.message).toBe(`m ${c}`);
      expect(back.details).toEqual({ field: 'x' });
    }
  });

  it('falls back to the numeric code, then to protocol_mismatch / internal', () => {
    expect(fromWireError({ code: -32004, message: 'gone' }).code).toBe('not_found');
    expect(
      fromWireError({ code: -32602, message: 'bad', data: { code: 'from_the_future' } }).code,
    ).toBe('invalid_params');
    expect(fromWireError({ code: -32601, message: 'method not found: x.y' }).code).toBe(
      'protocol_mismatch',
    );
    const e = fromWireError({ code: -32700, message: 'parse error' });
    expect(e.code).toBe('internal');
    expect(e.details.rpc_code).toBe(-32700);
  });

  it('tolerates malformed error objects', () => {
    for (const junk of [null, 'x', 42, [], { code: 'x', message: 1 }, { message: 'no code' }]) {
      const e = fromWireError(junk);
      expect(e.code).toBe('internal');
      expect(e.message).toMatch(/malformed/);
    }
  });
});
