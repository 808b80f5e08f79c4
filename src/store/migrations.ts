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
  // v4 → v5: the change (local command) each op belongs to, ops by node, and bodies as
  // documents. Older ops keep change NULL: each is a change of its own, which is all that can be
  // known of them. Each body's Yjs state moves to its '' document, and its version is computed
  // from the log.
  (db) => {
    db.exec(`
ALTER TABLE oplog ADD COLUMN change TEXT;
CREATE INDEX oplog_target ON oplog (target, id);
CREATE TABLE body_docs (
  node_id  TEXT NOT NULL,
  branch   TEXT NOT NULL,
  since    TEXT NOT NULL,
  ystate   BLOB NOT NULL,
  version  TEXT NOT NULL,
  resolved TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (node_id, branch)
) WITHOUT ROWID;
INSERT INTO body_docs (node_id, branch, since, ystate, version)
  SELECT b.node_id, '',
    coalesce((SELECT min(o.id) FROM oplog o WHERE o.target = b.node_id AND o.kind = 'body.update'), ''),
    b.ystate, ''
  FROM bodies b;
ALTER TABLE bodies ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE bodies ADD COLUMN heads INTEGER NOT NULL DEFAULT 1;
ALTER TABLE bodies DROP COLUMN ystate;
CREATE INDEX bodies_conflicts ON bodies (node_id) WHERE heads > 1;
`);
    const latest = db
      .prepare(
        `SELECT target, max(id) AS id FROM oplog WHERE kind = 'body.update'
         GROUP BY target, substr(id, -16) ORDER BY target`,
      )
      .all() as { target: string; id: string }[];
    const versions = new Map<string, string[]>();
    for (const r of latest) {
      const ids = versions.get(r.target) ?? [];
      ids.push(r.id);
      versions.set(r.target, ids);
    }
    const doc = db.prepare("UPDATE body_docs SET version = ? WHERE node_id = ? AND branch = ''");
    const body = db.prepare('UPDATE bodies SET version = ? WHERE node_id = ?');
    for (const [target, ids] of versions) {
      const v = ids.sort().join(',');
      doc.run(v, target);
      body.run(v, target);
    }
  },
  // v5 → v6: body steps and saved states (see schema.sql), which history and node.at read;
  // empty: a node's are made from its op-log when its history is first read. The index of a
  // node's ops also holds kind and change, so its history is listed without reading payloads.
  (db) => {
    db.exec(`
DROP INDEX oplog_target;
CREATE INDEX oplog_target ON oplog (target, id, kind, change);
CREATE TABLE body_steps (
  node     TEXT NOT NULL,
  id       TEXT NOT NULL,
  kind     TEXT NOT NULL,
  branch   TEXT NOT NULL,
  step     BLOB NOT NULL,
  added    INTEGER NOT NULL,
  removed  INTEGER NOT NULL,
  resolves TEXT,
  PRIMARY KEY (node, id)
) WITHOUT ROWID;
CREATE TABLE body_marks (
  node   TEXT NOT NULL,
  id     TEXT NOT NULL,
  branch TEXT NOT NULL,
  state  BLOB NOT NULL,
  PRIMARY KEY (node, id, branch)
);
`);
  },
  // v6 → v7: a task and its context doc are one item in search and name lookup (the task's row
  // holds both bodies; the doc has no row or name of its own) and a title in conflict is found
  // by each of its values. The index is derived: it is emptied with its cursor, and the first
  // query refills it from the whole op-log by the new rules.
  (db) => {
    db.exec(`
DELETE FROM search_fts;
DELETE FROM search_nodes;
DELETE FROM node_names;
DELETE FROM meta WHERE key = 'search_seq';
`);
  },
  // v7 → v8: the index of a node's ops holds its target alone (each op's entry was the widest
  // part of the log after its payload, and every op wrote one at a random place); titles are
  // indexed as names compare them (trimmed, ASCII case ignored).
  (db) => {
    db.exec(`
DROP INDEX oplog_target;
CREATE INDEX oplog_target ON oplog (target);
DROP INDEX nodes_title;
CREATE INDEX nodes_title ON nodes (trim(title) COLLATE NOCASE);
`);
  },
  // v8 → v9: a body document's content moves from one state rewritten on every save
  // (body_docs.ystate) to parts a save appends to (body_parts); each stored state becomes its
  // document's part 0, as it was.
  (db) => {
    db.exec(`
CREATE TABLE body_parts (
  node_id TEXT NOT NULL,
  branch  TEXT NOT NULL,
  part    INTEGER NOT NULL,
  data    BLOB NOT NULL,
  PRIMARY KEY (node_id, branch, part)
) WITHOUT ROWID;
INSERT INTO body_parts (node_id, branch, part, data) SELECT node_id, branch, 0, ystate FROM body_docs;
ALTER TABLE body_docs DROP COLUMN ystate;
`);
  },
  // v9 → v10: a node's ops are found by op_targets, brought up to date by a cursor, instead of an
  // index of the op-log written with every op; filled here from the whole log.
  (db) => {
    db.exec(`
CREATE TABLE op_targets (
  target TEXT NOT NULL,
  seq    INTEGER NOT NULL,
  PRIMARY KEY (target, seq)
) WITHOUT ROWID;
INSERT INTO op_targets (target, seq) SELECT target, seq FROM oplog ORDER BY target, seq;
INSERT OR REPLACE INTO meta (key, value)
  SELECT 'op_targets_seq', CAST(coalesce(max(seq), 0) AS TEXT) FROM oplog;
DROP INDEX oplog_target;
`);
  },
  // v10 → v11: fewer index entries written per new node and link. Docs leave the index by kind
  // (nothing lists docs by kind; context docs were half its entries), and links by source are
  // read from the range of link ids that start with it (src/store/index-terms.ts). Version 11
  // also means node rows may lag their ops (meta 'rows_pending', see schema.sql): a version
  // before it would read such rows as they are, so the version refuses it as newer.
  (db) => {
    db.exec(`
DROP INDEX nodes_kind;
CREATE INDEX nodes_kind ON nodes (kind, deleted) WHERE kind != 'doc';
DROP INDEX links_src;
`);
  },
  // v11 → v12: the index of "what is next" candidates also holds each one's title and
  // recurrence, so `next` reads the tasks it shows from the index alone; looking each one up in
  // the table (whose rows are large: registers, extra fields) cost more than all the rest.
  (db) => {
    db.exec(`
DROP INDEX nodes_next_candidates;
CREATE INDEX nodes_next_candidates ON nodes (kind, deleted, state, attention, do_date, late_on, created_ms, title, recurrence)
  WHERE kind = 'task' AND deleted = 0 AND coalesce(state, 'outstanding') = 'outstanding'
    AND coalesce(attention, 'white') != 'blue';
`);
  },
];
