// Every prepared statement the SQLite store runs, prepared once per connection.

import type Database from 'better-sqlite3';
import type { KnownField } from '../core/fields.js';
import { IS_CONTEXT_DOC, SHOWN_TITLE } from './context-docs.js';
import { NODE_COLUMNS } from './node-rows.js';
import { linksFromSql } from './index-terms.js';

/** SELECT list for a node with its body (a context doc's title is its task's). */
export const NODE_SELECT = `SELECT n.id, n.kind, ${SHOWN_TITLE} AS title, n.aliases, n.deleted, n.state, n.attention,
  n.do_date, n.late_on, n.recurrence, n.extra, n.conflicts, n.created_ms, n.updated_ms, b.body,
  b.version AS body_version
  FROM nodes n LEFT JOIN bodies b ON b.node_id = n.id`;

const UPSERT_HEAD = `INSERT INTO nodes (id, created_ms, updated_ms, regs, conflicts`;
const UPSERT_TAIL = `created_ms = min(created_ms, excluded.created_ms),
  updated_ms = max(updated_ms, excluded.updated_ms), regs = excluded.regs, conflicts = excluded.conflicts`;

/** Ops from elsewhere are inserted this many to an INSERT (SqliteStore.insertOpRun). */
export const OP_RUN = 100;

export function prepareStatements(db: Database.Database) {
  const setColumn = {} as Record<KnownField, Database.Statement>;
  for (const c of NODE_COLUMNS) {
    setColumn[c] = db.prepare(
      `${UPSERT_HEAD}, ${c}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET ${c} = excluded.${c}, ${UPSERT_TAIL}`,
    );
  }
  const updColumn = {} as Record<KnownField, Database.Statement>;
  for (const c of NODE_COLUMNS) {
    updColumn[c] = db.prepare(
      `UPDATE nodes SET ${c} = ?, regs = ?, conflicts = ?,
         created_ms = min(created_ms, ?), updated_ms = max(updated_ms, ?) WHERE id = ?`,
    );
  }
  return {
    setColumn,
    updColumn,
    updRegs: db.prepare(
      `UPDATE nodes SET regs = ?, conflicts = ?,
         created_ms = min(created_ms, ?), updated_ms = max(updated_ms, ?) WHERE id = ?`,
    ),
    setRegs: db.prepare(
      `${UPSERT_HEAD}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET ${UPSERT_TAIL}`,
    ),
    setExtra: db.prepare(`UPDATE nodes SET extra = json_set(extra, ?, json(?)) WHERE id = ?`),
    delNode: db.prepare('DELETE FROM nodes WHERE id = ?'),
    touchNode: db.prepare(
      `INSERT INTO nodes (id, created_ms, updated_ms) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET
       created_ms = min(created_ms, excluded.created_ms), updated_ms = max(updated_ms, excluded.updated_ms)`,
    ),
    getRegs: db.prepare(
      `SELECT regs, conflicts, created_ms, kind, title, aliases, deleted, state, attention, do_date, late_on, recurrence, extra
       FROM nodes WHERE id = ?`,
    ),
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
    putMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    insOp: db.prepare(
      'INSERT OR IGNORE INTO oplog (id, kind, target, payload, change) VALUES (?, ?, ?, ?, ?)',
    ),
    /** OP_RUN ops in one statement, without ON CONFLICT (SqliteStore.insertOpRun). */
    insOpRun: db.prepare(
      `INSERT INTO oplog (id, kind, target, payload, change) VALUES ${Array<string>(OP_RUN)
        .fill('(?, ?, ?, ?, ?)')
        .join(', ')}`,
    ),
    getOp: db.prepare('SELECT kind, target, payload FROM oplog WHERE id = ?'),
    hasOp: db.prepare('SELECT 1 FROM oplog WHERE id = ?').pluck(),
    /** Deletes an op; its seq (for forgetOpTarget), undefined when there was none. */
    delOp: db.prepare('DELETE FROM oplog WHERE id = ? RETURNING seq').pluck(),
    countOps: db.prepare('SELECT count(*) FROM oplog').pluck(),
    countOpsSince: db.prepare('SELECT count(*) FROM oplog WHERE seq > ?').pluck(),
    lastSeq: db.prepare('SELECT max(seq) FROM oplog').pluck(),
    countOwnBetween: db
      .prepare('SELECT count(*) FROM oplog WHERE seq > ? AND seq <= ? AND substr(id, -16) = ?')
      .pluck(),
    ownChangesBetween: db
      .prepare(
        `SELECT coalesce(change, id) FROM oplog WHERE seq > ? AND seq <= ? AND substr(id, -16) = ?
           AND kind != 'device.name'
         ORDER BY seq`,
      )
      .pluck(),
    ownOpsSince: db.prepare(
      `SELECT seq, id, kind, target, payload FROM oplog WHERE seq > ? AND substr(id, -16) = ?
       ORDER BY seq LIMIT ?`,
    ),
    delMeta: db.prepare('DELETE FROM meta WHERE key = ?'),
    opsSince: db.prepare(
      'SELECT seq, id, kind, target, payload FROM oplog WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    replayPage: db.prepare(
      'SELECT id, kind, target, payload FROM oplog WHERE id > ? ORDER BY id LIMIT 1000',
    ),
    conflicted: db.prepare(
      `SELECT id, regs, kind, title, aliases, deleted, state, attention, do_date, late_on, recurrence, extra
       FROM nodes WHERE conflicts > 0 ORDER BY id`,
    ),
    getNode: db.prepare(`${NODE_SELECT} WHERE n.id = ?`),
    nodeExists: db.prepare('SELECT kind FROM nodes WHERE id = ?').pluck(),
    allNodes: db.prepare(`${NODE_SELECT} ORDER BY n.id`),
    byTitle: db.prepare(
      `${NODE_SELECT} WHERE trim(n.title) = trim(@name) COLLATE NOCASE AND n.title = @name
       AND n.deleted = 0 AND n.kind IS NOT NULL AND NOT ${IS_CONTEXT_DOC} ORDER BY n.id LIMIT 10`,
    ),
    /** Live nodes whose title is the given (trimmed) one ignoring ASCII case, context docs left out. */
    namedLike: db
      .prepare(
        `SELECT n.id FROM nodes n WHERE trim(n.title) = ? COLLATE NOCASE AND n.deleted = 0
         AND n.kind IS NOT NULL AND NOT ${IS_CONTEXT_DOC} ORDER BY n.id`,
      )
      .pluck(),
    byAlias: db.prepare(
      `${NODE_SELECT} WHERE n.deleted = 0 AND n.kind IS NOT NULL AND n.aliases != '[]'
       AND EXISTS (SELECT 1 FROM json_each(n.aliases) WHERE value = @name) AND NOT ${IS_CONTEXT_DOC}
       ORDER BY n.id LIMIT 10`,
    ),
    isContextDoc: db.prepare(`SELECT 1 FROM nodes n WHERE n.id = ? AND ${IS_CONTEXT_DOC}`).pluck(),
    getLink: db.prepare('SELECT state, live FROM links WHERE id = ?'),
    putLink: db.prepare(
      'INSERT OR REPLACE INTO links (id, src, dst, type, state, live) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    linksFrom: db.prepare(
      `SELECT id, src, dst, type FROM links WHERE ${linksFromSql('', '@node')} AND live = 1
         AND (@type IS NULL OR type = @type) ORDER BY id`,
    ),
    linksTo: db.prepare(
      'SELECT id, src, dst, type FROM links WHERE dst = @node AND live = 1 AND (@type IS NULL OR type = @type) ORDER BY id',
    ),
    allLinks: db.prepare('SELECT id FROM links WHERE live = 1 ORDER BY id').pluck(),
    clearWiki: db.prepare('DELETE FROM wiki_links WHERE src = ?'),
    addWiki: db.prepare('INSERT OR IGNORE INTO wiki_links (src, target) VALUES (?, ?)'),
    wikiFrom: db.prepare('SELECT target FROM wiki_links WHERE src = ? ORDER BY target').pluck(),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
