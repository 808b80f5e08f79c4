// The hub's one error path for HTTP. Guarantees: every error reply is JSON
// `{error: {code, message, ...details}}` with `code` a stable ErrorCode; a HephError gets the
// status from the error table (protocol/error-wire.ts); fastify's own request errors (body too
// large, bad Content-Length, unsupported media type) are translated once, here; anything else is
// a 500 with a generic message, and its details go only to the log.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../core/errors.js';
import { HephError } from '../core/errors.js';
import { isJson, type Json } from '../core/json.js';
import type { Logger } from '../ports/logger.js';
import { httpStatusFor } from '../protocol/error-wire.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string } & Record<string, Json>;
}

export function errorBody(e: HephError): ErrorBody {
  const body: ErrorBody = { error: { code: e.code, message: e.message } };
  for (const [k, v] of Object.entries(e.details)) {
    if (k !== 'code' && k !== 'message' && isJson(v, 8)) body.error[k] = v;
  }
  return body;
}

/**
 * A HephError answered with another status than its code's: 415 for a Content-Encoding the hub
 * does not read (RFC 7694), which is bad input (`invalid_params`) but not a 400.
 */
export class HttpStatusError extends HephError {
  constructor(
    readonly status: number,
    e: HephError,
  ) {
    super(e.code, e.message, { ...e.details });
  }
}

interface Translated {
  status: number;
  error: HephError;
}

/** Fastify's request-level errors as HephErrors with the status to send. */
function translate(e: unknown, bodyLimit: number): Translated | undefined {
  if (e instanceof HttpStatusError) return { status: e.status, error: e };
  if (e instanceof HephError) return { status: httpStatusFor(e), error: e };
  const fe = e as Partial<FastifyError>;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        error: new HephError('too_large', `request body is larger than ${bodyLimit} bytes`, {
          limit: bodyLimit,
        }),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        error: new HephError('invalid_params', 'Content-Type must be application/json', {
          field: 'content-type',
        }),
      };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        status: 400,
        error: new HephError('invalid_params', 'Content-Length does not match the body', {
          field: 'content-length',
        }),
      };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const message = typeof fe.message === 'string' ? fe.message : 'bad request';
    return { status: fe.statusCode, error: new HephError('invalid_params', message) };
  }
  return undefined;
}

export function makeErrorHandler(logger: Logger, bodyLimit: number) {
  return (e: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    const t = translate(e, bodyLimit);
    if (t === undefined) {
      logger.error(
        {
          err: e instanceof Error ? e.message : String(e),
          method: request.method,
          url: request.url,
        },
        'hub request failed',
      );
      const internal = new HephError('internal', 'internal error in the hub; see its log');
      void reply.code(500).send(errorBody(internal));
      return;
    }
    if (t.status >= 500) {
      logger.error({ code: t.error.code, url: request.url }, t.error.message);
    } else {
      logger.debug({ code: t.error.code, url: request.url, status: t.status }, t.error.message);
    }
    void reply.code(t.status).send(errorBody(t.error));
  };
}
