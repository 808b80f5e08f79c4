// The SQLite hub store's schema: one file (hub.db) for every owner's op-log and the control
// plane. PRAGMA application_id marks the file as a hub store (a device database has none), and
// PRAGMA user_version is its schema version: HUB_SCHEMA is version 1, and HUB_MIGRATIONS[i]
// upgrades version i + 1 to i + 2 (a new file gets all of them). Tables the next versions add (devices, credentials,
// API keys, audit, integrations) come as migrations; none of this is ever synced to devices.
// migrateHub creates or upgrades a file in one transaction: it ends at the current version or
// unchanged, and refuses a file that is not a hub store or is newer than this version.

import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { HephError } from '../../core/errors.js';
import { HUB_OWNER } from '../../ports/hub-store.js';

/**
 * The page size of a new hub store file (set before anything is written; a file keeps the one
 * it was made with). A push's commit then writes about a quarter as many WAL frames (SQLite
 * writes each with two system calls) for the same bytes: in plain better-sqlite3 on the ops
 * table, commits of 1,000 ops at synchronous=FULL used 1.3 to 1.5 ms of system time each
 * instead of 2.0 to 2.5 with 4 KB pages, and 9 to 10 ms of wall time instead of 13 to 15.5.
 */
export const HUB_PAGE_SIZE = 16384;

/** 'heph' in ASCII: the application id of a hub store file. */
export const HUB_APPLICATION_ID = 0x68657068;

export const HUB_SCHEMA = `
-- Facts about this store: store_id (random, made at creation), created_ms, upgraded (what an
-- in-place upgrade from the earlier layout did, as JSON).
CREATE TABLE hub_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- Whose data the hub keeps. Owner 1 is the hub's own (an open hub's data, and the data of the
-- account that claimed or is pinned as the hub's owner); every other owner is an account
-- (issuer, subject), created on its first authenticated request.
CREATE TABLE owners (
  id         INTEGER PRIMARY KEY,
  iss        TEXT,
  sub        TEXT,
  created_ms INTEGER NOT NULL,
  UNIQUE (iss, sub),
  CHECK ((id = 1) = (iss IS NULL AND sub IS NULL))
);

-- The account that signed in first and so claimed the hub (at most one row).
CREATE TABLE claim (
  one        INTEGER PRIMARY KEY CHECK (one = 1),
  iss        TEXT NOT NULL,
  sub        TEXT NOT NULL,
  claimed_ms INTEGER NOT NULL
);

-- Every owner's op-log, in one table ordered by (owner, arrival stamp): key is
-- owner * 2^33 + stamp (see opKey in sqlite.ts), so an owner's log is one range of the table
-- itself and a push writes two b-trees (the table and ops_id), not three. stamp: the owner's
-- arrival stamp (1, 2, 3, … in commit order; a pull cursor); op: the op's canonical text,
-- served as stored; ops_id: an owner's ops by id (duplicates and reused ids).
CREATE TABLE ops (
  key   INTEGER PRIMARY KEY,
  owner INTEGER NOT NULL REFERENCES owners (id),
  id    TEXT NOT NULL,
  op    TEXT NOT NULL
);
CREATE UNIQUE INDEX ops_id ON ops (owner, id);

-- Stamps below an owner's newest that hold no op. New stamps never leave one; an upgrade from
-- the earlier layout keeps every old stamp and records here any its log lacked, so that the
-- count of ops after a cursor stays a subtraction.
CREATE TABLE stamp_gaps (
  owner INTEGER NOT NULL,
  stamp INTEGER NOT NULL,
  PRIMARY KEY (owner, stamp)
) WITHOUT ROWID;
`;

/** Version 2: the device registry, device credentials and enrolment tokens. */
export const DEVICES_SCHEMA = `
-- Every device that syncs an owner's data: enrolled ones (pending until their enrolment token
-- is exchanged, then active), and those registered when they first synced with their owner's
-- login or on an open hub. replica is its op origin (NULL while pending); last_seen_ms and
-- cursor are written at most every 30 s per hub process; the push counters move in the push's
-- own transaction. A revoked device stays, so that its replica's ops are refused for good.
CREATE TABLE devices (
  id                  TEXT PRIMARY KEY,
  owner               INTEGER NOT NULL REFERENCES owners (id),
  replica             TEXT,
  name                TEXT NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
  platform            TEXT,
  arch                TEXT,
  cpus                INTEGER,
  memory_bytes        INTEGER,
  version             TEXT,
  created_ms          INTEGER NOT NULL,
  first_seen_ms       INTEGER,
  last_seen_ms        INTEGER,
  cursor              INTEGER,
  ops_pushed          INTEGER NOT NULL DEFAULT 0,
  last_push_ms        INTEGER,
  last_push_op        TEXT,
  pending_reported    INTEGER,
  pending_reported_ms INTEGER,
  revoked_ms          INTEGER,
  CHECK (status = 'revoked' OR (status = 'pending') = (replica IS NULL))
);
CREATE UNIQUE INDEX devices_replica ON devices (owner, replica);

-- Device credentials (hd_…), by the SHA-256 of the secret; bound to the device's owner and
-- replica. A rotation replaces the row; a revocation leaves it, so the device is told why.
CREATE TABLE device_credentials (
  hash       TEXT PRIMARY KEY,
  device     TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  owner      INTEGER NOT NULL,
  replica    TEXT NOT NULL,
  created_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX device_credentials_device ON device_credentials (device);

-- One-time enrolment tokens, by the SHA-256 of the secret: used_ms is set by the one exchange
-- that consumes it.
CREATE TABLE enrolment_tokens (
  hash       TEXT PRIMARY KEY,
  device     TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  owner      INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  used_ms    INTEGER
) WITHOUT ROWID;
CREATE INDEX enrolment_tokens_device ON enrolment_tokens (device);
`;

export const HUB_MIGRATIONS: readonly string[] = [DEVICES_SCHEMA];

export const HUB_SCHEMA_VERSION = HUB_MIGRATIONS.length + 1;

/** Creates the schema in an empty database (inside the caller's transaction). */
export function createHubSchema(db: Database.Database, now: number): void {
  db.exec(HUB_SCHEMA);
  for (const m of HUB_MIGRATIONS) db.exec(m);
  db.prepare('INSERT INTO owners (id, iss, sub, created_ms) VALUES (?, NULL, NULL, ?)').run(
    HUB_OWNER,
    now,
  );
  const meta = db.prepare('INSERT INTO hub_meta (key, value) VALUES (?, ?)');
  meta.run('store_id', randomBytes(16).toString('hex'));
  meta.run('created_ms', String(now));
  db.pragma(`application_id = ${HUB_APPLICATION_ID}`);
  db.pragma(`user_version = ${HUB_SCHEMA_VERSION}`);
}

/** What kind of file `db` is: an empty one, a hub store, or something else. */
export function fileKind(db: Database.Database): 'empty' | 'hub' | 'other' {
  if ((db.pragma('application_id', { simple: true }) as number) === HUB_APPLICATION_ID) {
    return 'hub';
  }
  const tables = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck();
  return (tables.get() as number) === 0 ? 'empty' : 'other';
}

export function migrateHub(db: Database.Database, path: string, now: number): void {
  const kind = fileKind(db);
  if (kind === 'other') {
    throw new HephError(
      'storage',
      `${path} is an SQLite database, but not a hub store; move it away or choose another data ` +
        'directory',
      { path },
    );
  }
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > HUB_SCHEMA_VERSION) {
    throw new HephError(
      'storage',
      `${path} has hub schema version ${from}, newer than this heph understands ` +
        `(${HUB_SCHEMA_VERSION}); upgrade heph`,
      { path },
    );
  }
  if (kind === 'hub' && from === HUB_SCHEMA_VERSION) return;
  db.transaction(() => {
    if (kind === 'empty') {
      createHubSchema(db, now);
      return;
    }
    for (let v = from; v < HUB_SCHEMA_VERSION; v++) db.exec(HUB_MIGRATIONS[v - 1]!);
    db.pragma(`user_version = ${HUB_SCHEMA_VERSION}`);
  })();
}
