// The device registry of the PostgreSQL hub store (postgres.ts): devices, their credentials and
// enrolment tokens (schema version 2 in postgres-schema.ts). Any number of hub processes use
// these at once; correctness comes from the statements. Guarantees:
// - an enrolment token is consumed by one conditional UPDATE (unused, unexpired): concurrent
//   exchanges of one token queue on its row, and those after the first find it used, so its
//   affected-row count lets exactly one through; the device is activated (only while still
//   pending) and its credential stored in the same transaction, or nothing is kept;
// - a revocation takes the owner's counter row (heph.heads) FOR UPDATE, as a push does: a push
//   either committed before it or reads the revocation after it (appendDeviceChecks);
// - a rotation deletes the old credential (only of an active device) and stores the new one in
//   one transaction: of two concurrent rotations with one credential, one finds nothing to delete.

import type pg from 'pg';
import { HephError } from '../../core/errors.js';
import { isHlcString, isOrigin } from '../../core/hlc.js';
import type {
  DeviceFacts,
  DeviceRecord,
  DeviceTouch,
  CredentialIssue,
  EnrolmentExchange,
  NewEnrolment,
  OwnerId,
} from '../../ports/hub-store.js';
import {
  checkDeviceName,
  checkHash,
  factColumns,
  noDevice,
  notPending,
  replicaRevoked,
  selectDevices,
  toDevice,
  TokenRefused,
} from './device-rows.js';

const SELECT = selectDevices('heph.');

type Q = Pick<pg.PoolClient, 'query'>;

async function one(c: Q, owner: OwnerId, idOrReplica: string): Promise<DeviceRecord | undefined> {
  const r = await c.query(`${SELECT} WHERE d.owner = $1 AND (d.id = $2 OR d.replica = $2)`, [
    owner,
    idOrReplica,
  ]);
  return r.rows.length === 0 ? undefined : toDevice(r.rows[0] as Record<string, unknown>);
}

async function mustFind(c: Q, owner: OwnerId, idOrReplica: string): Promise<DeviceRecord> {
  const d = await one(c, owner, idOrReplica);
  if (d === undefined) throw noDevice(idOrReplica);
  return d;
}

export const pgDevices = {
  async list(c: Q, owner: OwnerId): Promise<DeviceRecord[]> {
    const r = await c.query(`${SELECT} WHERE d.owner = $1 ORDER BY d.created_ms, d.id`, [owner]);
    return r.rows.map((row) => toDevice(row as Record<string, unknown>));
  },

  find: one,

  async register(
    c: Q,
    owner: OwnerId,
    replica: string,
    fresh: { id: string; name: string; facts: DeviceFacts },
    now: number,
  ): Promise<DeviceRecord> {
    if (!isOrigin(replica)) throw new HephError('invalid_params', 'not a replica id');
    const f = factColumns(fresh.facts);
    await c.query(
      `INSERT INTO heph.devices (id, owner, replica, name, status, platform, arch, cpus,
         memory_bytes, version, created_ms, first_seen_ms, last_seen_ms)
       VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9, $10::bigint, $10, $10)
       ON CONFLICT (owner, replica) DO NOTHING`,
      [
        fresh.id,
        owner,
        replica,
        checkDeviceName(fresh.name),
        f.platform,
        f.arch,
        f.cpus,
        f.memory_bytes,
        f.version,
        now,
      ],
    );
    return mustFind(c, owner, replica);
  },

  async touch(c: Q, t: DeviceTouch): Promise<void> {
    const f = factColumns(t.facts ?? {});
    await c.query(
      `UPDATE heph.devices SET last_seen_ms = greatest(coalesce(last_seen_ms, 0), $3),
         first_seen_ms = coalesce(first_seen_ms, $3), cursor = coalesce($4::bigint, cursor),
         platform = coalesce($5, platform), arch = coalesce($6, arch),
         cpus = coalesce($7::integer, cpus), memory_bytes = coalesce($8::bigint, memory_bytes),
         version = coalesce($9, version)
       WHERE owner = $1 AND id = $2`,
      [
        t.owner,
        t.id,
        t.seenMs,
        t.cursor ?? null,
        f.platform,
        f.arch,
        f.cpus,
        f.memory_bytes,
        f.version,
      ],
    );
  },

  async rename(c: Q, owner: OwnerId, id: string, name: string): Promise<DeviceRecord> {
    const d = await mustFind(c, owner, id);
    await c.query('UPDATE heph.devices SET name = $1 WHERE owner = $2 AND id = $3', [
      checkDeviceName(name),
      owner,
      d.id,
    ]);
    return mustFind(c, owner, d.id);
  },

  /** In a transaction: after the owner's counter row, as a push takes it. */
  async revoke(c: Q, owner: OwnerId, id: string, now: number): Promise<DeviceRecord> {
    await c.query('SELECT stamp FROM heph.heads WHERE owner = $1 FOR UPDATE', [owner]);
    const d = await mustFind(c, owner, id);
    await c.query(
      `UPDATE heph.devices SET status = 'revoked', revoked_ms = $3
       WHERE owner = $1 AND id = $2 AND status <> 'revoked'`,
      [owner, d.id, now],
    );
    return mustFind(c, owner, d.id);
  },

  /** In a transaction. */
  async createEnrolment(c: Q, e: NewEnrolment, now: number): Promise<DeviceRecord> {
    checkHash(e.tokenHash, 'token');
    await c.query(
      `INSERT INTO heph.devices (id, owner, replica, name, status, created_ms)
       VALUES ($1, $2, NULL, $3, 'pending', $4)`,
      [e.id, e.owner, checkDeviceName(e.name), now],
    );
    await c.query(
      `INSERT INTO heph.enrolment_tokens (hash, device, owner, created_ms, expires_ms)
       VALUES ($1, $2, $3, $4, $5)`,
      [e.tokenHash, e.id, e.owner, now, e.expiresMs],
    );
    return mustFind(c, e.owner, e.id);
  },

  /** In a transaction: the unused tokens first (an exchange takes a token row, then its
   *  device), then the device, still pending. */
  async regenerate(
    c: Q,
    owner: OwnerId,
    id: string,
    tokenHash: string,
    expiresMs: number,
    now: number,
  ): Promise<DeviceRecord> {
    checkHash(tokenHash, 'token');
    const d = await mustFind(c, owner, id);
    await c.query(
      'DELETE FROM heph.enrolment_tokens WHERE device = $1 AND owner = $2 AND used_ms IS NULL',
      [d.id, owner],
    );
    const still = await c.query(
      "SELECT 1 FROM heph.devices WHERE id = $1 AND owner = $2 AND status = 'pending' FOR UPDATE",
      [d.id, owner],
    );
    if (still.rowCount !== 1) throw notPending(await mustFind(c, owner, d.id));
    await c.query(
      `INSERT INTO heph.enrolment_tokens (hash, device, owner, created_ms, expires_ms)
       VALUES ($1, $2, $3, $4, $5)`,
      [tokenHash, d.id, owner, now, expiresMs],
    );
    return mustFind(c, owner, d.id);
  },

  /** In a transaction (see the guarantees above). */
  async exchange(c: Q, x: EnrolmentExchange, now: number): Promise<DeviceRecord | undefined> {
    checkHash(x.tokenHash, 'token');
    checkHash(x.credentialHash, 'credential');
    if (!isOrigin(x.replica)) throw new HephError('invalid_params', 'not a replica id');
    const used = await c.query<{ device: string; owner: string }>(
      `UPDATE heph.enrolment_tokens SET used_ms = $2
       WHERE hash = $1 AND used_ms IS NULL AND expires_ms > $2 RETURNING device, owner`,
      [x.tokenHash, now],
    );
    if (used.rowCount !== 1) return undefined;
    const device = used.rows[0]!.device;
    const owner = Number(used.rows[0]!.owner);
    const prior = await c.query(`${SELECT} WHERE d.owner = $1 AND d.replica = $2 FOR UPDATE OF d`, [
      owner,
      x.replica,
    ]);
    const before =
      prior.rows.length === 0 ? undefined : toDevice(prior.rows[0] as Record<string, unknown>);
    if (before?.status === 'revoked') throw replicaRevoked(x.replica);
    if (before !== undefined) {
      // The replica synced before (with its owner's login): one device, its history kept.
      await c.query('DELETE FROM heph.devices WHERE owner = $1 AND id = $2', [owner, before.id]);
    }
    const f = factColumns(x.facts);
    const activated = await c.query(
      `UPDATE heph.devices SET status = 'active', replica = $3, platform = $4, arch = $5,
         cpus = $6, memory_bytes = $7, version = $8,
         first_seen_ms = coalesce($9::bigint, $10::bigint), last_seen_ms = $10, cursor = $11, ops_pushed = $12, last_push_ms = $13,
         last_push_op = $14, pending_reported = $15, pending_reported_ms = $16
       WHERE id = $1 AND owner = $2 AND status = 'pending'`,
      [
        device,
        owner,
        x.replica,
        f.platform,
        f.arch,
        f.cpus,
        f.memory_bytes,
        f.version,
        before?.firstSeenMs ?? null,
        now,
        before?.cursor ?? null,
        before?.opsPushed ?? 0,
        before?.lastPushMs ?? null,
        before?.lastPushOp ?? null,
        before?.pendingReported ?? null,
        before?.pendingReportedMs ?? null,
      ],
    );
    if (activated.rowCount !== 1) throw new TokenRefused();
    await c.query(
      `INSERT INTO heph.device_credentials (hash, device, owner, replica, created_ms)
       VALUES ($1, $2, $3, $4, $5)`,
      [x.credentialHash, device, owner, x.replica, now],
    );
    return mustFind(c, owner, device);
  },

  /** In a transaction: the replica's row is locked (or made) before its credentials change. */
  async issue(c: Q, x: CredentialIssue, now: number): Promise<DeviceRecord> {
    checkHash(x.credentialHash, 'credential');
    const d = await pgDevices.register(c, x.owner, x.replica, { ...x.fresh, facts: x.facts }, now);
    const locked = await c.query(
      `SELECT status FROM heph.devices WHERE owner = $1 AND id = $2 FOR UPDATE`,
      [x.owner, d.id],
    );
    if ((locked.rows[0] as { status?: unknown } | undefined)?.status === 'revoked') {
      throw replicaRevoked(x.replica);
    }
    const f = factColumns(x.facts);
    await c.query(
      `UPDATE heph.devices SET platform = coalesce($3, platform), arch = coalesce($4, arch),
         cpus = coalesce($5, cpus), memory_bytes = coalesce($6, memory_bytes),
         version = coalesce($7, version),
         name = CASE WHEN name = replica THEN $8 ELSE name END
       WHERE owner = $1 AND id = $2`,
      [
        x.owner,
        d.id,
        f.platform,
        f.arch,
        f.cpus,
        f.memory_bytes,
        f.version,
        checkDeviceName(x.fresh.name),
      ],
    );
    await c.query('DELETE FROM heph.device_credentials WHERE device = $1', [d.id]);
    await c.query(
      `INSERT INTO heph.device_credentials (hash, device, owner, replica, created_ms)
       VALUES ($1, $2, $3, $4, $5)`,
      [x.credentialHash, d.id, x.owner, x.replica, now],
    );
    return mustFind(c, x.owner, d.id);
  },

  async byCredential(c: Q, hash: string): Promise<DeviceRecord | undefined> {
    checkHash(hash, 'credential');
    const r = await c.query(
      `${SELECT} JOIN heph.device_credentials c ON c.device = d.id
       WHERE c.hash = $1 AND c.owner = d.owner AND c.replica = d.replica`,
      [hash],
    );
    return r.rows.length === 0 ? undefined : toDevice(r.rows[0] as Record<string, unknown>);
  },

  /** In a transaction. */
  async rotate(c: Q, oldHash: string, newHash: string, now: number): Promise<boolean> {
    checkHash(oldHash, 'credential');
    checkHash(newHash, 'credential');
    const gone = await c.query<{ device: string; owner: string; replica: string }>(
      `DELETE FROM heph.device_credentials c USING heph.devices d
       WHERE c.hash = $1 AND d.id = c.device AND d.status = 'active'
       RETURNING c.device, c.owner, c.replica`,
      [oldHash],
    );
    if (gone.rowCount !== 1) return false;
    const g = gone.rows[0]!;
    await c.query(
      `INSERT INTO heph.device_credentials (hash, device, owner, replica, created_ms)
       VALUES ($1, $2, $3, $4, $5)`,
      [newHash, g.device, g.owner, g.replica, now],
    );
    return true;
  },
};

/**
 * The statement, for an append's first round trip (after its counter rows are locked), that
 * reads which of the pushes' origins belong to revoked devices. Owners and origins are checked
 * literals (they come from parsed op ids).
 */
export function revokedOriginsQuery(owners: string, origins: readonly string[]): string {
  const list = origins.filter(isOrigin).map((o) => `'${o}'`);
  if (list.length === 0) return 'SELECT NULL::bigint AS owner, NULL::text AS replica WHERE false';
  return (
    `SELECT owner, replica FROM heph.devices WHERE status = 'revoked' AND owner IN (${owners}) ` +
    `AND replica IN (${list.join(',')})`
  );
}

/** The statement, sent with an append's COMMIT, that moves a pushing device's counters. */
export function pushedStatement(
  owner: string,
  replica: string,
  accepted: number,
  op: string | undefined,
  pending: number | undefined,
  now: number,
): string {
  if (!isOrigin(replica) || !Number.isSafeInteger(accepted) || !Number.isSafeInteger(now)) {
    return '';
  }
  const newest = op !== undefined && isHlcString(op) ? `'${op}'` : 'NULL';
  const reported = pending !== undefined && Number.isSafeInteger(pending) && pending >= 0;
  return (
    `UPDATE heph.devices SET ops_pushed = ops_pushed + ${accepted}, last_push_ms = ${now}, ` +
    `last_push_op = CASE WHEN ${newest}::text IS NOT NULL AND (last_push_op IS NULL OR ` +
    `last_push_op < ${newest}) THEN ${newest} ELSE last_push_op END` +
    (reported ? `, pending_reported = ${pending}, pending_reported_ms = ${now}` : '') +
    ` WHERE owner = ${owner} AND replica = '${replica}' AND status = 'active'; `
  );
}
