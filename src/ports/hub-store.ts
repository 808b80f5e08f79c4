// The hub's store: every owner's op-log (the data plane) and who the hub serves (the control
// plane), behind one async interface so that SQLite (one process) and PostgreSQL (any number of
// hub processes) can both implement it. Only src/hub/ uses it; devices keep their synchronous
// Store (ports/store.ts). One contract suite (test/hub/store-contract.ts, runHubStoreContract)
// runs against every implementation. Guarantees every implementation gives:
// - each owner's log is append-only and numbered by arrival stamps 1, 2, 3, … in commit order:
//   once a reader has seen stamp n, no op with a stamp at or below n is ever added (so a pull
//   cursor never skips an op);
// - an op is stored as its canonical text (store/canonical-text.ts canonicalOpText); an op whose
//   id the owner's log already holds is a duplicate when the texts are byte-equal and is refused
//   (op_id_reused) otherwise; malformed ops, ops stamped too far ahead of the store's clock and
//   body updates Yjs cannot decode are refused too, all before anything of the group is stored;
// - append() stores every push of a group in one transaction: when it resolves, all of their
//   accepted ops are durable; when it rejects, none of them is stored;
// - owners never see each other's ops: the same op id may be held by two owners;
// - waits end at the first of an append to their owner past `after`, their timeout, their signal
//   or close().

import type { ErrorCode } from '../core/errors.js';

/** An owner's number in the hub store. */
export type OwnerId = number;

/** The owner every hub has: an open hub's data, and the data of whoever claims or is pinned as
 *  the hub's owner once sign-in is on. */
export const HUB_OWNER: OwnerId = 1;

/** An account at an identity provider. */
export interface OwnerIdentity {
  iss: string;
  sub: string;
}

export interface AppendRequest {
  owner: OwnerId;
  /** Ops as they arrived (wire data): each is checked before anything is stored. */
  ops: readonly unknown[];
  /** Refuse ops stamped more than this many ms ahead of the store's clock (omit: no limit, for
   *  ops the hub stamped itself). */
  maxDriftMs?: number;
}

export interface AppendRefusal {
  id: string;
  code: ErrorCode;
  message: string;
  origin?: string;
  ahead_ms?: number;
}

export interface AppendResult {
  /** Ids of the ops newly stored, in the order they were stamped. */
  accepted: string[];
  duplicates: number;
  refused: AppendRefusal[];
}

/** Skip the caller's own ops it already holds: ops of `origin` with ids at or below `upTo`. */
export interface OwnOps {
  origin: string;
  upTo: string;
}

export interface ReadQuery {
  /** The cursor: return ops stamped after this (0 = from the beginning). */
  after: number;
  /** Most ops to return (at least 1). */
  limit: number;
  /** Stop the page early (never at no op) when its ops' text would pass this many characters. */
  maxChars: number;
  skip?: OwnOps | undefined;
}

export interface LogPage {
  /** Canonical op texts in arrival order (each a JSON object). */
  ops: string[];
  /** The stamp to read after next time: the last op returned, or past skipped ops at the end. */
  cursor: number;
  /** More ops the caller would receive are stored after `cursor`. */
  more: boolean;
  /** How many (0 when `more` is false). */
  remaining: number;
}

export type WaitEnd = 'appended' | 'timeout' | 'aborted' | 'closed';

export interface HubStore {
  /** Which backend and where, for logs (never a password). */
  readonly description: string;

  // ---- data plane ----------------------------------------------------------------------------

  /** Stores a group of pushes in one transaction; one result per push, in order. */
  append(pushes: readonly AppendRequest[]): Promise<AppendResult[]>;
  /** A page of an owner's log (see ReadQuery). */
  read(owner: OwnerId, query: ReadQuery): Promise<LogPage>;
  /** The owner's newest stamp (0 for an empty log). */
  head(owner: OwnerId): Promise<number>;
  /** Waits until the owner's log holds a stamp past `after` (resolves at once if it does). */
  waitForAppend(
    owner: OwnerId,
    after: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<WaitEnd>;

  // ---- control plane -------------------------------------------------------------------------

  /** The owner of an account, created on its first use. */
  ownerOf(identity: OwnerIdentity): Promise<OwnerId>;
  /** The owner of an account, if it has one. */
  findOwner(identity: OwnerIdentity): Promise<OwnerId | undefined>;
  /** The account that claimed the hub (its first sign-in), if any. */
  claim(): Promise<OwnerIdentity | undefined>;
  /**
   * Records `identity` as the hub's claim if the claim is still `expected` (undefined: nobody
   * claimed it yet), atomically across processes; returns the claim after the attempt, so the
   * first of two concurrent claims wins and the second learns who.
   */
  setClaim(identity: OwnerIdentity, expected: OwnerIdentity | undefined): Promise<OwnerIdentity>;
  /** A random id made when the store was created: caches check they belong to this store. */
  storeId(): Promise<string>;

  // ---- lifecycle -----------------------------------------------------------------------------

  /** Resolves when the store answers a trivial query; rejects otherwise (readiness). */
  ping(): Promise<void>;
  /** Ends every wait, then closes; idempotent. */
  close(): Promise<void>;
}
