// The sync protocol's wire types, shared by the hub and its spokes. Every message is
// `unknown` until one of these parsers accepts it: the hub never trusts a spoke's body, and a
// spoke never trusts a hub's reply. Ops themselves are checked op by op by the store (a bad op is
// refused by name without blocking the others), so here they are only required to be objects.

import { z } from 'zod';
import type { ErrorCode } from '../core/errors.js';
import { isPlainObject } from '../core/json.js';
import { ERROR_CODES } from './error-wire.js';

// Every protocol number lives here, so renumbering is a change to these lines only.
/**
 * 2: bodies may hold branches (`body.init`, `body.edit`: first texts made the same way on every
 * device, different ones a conflict). A device of protocol 1 would neither apply those ops nor
 * leave the bodies they write alone, so the hub refuses it.
 */
export const PROTOCOL_BODY_BRANCHES = 2;
/** 3: pulls leave out the caller's own ops it already holds (the Heph-Own-High header). */
export const PROTOCOL_NO_ECHO = 3;
/**
 * 4: field sets travel in their compact form (op-wire.ts) in pushes and pull pages; every other
 * op as before.
 */
export const PROTOCOL_COMPACT_OPS = 4;
/** What this version's devices speak. */
export const PROTOCOL_VERSION = PROTOCOL_COMPACT_OPS;
/**
 * What this version's hub serves, oldest first: devices of protocol 2 get their own ops back,
 * devices before 4 get every op as an object.
 */
export const SUPPORTED_PROTOCOLS: readonly number[] = [
  PROTOCOL_BODY_BRANCHES,
  PROTOCOL_NO_ECHO,
  PROTOCOL_COMPACT_OPS,
];

export const HEADER_PROTOCOL = 'heph-protocol';
export const HEADER_REPLICA = 'heph-replica';
/** The highest id among the caller's own ops that it holds (from PROTOCOL_NO_ECHO on). */
export const HEADER_OWN_HIGH = 'heph-own-high';
/**
 * The id of the op at the pull cursor, as the hub's last reply named it (`cursor_op`); empty
 * when the device has none yet. A hub whose log holds another op there (its data was restored
 * from an older copy, and later pushes took the same arrival stamps) answers 409 `conflict`,
 * as for a cursor ahead of its log. With the header the reply carries `cursor_op`.
 */
export const HEADER_CURSOR_OP = 'heph-cursor-op';
/**
 * The machine a device runs on, sent with its first request after each start:
 * `platform=linux&arch=x64&cpus=8&memory_bytes=16777216000&version=0.1.0` (form-encoded; any
 * key may be missing, unknown keys are ignored). The hub records it in its device registry.
 */
export const HEADER_DEVICE_FACTS = 'heph-device-facts';

export interface DeviceFactsWire {
  platform?: string;
  arch?: string;
  cpus?: number;
  memory_bytes?: number;
  version?: string;
}

/** The header's value for these facts. */
export function encodeDeviceFacts(f: DeviceFactsWire): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v !== undefined) q.set(k, String(v));
  return q.toString();
}

/** The facts a header holds; undefined when it holds none (bad values are left out). */
export function parseDeviceFacts(header: unknown): DeviceFactsWire | undefined {
  if (typeof header !== 'string' || header.length > 1000) return undefined;
  const q = new URLSearchParams(header);
  const text = (k: string) => {
    const v = q.get(k)?.trim();
    return v !== undefined && v !== '' && v.length <= 100 && !/[\u0000-\u001f]/.test(v)
      ? v
      : undefined;
  };
  const count = (k: string) => {
    const v = q.get(k);
    return v !== null && /^\d{1,16}$/.test(v) && Number.isSafeInteger(Number(v))
      ? Number(v)
      : undefined;
  };
  const f: DeviceFactsWire = {};
  const platform = text('platform');
  const arch = text('arch');
  const cpus = count('cpus');
  const memory = count('memory_bytes');
  const version = text('version');
  if (platform !== undefined) f.platform = platform;
  if (arch !== undefined) f.arch = arch;
  if (cpus !== undefined) f.cpus = cpus;
  if (memory !== undefined) f.memory_bytes = memory;
  if (version !== undefined) f.version = version;
  return Object.keys(f).length > 0 ? f : undefined;
}

/** Whether a device speaking `protocol` sends and receives field sets in their compact form. */
export function compactOps(protocol: number): boolean {
  return protocol >= PROTOCOL_COMPACT_OPS;
}

/** Whether a device speaking `protocol` gets its own ops back in pulls. */
export function echoesOwnOps(protocol: number): boolean {
  return protocol < PROTOCOL_NO_ECHO;
}

/** The refusal of a protocol version the hub does not serve, telling which side to upgrade. */
export function unsupportedProtocolMessage(
  given: string,
  supported: readonly number[] = SUPPORTED_PROTOCOLS,
): string {
  const list =
    supported.length === 1
      ? String(supported[0])
      : `${supported.slice(0, -1).join(', ')} and ${supported.at(-1)}`;
  const speaks = `this hub serves sync protocol ${list}`;
  const n = /^\d{1,6}$/.test(given) ? Number(given) : NaN;
  const shown = JSON.stringify(given.slice(0, 20));
  if (n < (supported[0] ?? 0)) {
    return `this device speaks sync protocol ${shown}, too old for this hub (${speaks}): upgrade heph on this device`;
  }
  if (n > (supported[supported.length - 1] ?? 0)) {
    return `this device speaks sync protocol ${shown}, newer than this hub (${speaks}): upgrade heph on the hub`;
  }
  return `this hub does not speak sync protocol ${shown} (${speaks})`;
}

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
/** From PROTOCOL_COMPACT_OPS on, an op may also be a field set's array (op-wire.ts). */
const WireOpShape = z.custom<Record<string, unknown> | unknown[]>(
  (v) => isPlainObject(v) || Array.isArray(v),
  'must be an object (or, from protocol 4, a field set’s array)',
);

export const ReplicaInfo = z.object({
  id: Origin,
  name: z.string().max(200).optional(),
  platform: z.string().max(100).optional(),
  version: z.string().max(100).optional(),
  /** Changes it holds that the hub has not acknowledged yet (shown by `heph device list`). */
  pending: z.number().int().min(0).optional(),
});
export type ReplicaInfo = z.infer<typeof ReplicaInfo>;

export const PushRequest = z.strictObject({
  replica: ReplicaInfo,
  ops: z.array(WireOpShape).max(MAX_PUSH_OPS),
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
  /** The id of the op at `cursor` ('' for none), when the pull sent Heph-Cursor-Op. */
  cursor_op: z.string().max(64).optional(),
  more: z.boolean(),
  remaining: z.number().int().min(0),
});
export type PullResponse = z.infer<typeof PullResponse>;

/** A pull page from PROTOCOL_COMPACT_OPS on, before its ops are decoded. */
export const WirePullResponse = PullResponse.extend({ ops: z.array(WireOpShape) });

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
