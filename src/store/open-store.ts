// Opens the SQLite store with wiki-link extraction wired in. Every replica must derive wiki
// links the same way, so every process that writes a heph database opens it through here.

import { extractWikiLinks, wikiTargetsMayDiffer } from '../core/extract.js';
import { SqliteStore, type SqliteStoreDeps, type SqliteStoreOptions } from './sqlite-store.js';

/** The distinct wiki-link targets of a body as written (no `#heading`, no `|label`). */
export function extractWikiTargets(body: string): string[] {
  return [...new Set(extractWikiLinks(body).map((l) => l.target))];
}

export function openStore(
  options: SqliteStoreOptions,
  deps: Omit<SqliteStoreDeps, 'extractWikiTargets'>,
): SqliteStore {
  return SqliteStore.open(options, { ...deps, extractWikiTargets, wikiTargetsMayDiffer });
}
