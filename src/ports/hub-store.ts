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
//   or close();
// - devices: credentials and enrolment tokens are kept only as hashes; an enrolment token is
//   consumed at most once, whatever the concurrency (exchangeEnrolment); a revoked device stays
//   revoked, its credentials find it as revoked, and an append refuses every op of its replica
//   (device_revoked) from the revocation on: revocations and appends of one owner are ordered.

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
  /** The replica that pushed (its Heph-Replica): its device's counters move in the same
   *  transaction (ops pushed, last acknowledged push, pending as it reported). */
  replica?: string;
  /** How many changes the pushing replica reported it still holds unpushed. */
  pendingReported?: number;
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

// ---- devices (control plane) ------------------------------------------------------------------

export type DeviceStatus = 'pending' | 'active' | 'revoked';

/** What a device says about itself (at enrolment, and when it first syncs). */
export interface DeviceFacts {
  platform?: string | undefined;
  arch?: string | undefined;
  cpus?: number | undefined;
  memoryBytes?: number | undefined;
  version?: string | undefined;
}

/** A device in the hub's registry. Times are epoch ms. */
export interface DeviceRecord extends DeviceFacts {
  /** The registry's id (what `device rename|revoke` take). */
  id: string;
  owner: OwnerId;
  /** Its replica id (op origin); undefined while its enrolment is pending. */
  replica: string | undefined;
  name: string;
  status: DeviceStatus;
  createdMs: number;
  firstSeenMs: number | undefined;
  /** Written at most every 30 s per hub process (see touchDevice). */
  lastSeenMs: number | undefined;
  /** The newest pull cursor it was seen with (written with lastSeenMs). */
  cursor: number | undefined;
  opsPushed: number;
  /** Its last push the hub acknowledged: when, and the newest op id of its own it held. */
  lastPushMs: number | undefined;
  lastPushOp: string | undefined;
  /** Changes it still held unpushed, as it last reported them, and when. */
  pendingReported: number | undefined;
  pendingReportedMs: number | undefined;
  revokedMs: number | undefined;
  /** Pending devices: when their enrolment token expires. */
  enrolExpiresMs: number | undefined;
}

export interface NewEnrolment {
  owner: OwnerId;
  /** The new device's id (made by the caller, unique). */
  id: string;
  name: string;
  /** The SHA-256 of the enrolment token (the store never sees the token). */
  tokenHash: string;
  expiresMs: number;
}

export interface EnrolmentExchange {
  tokenHash: string;
  /** The enrolling replica's id. */
  replica: string;
  facts: DeviceFacts;
  /** The SHA-256 of the device credential issued in return. */
  credentialHash: string;
}

/** A credential for a replica, issued on its owner's login (POST /auth/device). */
export interface CredentialIssue {
  owner: OwnerId;
  replica: string;
  /** Used when the replica has no device yet (its id and name), or its name is still its
   *  replica id (a replica registered when it synced with a login). */
  fresh: { id: string; name: string };
  facts: DeviceFacts;
  /** The SHA-256 of the new credential. */
  credentialHash: string;
}

export interface DeviceTouch {
  owner: OwnerId;
  id: string;
  seenMs: number;
  cursor?: number | undefined;
  /** The machine's facts as the device reported them now (those given replace the stored). */
  facts?: DeviceFacts | undefined;
}

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

  // ---- devices -------------------------------------------------------------------------------
  // Every device statement names its owner, except the two that start from a secret's hash
  // (exchangeEnrolment, deviceByCredential): the hash finds the owner.

  /** The owner's devices, oldest first. */
  listDevices(owner: OwnerId): Promise<DeviceRecord[]>;
  /** One of the owner's devices by its id or its replica id. */
  findDevice(owner: OwnerId, idOrReplica: string): Promise<DeviceRecord | undefined>;
  /**
   * The owner's device with this replica id, registered (active, with `id` and `name`) if there
   * is none yet: a replica that syncs with its owner's login, or on an open hub.
   */
  registerDevice(
    owner: OwnerId,
    replica: string,
    fresh: { id: string; name: string; facts: DeviceFacts },
    now: number,
  ): Promise<DeviceRecord>;
  /** Records that a device was seen (last seen, cursor); a later time never goes back. */
  touchDevice(touch: DeviceTouch): Promise<void>;
  renameDevice(owner: OwnerId, id: string, name: string): Promise<DeviceRecord>;
  /**
   * Revokes a device: its credentials stop working and pushes of ops under its replica id are
   * refused from the next transaction on (ordered with the owner's pushes). Revoking a revoked
   * device changes nothing and returns it.
   */
  revokeDevice(owner: OwnerId, id: string, now: number): Promise<DeviceRecord>;
  /** Creates a pending device with a one-time enrolment token (its hash). */
  createEnrolment(e: NewEnrolment, now: number): Promise<DeviceRecord>;
  /** Replaces the token of a device still pending (the old one stops working). */
  regenerateEnrolment(
    owner: OwnerId,
    id: string,
    tokenHash: string,
    expiresMs: number,
  ): Promise<DeviceRecord>;
  /**
   * Consumes an enrolment token and activates its device with a credential, atomically: of any
   * number of concurrent exchanges of one token (in any number of processes), exactly one gets
   * the device, decided by a conditional update's affected-row count. Undefined for a token
   * that is unknown, used, expired or whose device is no longer pending (nothing changes then).
   * A replica revoked before is refused (device_revoked) and the token is left unused.
   */
  exchangeEnrolment(x: EnrolmentExchange, now: number): Promise<DeviceRecord | undefined>;
  /**
   * Gives the owner's replica a new credential, atomically: its device (registered active if
   * there is none; facts updated) keeps its id and history, and every credential it held before
   * stops working. A revoked replica is refused (device_revoked) and nothing changes.
   */
  issueCredential(x: CredentialIssue, now: number): Promise<DeviceRecord>;
  /** The device a credential (its hash) is bound to (its owner and replica), whatever its
   *  status. */
  deviceByCredential(credentialHash: string): Promise<DeviceRecord | undefined>;
  /** Replaces an active device's credential: the old one stops working. False when the old
   *  one is not (or no longer) a credential of an active device. */
  rotateCredential(oldHash: string, newHash: string, now: number): Promise<boolean>;

  // ---- lifecycle -----------------------------------------------------------------------------

  /** Resolves when the store answers a trivial query; rejects otherwise (readiness). */
  ping(): Promise<void>;
  /** Ends every wait, then closes; idempotent. */
  close(): Promise<void>;
}
