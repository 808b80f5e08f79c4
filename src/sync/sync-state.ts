// What a spoke remembers about its sync, kept in the store's replica-local settings so it
// commits in the same transactions as the ops it describes:
//   sync.pull_cursor  the hub's cursor after the last applied page (opaque)
//   sync.pull_cursor_op  the id of the op at that cursor, as the hub named it ('' for none)
//   sync.push_seq     local oplog seq up to which own ops are acknowledged by the hub
//   sync.unpulled     `remaining` from the last pull page
//   sync.quarantine   ops the hub refused: [{id, code, message}], kept and not re-sent
// Settings are parsed like wire data: a damaged value reads as absent, never as a wrong cursor.

import { z } from 'zod';
import { changeOf } from '../core/op.js';
import { Refused } from '../protocol/sync.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import type { Counts } from './sync-status.js';

export const PULL_CURSOR = 'sync.pull_cursor';
export const PULL_CURSOR_OP = 'sync.pull_cursor_op';
export const PUSH_SEQ = 'sync.push_seq';
export const UNPULLED = 'sync.unpulled';
export const QUARANTINE = 'sync.quarantine';

export type Quarantined = Refused;

const QuarantineList = z.array(Refused);

export function pullCursor(store: SqliteStore): string | undefined {
  return store.getSetting(PULL_CURSOR);
}

/** The op the hub named at the pull cursor; '' when it named none (or before it named any). */
export function pullCursorOp(store: SqliteStore): string {
  return store.getSetting(PULL_CURSOR_OP) ?? '';
}

export function pushSeq(store: SqliteStore): number {
  const v = Number(store.getSetting(PUSH_SEQ) ?? '0');
  return Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

export function unpulled(store: SqliteStore): number {
  const v = Number(store.getSetting(UNPULLED) ?? '0');
  return Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

export function quarantine(store: SqliteStore): Quarantined[] {
  const raw = store.getSetting(QUARANTINE);
  if (raw === undefined) return [];
  try {
    const r = QuarantineList.safeParse(JSON.parse(raw));
    return r.success ? r.data : [];
  } catch {
    return [];
  }
}

/** Adds refusals to the quarantine (an op refused twice is kept once, latest reason). */
export function addToQuarantine(store: SqliteStore, refused: readonly Quarantined[]): void {
  if (refused.length === 0) return;
  const byId = new Map(quarantine(store).map((q) => [q.id, q]));
  for (const r of refused) byId.set(r.id, r);
  store.setSetting(QUARANTINE, JSON.stringify([...byId.values()]));
}

export function setQuarantine(store: SqliteStore, list: readonly Quarantined[]): void {
  store.setSetting(QUARANTINE, list.length > 0 ? JSON.stringify(list) : undefined);
}

/** Own ops not yet acknowledged by the hub (quarantined ones are behind push_seq). */
export function pendingCount(store: SqliteStore): number {
  return store.countOwnOpsSince(pushSeq(store));
}

/**
 * What this device holds that the hub does not, in changes (commands) and ops: `pending` will be
 * sent (own ops after push_seq, and ops held back for clock drift, which are re-stamped and sent
 * once the clock is right); `refused` the hub turned down for good.
 */
export function unsentCounts(store: SqliteStore): { pending: Counts; refused: Counts } {
  const seq = pushSeq(store);
  const q = quarantine(store);
  const drift = q.filter((r) => r.code === 'clock_drift').map((r) => r.id);
  const gone = q.filter((r) => r.code !== 'clock_drift').map((r) => r.id);
  const pending = { changes: store.countOwnChangesSince(seq), ops: store.countOwnOpsSince(seq) };
  if (drift.length > 0) {
    const held = store.changesOf(drift);
    // A change split by the refusal has ops on both sides: count it once.
    const first = store.ownOpsSince(seq, 1).ops[0];
    const split = first !== undefined && held.has(changeOf(first)) ? 1 : 0;
    pending.changes += held.size - split;
    pending.ops += drift.length;
  }
  return { pending, refused: { changes: store.changesOf(gone).size, ops: gone.length } };
}
