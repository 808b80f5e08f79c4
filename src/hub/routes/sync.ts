// POST /sync/push and GET /sync/pull over the hub store. Guarantees:
// - every request carries Heph-Protocol (a version this hub serves, else 409 with the supported
//   list and which side to upgrade) and Heph-Replica (an origin), checked before the body is
//   read; Heph-Own-High, when sent, must be an op id of that replica;
// - a push is stored in one hub-store transaction (shared with the pushes that arrived at the
//   same time, see push-queue.ts), each new op stamped with the owner's next arrival stamp, and
//   the reply is sent only after that commit; refused ops (bad shape, clock drift, reused id,
//   body update Yjs cannot decode) are named and logged with their origin and never block the
//   others; re-pushing a batch changes nothing;
// - a pull returns the owner's ops in arrival order after the cursor, exactly `limit` of them
//   when that many are to be sent (fewer, at least one, when their text would pass
//   MAX_PULL_PAGE_CHARS, with `more` true), and its cursor is the arrival stamp of the last one;
//   from PROTOCOL_NO_ECHO on it leaves out the caller's own ops up to Heph-Own-High, and the
//   cursor moves past them (so a page may hold fewer than `limit` ops, and `more` and
//   `remaining` count only what the caller will receive); with `wait` and nothing to send it
//   waits for the next append to the owner's log, its timeout or the client leaving, whichever
//   is first, and an append of only the caller's own ops does not end the wait;
// - from PROTOCOL_COMPACT_OPS on, field sets travel in their compact form (op-wire.ts) both
//   ways: a push's are decoded before they are checked and stored (the stored text is the
//   canonical text of the decoded op, so a re-sent op is a duplicate whichever form it came
//   in), and a pull's are encoded from the stored texts; older devices send and get objects;
// - every request reads and writes only its caller's owner's log.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HephError, invalid } from '../../core/errors.js';
import { isHlcString, isOrigin, originOf } from '../../core/hlc.js';
import { isPlainObject } from '../../core/json.js';
import type { Op } from '../../core/op.js';
import type { LogPage, OwnerId, OwnOps, HubStore } from '../../ports/hub-store.js';
import type { Logger } from '../../ports/logger.js';
import { decodeWireOp, encodeWireOp } from '../../protocol/op-wire.js';
import {
  compactOps,
  cursorToSeq,
  DEFAULT_PULL_LIMIT,
  echoesOwnOps,
  HEADER_CURSOR_OP,
  HEADER_OWN_HIGH,
  HEADER_PROTOCOL,
  HEADER_REPLICA,
  MAX_PULL_PAGE_CHARS,
  PullQuery,
  PushRequest,
  seqToCursor,
  SUPPORTED_PROTOCOLS,
  unsupportedProtocolMessage,
  type PushResponse,
  type Refused,
} from '../../protocol/sync.js';
import { parseWire } from '../body.js';
import { cursorReplaced } from '../store/rules.js';
import { opIdAt } from '../log-position.js';
import type { PushQueue } from '../push-queue.js';

export interface SyncRouteOptions {
  /** The caller's owner (resolved by the hub's authentication, else the hub's own). */
  ownerOf(request: FastifyRequest): OwnerId;
  store: HubStore;
  queue: PushQueue;
  logger: Logger;
  maxOpsPerPush: number;
  maxDriftMs: number;
  /** The sync protocols served, oldest first (default SUPPORTED_PROTOCOLS). */
  protocols?: readonly number[];
  /** Aborted when the hub stops: long-polls answer at once. */
  stopping: AbortSignal;
  /** The device registry: registering a replica seen for the first time (once its request
   *  is valid), open long-polls, and the caller read again after one waited. */
  devices?: {
    register(request: FastifyRequest): Promise<void>;
    polling(request: FastifyRequest): () => void;
    recheck(request: FastifyRequest): Promise<void>;
  };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * onRequest hook for /sync: the protocol (one of `protocols`, oldest first), replica and
 * own-high headers.
 */
export function syncHeaderCheck(
  protocols: readonly number[] = SUPPORTED_PROTOCOLS,
): (request: FastifyRequest) => Promise<void> {
  return (request) => checkSyncHeaders(request, protocols);
}

function checkSyncHeaders(request: FastifyRequest, protocols: readonly number[]): Promise<void> {
  const protocol = header(request, HEADER_PROTOCOL);
  if (protocol === undefined) {
    throw new HephError(
      'invalid_params',
      `missing Heph-Protocol header (this hub serves ${protocols.join(', ')})`,
      { field: 'heph-protocol' },
    );
  }
  if (!/^\d{1,6}$/.test(protocol) || !protocols.includes(Number(protocol))) {
    throw new HephError('protocol_mismatch', unsupportedProtocolMessage(protocol, protocols), {
      supported: [...protocols],
    });
  }
  const replica = header(request, HEADER_REPLICA);
  if (replica === undefined) {
    throw new HephError('invalid_params', 'missing Heph-Replica header (the replica id)', {
      field: 'heph-replica',
    });
  }
  if (!isOrigin(replica)) {
    throw invalid('heph-replica', 'must be a replica id of 16 lower-case hex digits');
  }
  const high = header(request, HEADER_OWN_HIGH);
  if (high !== undefined && (!isHlcString(high) || originOf(high) !== replica)) {
    throw invalid('heph-own-high', `must be the id of one of replica ${replica}'s own ops`);
  }
  return Promise.resolve();
}

/** The protocol version from the (already checked) header. */
function protocolOf(request: FastifyRequest): number {
  return Number(header(request, HEADER_PROTOCOL));
}

/** The replica id from the (already checked) header. */
function replicaOf(request: FastifyRequest): string {
  return header(request, HEADER_REPLICA) ?? '';
}

/** Above every op id: with it, a pull leaves out all of the caller's own ops. */
const EVERY_OWN_OP = '~';

/**
 * The caller's own ops a pull leaves out (none for devices that get them back): those up to its
 * Heph-Own-High, and once it has waited, every one (only the caller writes ops of its origin, so
 * the ones pushed while it waited came from it).
 */
function ownOpsOf(request: FastifyRequest, waited: boolean): OwnOps | undefined {
  if (echoesOwnOps(protocolOf(request))) return undefined;
  const upTo = waited ? EVERY_OWN_OP : header(request, HEADER_OWN_HIGH);
  return upTo === undefined ? undefined : { origin: replicaOf(request), upTo };
}

/** An op's stored text in the wire form of PROTOCOL_COMPACT_OPS (op-wire.ts). */
function compactText(text: string): string {
  const op = JSON.parse(text) as Op;
  const wire = encodeWireOp(op);
  return wire === op ? text : JSON.stringify(wire);
}

/**
 * A pull reply as JSON text: the ops are spliced in as the store keeps them (field sets in their
 * compact form for a device of PROTOCOL_COMPACT_OPS).
 */
function pageJson(page: LogPage, compact: boolean, cursorOp: string | undefined): string {
  const ops = compact ? page.ops.map(compactText) : page.ops;
  const named = cursorOp === undefined ? '' : `"cursor_op":${JSON.stringify(cursorOp)},`;
  return (
    `{"ops":[${ops.join(',')}],"cursor":${JSON.stringify(seqToCursor(page.cursor))},${named}` +
    `"more":${page.more},"remaining":${page.remaining}}`
  );
}

/**
 * A push's ops as the store checks them: field sets in their compact form decoded (a malformed
 * one refused by name, the others still taken); from a device before PROTOCOL_COMPACT_OPS, an
 * array is a malformed request.
 */
function decodeOps(
  ops: readonly unknown[],
  compact: boolean,
): { ops: unknown[]; refused: Refused[] } {
  const out: unknown[] = [];
  const refused: Refused[] = [];
  ops.forEach((raw, i) => {
    if (!Array.isArray(raw)) {
      out.push(raw);
      return;
    }
    if (!compact) throw invalid(`ops.${i}`, 'must be an object');
    try {
      out.push(decodeWireOp(raw));
    } catch (e) {
      if (!(e instanceof HephError)) throw e;
      const id = typeof raw[0] === 'string' ? raw[0].slice(0, 64) : '?';
      refused.push({ id, code: e.code, message: e.message });
    }
  });
  return { ops: out, refused };
}

export function syncRoutes(app: FastifyInstance, o: SyncRouteOptions): void {
  const { logger } = o;
  const checkSyncHeaders = syncHeaderCheck(o.protocols);

  app.post(
    '/sync/push',
    { onRequest: checkSyncHeaders, config: { access: 'editor' } },
    async (request): Promise<PushResponse> => {
      const raw: unknown = request.body;
      if (isPlainObject(raw) && Array.isArray(raw.ops) && raw.ops.length > o.maxOpsPerPush) {
        throw new HephError(
          'too_large',
          `push of ${raw.ops.length} ops is more than this hub takes in one request ` +
            `(${o.maxOpsPerPush}); send smaller batches`,
          { limit: o.maxOpsPerPush },
        );
      }
      const body = parseWire(PushRequest, raw, 'body');
      const replica = replicaOf(request);
      if (body.replica.id !== replica) {
        throw invalid('replica.id', `must equal the Heph-Replica header (${replica})`);
      }
      const decoded = decodeOps(body.ops, compactOps(protocolOf(request)));
      const owner = o.ownerOf(request);
      await o.devices?.register(request);
      const result = await o.queue.submit({
        owner,
        ops: decoded.ops,
        maxDriftMs: o.maxDriftMs,
        replica,
        ...(body.replica.pending !== undefined && { pendingReported: body.replica.pending }),
      });
      const all = [...decoded.refused, ...result.refused];
      const refused: Refused[] = all.map((r) => {
        const origin = r.origin ?? (isHlcString(r.id) ? originOf(r.id) : undefined);
        logger.warn(
          { replica, op: r.id, code: r.code, origin, ahead_ms: r.ahead_ms },
          `refused an op: ${r.message}`,
        );
        return {
          id: r.id,
          code: r.code,
          message: r.message,
          ...(origin !== undefined && { origin }),
          ...(r.ahead_ms !== undefined && { ahead_ms: r.ahead_ms }),
        };
      });
      logger.debug(
        {
          replica,
          accepted: result.accepted.length,
          duplicates: result.duplicates,
          refused: refused.length,
        },
        'push',
      );
      return { accepted: result.accepted.length, duplicates: result.duplicates, refused };
    },
  );

  app.get(
    '/sync/pull',
    { onRequest: checkSyncHeaders, config: { access: 'viewer' } },
    async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const owner = o.ownerOf(request);
      const q = parseWire(PullQuery, request.query, 'query');
      const after = cursorToSeq(q.after);
      if (!Number.isSafeInteger(after)) throw invalid('after', 'is not a cursor this hub issued');
      const limit = q.limit ?? DEFAULT_PULL_LIMIT;
      const read = (from: number, waited: boolean) =>
        o.store.read(owner, {
          after: from,
          limit,
          maxChars: MAX_PULL_PAGE_CHARS,
          skip: ownOpsOf(request, waited),
        });
      // A cursor the hub issued over another log (restored from an older copy, then written
      // again up to and past it) names another op there: start over, as for a cursor ahead.
      const cursorOp = request.headers[HEADER_CURSOR_OP];
      const checking = typeof cursorOp === 'string';
      if (checking && cursorOp !== '' && !isHlcString(cursorOp)) {
        throw invalid('heph-cursor-op', 'must be the cursor_op of an earlier pull, or empty');
      }
      if (checking && cursorOp !== '' && after > 0) {
        const held = await opIdAt(o.store, owner, after).catch((e: unknown) => {
          // Ahead of the log: read() says so below, with the hub's last cursor.
          if (e instanceof HephError && e.code === 'conflict') return cursorOp;
          throw e;
        });
        if (held !== cursorOp) throw cursorReplaced(after);
      }
      let page = await read(after, false);
      await o.devices?.register(request);
      const waitMs = (q.wait ?? 0) * 1000;
      if (page.ops.length === 0 && waitMs > 0) {
        const gone = new AbortController();
        const onClose = (): void => gone.abort();
        reply.raw.once('close', onClose);
        const signal = AbortSignal.any([gone.signal, o.stopping]);
        const polled = o.devices?.polling(request);
        try {
          const deadline = Date.now() + waitMs;
          // Woken by an append of only the caller's own ops, the page is empty again (with the
          // cursor past them), and the wait goes on.
          while (page.ops.length === 0) {
            const left = deadline - Date.now();
            if (left <= 0) break;
            const end = await o.store.waitForAppend(owner, page.cursor, left, signal);
            if (end !== 'appended') break;
            // Revoked while it waited: nothing more goes to it.
            await o.devices?.recheck(request);
            page = await read(page.cursor, true);
          }
          await o.devices?.recheck(request);
        } finally {
          polled?.();
          reply.raw.off('close', onClose);
        }
      }
      const named = checking ? await opIdAt(o.store, owner, page.cursor, page) : undefined;
      const text = pageJson(page, compactOps(protocolOf(request)), named);
      return reply.type('application/json; charset=utf-8').send(text);
    },
  );
}
