// Links follow renames. When an item's title changes, the wiki links that resolved to it by name
// (`[[Old]]`, `[[Old|shown]]`, `[[Old#heading]]`, `[[folder/Old]]`, `[[Old.md]]`, embeds alike)
// are rewritten to the new title, in the same change as the rename. Guarantees:
// - only links that resolved to the renamed item before the rename are touched (matched as
//   resolution matches: ignoring ASCII case, nearest note first), so a link to another note of
//   the same old name stays as it was; links by id or alias need no rewrite and get none;
// - the holders are found before the write and their links are read again after it, so a body
//   saved in the same call is rewritten as saved;
// - each link is replaced whole (the new text inserted before the old is deleted), so two devices
//   that rename one note at once leave two whole links side by side, never one interleaved with
//   the other; resolving that title conflict is the rename, and it folds such a pair (adjacent,
//   written with two of the conflicting names) into one link;
// - the rewrites are ordinary body edits made by this replica; replicas that receive them apply
//   the edits and never rewrite again (only a local title write plans rewrites);
// - a title that a link cannot name (it holds `[`, `]`, `|`, `#`, `^`, a backtick or a line
//   break) rewrites nothing: the links are counted as kept, and they keep resolving while the
//   old name is the note's file name.

import { wikiLinkSpans, type WikiLinkSpan } from '../core/extract.js';
import { isNodeId } from '../core/ids.js';
import type { Splice } from '../core/text-diff.js';
import type { NodeView } from '../ports/store.js';
import { stripMd } from '../store/search.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { wikiLinkHolders } from './wiki.js';

export interface LinkRewrites {
  /** Notes whose bodies were changed (a task's note counts as the task). */
  links_updated: number;
  /** Links to the item left as written because the new title cannot be written in a link. */
  links_kept?: number;
}

/** What a rename will rewrite: the holders and, for each, the targets that resolved to the item. */
export interface RenamePlan {
  id: string;
  /** The names the links may use (the title, and every value of a title in conflict), lowered. */
  oldNames: Set<string>;
  holders: Map<string, Set<string>>;
}

const UNLINKABLE = /[[\]|#^`\r\n]/;

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * The rewrites a title write of `node` to `title` calls for, planned before the write (undefined
 * when it renames nothing: the same title and no conflict).
 */
export function planRename(
  store: SqliteStore,
  node: NodeView,
  title: string,
): RenamePlan | undefined {
  const heads = store
    .fieldHeads(node.id, 'title')
    .map((h) => h.value)
    .filter((v): v is string => typeof v === 'string');
  const old = new Set([node.title, ...heads]);
  if (old.size === 1 && node.title === title) return undefined;
  const oldNames = new Set([...old].map((t) => asciiLower(t.trim())));
  return { id: node.id, oldNames, holders: wikiLinkHolders(store, node.id) };
}

/** The target written with the new title, or undefined when it does not name the item by title. */
function renamed(target: string, plan: RenamePlan, title: string): string | undefined {
  if (isNodeId(target.trim())) return undefined;
  const slash = target.lastIndexOf('/');
  const last = target.slice(slash + 1);
  const stem = stripMd(last);
  if (!plan.oldNames.has(asciiLower(stem.trim()))) return undefined;
  return target.slice(0, slash + 1) + title + last.slice(stem.length);
}

/**
 * Applies a plan after the title was written (inside the same transaction): every link in the
 * holders whose target resolved to the item by one of its old names now names `title`.
 */
export function applyRename(
  store: SqliteStore,
  plan: RenamePlan | undefined,
  title: string,
  taskOf: (holder: string) => string | undefined,
): LinkRewrites {
  if (plan === undefined || plan.holders.size === 0) return { links_updated: 0 };
  const unlinkable = UNLINKABLE.test(title) || title.trim() !== title;
  const updated = new Set<string>();
  let kept = 0;
  for (const [holder, targets] of plan.holders) {
    const body = store.findNode(holder)?.body ?? '';
    const edits: { span: WikiLinkSpan; text: string; from: string }[] = [];
    for (const span of wikiLinkSpans(body)) {
      if (!targets.has(span.target)) continue;
      const next = renamed(span.target, plan, title);
      if (next === undefined || next === span.target) continue;
      if (unlinkable) {
        kept++;
        continue;
      }
      const text =
        body.slice(span.start, span.targetStart) + next + body.slice(span.targetEnd, span.end);
      edits.push({ span, text, from: span.target });
    }
    if (edits.length === 0) continue;
    const splices: Splice[] = [];
    for (let i = edits.length - 1; i >= 0; i--) {
      const e = edits[i]!;
      const before = edits[i - 1];
      // Two devices renamed at once: each replaced the link, leaving both; keep one.
      const pair =
        before !== undefined &&
        before.span.end === e.span.start &&
        before.text === e.text &&
        asciiLower(before.from) !== asciiLower(e.from);
      const { start, end } = e.span;
      if (pair) {
        splices.push({ index: start, remove: end - start, insert: '' });
        continue;
      }
      splices.push({ index: start, remove: 0, insert: e.text });
      splices.push({ index: start + e.text.length, remove: end - start, insert: '' });
    }
    store.editBody(holder, splices);
    updated.add(taskOf(holder) ?? holder);
  }
  return { links_updated: updated.size, ...(kept > 0 && { links_kept: kept }) };
}
