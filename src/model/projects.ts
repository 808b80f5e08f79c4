// Projects: a tree by 'parent' links (project → parent); a task sits in at most one project by
// an 'in-project' link (task → project). Moves replace the old link in the same transaction.
// Concurrent moves on two devices can leave two links: that is a conflict (fields 'project' and
// 'parent' in conflicts.list), and until it is resolved every reader takes the lowest link id
// (firstLinkDst), so all replicas, of this version or an earlier one, show the same project and
// count its tasks alike. The tree is read with one query, and walks upward stop at a node
// already seen, so even a cycle made by concurrent moves cannot hang a reader.

import { HephError } from '../core/errors.js';
import { isNodeId, type SingleLinkField } from '../core/ids.js';
import type { Json } from '../core/json.js';
import type { NodeView } from '../ports/store.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { checkProjectName } from './names.js';
import { parentOf, prepared, requireNode, setOnlyLink, type ModelContext } from './nodes.js';
import type { CreateProjectInput, ProjectView } from './types.js';
import { checkLine, checkObject, checkTitle } from './validate.js';
import { MAX_TITLE } from '../core/fields.js';
import { kindSql } from '../store/index-terms.js';
import { loopFrom } from '../store/parent-cycles.js';

/** project id → parent id as the links hold them, lowest link id winning (loops and all). */
function linkParents(store: SqliteStore): Map<string, string> {
  const rows = prepared(
    store,
    `SELECT src, dst FROM links WHERE type = 'parent' AND live = 1 ORDER BY id`,
  ).all() as { src: string; dst: string }[];
  const out = new Map<string, string>();
  for (const r of rows) if (!out.has(r.src)) out.set(r.src, r.dst);
  return out;
}

/**
 * project id → parent id as every reader shows it: lowest link id winning, and in a loop of
 * parents made by concurrent moves the one link the store names left out (parent-cycles.ts),
 * so the tree has no loop.
 */
export function projectParents(store: SqliteStore): Map<string, string> {
  const out = linkParents(store);
  for (const cut of store.parentBreaks()) out.delete(cut);
  return out;
}

/** task id → project id for live tasks, lowest link id winning. */
export function taskProjects(store: SqliteStore): Map<string, { project: string; state: string }> {
  const rows = prepared(
    store,
    `SELECT l.src, l.dst, n.state FROM links l JOIN nodes n ON n.id = l.src
       WHERE l.type = 'in-project' AND l.live = 1 AND n.deleted = 0 AND n.kind = 'task'
       ORDER BY l.id`,
  ).all() as { src: string; dst: string; state: string | null }[];
  const out = new Map<string, { project: string; state: string }>();
  for (const r of rows) {
    if (!out.has(r.src)) out.set(r.src, { project: r.dst, state: r.state ?? 'outstanding' });
  }
  return out;
}

/** `root` and every project below it. */
export function projectScope(store: SqliteStore, root: string): Set<string> {
  const children = new Map<string, string[]>();
  for (const [child, parent] of projectParents(store)) {
    const list = children.get(parent) ?? [];
    list.push(child);
    children.set(parent, list);
  }
  const scope = new Set([root]);
  const queue = [root];
  for (let p = queue.pop(); p !== undefined; p = queue.pop()) {
    for (const c of children.get(p) ?? []) {
      if (!scope.has(c)) {
        scope.add(c);
        queue.push(c);
      }
    }
  }
  return scope;
}

function ancestors(parents: Map<string, string>, start: string): Set<string> {
  const seen = new Set<string>();
  for (let p: string | undefined = start; p !== undefined && !seen.has(p); p = parents.get(p)) {
    seen.add(p);
  }
  return seen;
}

/**
 * The live project a reference names: its id, or else its exact title, or else its title in
 * any case. Several matches: 'ambiguous' listing them. None: not_found, or null when
 * `missingOk`.
 */
export function findProject(
  store: SqliteStore,
  ref: unknown,
  field: string,
  missingOk = false,
): { id: string; title: string } | null {
  const text = checkLine(ref, field, MAX_TITLE);
  if (isNodeId(text) && store.findNode(text)) {
    const n = requireNode(store, text, field, 'project');
    return { id: n.id, title: n.title };
  }
  const base = `SELECT id, title FROM nodes WHERE ${kindSql('', 'project')} AND deleted = 0`;
  let rows = prepared(store, `${base} AND title = ? ORDER BY id LIMIT 10`).all(text) as {
    id: string;
    title: string;
  }[];
  if (rows.length === 0) {
    rows = (prepared(store, `${base} ORDER BY id`).all() as { id: string; title: string }[])
      .filter((r) => r.title.toLowerCase() === text.toLowerCase())
      .slice(0, 10);
  }
  if (rows.length > 1) {
    const ids = rows.map((r) => r.id);
    throw new HephError(
      'ambiguous',
      `${field}: ${JSON.stringify(text)} names ${rows.length} projects (${ids.join(', ')}); use an id`,
      { field, ids },
    );
  }
  const hit = rows[0];
  if (hit) return hit;
  if (missingOk) return null;
  throw new HephError(
    'not_found',
    `${field}: no project has the id or title ${JSON.stringify(text)}`,
    {
      field,
      name: text,
    },
  );
}

export function projectView(store: SqliteStore, id: string): ProjectView {
  const n = store.getNode(id);
  let tasks = 0;
  let outstanding = 0;
  for (const t of taskProjects(store).values()) {
    if (t.project !== id) continue;
    tasks++;
    if (t.state === 'outstanding') outstanding++;
  }
  return { id, title: n.title, parent: parentOf(store, id), tasks, outstanding };
}

export function createProject(ctx: ModelContext, input: unknown): ProjectView {
  const p = checkObject(input, 'params', ['title', 'parent']) as Partial<CreateProjectInput>;
  const title = checkTitle(p.title);
  const parent = p.parent == null ? null : findProject(ctx.store, p.parent, 'parent');
  checkProjectName(ctx.store, title, parent?.id ?? null);
  return ctx.store.transaction(() => {
    const node = ctx.store.createNode({ kind: 'project', title });
    if (parent) ctx.store.addLink(node.id, parent.id, 'parent');
    return projectView(ctx.store, node.id);
  });
}

/**
 * Refuses `target` as the parent of `project` (given as `field`): one at or below it ('cycle'),
 * or one holding a project of the same name (already_exists).
 */
function checkParent(
  store: SqliteStore,
  project: { id: string; title: string },
  target: { id: string; title: string } | null,
  field: string,
): void {
  // Walked by the links themselves: a link a loop's reader leaves out still closes the loop.
  if (target && ancestors(linkParents(store), target.id).has(project.id)) {
    throw new HephError(
      'cycle',
      `${field}: cannot move ${project.title} (${project.id}) under ${target.title} ` +
        `(${target.id}): that project is inside it`,
      { field, id: project.id, parent: target.id },
    );
  }
  checkProjectName(store, project.title, target?.id ?? null, project.id);
}

/** Re-parents a project (null: top level). Refuses a parent at or below the project: 'cycle'. */
export function moveProject(ctx: ModelContext, id: unknown, parent: unknown): ProjectView {
  const project = requireNode(ctx.store, id, 'id', 'project');
  const target = parent === null ? null : findProject(ctx.store, parent, 'parent');
  checkParent(ctx.store, project, target, 'parent');
  return ctx.store.transaction(() => {
    setOnlyLink(ctx.store, project.id, 'parent', target?.id ?? null);
    return projectView(ctx.store, project.id);
  });
}

/**
 * Ends the conflict of a task in two projects (field 'project') or a project under two parents
 * ('parent'), made by moves on two devices at once: `value` names the project to keep (an id or
 * a title; null: no project, or the top level), and in one change every other link of the kind
 * is removed and the kept one written anew (setOnlyLink). Refused with nothing written: no such
 * conflict (not_found), a project that is not there, a parent at or below the project ('cycle'),
 * a parent holding a project of the same name; each names `value`.
 */
export function resolveLinkConflict(
  store: SqliteStore,
  holder: NodeView,
  field: SingleLinkField,
  value: Json,
): void {
  const type = field === 'project' ? 'in-project' : 'parent';
  const loop = type === 'parent' ? loopOf(store, holder.id) : undefined;
  if (!loop && store.links(holder.id, type).length < 2) {
    throw new HephError('not_found', `${holder.id} has no open conflict on "${field}"`, {
      target: holder.id,
      field,
    });
  }
  const keep = value === null ? null : findProject(store, value, 'value');
  // Kept under its parent in the loop: the loop is broken at the link into it instead, and the
  // project under it there goes to the top.
  const below = loop && keep?.id === loop[1] ? loop.at(-1) : undefined;
  if (type === 'parent' && below === undefined) checkParent(store, holder, keep, 'value');
  store.transaction(() => {
    setOnlyLink(store, holder.id, type, keep?.id ?? null);
    if (below !== undefined) setOnlyLink(store, below, 'parent', null);
  });
}

/** The loop of parents `id` is in, from it (each under the next), or undefined. */
export function loopOf(store: SqliteStore, id: string): string[] | undefined {
  for (const loop of store.parentLoops()) {
    const from = loopFrom(loop, id);
    if (from) return from;
  }
  return undefined;
}

export function listProjects(store: SqliteStore): ProjectView[] {
  const rows = prepared(
    store,
    `SELECT id, title FROM nodes WHERE ${kindSql('', 'project')} AND deleted = 0
       ORDER BY lower(title), id`,
  ).all() as { id: string; title: string }[];
  const parents = projectParents(store);
  const counts = new Map<string, { tasks: number; outstanding: number }>();
  for (const t of taskProjects(store).values()) {
    const c = counts.get(t.project) ?? { tasks: 0, outstanding: 0 };
    c.tasks++;
    if (t.state === 'outstanding') c.outstanding++;
    counts.set(t.project, c);
  }
  return rows.map((r) => ({
    id: r.id,
    title: r.title,
    parent: parents.get(r.id) ?? null,
    tasks: counts.get(r.id)?.tasks ?? 0,
    outstanding: counts.get(r.id)?.outstanding ?? 0,
  }));
}

export function deleteProject(ctx: ModelContext, id: unknown): ProjectView {
  const project = requireNode(ctx.store, id, 'id', 'project');
  ctx.store.deleteNode(project.id);
  return projectView(ctx.store, project.id);
}

export function getProject(ctx: ModelContext, id: unknown): ProjectView {
  return projectView(ctx.store, requireNode(ctx.store, id, 'id', 'project', true).id);
}
