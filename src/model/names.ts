// Names people look things up by: what an ambiguous name could mean, and the checks that keep
// names usable (no second project of one name under one parent; a warning when a new note takes
// a title another item has). Titles compare as link resolution compares them: trimmed, ASCII
// letters in either case.

import { HephError } from '../core/errors.js';
import type { NodeKind } from '../core/ids.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { shortIds } from '../store/short-ids.js';
import { firstLinkDst, parentOf, prepared } from './nodes.js';
import { kindSql, linksFromSql } from '../store/index-terms.js';

/** One node a name could mean, as a person tells them apart. */
export interface Candidate {
  id: string;
  short_id: string;
  kind: NodeKind;
  title: string;
  /** The project a task is in, or the folder of an imported note; null when neither. */
  place: string | null;
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** Whether two titles name the same thing for lookups and links. */
export function sameName(a: string, b: string): boolean {
  return asciiLower(a.trim()) === asciiLower(b.trim());
}

function placeOf(store: SqliteStore, id: string, kind: NodeKind, path: unknown): string | null {
  if (kind === 'task' || kind === 'project') {
    const p = kind === 'task' ? firstLinkDst(store, id, 'in-project') : parentOf(store, id);
    const title = p === null ? undefined : store.findNode(p)?.title;
    return title === undefined ? null : `in ${title}`;
  }
  if (typeof path === 'string' && path.includes('/')) return path.slice(0, path.lastIndexOf('/'));
  return null;
}

export function candidates(store: SqliteStore, ids: readonly string[]): Candidate[] {
  const short = shortIds(store, ids);
  const out: Candidate[] = [];
  for (const id of ids) {
    const n = store.findNode(id);
    if (!n) continue;
    out.push({
      id,
      short_id: short.get(id) ?? id,
      kind: n.kind,
      title: n.title,
      place: placeOf(store, id, n.kind, n.extra.vault_path),
    });
  }
  return out;
}

/** `ambiguous`, with a line per candidate (kind, title, project or folder, short id). */
export function ambiguousError(
  store: SqliteStore,
  what: string,
  ids: readonly string[],
): HephError {
  const cs = candidates(store, ids);
  const w = (f: (c: Candidate) => string) => Math.max(0, ...cs.map((c) => f(c).length));
  const kindW = w((c) => c.kind);
  const titleW = Math.min(
    40,
    w((c) => c.title),
  );
  const placeW = Math.min(
    40,
    w((c) => c.place ?? ''),
  );
  const lines = cs.map((c) =>
    `  ${c.kind.padEnd(kindW)}  ${c.title.padEnd(titleW)}  ${(c.place ?? '').padEnd(placeW)}  ${c.short_id}`.trimEnd(),
  );
  return new HephError(
    'ambiguous',
    `${what} names ${cs.length} items; give the short id of the one you mean:\n${lines.join('\n')}`,
    { ids: cs.map((c) => c.id), candidates: cs },
  );
}

/**
 * A warning when another live item already has this title (a new note of the same name: links
 * by that name then go to the nearest of them), else undefined.
 */
export function sameTitleWarning(
  store: SqliteStore,
  title: string,
  exceptId?: string,
): string | undefined {
  // From the nodes table, not the name index: catching that up here cost a second commit and
  // the search index's writes on every create.
  const others = store.nodesTitled(title).filter((id) => id !== exceptId);
  if (others.length === 0) return undefined;
  const [first] = candidates(store, others);
  if (!first) return undefined;
  const more = others.length > 1 ? ` and ${others.length - 1} more` : '';
  return (
    `a ${first.kind} titled ${JSON.stringify(first.title)} exists (${first.short_id})${more}: ` +
    `[[${title.trim()}]] and lookups by this title now find more than one`
  );
}

/**
 * Refuses a project title another live project has under the same parent (null: at the top),
 * which would make lookups by that name ambiguous: already_exists naming it.
 */
export function checkProjectName(
  store: SqliteStore,
  title: string,
  parent: string | null,
  exceptId?: string,
): void {
  const rows = prepared(
    store,
    `SELECT n.id, n.title, (SELECT l.dst FROM links l WHERE ${linksFromSql('l', 'n.id', 'parent')}
       AND l.type = 'parent' AND l.live = 1 ORDER BY l.id LIMIT 1) AS parent
     FROM nodes n WHERE ${kindSql('n', 'project')} AND n.deleted = 0`,
  ).all() as { id: string; title: string; parent: string | null }[];
  // Where each is shown: a project a loop of parents shows at the top is at the top here too.
  const cuts = store.parentBreaks();
  const same = rows.find(
    (r) =>
      r.id !== exceptId &&
      (cuts.has(r.id) ? null : (r.parent ?? null)) === parent &&
      sameName(r.title, title),
  );
  if (!same) return;
  const short = shortIds(store, [same.id]).get(same.id) ?? same.id;
  throw new HephError(
    'already_exists',
    `a project named ${JSON.stringify(same.title)} exists (${short})` +
      (parent === null ? '' : ' in the same project'),
    { field: 'title', id: same.id },
  );
}
