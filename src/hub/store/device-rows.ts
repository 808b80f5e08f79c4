// The device registry's rows as both hub stores keep them (sqlite-devices.ts, postgres-devices.ts
// share the column names): the columns a device is read with, the conversion of a row into a
// DeviceRecord (PostgreSQL returns bigints as strings), and the checks made before anything is
// written. Guarantees: a name is 1-100 characters with no control character; facts are trimmed
// to their limits, never stored as given when out of range; ids are what makeDeviceId gives.

import { HephError, invalid } from '../../core/errors.js';
import type { DeviceFacts, DeviceRecord, DeviceStatus } from '../../ports/hub-store.js';

/** The devices table's columns, plus the pending token's expiry (d is devices, t the token). */
export const DEVICE_COLUMNS =
  'd.id, d.owner, d.replica, d.name, d.status, d.platform, d.arch, d.cpus, d.memory_bytes, ' +
  'd.version, d.created_ms, d.first_seen_ms, d.last_seen_ms, d.cursor, d.ops_pushed, ' +
  'd.last_push_ms, d.last_push_op, d.pending_reported, d.pending_reported_ms, d.revoked_ms';

/** A SELECT of devices `d` with the expiry of a pending device's unused token. */
export function selectDevices(schema: string): string {
  return (
    `SELECT ${DEVICE_COLUMNS}, (SELECT max(t.expires_ms) FROM ${schema}enrolment_tokens t ` +
    `WHERE t.device = d.id AND t.used_ms IS NULL) AS enrol_expires_ms FROM ${schema}devices d`
  );
}

type Cell = string | number | bigint | null;

const num = (v: Cell | undefined): number | undefined =>
  v === null || v === undefined ? undefined : Number(v);
const str = (v: Cell | undefined): string | undefined =>
  v === null || v === undefined ? undefined : String(v);

export function toDevice(row: Record<string, unknown>): DeviceRecord {
  const r = row as Record<string, Cell>;
  return {
    id: String(r.id),
    owner: Number(r.owner),
    replica: str(r.replica),
    name: String(r.name),
    status: String(r.status) as DeviceStatus,
    platform: str(r.platform),
    arch: str(r.arch),
    cpus: num(r.cpus),
    memoryBytes: num(r.memory_bytes),
    version: str(r.version),
    createdMs: Number(r.created_ms),
    firstSeenMs: num(r.first_seen_ms),
    lastSeenMs: num(r.last_seen_ms),
    cursor: num(r.cursor),
    opsPushed: Number(r.ops_pushed),
    lastPushMs: num(r.last_push_ms),
    lastPushOp: str(r.last_push_op),
    pendingReported: num(r.pending_reported),
    pendingReportedMs: num(r.pending_reported_ms),
    revokedMs: num(r.revoked_ms),
    enrolExpiresMs: r.status === 'pending' ? num(r.enrol_expires_ms) : undefined,
  };
}

/** A device's name as given by a person: trimmed, 1-100 characters, no control characters. */
export function checkDeviceName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string') throw invalid(field, 'must be a string');
  const t = name.trim();
  if (t === '' || t.length > 100) throw invalid(field, 'must be 1-100 characters');
  if (/[\u0000-\u001f\u007f]/.test(t)) throw invalid(field, 'must not hold control characters');
  return t;
}

/** The facts as the tables keep them: strings at most 100 characters, counts whole numbers. */
export function factColumns(f: DeviceFacts): {
  platform: string | null;
  arch: string | null;
  cpus: number | null;
  memory_bytes: number | null;
  version: string | null;
} {
  const s = (v: string | undefined) => (v === undefined || v === '' ? null : v.slice(0, 100));
  const n = (v: number | undefined, max: number) =>
    v !== undefined && Number.isSafeInteger(v) && v >= 0 && v <= max ? v : null;
  return {
    platform: s(f.platform),
    arch: s(f.arch),
    cpus: n(f.cpus, 1_000_000),
    memory_bytes: n(f.memoryBytes, Number.MAX_SAFE_INTEGER),
    version: s(f.version),
  };
}

export function noDevice(id: string): HephError {
  return new HephError('not_found', `no device ${JSON.stringify(id)} on this hub`, { id });
}

export function notPending(d: DeviceRecord): HephError {
  return new HephError(
    'conflict',
    `device ${d.id} (${d.name}) is ${d.status}, not pending: only a pending device's enrolment ` +
      'token can be made again; enrol the machine as a new device instead',
    { id: d.id, status: d.status },
  );
}

export function replicaRevoked(replica: string): HephError {
  return new HephError(
    'device_revoked',
    `replica ${replica} belongs to a device that was revoked on this hub; a revoked replica ` +
      'never syncs again. Enrol the machine anew: `heph device enroll --name NAME` on a ' +
      'signed-in machine, then `heph auth enroll` on this one, which gives it a new replica id ' +
      'and uploads what the hub never received',
    { replica },
  );
}

/** A 64-hex SHA-256, as the stores take hashes. */
export function checkHash(hash: string, field: string): void {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw invalid(field, 'must be a SHA-256 in hex');
}

/** Thrown inside an exchange's transaction to undo it (its device is no longer pending): the
 *  store answers as for an unknown token. A HephError, so error translation passes it on. */
export class TokenRefused extends HephError {
  constructor() {
    super('unauthorized', 'the enrolment token is not valid');
  }
}
