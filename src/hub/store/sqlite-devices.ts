// The device registry of the SQLite hub store (sqlite.ts): devices, their credentials and
// enrolment tokens in hub.db (schema in sqlite-schema.ts). One process holds the file, and every
// method here is one synchronous SQLite transaction, so nothing interleaves with it. Guarantees:
// an enrolment token is consumed by a conditional UPDATE (unused, unexpired, its device
// pending) whose affected-row count decides, in the transaction that activates the device and
// stores its credential; a replica already registered active for the owner is folded into the
// enrolled device (its history kept, its old credentials dropped); a revoked replica is refused
// and the token left unused; a credential issued on an owner's login (issue) keeps the replica's
// device and drops its older credentials in the transaction that stores the new one; a rotation deletes the old credential in the transaction that
// stores the new one.

import type Database from 'better-sqlite3';
import { HephError } from '../../core/errors.js';
import { isOrigin } from '../../core/hlc.js';
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

const SELECT = selectDevices('');

export function prepareDevices(db: Database.Database) {
  return {
    list: db.prepare(`${SELECT} WHERE d.owner = ? ORDER BY d.created_ms, d.id`),
    byId: db.prepare(`${SELECT} WHERE d.owner = ? AND (d.id = ? OR d.replica = ?)`),
    byReplica: db.prepare(`${SELECT} WHERE d.owner = ? AND d.replica = ?`),
    byCredential: db.prepare(
      `${SELECT} JOIN device_credentials c ON c.device = d.id
       WHERE c.hash = ? AND c.owner = d.owner AND c.replica = d.replica`,
    ),
    register: db.prepare(
      `INSERT INTO devices (id, owner, replica, name, status, platform, arch, cpus, memory_bytes,
         version, created_ms, first_seen_ms, last_seen_ms)
       VALUES (@id, @owner, @replica, @name, 'active', @platform, @arch, @cpus, @memory_bytes,
         @version, @now, @now, @now)
       ON CONFLICT (owner, replica) DO NOTHING`,
    ),
    touch: db.prepare(
      `UPDATE devices SET last_seen_ms = max(coalesce(last_seen_ms, 0), @seen),
         first_seen_ms = coalesce(first_seen_ms, @seen), cursor = coalesce(@cursor, cursor),
         platform = coalesce(@platform, platform), arch = coalesce(@arch, arch),
         cpus = coalesce(@cpus, cpus), memory_bytes = coalesce(@memory_bytes, memory_bytes),
         version = coalesce(@version, version)
       WHERE owner = @owner AND id = @id`,
    ),
    rename: db.prepare('UPDATE devices SET name = ? WHERE owner = ? AND id = ?'),
    revoke: db.prepare(
      `UPDATE devices SET status = 'revoked', revoked_ms = ?
       WHERE owner = ? AND id = ? AND status <> 'revoked'`,
    ),
    createPending: db.prepare(
      `INSERT INTO devices (id, owner, replica, name, status, created_ms)
       VALUES (?, ?, NULL, ?, 'pending', ?)`,
    ),
    addToken: db.prepare(
      `INSERT INTO enrolment_tokens (hash, device, owner, created_ms, expires_ms)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    dropUnusedTokens: db.prepare(
      'DELETE FROM enrolment_tokens WHERE device = ? AND owner = ? AND used_ms IS NULL',
    ),
    consume: db.prepare(
      `UPDATE enrolment_tokens SET used_ms = @now
       WHERE hash = @hash AND used_ms IS NULL AND expires_ms > @now
       RETURNING device, owner`,
    ),
    activate: db.prepare(
      `UPDATE devices SET status = 'active', replica = @replica, platform = @platform,
         arch = @arch, cpus = @cpus, memory_bytes = @memory_bytes, version = @version,
         first_seen_ms = coalesce(@first_seen, @now), last_seen_ms = @now,
         cursor = @cursor, ops_pushed = @ops_pushed, last_push_ms = @last_push_ms,
         last_push_op = @last_push_op, pending_reported = @pending_reported,
         pending_reported_ms = @pending_reported_ms
       WHERE id = @id AND owner = @owner AND status = 'pending'`,
    ),
    refresh: db.prepare(
      `UPDATE devices SET platform = coalesce(@platform, platform), arch = coalesce(@arch, arch),
         cpus = coalesce(@cpus, cpus), memory_bytes = coalesce(@memory_bytes, memory_bytes),
         version = coalesce(@version, version),
         name = CASE WHEN name = replica THEN @name ELSE name END
       WHERE owner = @owner AND id = @id`,
    ),
    forget: db.prepare('DELETE FROM devices WHERE owner = ? AND id = ?'),
    forgetCredentials: db.prepare('DELETE FROM device_credentials WHERE device = ?'),
    forgetTokens: db.prepare('DELETE FROM enrolment_tokens WHERE device = ?'),
    addCredential: db.prepare(
      `INSERT INTO device_credentials (hash, device, owner, replica, created_ms)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    rotate: db.prepare(
      `DELETE FROM device_credentials WHERE hash = ? AND device IN
         (SELECT id FROM devices WHERE status = 'active') RETURNING device, owner, replica`,
    ),
    revokedOrigin: db
      .prepare("SELECT 1 FROM devices WHERE owner = ? AND replica = ? AND status = 'revoked'")
      .pluck(),
    pushed: db.prepare(
      `UPDATE devices SET ops_pushed = ops_pushed + @accepted, last_push_ms = @now,
         last_push_op = CASE WHEN @op IS NOT NULL AND (last_push_op IS NULL OR last_push_op < @op)
           THEN @op ELSE last_push_op END,
         pending_reported = coalesce(@pending, pending_reported),
         pending_reported_ms = CASE WHEN @pending IS NULL THEN pending_reported_ms ELSE @now END
       WHERE owner = @owner AND replica = @replica AND status = 'active'`,
    ),
  };
}

type Stmts = ReturnType<typeof prepareDevices>;

function one(s: Stmts, owner: OwnerId, idOrReplica: string): DeviceRecord | undefined {
  const row = s.byId.get(owner, idOrReplica, idOrReplica) as Record<string, unknown> | undefined;
  return row === undefined ? undefined : toDevice(row);
}

function mustFind(s: Stmts, owner: OwnerId, idOrReplica: string): DeviceRecord {
  const d = one(s, owner, idOrReplica);
  if (d === undefined) throw noDevice(idOrReplica);
  return d;
}

/** The device methods of the store; `tx` runs a function in one transaction. */
export function sqliteDevices(s: Stmts, tx: <T>(fn: () => T) => T) {
  return {
    list: (owner: OwnerId): DeviceRecord[] =>
      (s.list.all(owner) as Record<string, unknown>[]).map(toDevice),

    find: (owner: OwnerId, idOrReplica: string) => one(s, owner, idOrReplica),

    register(
      owner: OwnerId,
      replica: string,
      fresh: { id: string; name: string; facts: DeviceFacts },
      now: number,
    ): DeviceRecord {
      if (!isOrigin(replica)) throw new HephError('invalid_params', 'not a replica id');
      return tx(() => {
        s.register.run({
          id: fresh.id,
          owner,
          replica,
          name: checkDeviceName(fresh.name),
          now,
          ...factColumns(fresh.facts),
        });
        return toDevice(s.byReplica.get(owner, replica) as Record<string, unknown>);
      });
    },

    touch(t: DeviceTouch): void {
      s.touch.run({
        owner: t.owner,
        id: t.id,
        seen: t.seenMs,
        cursor: t.cursor ?? null,
        ...factColumns(t.facts ?? {}),
      });
    },

    rename: (owner: OwnerId, id: string, name: string): DeviceRecord =>
      tx(() => {
        const d = mustFind(s, owner, id);
        s.rename.run(checkDeviceName(name), owner, d.id);
        return mustFind(s, owner, d.id);
      }),

    revoke: (owner: OwnerId, id: string, now: number): DeviceRecord =>
      tx(() => {
        const d = mustFind(s, owner, id);
        s.revoke.run(now, owner, d.id);
        return mustFind(s, owner, d.id);
      }),

    createEnrolment(e: NewEnrolment, now: number): DeviceRecord {
      checkHash(e.tokenHash, 'token');
      const name = checkDeviceName(e.name);
      return tx(() => {
        s.createPending.run(e.id, e.owner, name, now);
        s.addToken.run(e.tokenHash, e.id, e.owner, now, e.expiresMs);
        return mustFind(s, e.owner, e.id);
      });
    },

    regenerate: (owner: OwnerId, id: string, tokenHash: string, expiresMs: number, now: number) =>
      tx(() => {
        checkHash(tokenHash, 'token');
        const d = mustFind(s, owner, id);
        if (d.status !== 'pending') throw notPending(d);
        s.dropUnusedTokens.run(d.id, owner);
        s.addToken.run(tokenHash, d.id, owner, now, expiresMs);
        return mustFind(s, owner, d.id);
      }),

    exchange: (x: EnrolmentExchange, now: number): DeviceRecord | undefined =>
      tx(() => {
        checkHash(x.tokenHash, 'token');
        checkHash(x.credentialHash, 'credential');
        if (!isOrigin(x.replica)) throw new HephError('invalid_params', 'not a replica id');
        // The conditional update decides: a used, expired or unknown token changes no row.
        const used = s.consume.get({ hash: x.tokenHash, now }) as
          { device: string; owner: number } | undefined;
        if (used === undefined) return undefined;
        const owner = used.owner;
        const prior = s.byReplica.get(owner, x.replica) as Record<string, unknown> | undefined;
        const before = prior === undefined ? undefined : toDevice(prior);
        if (before?.status === 'revoked') throw replicaRevoked(x.replica);
        if (before !== undefined) {
          // The replica synced before (with its owner's login): one device, its history kept.
          s.forgetCredentials.run(before.id);
          s.forgetTokens.run(before.id);
          s.forget.run(owner, before.id);
        }
        const changed = s.activate.run({
          id: used.device,
          owner,
          replica: x.replica,
          now,
          ...factColumns(x.facts),
          first_seen: before?.firstSeenMs ?? null,
          cursor: before?.cursor ?? null,
          ops_pushed: before?.opsPushed ?? 0,
          last_push_ms: before?.lastPushMs ?? null,
          last_push_op: before?.lastPushOp ?? null,
          pending_reported: before?.pendingReported ?? null,
          pending_reported_ms: before?.pendingReportedMs ?? null,
        }).changes;
        if (changed !== 1) {
          // Its device is no longer pending (revoked meanwhile): nothing of this is kept.
          throw new TokenRefused();
        }
        s.addCredential.run(x.credentialHash, used.device, owner, x.replica, now);
        return mustFind(s, owner, used.device);
      }),

    issue: (x: CredentialIssue, now: number): DeviceRecord =>
      tx(() => {
        checkHash(x.credentialHash, 'credential');
        if (!isOrigin(x.replica)) throw new HephError('invalid_params', 'not a replica id');
        const name = checkDeviceName(x.fresh.name);
        const prior = s.byReplica.get(x.owner, x.replica) as Record<string, unknown> | undefined;
        const before = prior === undefined ? undefined : toDevice(prior);
        if (before?.status === 'revoked') throw replicaRevoked(x.replica);
        const facts = factColumns(x.facts);
        if (before === undefined) {
          s.register.run({
            id: x.fresh.id,
            owner: x.owner,
            replica: x.replica,
            name,
            now,
            ...facts,
          });
        }
        const d = toDevice(s.byReplica.get(x.owner, x.replica) as Record<string, unknown>);
        s.refresh.run({ owner: x.owner, id: d.id, name, ...facts });
        s.forgetCredentials.run(d.id);
        s.addCredential.run(x.credentialHash, d.id, x.owner, x.replica, now);
        return mustFind(s, x.owner, d.id);
      }),

    byCredential(hash: string): DeviceRecord | undefined {
      checkHash(hash, 'credential');
      const row = s.byCredential.get(hash) as Record<string, unknown> | undefined;
      return row === undefined ? undefined : toDevice(row);
    },

    rotate: (oldHash: string, newHash: string, now: number): boolean =>
      tx(() => {
        checkHash(oldHash, 'credential');
        checkHash(newHash, 'credential');
        const gone = s.rotate.get(oldHash) as
          { device: string; owner: number; replica: string } | undefined;
        if (gone === undefined) return false;
        s.addCredential.run(newHash, gone.device, gone.owner, gone.replica, now);
        return true;
      }),

    revokedOrigin: (owner: OwnerId, origin: string): boolean =>
      s.revokedOrigin.get(owner, origin) !== undefined,

    pushed(
      owner: OwnerId,
      replica: string,
      accepted: number,
      op: string | undefined,
      pending: number | undefined,
      now: number,
    ): void {
      s.pushed.run({ owner, replica, accepted, op: op ?? null, pending: pending ?? null, now });
    },
  };
}
