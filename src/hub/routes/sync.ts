// POST /sync/push and GET /sync/pull. Guarantees:
// - every request carries Heph-Protocol (a version this hub speaks, else 409 with the supported
//   list) and Heph-Replica (an origin), checked before the body is read;
// - a push is applied in one store transaction (shared with the pushes that arrived at the same
//   time, see push-queue.ts): each new op gets the next oplog seq (its arrival stamp) when it
//   commits, and the reply is sent only after that commit; refused ops (bad shape, clock drift, reused id) are named and logged
//   with their origin and never block the others; re-pushing a batch changes nothing;
// - a pull returns ops in arrival order after the cursor, exactly `limit` of them when that many
//   exist (fewer, at least one, when their text would pass MAX_PULL_PAGE_CHARS, with `more`
//   true), and its cursor is the arrival stamp of the last one; with `wait` and nothing to send it
//   waits for the next commit, its timeout or the client leaving, whichever is first;
// - with sign-in on, every request reads and writes the caller's own partition (its store, push
//   queue and long-poll wake-ups), never another owner's.

import { writeSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HephError, invalid } from '../../core/errors.js';
import { isHlcString, isOrigin, originOf } from '../../core/hlc.js';
import { isPlainObject } from '../../core/json.js';
import type { Logger } from '../../ports/logger.js';
import {
  cursorToSeq,
  DEFAULT_PULL_LIMIT,
  MAX_PULL_PAGE_CHARS,
  HEADER_PROTOCOL,
  HEADER_REPLICA,
  PullQuery,
  PushRequest,
  seqToCursor,
  SUPPORTED_PROTOCOLS,
  type PullResponse,
  type PushResponse,
  type Refused,
} from '../../protocol/sync.js';
import type { SqliteStore } from '../../store/sqlite-store.js';
import { parseWire } from '../body.js';
import type { CommitNotifier } from '../notifier.js';
import { applyInOneTransaction, type ApplyGroup, type PushQueue } from '../push-queue.js';

export const FAILPOINT_PUSH_MID_BATCH = 'hub.push.mid_batch';

/** Where one caller's sync requests go: a store, the pulls waiting on it, its push queue. */
export interface SyncPartition {
  store: SqliteStore;
  notifier: CommitNotifier;
  queue: PushQueue;
}

export interface SyncRouteOptions {
  /** The caller's partition (resolved by the hub's authentication, else the hub's own). */
  partitionOf(request: FastifyRequest): SyncPartition;
  logger: Logger;
  maxOpsPerPush: number;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** onRequest hook for /sync: the protocol and replica headers. */
export function checkSyncHeaders(request: FastifyRequest): Promise<void> {
  const protocol = header(request, HEADER_PROTOCOL);
  const speaks = SUPPORTED_PROTOCOLS.join(', ');
  if (protocol === undefined) {
    throw new HephError(
      'invalid_params',
      `missing Heph-Protocol header (this hub speaks ${speaks})`,
      {
        field: 'heph-protocol',
      },
    );
  }
  if (!/^\d{1,6}$/.test(protocol) || !SUPPORTED_PROTOCOLS.includes(Number(protocol))) {
    const older = /^\d{1,6}$/.test(protocol) && Number(protocol) < Math.min(...SUPPORTED_PROTOCOLS);
    throw new HephError(
      'protocol_mismatch',
      `this hub speaks sync protocol ${speaks} and this device ${JSON.stringify(protocol.slice(0, 20))}: ` +
        (older ? 'upgrade heph on this device' : 'upgrade heph on the hub'),
      { supported: [...SUPPORTED_PROTOCOLS] },
    );
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
  return Promise.resolve();
}

/** The replica id from the (already checked) header. */
function replicaOf(request: FastifyRequest): string {
  return header(request, HEADER_REPLICA) ?? '';
}

/** How pushes to `store` are applied; `hub.push.mid_batch` kills the process inside one
 *  (a testing aid). */
export function makeApplyGroup(
  store: SqliteStore,
  logger: Logger,
  maxDriftMs: number,
  failpoint?: string,
): ApplyGroup {
  return failpoint === FAILPOINT_PUSH_MID_BATCH
    ? (groups) =>
        store.transaction(() => {
          const ops = groups[0] ?? [];
          const half = Math.ceil(ops.length / 2);
          const first = store.applyOps(ops.slice(0, half), { maxDriftMs: maxDriftMs });
          logger.error(
            {
              failpoint: FAILPOINT_PUSH_MID_BATCH,
              applied: first.applied.length,
              of: ops.length,
            },
            'failpoint: killing the hub in the middle of a push',
          );
          // The logger may write asynchronously, and SIGKILL drops what it has not written.
          writeSync(2, 'hephd: failpoint: killing the hub in the middle of a push\n');
          process.kill(process.pid, 'SIGKILL');
          throw new HephError('internal', 'failpoint hub.push.mid_batch');
        })
    : applyInOneTransaction(store, maxDriftMs);
}

export function syncRoutes(app: FastifyInstance, o: SyncRouteOptions): void {
  const { logger } = o;

  app.post(
    '/sync/push',
    { onRequest: checkSyncHeaders },
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
      const { queue, notifier } = o.partitionOf(request);
      const result = await queue.submit(body.ops);
      const refused: Refused[] = result.refused.map((r) => {
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
      if (result.applied.length > 0) notifier.notify();
      logger.debug(
        {
          replica,
          accepted: result.applied.length,
          duplicates: result.duplicates,
          refused: refused.length,
        },
        'push',
      );
      return { accepted: result.applied.length, duplicates: result.duplicates, refused };
    },
  );

  app.get(
    '/sync/pull',
    { onRequest: checkSyncHeaders },
    async (request: FastifyRequest, reply: FastifyReply): Promise<PullResponse> => {
      const { store, notifier } = o.partitionOf(request);
      const q = parseWire(PullQuery, request.query, 'query');
      const after = cursorToSeq(q.after);
      if (!Number.isSafeInteger(after)) throw invalid('after', 'is not a cursor this hub issued');
      const limit = q.limit ?? DEFAULT_PULL_LIMIT;
      const last = store.lastSeq();
      if (after > last) {
        throw new HephError(
          'conflict',
          `cursor ${q.after ?? ''} is ahead of this hub's log (last ${last}): the hub's ` +
            'database was replaced or restored; pull from the beginning',
          { field: 'after', last: seqToCursor(last) },
        );
      }
      let page = store.opsSince(after, limit, MAX_PULL_PAGE_CHARS);
      const waitMs = (q.wait ?? 0) * 1000;
      if (page.ops.length === 0 && waitMs > 0) {
        const gone = new AbortController();
        const onClose = (): void => gone.abort();
        reply.raw.once('close', onClose);
        try {
          const deadline = Date.now() + waitMs;
          // Checking and registering the wait happen in one synchronous step, so a commit can
          // never fall between them.
          while (page.ops.length === 0) {
            const left = deadline - Date.now();
            if (left <= 0) break;
            const end = await notifier.wait(left, gone.signal);
            if (end === 'aborted' || end === 'closed') break;
            page = store.opsSince(after, limit, MAX_PULL_PAGE_CHARS);
          }
        } finally {
          reply.raw.off('close', onClose);
        }
      }
      return {
        ops: page.ops.map((op) => ({ ...op })),
        cursor: seqToCursor(page.cursor),
        more: page.more,
        remaining: page.more ? store.countOpsSince(page.cursor) : 0,
      };
    },
  );
}
