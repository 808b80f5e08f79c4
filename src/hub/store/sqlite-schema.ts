// The SQLite hub store's schema: one file (hub.db) for every owner's op-log and the control
// plane. PRAGMA application_id marks the file as a hub store (a device database has none), and
// PRAGMA user_version is its schema version: HUB_MIGRATIONS[i] upgrades version i + 1 to i + 2,
// and HUB_SCHEMA is what all of them give. Tables the next versions add (devices, credentials,
// API keys, audit, integrations) come as migrations; none of this is ever synced to devices.

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

export const HUB_MIGRATIONS: readonly string[] = [];

export const HUB_SCHEMA_VERSION = HUB_MIGRATIONS.length + 1;
