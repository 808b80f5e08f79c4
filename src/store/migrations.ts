import type Database from 'better-sqlite3';

/**
 * MIGRATIONS[i] upgrades a database from schema version i + 1 to i + 2. schema.sql always
 * describes the result of applying all of them to version 1; a test checks that it does.
 * A migration is frozen once released: its SQL is written out here, never read from schema.sql.
 */
export const MIGRATIONS: ReadonlyArray<(db: Database.Database) => void> = [
  // v1 → v2: full-text search and the wiki-link name index. Both start empty with no cursor,
  // so the first query fills them from the whole op-log.
  (db) => {
    db.exec(`
CREATE INDEX wiki_links_base ON wiki_links (substr(target, length(rtrim(target, replace(target, '/', ''))) + 1) COLLATE NOCASE);
CREATE TABLE search_nodes (
  id      INTEGER PRIMARY KEY, -- the rowid of the node's row in search_fts
  node_id TEXT NOT NULL UNIQUE,
  kind    TEXT NOT NULL
);
CREATE VIRTUAL TABLE search_fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE node_names (
  name    TEXT NOT NULL COLLATE NOCASE,
  node_id TEXT NOT NULL,
  how     TEXT NOT NULL, -- title, alias, path or file
  PRIMARY KEY (name, node_id, how)
) WITHOUT ROWID;
CREATE INDEX node_names_node ON node_names (node_id);
`);
  },
  // v2 → v3: a covering partial index over the candidates for "what is next".
  (db) => {
    db.exec(`
CREATE INDEX nodes_next_candidates ON nodes (kind, deleted, state, attention, do_date, late_on, created_ms)
  WHERE kind = 'task' AND deleted = 0 AND coalesce(state, 'outstanding') = 'outstanding'
    AND coalesce(attention, 'white') != 'blue';
`);
  },
  // v3 → v4: short ids (a unique suffix of at least 6 characters) found by index, not by scan.
  (db) => {
    db.exec(`CREATE INDEX nodes_id_suffix ON nodes (substr(id, -6));`);
  },
  // v4 → v5: the change (local command) each op belongs to. Older ops keep NULL: each is a
  // change of its own, which is all that can be known of them.
  (db) => {
    db.exec(`ALTER TABLE oplog ADD COLUMN change TEXT;`);
  },
];
