// History of a node, pure parts: grouping a node's ops into versions, the short forms of
// versions people type, and one-line summaries of what a change did. Guarantees:
// - versions are a function of the node's op set: one per change that has an op on the node,
//   named by the id of that change's last op on it, so every replica lists the same versions;
// - a short version names exactly one of the node's versions (else the full version is shown),
//   and resolveVersionRef accepts it, the full version, or any suffix that names one version;
// - summaries read only the ops, the values their `prev` heads held and the body steps' line
//   counts: the same words on every replica.

import { HephError, invalid } from './errors.js';
import { isHlcString, originOf } from './hlc.js';
import type { Json } from './json.js';

/** An op as history reads it; body ops come without their payload. */
export interface HistOp {
  id: string;
  kind: string;
  target: string;
  change: string;
  payload: { readonly [k: string]: Json } | undefined;
}

export interface ChangeOnNode<T extends HistOp = HistOp> {
  change: string;
  /** The id of the change's last op on the node. */
  version: string;
  ops: T[];
}

/** The node's changes, oldest version first (`ops` in op-id order). */
export function changesOf<T extends HistOp>(ops: readonly T[]): ChangeOnNode<T>[] {
  const byChange = new Map<string, ChangeOnNode<T>>();
  const out: ChangeOnNode<T>[] = [];
  let sorted = true;
  for (const op of ops) {
    const c = byChange.get(op.change);
    if (c) {
      c.ops.push(op);
      if (op.id > c.version) c.version = op.id;
      // A change whose ops are not all together in op-id order can end after a later one.
      if (c !== out[out.length - 1]) sorted = false;
    } else {
      const n = { change: op.change, version: op.id, ops: [op] };
      byChange.set(op.change, n);
      out.push(n);
    }
  }
  return sorted ? out : out.sort((a, b) => (a.version < b.version ? -1 : 1));
}

// ---- short versions ----------------------------------------------------------------------------

const MIN_SHORT = 6;
const WALL = 12;

/** A version's time part: its 12 hex digits of milliseconds and its 4 of counter. */
function timePart(v: string): string {
  return v.slice(0, WALL + 5);
}

/**
 * Short forms of `wanted` among `all` versions: the last 6 or more hex digits of the version's
 * milliseconds, as few as name it alone; where another version has the same millisecond, the
 * time part with its counter, or the whole version.
 */
export function shortVersions(
  all: readonly string[],
  wanted: readonly string[],
): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of wanted) {
    // The other versions with the same last MIN_SHORT digits: only those can share a form.
    let others = all.filter((u) => u !== v && sameDigits(u, v, MIN_SHORT));
    let n = MIN_SHORT;
    while (others.length > 0 && n < WALL) {
      n++;
      others = others.filter((u) => sameDigits(u, v, n));
    }
    if (others.length === 0) out.set(v, v.slice(WALL - n, WALL));
    else out.set(v, others.some((u) => timePart(u) === timePart(v)) ? v : timePart(v));
  }
  return out;
}

/** Whether two versions' milliseconds end in the same `n` hex digits. */
function sameDigits(a: string, b: string, n: number): boolean {
  for (let i = WALL - n; i < WALL; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return false;
  return true;
}

const REF_HELP =
  'give a version as `heph history` shows it (6-12 hex digits) or in full (as --json shows it)';

/**
 * The version of `versions` that `ref` names: the full version, a short version (a suffix of its
 * milliseconds' hex digits, optionally with `-counter`), or a suffix of the full version.
 * Throws invalid_params for a malformed ref or one that names none, ambiguous for several.
 */
export function resolveVersionRef(
  ref: string,
  versions: readonly string[],
  node: string,
  field = 'version',
): string {
  const r = ref.trim().toLowerCase();
  if (versions.includes(r)) return r;
  const full: boolean = isHlcString(r);
  if (full) {
    throw invalid(field, `${r} is not one of the versions of ${node} (heph history lists them)`);
  }
  let matches: string[];
  if (/^[0-9a-f]{6,12}$/.test(r)) matches = versions.filter((v) => v.slice(0, WALL).endsWith(r));
  else if (/^[0-9a-f]{0,12}-[0-9a-f]{4}$/.test(r) && r.length >= MIN_SHORT) {
    matches = versions.filter((v) => timePart(v).endsWith(r));
  } else if (/^[0-9a-f-]{6,34}$/.test(r)) matches = versions.filter((v) => v.endsWith(r));
  else {
    throw invalid(field, `${JSON.stringify(ref.slice(0, 40))} is not a version: ${REF_HELP}`);
  }
  if (matches.length === 1) return matches[0] as string;
  if (matches.length === 0) {
    throw invalid(field, `no version of ${node} matches ${r} (heph history lists them)`);
  }
  throw new HephError(
    'ambiguous',
    `${r} matches ${matches.length} versions of ${node} (${matches.slice(0, 4).join(', ')}${matches.length > 4 ? ', …' : ''}); use more digits`,
    { field, versions: matches.slice(0, 20) },
  );
}

// ---- summaries ---------------------------------------------------------------------------------

export interface SummaryContext {
  /** The value of an earlier field op, by id (for `prev`); undefined when unknown. */
  valueOf(opId: string): Json | undefined;
  /** Lines a body op touched (body steps). */
  linesOf(opId: string): { added: number; removed: number } | undefined;
  /** How to name another node (a project, a context doc): its title, or its id. */
  nameOf(nodeId: string): string;
}

const BODY_KINDS: readonly string[] = ['body.update', 'body.init', 'body.edit'];

export function isBodyKind(kind: string): boolean {
  return BODY_KINDS.includes(kind);
}

function clip(s: string, max = 40): string {
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

function shown(v: Json | undefined): string {
  if (v === undefined || v === null) return 'none';
  if (typeof v === 'string') return JSON.stringify(clip(v));
  if (Array.isArray(v))
    return v.length === 0
      ? 'none'
      : clip(v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', '));
  return clip(JSON.stringify(v));
}

function plain(v: Json | undefined, none = 'none'): string {
  return v === undefined || v === null ? none : typeof v === 'string' ? clip(v) : shown(v);
}

/** The value a field op wrote over: the newest of its `prev` heads. */
export function valueBefore(op: HistOp, ctx: Pick<SummaryContext, 'valueOf'>): Json | undefined {
  const prev = op.payload?.prev;
  if (!Array.isArray(prev) || prev.length === 0) return undefined;
  const newest = [...prev]
    .filter((p): p is string => typeof p === 'string')
    .sort()
    .pop();
  return newest === undefined ? undefined : ctx.valueOf(newest);
}

function fieldPart(field: string, before: Json | undefined, after: Json): string {
  switch (field) {
    case 'deleted':
      return after === true ? 'moved to trash' : 'restored from trash';
    case 'state':
      if (after === 'done' || after === 'dropped') return after;
      return before === 'done' || before === 'dropped' ? 'reopened' : `state: ${plain(after)}`;
    case 'title':
      return before === undefined
        ? `title: ${shown(after)}`
        : `title: ${shown(before)} → ${shown(after)}`;
    case 'aliases':
      return `aliases: ${shown(after)}`;
    case 'attention':
      return `attention: ${plain(before, 'white')} → ${plain(after)}`;
    case 'do_date':
      return `do date: ${plain(before)} → ${plain(after)}`;
    case 'late_on':
      return `late on: ${plain(before)} → ${plain(after)}`;
    case 'recurrence':
      return `recurs: ${plain(before)} → ${plain(after)}`;
    default:
      return `${field}: ${shown(before)} → ${shown(after)}`;
  }
}

function linkPart(op: HistOp, ctx: SummaryContext): string | undefined {
  const [, type, dst] = op.target.split('|');
  if (type === undefined || dst === undefined) return undefined;
  const add = op.kind === 'link.add';
  if (op.kind !== 'link.add' && op.kind !== 'link.remove') return undefined;
  const name = dst.startsWith('tag:') && type === 'tagged' ? dst.slice(4) : shown(ctx.nameOf(dst));
  switch (type) {
    case 'tagged':
      return `${add ? '+' : '−'}tag ${name}`;
    case 'in-project':
      return add ? `project: ${name}` : `out of project ${name}`;
    case 'parent':
      return add ? `under ${name}` : `no longer under ${name}`;
    case 'canonical-context':
      return add ? `context doc ${name}` : `context doc ${name} unlinked`;
    default:
      return `${add ? 'linked' : 'unlinked'} ${type} ${name}`;
  }
}

const FIELD_ORDER = ['deleted', 'state', 'title'];

/** What a change did to one node, in a few words (`ops` are the change's ops on the node). */
export function summarize(ops: readonly HistOp[], ctx: SummaryContext): string {
  const fields = new Map<string, { first: HistOp; last: HistOp }>();
  let body: { added: number; removed: number; resolved: boolean } | undefined;
  // Each link by its first and last op: removed and added again (a move that rewrote where a
  // node stays) it is as it was, and not named.
  const links = new Map<string, { first: HistOp; last: HistOp }>();
  for (const op of ops) {
    if (op.kind === 'node.set' && typeof op.payload?.field === 'string') {
      const f = fields.get(op.payload.field);
      if (f) f.last = op;
      else fields.set(op.payload.field, { first: op, last: op });
    } else if (isBodyKind(op.kind)) {
      body ??= { added: 0, removed: 0, resolved: false };
      const l = ctx.linesOf(op.id);
      body.added += l?.added ?? 0;
      body.removed += l?.removed ?? 0;
      if (op.kind === 'body.edit' && op.payload?.resolves !== undefined) body.resolved = true;
    } else {
      const l = links.get(op.target);
      if (l) l.last = op;
      else links.set(op.target, { first: op, last: op });
    }
  }
  const parts: string[] = [];
  const kind = fields.get('kind');
  if (kind) {
    const title = fields.get('title')?.last.payload?.value;
    parts.push(
      `created ${plain(kind.last.payload?.value)}${typeof title === 'string' && title !== '' ? ` ${shown(title)}` : ''}`,
    );
  } else {
    const names = [...fields.keys()].sort(
      (a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0),
    );
    for (const f of names) {
      const { first, last } = fields.get(f) as { first: HistOp; last: HistOp };
      parts.push(fieldPart(f, valueBefore(first, ctx), last.payload?.value ?? null));
    }
    if (body) {
      if (body.resolved) parts.push('resolved the body conflict');
      parts.push(
        body.added === 0 && body.removed === 0 && !body.resolved
          ? 'body unchanged'
          : `+${body.added} −${body.removed} lines`,
      );
    }
  }
  for (const { first, last } of links.values()) {
    const l = first.kind === last.kind ? linkPart(last, ctx) : undefined;
    if (l !== undefined) parts.push(l);
  }
  return parts.length > 0 ? parts.join(', ') : 'no visible change';
}

function rank(field: string): number {
  const i = FIELD_ORDER.indexOf(field);
  return i === -1 ? FIELD_ORDER.length : i;
}

/** The node an op is about: its target, or the source of a link. */
export function nodeOfOp(op: Pick<HistOp, 'kind' | 'target'>): string {
  return op.kind.startsWith('link.') ? (op.target.split('|')[0] ?? op.target) : op.target;
}

/** Whether an op was written by the given replica. */
export function isFrom(op: Pick<HistOp, 'id'>, origin: string): boolean {
  return originOf(op.id) === origin;
}
