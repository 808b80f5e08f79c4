// Reading a stopped SQLite hub store out whole, for `hephd hub-migrate` (hub/hub-migrate.ts).
// Guarantees: the file is held under SQLite's exclusive lock while it is read (a running hub has
// it, so a running hub is refused, and none can start meanwhile); it must be a hub store at this
// version's schema (an older one is migrated first, as a start of the hub would); every owner's
// ops come in stamp order, in batches, with their stamps as stored (so devices keep their
// cursors), and the stamps the log lacks (recorded gaps) with them; the device registry (devices,
// credential and enrolment token hashes) comes whole, so every device keeps its credential.

import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { HephError } from '../../core/errors.js';
import type { OwnerId, OwnerIdentity } from '../../ports/hub-store.js';
import { lockExclusively, translateSqliteError } from '../../store/sqlite-errors.js';
import { migrateHub } from './sqlite-schema.js';
import { MAX_STAMP, opKey } from './sqlite.js';

export interface ExportedOwner {
  id: OwnerId;
  /** Undefined for the hub's own owner (1). */
  identity: OwnerIdentity | undefined;
  createdMs: number;
  /** The newest stamp (0: an empty log). */
  head: number;
  ops: number;
  gaps: number[];
}

export interface ExportedOp {
  stamp: number;
  id: string;
  text: string;
}

/** The device registry's tables, copied row for row (both backends name their columns alike). */
export const DEVICE_TABLES = ['devices', 'device_credentials', 'enrolment_tokens'] as const;
export type DeviceTable = (typeof DEVICE_TABLES)[number];

export interface HubExport {
  owners: ExportedOwner[];
  /** Every row of the device tables, devices first. */
  deviceRows: Record<DeviceTable, Record<string, unknown>[]>;
  claim: (OwnerIdentity & { claimedMs: number }) | undefined;
  totalOps: number;
  /** An owner's ops in stamp order, `batch` at a time. */
  ops(owner: OwnerId, batch: number): Generator<ExportedOp[]>;
  close(): void;
}

export function openHubExport(path: string, now: number): HubExport {
  if (!existsSync(path)) {
    throw new HephError(
      'not_found',
      `${path} does not exist: give the data directory of a hub of this version (one whose ` +
        'folder holds hub.db); a data directory of an earlier version is upgraded by starting ' +
        'this version’s hub on it once',
      { path },
    );
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    lockExclusively(db, path, 'hub store');
    migrateHub(db, path, now);
  } catch (e) {
    db?.close();
    if (e instanceof HephError && e.code === 'already_running') {
      throw new HephError(
        'already_running',
        `${path} is in use: stop the hub before copying its store (a running hub could take ` +
          'pushes the copy would miss)',
        { path },
      );
    }
    throw translateSqliteError(e, `cannot open hub store ${path}`);
  }
  const d = db;
  const owners = (
    d.prepare('SELECT id, iss, sub, created_ms FROM owners ORDER BY id').all() as {
      id: number;
      iss: string | null;
      sub: string | null;
      created_ms: number;
    }[]
  ).map((o): ExportedOwner => {
    const lo = opKey(o.id, 0);
    const hi = opKey(o.id, MAX_STAMP);
    const r = d
      .prepare('SELECT count(*) AS n, max(key) AS k FROM ops WHERE key > ? AND key <= ?')
      .get(lo, hi) as { n: number; k: number | null };
    const gaps = d
      .prepare('SELECT stamp FROM stamp_gaps WHERE owner = ? ORDER BY stamp')
      .pluck()
      .all(o.id) as number[];
    const lastGap = gaps.length === 0 ? 0 : gaps[gaps.length - 1]!;
    return {
      id: o.id,
      identity: o.iss === null || o.sub === null ? undefined : { iss: o.iss, sub: o.sub },
      createdMs: o.created_ms,
      head: Math.max(r.k === null ? 0 : r.k - lo, lastGap),
      ops: r.n,
      gaps,
    };
  });
  const claim = d.prepare('SELECT iss, sub, claimed_ms FROM claim WHERE one = 1').get() as
    { iss: string; sub: string; claimed_ms: number } | undefined;
  const page = d.prepare(
    'SELECT key, id, op FROM ops WHERE key > ? AND key <= ? ORDER BY key LIMIT ?',
  );
  return {
    owners,
    claim:
      claim === undefined
        ? undefined
        : { iss: claim.iss, sub: claim.sub, claimedMs: claim.claimed_ms },
    deviceRows: Object.fromEntries(
      DEVICE_TABLES.map((t) => [
        t,
        d.prepare(`SELECT * FROM ${t}`).all() as Record<string, unknown>[],
      ]),
    ) as HubExport['deviceRows'],
    totalOps: owners.reduce((n, o) => n + o.ops, 0),
    *ops(owner, batch) {
      const base = opKey(owner, 0);
      let from = base;
      for (;;) {
        const rows = page.all(from, opKey(owner, MAX_STAMP), batch) as {
          key: number;
          id: string;
          op: string;
        }[];
        if (rows.length === 0) return;
        yield rows.map((r) => ({ stamp: r.key - base, id: r.id, text: r.op }));
        from = rows[rows.length - 1]!.key;
      }
    },
    close: () => d.close(),
  };
}
