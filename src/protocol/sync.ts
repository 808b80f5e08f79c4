// The sync protocol's wire types (protocol 2), shared by the hub and its spokes. Every message is
// `unknown` until one of these parsers accepts it: the hub never trusts a spoke's body, and a
// spoke never trusts a hub's reply. Ops themselves are checked op by op by the store (a bad op is
// refused by name without blocking the others), so here they are only required to be objects.

import { z } from 'zod';
import type { ErrorCode } from '../core/errors.js';
import { isPlainObject } from '../core/json.js';
import { ERROR_CODES } from './error-wire.js';

/**
 * 2: bodies may hold branches (`body.init`, `body.edit`: first texts made the same way on every
 * device, different ones a conflict). A device of protocol 1 would neither apply those ops nor
 * leave the bodies they write alone, so a hub of protocol 2 refuses it.
 */
export const PROTOCOL_VERSION = 2;
export const SUPPORTED_PROTOCOLS: readonly number[] = [2];

export const HEADER_PROTOCOL = 'heph-protocol';
export const HEADER_REPLICA = 'heph-replica';

/** Most ops one push may carry. */
export const MAX_PUSH_OPS = 5000;
/** Most ops one pull page may return. */
export const MAX_PULL_LIMIT = 5000;
export const DEFAULT_PULL_LIMIT = 1000;
/** A pull page stops short of `limit` when its ops' text would pass this many characters. */
export const MAX_PULL_PAGE_CHARS = 8 * 1024 * 1024;
/** Longest long-poll a pull may ask for, in seconds. */
export const MAX_PULL_WAIT_S = 60;

const Origin = z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lower-case hex digits');
// Ops are only required to be objects here (see above): a plain check rather than z.record,
// which walks every key of every op (a 5,000-op pull page is 25,000 keys).
const OpShape = z.custom<Record<string, unknown>>(isPlainObject, 'must be an object');

export const ReplicaInfo = z.object({
  id: Origin,
  name: z.string().max(200).optional(),
  platform: z.string().max(100).optional(),
  version: z.string().max(100).optional(),
});
export type ReplicaInfo = z.infer<typeof ReplicaInfo>;

export const PushRequest = z.strictObject({
  replica: ReplicaInfo,
  ops: z.array(OpShape).max(MAX_PUSH_OPS),
});
export type PushRequest = z.infer<typeof PushRequest>;

export const Refused = z.object({
  id: z.string(),
  code: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  origin: Origin.optional(),
  ahead_ms: z.number().optional(),
});
export type Refused = z.infer<typeof Refused>;

export const PushResponse = z.object({
  accepted: z.number().int().min(0),
  duplicates: z.number().int().min(0),
  refused: z.array(Refused),
});
export type PushResponse = z.infer<typeof PushResponse>;

/** A pull cursor: the hub's arrival stamp of the last op returned (opaque to clients). */
export const Cursor = z.string().regex(/^\d{1,16}$/, 'is not a cursor this hub issued');

export const PullQuery = z.object({
  after: Cursor.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PULL_LIMIT).optional(),
  wait: z.coerce.number().min(0).max(MAX_PULL_WAIT_S).optional(),
});
export type PullQuery = z.infer<typeof PullQuery>;

export const PullResponse = z.object({
  ops: z.array(OpShape),
  cursor: Cursor,
  more: z.boolean(),
  remaining: z.number().int().min(0),
});
export type PullResponse = z.infer<typeof PullResponse>;

export const HubConfig = z.object({
  issuer: z.string().nullable(),
  client_id: z.string().nullable(),
  audience: z.string().nullable(),
  protocol: z.array(z.number()),
});
export type HubConfig = z.infer<typeof HubConfig>;

/** GET /healthz: the hub is up, and its clock (for a spoke to see its own drift). */
export const HubHealth = z.object({ ok: z.boolean(), time_ms: z.number() });
export type HubHealth = z.infer<typeof HubHealth>;

/** Body of an error reply from the hub (any status >= 400). */
export const HubError = z.object({
  error: z.object({ code: z.string(), message: z.string() }).passthrough(),
});

export function cursorToSeq(cursor: string | undefined): number {
  return cursor === undefined ? 0 : Number(cursor);
}

export function seqToCursor(seq: number): string {
  return String(seq);
}
