// Names a `[[wiki link]]` can be completed with, for editors: the titles and aliases of live
// nodes that start with what was typed (first) or contain it, ignoring ASCII case. Each name is
// offered once (a task and its context doc share a title; the node it names is the one the
// link resolves to by the rules of model/wiki.ts), and no body is read.

import type { NodeKind } from '../core/ids.js';
import { catchUpSearchIndex, namesContaining } from '../store/search.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { resolveWikiTarget } from './wiki.js';

export interface NameCandidate {
  /** The text to write between `[[` and `]]`. */
  name: string;
  how: 'title' | 'alias';
  /** The node the link resolves to. */
  id: string;
  kind: NodeKind;
  title: string;
}

/** Up to `limit` names matching `typed` (all names, shortest first, when it is empty). */
export function completeNames(
  store: SqliteStore,
  typed: string,
  limit: number,
  fromId?: string,
): NameCandidate[] {
  catchUpSearchIndex(store);
  const out: NameCandidate[] = [];
  for (const r of namesContaining(store, typed.trim(), limit)) {
    const node = resolveWikiTarget(store, r.name, fromId);
    if (node === null) continue;
    out.push({ name: r.name, how: r.how, id: node.id, kind: node.kind, title: node.title });
  }
  return out;
}
