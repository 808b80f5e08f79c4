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

-- Every owner's op-log. stamp: the owner's arrival stamp (1, 2, 3, … in commit order; a pull
-- cursor); op: the op's canonical text, served as stored; origin: the replica that wrote it
-- (the id's last 16 digits), so a pull can skip the caller's own ops by index.
CREATE TABLE ops (
  seq    INTEGER PRIMARY KEY,
  owner  INTEGER NOT NULL REFERENCES owners (id),
  stamp  INTEGER NOT NULL,
  id     TEXT NOT NULL,
  origin TEXT NOT NULL,
  op     TEXT NOT NULL
);
CREATE UNIQUE INDEX ops_stamp ON ops (owner, stamp);
CREATE UNIQUE INDEX ops_id ON ops (owner, origin, id);
`;

export const HUB_MIGRATIONS: readonly string[] = [];

export const HUB_SCHEMA_VERSION = HUB_MIGRATIONS.length + 1;
