-- heph: the current database schema. A new database is created from this file; older files are
-- upgraded to it by the ordered migrations in src/store/migrations.ts (PRAGMA user_version).
-- Everything a user can see is materialized from `oplog`; the other tables can be dropped and
-- rebuilt by replaying it.

-- Replica-local settings: origin (replica id), HLC high-water mark, schema facts.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- The op-log. `seq` is the local arrival order (a cursor for opsSince); `id` is the op's HLC.
-- `change` is the change (one local command) the op belongs to: the id of the change's first op,
-- or NULL when the op is that first op (or came from a version without changes).
CREATE TABLE oplog (
  seq     INTEGER PRIMARY KEY,
  id      TEXT NOT NULL UNIQUE,
  kind    TEXT NOT NULL,
  target  TEXT NOT NULL,
  payload TEXT NOT NULL, -- canonical JSON
  change  TEXT
);
-- A node's ops (its history, its body at an older version): the target and seq of every op up
-- to the seq in meta 'op_targets_seq'. An index on oplog (target) would take an entry at a
-- random place for every op (ops of many nodes interleave), so every applied page of ops wrote
-- hundreds of its pages; this table is brought up to date by that cursor instead, in target
-- order, when something reads it and when the search index catches up (src/store/op-targets.ts).
-- A row whose op is gone, or whose seq now holds an op of another target, is ignored by readers
-- (they join on seq and target).
CREATE TABLE op_targets (
  target TEXT NOT NULL,
  seq    INTEGER NOT NULL,
  PRIMARY KEY (target, seq)
) WITHOUT ROWID;

-- Materialized nodes: the visible value of every field, and each field's register (its heads:
-- the ops no later op of that field supersedes) in `regs`, so one row write applies one op.
-- Rows of ops from other replicas may be written later than their ops (once for many pulled
-- pages, before anything reads them); while some are not, meta 'rows_pending' holds the seq of
-- the first op whose row is not written, and a store opened with it set makes again, from the
-- op-log, the rows of every node an op from that seq on touched (from schema version 11 on, so
-- an older heph, which would read such rows as they are, refuses the file as newer).
CREATE TABLE nodes (
  id         TEXT PRIMARY KEY,
  kind       TEXT,
  title      TEXT NOT NULL DEFAULT '',
  aliases    TEXT NOT NULL DEFAULT '[]',
  deleted    INTEGER NOT NULL DEFAULT 0,
  state      TEXT,
  attention  TEXT,
  do_date    TEXT,
  late_on    TEXT,
  recurrence TEXT,
  extra      TEXT NOT NULL DEFAULT '{}', -- fields this version does not know: {name: value}
  regs       TEXT NOT NULL DEFAULT '{}', -- {field: [[[head id, value json], …], [pending id, …]]}
  conflicts  INTEGER NOT NULL DEFAULT 0, -- how many fields are in conflict
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
) WITHOUT ROWID;
-- Nodes by kind, docs left out: nothing lists docs by kind, and a task's context doc would write
-- an entry for every task. A query reads it only when its WHERE holds `kind != 'doc'` word for
-- word (SQLite's rule for partial indexes): lists by kind use kindSql (src/store/index-terms.ts).
CREATE INDEX nodes_kind ON nodes (kind, deleted) WHERE kind != 'doc';
-- Titles as names compare (trimmed, ASCII letters in either case): a new title that another node
-- has is found here, and exact title lookups narrow by it.
CREATE INDEX nodes_title ON nodes (trim(title) COLLATE NOCASE);
CREATE INDEX nodes_conflicts ON nodes (id) WHERE conflicts > 0;
-- The candidates for "what is next" (model/views.ts repeats this WHERE word for word). It holds
-- every column ranking reads and every one `next` shows, so `next` reads no table row.
CREATE INDEX nodes_next_candidates ON nodes (kind, deleted, state, attention, do_date, late_on, created_ms, title, recurrence)
  WHERE kind = 'task' AND deleted = 0 AND coalesce(state, 'outstanding') = 'outstanding'
    AND coalesce(attention, 'white') != 'blue';
-- Short ids: the CLI shows and accepts a ULID's shortest unique suffix of at least 6 characters.
CREATE INDEX nodes_id_suffix ON nodes (substr(id, -6));

-- Bodies: the text shown for each node (materialized from its documents), its body version (the
-- highest body op id of each replica that wrote to it, ',' joined) and how many of its documents
-- are not resolved (more than one: a body conflict).
CREATE TABLE bodies (
  node_id TEXT PRIMARY KEY,
  body    TEXT NOT NULL,
  version TEXT NOT NULL DEFAULT '',
  heads   INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;
CREATE INDEX bodies_conflicts ON bodies (node_id) WHERE heads > 1;

-- A node's body documents, each a Yjs text CRDT: '' for the document body.update ops edit (most
-- nodes have only it), else a branch that a body.init started. `since` orders branches (a
-- branch's highest init op id; the '' document's lowest op id); `version` covers the document's
-- ops; `resolved` the ops a conflict resolution saw (resolved once it covers `version`).
CREATE TABLE body_docs (
  node_id  TEXT NOT NULL,
  branch   TEXT NOT NULL,
  since    TEXT NOT NULL,
  version  TEXT NOT NULL,
  resolved TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (node_id, branch)
) WITHOUT ROWID;
-- Each body document's content: Yjs updates applied in `part` order. Part 0 is a whole state;
-- the parts after it are the updates merged since (a save appends its own), until they outgrow
-- part 0 and are compacted into a new part 0 (src/store/bodies.ts). So a save writes what it
-- changed, not the whole note.
CREATE TABLE body_parts (
  node_id TEXT NOT NULL,
  branch  TEXT NOT NULL,
  part    INTEGER NOT NULL,
  data    BLOB NOT NULL,
  PRIMARY KEY (node_id, branch, part)
) WITHOUT ROWID;

-- Each body op's step: what it changed when the node's body ops are applied in op-id order (the
-- order node.at and history read them in). `step` is a Yjs update holding only that change (the
-- items it inserted and the ones it deleted that were still there), so any version of a body is
-- rebuilt from small steps; `added` and `removed` count the lines it touched. Derived from the
-- op-log (a rebuild drops them), made when a node's history is first read, from the first body
-- op without a step, which also remakes the steps after an op that arrived late.
CREATE TABLE body_steps (
  node     TEXT NOT NULL,
  id       TEXT NOT NULL,    -- the body op's id
  kind     TEXT NOT NULL,    -- body.update, body.init or body.edit
  branch   TEXT NOT NULL,    -- the document it edits ('' or a branch id)
  step     BLOB NOT NULL,    -- empty when the op changed nothing
  added    INTEGER NOT NULL,
  removed  INTEGER NOT NULL,
  resolves TEXT,             -- body.edit: the branches it resolved, as in its payload (JSON)
  PRIMARY KEY (node, id)
) WITHOUT ROWID;
-- The state of a node's body documents after every 500th of its steps (one row per document), so
-- showing any version starts from the last one before it. Derived like body_steps.
CREATE TABLE body_marks (
  node   TEXT NOT NULL,
  id     TEXT NOT NULL, -- the body op after which the state was saved
  branch TEXT NOT NULL,
  state  BLOB NOT NULL, -- a Yjs update holding the whole document
  PRIMARY KEY (node, id, branch)
);

-- Typed links as add-wins sets, keyed by the deterministic link id `src|type|dst`: a node's links
-- (of a type) are a range of ids (src/store/index-terms.ts), so there is no index by source.
CREATE TABLE links (
  id    TEXT PRIMARY KEY,
  src   TEXT NOT NULL,
  dst   TEXT NOT NULL,
  type  TEXT NOT NULL,
  state TEXT NOT NULL, -- [[live add ids], [removed-before-arrival ids]]
  live  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX links_dst ON links (dst, type) WHERE live = 1;

-- Wiki links derived from bodies on every replica (never ops): the raw target text as written.
CREATE TABLE wiki_links (
  src    TEXT NOT NULL,
  target TEXT NOT NULL,
  PRIMARY KEY (src, target)
) WITHOUT ROWID;
CREATE INDEX wiki_links_target ON wiki_links (target COLLATE NOCASE);
-- The target's last path segment ("Note" for "folder/Note"), for finding backlinks by file name.
CREATE INDEX wiki_links_base ON wiki_links (substr(target, length(rtrim(target, replace(target, '/', ''))) + 1) COLLATE NOCASE);

-- Search and name lookup, derived from the op-log by cursor (meta `search_seq`: the highest oplog
-- seq indexed) before each search or wiki-link query, never on the apply path. They hold live
-- nodes only, and can be dropped and refilled from seq 0.
CREATE TABLE search_nodes (
  id      INTEGER PRIMARY KEY, -- the rowid of the node's row in search_fts
  node_id TEXT NOT NULL UNIQUE,
  kind    TEXT NOT NULL
);
CREATE VIRTUAL TABLE search_fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');

-- Names wiki links resolve by: a node's title, aliases, and for imported vault notes their path
-- and file name (both without .md).
CREATE TABLE node_names (
  name    TEXT NOT NULL COLLATE NOCASE,
  node_id TEXT NOT NULL,
  how     TEXT NOT NULL, -- title, alias, path or file
  PRIMARY KEY (name, node_id, how)
) WITHOUT ROWID;
CREATE INDEX node_names_node ON node_names (node_id);
