// JSON-RPC 2.0 processing of one message (one NDJSON line, or one HTTP body). Guarantees, per
// the spec: a notification (no "id" member) never gets a reply, even when it fails or is inside
// a batch; an all-notification batch gets nothing; `[]` gets one -32600 with id null; each
// invalid batch member gets its own -32600; unparsable input, and JSON nested deeper than
// maxDepth (which could overflow the stack of anything that walks it later), get -32700 with id
// null; id must be a string, number or null; application errors carry data.code from
// protocol/error-wire.ts and nothing a handler throws can escape as an exception.
// Authorization comes before anything else is looked at: a method not served on the call's
// surface is refused with `forbidden` (the same for every caller), then a caller below the
// method's role with `forbidden` naming the role needed, and only then are params validated.
//
// Written directly rather than with the json-rpc-2.0 package: the package gives no control over
// the depth guard, per-member batch errors, our error data or a serialization failure of one
// result, and this is about 200 lines that map one-to-one onto the spec's sections.

import type { Logger } from 'pino';
import { authorize } from '../auth/principal.js';
import { HephError } from '../core/errors.js';
import { isPlainObject } from '../core/json.js';
import { RPC_INVALID_REQUEST, RPC_METHOD_NOT_FOUND, toWireError } from '../protocol/error-wire.js';
import {
  errorResponse,
  parseMessage,
  serialize,
  type RpcId,
  type RpcResponse,
} from '../protocol/json-rpc.js';
import { parseParams, type Registry, type RpcContext, type Surface } from './registry.js';

export type RpcLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface DispatchOptions {
  logger?: RpcLogger;
  /** Deepest array/object nesting accepted in a message (default 64). */
  maxDepth?: number;
  /** Most members in one batch (default 1000). */
  maxBatch?: number;
  /** Told of each call refused because the caller's role is below the method's (/rpc answers
   *  a single such call with HTTP 403). */
  onForbidden?: (error: HephError) => void;
}

export const DEFAULT_MAX_BATCH = 1000;

const noop = (): void => {};
const SILENT: RpcLogger = { debug: noop, info: noop, warn: noop, error: noop };

type Reply = RpcResponse | RpcResponse[] | null;

/** Processes one parsed message: a request, a notification or a batch. null means no reply. */
export async function dispatchMessage<C extends RpcContext>(
  registry: Registry<C>,
  message: unknown,
  ctx: C,
  opts: DispatchOptions = {},
): Promise<Reply> {
  return dispatchParsed(registry, message, ctx, opts);
}

/** dispatchMessage, but a request whose handler returns a plain value is answered without
 *  waiting for the microtask queue (the awaits were a measurable part of a node.get). */
function dispatchParsed<C extends RpcContext>(
  registry: Registry<C>,
  message: unknown,
  ctx: C,
  opts: DispatchOptions,
): Reply | Promise<Reply> {
  const logger = opts.logger ?? SILENT;
  if (!Array.isArray(message)) return handleOne(registry, message, ctx, logger, opts);
  if (message.length === 0) {
    return errorResponse(null, {
      code: RPC_INVALID_REQUEST,
      message: 'invalid request: empty batch',
    });
  }
  const maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
  if (message.length > maxBatch) {
    const e = new HephError(
      'too_large',
      `batch of ${message.length} exceeds ${maxBatch} requests`,
      {
        limit: maxBatch,
      },
    );
    return errorResponse(null, toWireError(e));
  }
  const members: unknown[] = message;
  return Promise.all(
    members.map((m) => Promise.resolve(handleOne(registry, m, ctx, logger, opts))),
  ).then((replies) => {
    const out = replies.filter((r): r is RpcResponse => r !== null);
    return out.length > 0 ? out : null;
  });
}

/** Parses and processes one line; returns the serialized reply (no newline) or null. */
export function dispatchLine<C extends RpcContext>(
  registry: Registry<C>,
  line: string,
  ctx: C,
  opts: DispatchOptions = {},
): Promise<string | null> {
  try {
    const parsed = parseMessage(line, opts.maxDepth);
    if (!parsed.ok) return Promise.resolve(JSON.stringify(parsed.response));
    const logger = opts.logger ?? SILENT;
    const reply = dispatchParsed(registry, parsed.value, ctx, opts);
    if (reply instanceof Promise) return reply.then((r) => serializeReply(r, logger));
    return Promise.resolve(serializeReply(reply, logger));
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

function serializeReply(reply: Reply, logger: RpcLogger): string | null {
  if (reply === null) return null;
  if (Array.isArray(reply)) return '[' + reply.map((r) => serialize(r, logger)).join(',') + ']';
  return serialize(reply, logger);
}

function isValidId(v: unknown): v is RpcId {
  return v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

function handleOne<C extends RpcContext>(
  registry: Registry<C>,
  req: unknown,
  ctx: C,
  logger: RpcLogger,
  opts: DispatchOptions,
): RpcResponse | null | Promise<RpcResponse | null> {
  const invalid = (id: RpcId, why: string): RpcResponse =>
    errorResponse(id, { code: RPC_INVALID_REQUEST, message: `invalid request: ${why}` });

  if (!isPlainObject(req)) return invalid(null, 'expected an object');
  const hasId = Object.hasOwn(req, 'id');
  if (hasId && !isValidId(req.id)) return invalid(null, 'id must be a string, number or null');
  // A valid id is echoed even on an invalid request, so a pipelining client can match it.
  const id: RpcId = hasId && isValidId(req.id) ? req.id : null;
  if (req.jsonrpc !== '2.0') return invalid(id, 'jsonrpc must be "2.0"');
  if (typeof req.method !== 'string') return invalid(id, 'method must be a string');
  const params: unknown = req.params;
  if (Object.hasOwn(req, 'params') && (typeof params !== 'object' || params === null)) {
    return invalid(id, 'params must be an object or an array');
  }
  const method = req.method;
  const reply = (r: RpcResponse): RpcResponse | null => (hasId ? r : null);

  const def = registry.get(method);
  if (def === undefined) {
    if (!hasId) logger.debug({ method, conn: ctx.connectionId }, 'notification for unknown method');
    return reply(
      errorResponse(id, { code: RPC_METHOD_NOT_FOUND, message: `method not found: ${method}` }),
    );
  }
  const succeeded = (result: unknown): RpcResponse | null =>
    reply({ jsonrpc: '2.0', result: result === undefined ? null : result, id });
  const failed = (err: unknown): RpcResponse | null => {
    if (err instanceof HephError) {
      logger.debug({ method, code: err.code, conn: ctx.connectionId }, err.message);
    } else {
      logger.error({ err, method, conn: ctx.connectionId }, 'rpc handler failed');
    }
    return reply(errorResponse(id, toWireError(err)));
  };
  if (!def.surfaces.includes(ctx.surface)) return failed(notServedOn(method, ctx.surface));
  try {
    authorize(ctx.principal, def.role, method);
  } catch (err) {
    if (err instanceof HephError) opts.onForbidden?.(err);
    return failed(err);
  }
  let result: unknown;
  try {
    const parsed: unknown = parseParams(def.params, params);
    result = def.handler(parsed, ctx);
  } catch (err) {
    return failed(err);
  }
  // Anything with a then method is awaited, as `await` would.
  if (isThenable(result)) return Promise.resolve(result).then(succeeded, failed);
  return succeeded(result);
}

function notServedOn(name: string, surface: Surface): HephError {
  const message =
    surface === 'http'
      ? `${name} reads or writes files on the machine that runs hephd, so it is only ` +
        'served on the local socket, not over HTTP; run it against a local daemon'
      : `${name} is hub administration, served only on the hub's POST /rpc, not on a ` +
        'unix socket; call it on the hub';
  return new HephError('forbidden', message, { method: name });
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}
