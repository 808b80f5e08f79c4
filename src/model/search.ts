// Full-text search over live nodes' titles and bodies. The user's text is never handed to FTS5
// as syntax: it is cut into words and quoted phrases and each is quoted, so no input can cause
// a query syntax error. Words are ANDed; the last word also matches as a prefix (search as you
// type); matching ignores case and diacritics; titles weigh ten times as much as bodies.

import { invalid } from '../core/errors.js';
import { isNodeKind, type NodeKind } from '../core/ids.js';
import { isPlainObject } from '../core/json.js';
import { catchUpSearchIndex, runSearch, type SearchRow } from '../store/search.js';
import type { SqliteStore } from '../store/sqlite-store.js';

export { catchUpSearchIndex };

export interface SearchQuery {
  query: string;
  /** 1-1000, default 20. */
  limit?: number;
  /** Only nodes of these kinds. */
  kinds?: NodeKind[];
}

export type SearchResult = SearchRow;

export const MAX_QUERY = 1000;
const MAX_TERMS = 32;
const WORDY = /[\p{L}\p{N}]/u;

/**
 * The FTS5 match expression for user text, or undefined when it has no searchable word.
 * `"a phrase"` in the text stays a phrase; everything else is split at whitespace.
 */
export function ftsQuery(text: string): string | undefined {
  const terms: string[] = [];
  const re = /"([^"]*)"|([^\s"]+)/gu;
  let last: { text: string; quoted: boolean } | undefined;
  for (let m = re.exec(text); m !== null && terms.length < MAX_TERMS; m = re.exec(text)) {
    const quoted = m[1] !== undefined;
    const term = (m[1] ?? m[2] ?? '').trim();
    if (!WORDY.test(term)) continue;
    terms.push(`"${term.replace(/"/g, '""')}"`);
    last = { text: term, quoted };
  }
  if (!last) return undefined;
  // Prefix-match the last word while it is being typed (no space after it yet).
  const typing = !last.quoted && !/\s$/u.test(text) && /[\p{L}\p{N}]$/u.test(last.text);
  return terms.join(' ') + (typing ? '*' : '');
}

export function search(store: SqliteStore, q: SearchQuery): SearchResult[] {
  if (!isPlainObject(q)) throw invalid('params', 'must be an object');
  const { query, limit = 20, kinds } = q;
  if (typeof query !== 'string') throw invalid('query', 'must be a string');
  if (query.length > MAX_QUERY) throw invalid('query', `must be at most ${MAX_QUERY} characters`);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw invalid('limit', 'must be 1-1000');
  if (kinds !== undefined && (!Array.isArray(kinds) || !kinds.every(isNodeKind))) {
    throw invalid('kinds', 'must be a list of doc, task, project, tag, journal');
  }
  const match = ftsQuery(query);
  if (match === undefined) {
    catchUpSearchIndex(store);
    return [];
  }
  return runSearch(store, match, limit, kinds);
}
