// What a spoke tells people and scripts about its sync, as a pure function of the facts the sync
// service holds. Guarantees: the verdict never says "in sync" while anything this device holds
// is not on the hub (changes waiting, held back for clock drift, or refused), and it names what
// is open (refused changes, conflicts) with the command that shows them; `state` is the same
// judgement for machines, and the counts count what a person did (changes: one per command)
// beside the ops that carry them.

import type { ErrorCode } from '../core/errors.js';

export type SyncErrorKind =
  'offline' | 'revoked' | 'auth' | 'clock-drift' | 'protocol' | 'hub-error';

export interface SyncErrorView {
  kind: SyncErrorKind;
  message: string;
  /** ISO time this kind of error began. */
  since: string;
}

/**
 * The machine verdict, most urgent first: the daemon is not syncing at all (`no_hub`,
 * `online_only` in client mode), the exchange fails (`offline`, `revoked`: this device was
 * revoked on the hub and syncs no more, `sign_in`, `protocol`, `failing`), uploads are held (`clock_drift`), nothing was exchanged yet (`not_synced`), the hub
 * refused changes for good (`refused`), changes wait either way (`pending`), or the hub has
 * everything this device has and the device everything the hub has (`in_sync`).
 */
export type SyncState =
  | 'no_hub'
  | 'online_only'
  | 'offline'
  | 'revoked'
  | 'sign_in'
  | 'protocol'
  | 'failing'
  | 'clock_drift'
  | 'not_synced'
  | 'refused'
  | 'pending'
  | 'in_sync';

export interface Counts {
  /** Commands (one local command is one change, whatever number of ops it wrote). */
  changes: number;
  ops: number;
}

export interface QuarantineView {
  id: string;
  code: ErrorCode;
  message: string;
  /** The node or link the op changes, where this log still holds the op. */
  target?: string;
}

export interface SyncFacts {
  mode: string;
  hub: string | null;
  replica_id: string | null;
  /** This device's name (a synced register other devices show for its changes). */
  device_name: string | null;
  last_attempt: string | null;
  last_success: string | null;
  last_error: SyncErrorView | null;
  /** Own changes not on the hub that will be sent (including those held for clock drift). */
  pending: Counts;
  /** Ops the hub holds that this device has not pulled (the hub counts ops, not changes). */
  unpulled: number;
  /** Own changes the hub refused for good (kept here, never sent again). */
  refused: Counts;
  conflicts: number;
  /** Every op the hub refused and this device keeps back, with the hub's reason. */
  quarantined: QuarantineView[];
  /** Pushes of local changes sent since the daemon started (beside whole syncs). */
  pushes: number;
}

export interface SyncStatus extends SyncFacts {
  state: SyncState;
  verdict: string;
}

const ERROR_STATE: Record<SyncErrorKind, SyncState> = {
  offline: 'offline',
  revoked: 'revoked',
  auth: 'sign_in',
  protocol: 'protocol',
  'hub-error': 'failing',
  'clock-drift': 'clock_drift',
};

/**
 * A count as toLocaleString('en-US') writes an integer (1,234,567), without Intl: a number
 * formatter loads ICU's number data, about 4 MB of an idle daemon's memory when made at start,
 * and toLocaleString makes one per call.
 */
export function formatCount(n: number): string {
  return Number.isSafeInteger(n) ? String(n).replace(/\B(?=(\d{3})+$)/g, ',') : String(n);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

function hhmm(iso: string, timeZone: string | undefined): string {
  try {
    return new Intl.DateTimeFormat('en-GB', {
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      ...(timeZone !== undefined && { timeZone }),
    }).format(new Date(iso));
  } catch {
    return iso.slice(11, 16);
  }
}

export function stateOf(s: SyncFacts): SyncState {
  if (s.mode === 'client') return 'online_only';
  if (s.hub === null) return 'no_hub';
  if (s.last_error) return ERROR_STATE[s.last_error.kind];
  if (s.last_success === null) return 'not_synced';
  if (s.refused.ops > 0) return 'refused';
  if (s.pending.ops > 0 || s.unpulled > 0) return 'pending';
  return 'in_sync';
}

export const REVOKED_VERDICT =
  'not syncing: this device was revoked on the hub; nothing here was deleted (`heph export` ' +
  'still works); to sync again, enrol it again (`heph auth enroll`): it becomes a new replica ' +
  'and uploads what the hub never received';

/** The one line a person reads first: what is wrong (or "in sync"), then what is open. */
export function verdictOf(s: SyncFacts, timeZone?: string): string {
  if (s.mode === 'client') return s.hub ? `online only: every call goes to ${s.hub}` : 'no hub';
  if (s.mode === 'server') return 'this is the hub: devices sync with it (heph sync on a device)';
  if (s.hub === null) return 'not syncing: no hub configured';
  const e = s.last_error;
  const upload =
    s.pending.changes > 0
      ? plural(s.pending.changes, 'change')
      : s.pending.ops > 0
        ? "this device's name"
        : '';
  const parts: string[] = [];
  if (e?.kind === 'offline') parts.push(`hub unreachable since ${hhmm(e.since, timeZone)}`);
  else if (e?.kind === 'revoked') parts.push(REVOKED_VERDICT);
  else if (e?.kind === 'auth') parts.push(`not syncing: sign-in needed (${e.message})`);
  else if (e?.kind === 'clock-drift') parts.push(`not uploading: ${e.message}`);
  else if (e?.kind === 'protocol') parts.push(`not syncing: ${e.message}`);
  else if (e?.kind === 'hub-error') parts.push(`sync failing: ${e.message}`);
  else if (s.last_success === null) parts.push('not synced yet');
  else if (upload === '' && s.unpulled === 0) parts.push('in sync');
  if (upload !== '') parts.push(`${upload} waiting to upload`);
  if (s.unpulled > 0) parts.push(`${plural(s.unpulled, 'update')} waiting to download`);
  if (s.refused.changes > 0) {
    parts.push(`${plural(s.refused.changes, 'change')} refused (heph sync status --details)`);
  }
  if (s.conflicts > 0) {
    parts.push(`${plural(s.conflicts, 'conflict')} to resolve (heph conflicts)`);
  }
  return parts.join(' · ');
}

export function withVerdict(s: SyncFacts, timeZone?: string): SyncStatus {
  return { ...s, state: stateOf(s), verdict: verdictOf(s, timeZone) };
}

/** Status of a daemon that has no hub to sync with. */
export function unsyncedStatus(
  mode: string,
  replicaId: string | null = null,
  deviceName: string | null = null,
): SyncStatus {
  return withVerdict({
    mode,
    hub: null,
    replica_id: replicaId,
    device_name: deviceName,
    last_attempt: null,
    last_success: null,
    last_error: null,
    pending: { changes: 0, ops: 0 },
    unpulled: 0,
    refused: { changes: 0, ops: 0 },
    conflicts: 0,
    quarantined: [],
    pushes: 0,
  });
}
