// Names a `[[wiki link]]` can be completed with, for editors: the titles and aliases of live
// nodes that start with what was typed (first) or contain it, ignoring ASCII case. Each name is
// offered once (a task and its context doc share a title; the node it names is the one the
// link resolves to by the rules of model/wiki.ts), and no body is read.

import type { NodeKind } from '../core/ids.js';
import { catchUpSearchIndex } from '../store/search.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { resolveWikiTarget } from './wiki.js';
import type Database from 'better-sqlite3';

export interface NameCandidate {
  /** The text to write between `[[` and `]]`. */
  name: string;
  how: 'title' | 'alias';
  /** The node the link resolves to. */
  id: string;
  kind: NodeKind;
  title: string;
}

interface Row {
  name: string;
  how: 'title' | 'alias';
}

const statements = new WeakMap<Database.Database, Database.Statement>();

function matching(store: SqliteStore): Database.Statement {
  const db = store.connection;
  let s = statements.get(db);
  if (!s) {
    // node_names holds live nodes only. Prefix matches first, then shorter names, then by name.
    s = db.prepare(
      `SELECT nn.name, max(nn.how) AS how FROM node_names nn
       WHERE nn.how IN ('title', 'alias') AND nn.name LIKE @contains ESCAPE '\\'
       GROUP BY nn.name
       ORDER BY nn.name LIKE @prefix ESCAPE '\\' DESC, length(nn.name), nn.name
       LIMIT @limit`,
    );
    statements.set(db, s);
  }
  return s;
}

const likeEscape = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Up to `limit` names matching `typed` (all names, shortest first, when it is empty). */
export function completeNames(
  store: SqliteStore,
  typed: string,
  limit: number,
  fromId?: string,
): NameCandidate[] {
  catchUpSearchIndex(store);
  const t = likeEscape(typed.trim());
  const rows = matching(store).all({
    prefix: `${t}%`,
    contains: `%${t}%`,
    limit,
  }) as Row[];
  const out: NameCandidate[] = [];
  for (const r of rows) {
    const node = resolveWikiTarget(store, r.name, fromId);
    if (node === null) continue;
    out.push({ name: r.name, how: r.how, id: node.id, kind: node.kind, title: node.title });
  }
  return out;
}
