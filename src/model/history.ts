// A node's history (docs/ops-and-merge.md, History): its versions with what each changed, the
// node as it was at a version, and reverting to one. Guarantees:
// - node.history lists one version per change with an op on the node, newest first, the same on
//   every replica (core/history.ts); summaries come from the ops and the body steps, so a long
//   history is listed without rebuilding any version;
// - node.at is the state after applying every op on the node with an id at or below the version,
//   in op-id order: its fields are the registers those ops make, its body the documents their
//   steps make (shown by the rule of bodies.ts), its links the typed links from it those ops
//   leave. When edits were concurrent this can be a state no single device showed;
// - revert writes that state back as one new change: fields with the current heads as prev, the
//   body as an edit of the current text (or from `base_version`), links added or removed; it
//   never moves the node to the trash (a version in the trash is written back but the node is
//   left where it is). What changed after the version stays in the history.

import { HephError, notFound } from '../core/errors.js';
import { isKnownField, TASK_FIELDS } from '../core/fields.js';
import {
  changesOf,
  isBodyKind,
  nodeOfOp,
  resolveVersionRef,
  shortVersions,
  summarize,
  type ChangeOnNode,
  type SummaryContext,
} from '../core/history.js';
import { isHlcString, originOf, wallOf } from '../core/hlc.js';
import type { LinkType, NodeKind } from '../core/ids.js';
import { canonicalJson, type Json } from '../core/json.js';
import { applyAdd, applyRemove, EMPTY_LINK, isLive, type LinkSetState } from '../core/link-set.js';
import { applyWrite, EMPTY_REGISTER, viewRegister, type RegisterState } from '../core/register.js';
import { formatVersion } from '../core/version.js';
import type { NodePatch, NodeView } from '../ports/store.js';
import { NodeLog, type LogOp } from '../store/node-log.js';
import { isoOf } from '../store/node-rows.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { asItem, contextDocIds, updateItem } from './items.js';

export interface VersionInfo {
  version: string;
  /** The form `heph history` shows and accepts. */
  short_version: string;
  at: string;
  origin: string;
  device: string;
  change: string;
  summary: string;
}

export interface HistoryPage {
  id: string;
  versions: VersionInfo[];
  /** Older versions exist: ask again with `before` = the last version listed. */
  more: boolean;
}

export interface NodeAt extends Omit<NodeView, 'created_ms' | 'updated_ms'> {
  version: string;
  short_version: string;
  at: string;
  device: string;
  change: string;
  /** Fields in conflict at that version. */
  conflicts: string[];
  /** More than one body document unresolved at that version. */
  body_conflict: boolean;
  /** Typed links from the node at that version. */
  links: { type: LinkType; dst: string }[];
}

export interface RevertResult {
  node: NodeView;
  version: string;
  short_version: string;
  /** When that version was made. */
  at: string;
  /** What the revert wrote: field names, 'body', 'restored', 'link …'. Empty: nothing differed. */
  changed: string[];
}

export interface HistoryOptions {
  /** How this replica's own changes are named (a local daemon: "this device"). */
  ownDevice?: string | undefined;
  /** Body steps between saved states (step-log.ts); tests make it small. */
  markEvery?: number;
}

const DEFAULT_LIMIT = 20;
const FIELD_DEFAULTS: Record<string, Json> = { title: '', aliases: [], deleted: false };

export class History {
  readonly log: NodeLog;

  constructor(
    readonly store: SqliteStore,
    private readonly options: HistoryOptions = {},
  ) {
    this.log = new NodeLog(store.connection, {
      ...(options.markEvery !== undefined && { markEvery: options.markEvery }),
      rowsCurrent: () => store.catchUpRows(),
    });
  }

  /** A replica's name as history shows it: "this device", its device name, else its id. */
  device(origin: string): string {
    return origin === this.store.origin && this.options.ownDevice !== undefined
      ? this.options.ownDevice
      : (this.store.deviceName(origin) ?? origin);
  }

  /**
   * What history summaries need to know: field values from `ops` (others are looked up), and
   * the lines each body op of `linesFor` touched.
   */
  summaryContext(ops: readonly LogOp[], linesFor: readonly LogOp[] = ops): SummaryContext {
    const values = new Map<string, Json>();
    for (const o of ops) {
      if (o.kind === 'node.set' && o.payload) values.set(o.id, o.payload.value ?? null);
    }
    const lines = new Map<string, { added: number; removed: number }>();
    const bodyOps = new Map<string, string[]>();
    for (const o of linesFor) {
      if (isBodyKind(o.kind)) bodyOps.set(o.target, [...(bodyOps.get(o.target) ?? []), o.id]);
    }
    for (const [node, ids] of bodyOps) {
      this.log.steps.fill(node);
      ids.sort();
      const found = this.log.steps.lines(node, ids[0] as string, ids[ids.length - 1] as string);
      for (const [id, l] of found) lines.set(id, l);
    }
    return {
      valueOf: (id) => values.get(id) ?? this.log.op(id)?.payload.value,
      linesOf: (id) => lines.get(id),
      nameOf: (id) => this.store.findNode(id)?.title || id,
    };
  }

  /** The note whose body is a task's text (items.ts), or undefined for other nodes. */
  private noteId(id: string): string | undefined {
    const node = this.store.findNode(id);
    return node?.kind === 'task' ? contextDocIds(this.store, id)[0] : undefined;
  }

  /**
   * The ops of a node as an item: a task's own ops with its note's body ops, in op-id order (a
   * task is one thing with its note; its text is written there).
   */
  private itemOps(id: string): LogOp[] {
    const own = this.log.nodeOps(id);
    const note = this.noteId(id);
    if (note === undefined) return own;
    const body = this.log.nodeOps(note).filter((o) => isBodyKind(o.kind));
    return [...own, ...body].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  list(id: string, opts: { limit?: number; before?: string } = {}): HistoryPage {
    const ops = this.itemOps(id);
    const changes = changesOf(ops);
    const all = changes.map((c) => c.version);
    let end = changes.length;
    if (opts.before !== undefined) {
      // A full version need not be one of the node's (any point in time pages); a short one
      // must name one of them.
      const t = opts.before.trim().toLowerCase();
      const before = isHlcString(t) ? t : resolveVersionRef(t, all, id, 'before');
      while (end > 0 && (changes[end - 1] as ChangeOnNode).version >= before) end--;
    }
    const limit = opts.limit ?? DEFAULT_LIMIT;
    const page = changes.slice(Math.max(0, end - limit), end).reverse();
    const ctx = this.summaryContext(
      ops,
      page.flatMap((c) => c.ops),
    );
    const short = shortVersions(
      all,
      page.map((c) => c.version),
    );
    return {
      id,
      versions: page.map((c) => ({
        version: c.version,
        short_version: short.get(c.version) ?? c.version,
        at: isoOf(wallOf(c.version)),
        origin: originOf(c.version),
        device: this.device(originOf(c.version)),
        change: c.change,
        summary: this.mark(c.change, summarize(c.ops, ctx), all),
      })),
      more: end - limit > 0,
    };
  }

  /** Prefixes a summary with what an undo or revert change was. */
  private mark(change: string, summary: string, versions: readonly string[]): string {
    const first = this.log.op(change)?.payload;
    if (typeof first?.undoes === 'string') return `undo: ${summary}`;
    if (typeof first?.reverts === 'string') {
      const v = first.reverts;
      return `reverted to ${shortVersions([...new Set([...versions, v])], [v]).get(v) ?? v}: ${summary}`;
    }
    return summary;
  }

  /** The version `ref` names among the node's versions (see resolveVersionRef). */
  private version(
    id: string,
    ops: readonly LogOp[],
    ref: string,
  ): ChangeOnNode<LogOp> & { short: string } {
    const changes = changesOf(ops);
    const all = changes.map((c) => c.version);
    const trimmed = ref.trim().toLowerCase();
    if (isHlcString(trimmed) && !all.includes(trimmed)) {
      const op = this.log.op(trimmed);
      if (!op) {
        throw new HephError(
          'not_found',
          `no version ${trimmed} of ${id} here; if it was made on another device, sync first`,
          { id, version: trimmed },
        );
      }
      if (nodeOfOp(op) !== id && nodeOfOp(op) !== this.noteId(id)) {
        throw new HephError(
          'invalid_params',
          `version: ${trimmed} is a change of ${nodeOfOp(op)}, not of ${id}`,
          {
            field: 'version',
          },
        );
      }
    }
    const v = resolveVersionRef(ref, all, id);
    const c = changes.find((x) => x.version === v) as ChangeOnNode<LogOp>;
    return { ...c, short: shortVersions(all, [v]).get(v) ?? v };
  }

  at(id: string, ref: string): NodeAt {
    const node = this.store.findNode(id);
    if (!node) throw notFound('node', id);
    const ops = this.itemOps(id);
    const c = this.version(id, ops, ref);
    const v = c.version;
    const upTo = ops.filter((o) => o.id <= v && nodeOfOp(o) === id);
    // Fields: the registers the field ops up to the version make, in op-id order.
    const regs = new Map<string, RegisterState>();
    const applied = new Set<string>();
    const links = new Map<string, LinkSetState>();
    for (const o of upTo) {
      applied.add(o.id);
      const p = o.payload;
      if (o.kind === 'node.set' && p && typeof p.field === 'string') {
        const prev = Array.isArray(p.prev)
          ? p.prev.filter((x): x is string => typeof x === 'string')
          : [];
        const reg = regs.get(p.field) ?? EMPTY_REGISTER;
        regs.set(
          p.field,
          applyWrite(reg, { id: o.id, value: canonicalJson(p.value ?? null), prev }, (x) =>
            applied.has(x),
          ),
        );
      } else if (o.kind === 'link.add') {
        links.set(o.target, applyAdd(links.get(o.target) ?? EMPTY_LINK, o.id));
      } else if (o.kind === 'link.remove' && p && Array.isArray(p.observed)) {
        const observed = p.observed.filter((x): x is string => typeof x === 'string');
        links.set(
          o.target,
          applyRemove(links.get(o.target) ?? EMPTY_LINK, observed, (x) => applied.has(x)),
        );
      }
    }
    const value = (f: string): Json | undefined => {
      const r = regs.get(f);
      const vis = r && viewRegister(r).visible;
      return vis === undefined ? undefined : (JSON.parse(vis) as Json);
    };
    // The text: a task's note's at that version (its own, as an earlier version kept it, while
    // the note is empty), as items.ts reads it now.
    const bodyOf = (node: string) => {
      this.log.steps.fill(node);
      const b = this.log.steps.bodyAt(node, v);
      return { ...b, text: b.shown === undefined ? '' : (b.texts.get(b.shown) ?? '') };
    };
    const own = bodyOf(id);
    const note = this.noteId(id);
    const noted = note === undefined ? undefined : bodyOf(note);
    const body = noted !== undefined && !(noted.text === '' && own.text !== '') ? noted : own;
    const kind = (value('kind') ?? node.kind) as NodeKind;
    const extra: Record<string, Json> = {};
    for (const f of [...regs.keys()].sort()) if (!isKnownField(f)) extra[f] = value(f) ?? null;
    const out: NodeAt = {
      id,
      kind,
      title: (value('title') ?? '') as string,
      aliases: (value('aliases') ?? []) as string[],
      body: body.text,
      body_version: formatVersion(body.version),
      deleted: value('deleted') === true,
      created: isoOf(wallOf((ops[0] as LogOp).id)),
      updated: isoOf(wallOf(v)),
      extra,
      version: v,
      short_version: c.short,
      at: isoOf(wallOf(v)),
      device: this.device(originOf(v)),
      change: c.change,
      conflicts: [...regs.entries()]
        .filter(([, r]) => viewRegister(r).conflict)
        .map(([f]) => f)
        .sort(),
      body_conflict: body.heads > 1,
      links: [...links.entries()]
        .filter(([, s]) => isLive(s))
        .map(([target]) => {
          const [, type, dst] = target.split('|') as [string, LinkType, string];
          return { type, dst };
        })
        .sort((a, b) => (a.type + a.dst < b.type + b.dst ? -1 : 1)),
    };
    if (kind === 'task') {
      out.state = (value('state') ?? 'outstanding') as NonNullable<NodeView['state']>;
      out.attention = (value('attention') ?? 'white') as NonNullable<NodeView['attention']>;
      out.do_date = (value('do_date') ?? null) as string | null;
      out.late_on = (value('late_on') ?? null) as string | null;
      out.recurrence = (value('recurrence') ?? null) as string | null;
    }
    return out;
  }

  revert(id: string, ref: string, baseVersion?: string): RevertResult {
    const then = this.at(id, ref);
    const now = asItem(this.store, this.store.getNode(id));
    const changed: string[] = [];
    const patch: NodePatch = {};
    const differs = (a: unknown, b: unknown) =>
      canonicalJson(a ?? null) !== canonicalJson(b ?? null);
    if (differs(then.title, now.title)) {
      patch.title = then.title;
      changed.push('title');
    }
    if (differs(then.aliases, now.aliases)) {
      patch.aliases = then.aliases;
      changed.push('aliases');
    }
    if (now.kind === 'task') {
      for (const f of TASK_FIELDS) {
        if (differs(then[f], now[f])) {
          (patch as Record<string, unknown>)[f] = then[f];
          changed.push(f);
        }
      }
    }
    const extra: Record<string, Json> = {};
    for (const f of new Set([...Object.keys(then.extra), ...Object.keys(now.extra)])) {
      const old = then.extra[f] ?? FIELD_DEFAULTS[f] ?? null;
      if (differs(old, now.extra[f])) {
        extra[f] = old;
        changed.push(f);
      }
    }
    if (Object.keys(extra).length > 0) patch.extra = extra;
    if (then.body !== now.body) {
      patch.body = then.body;
      if (baseVersion !== undefined) patch.base_version = baseVersion;
      changed.push('body');
    }
    const current = new Set(
      this.store
        .links(id)
        .filter((l) => l.type !== 'wiki')
        .map((l) => `${l.type}|${l.dst}`),
    );
    const wanted = new Set(then.links.map((l) => `${l.type}|${l.dst}`));
    this.store.transaction(() => {
      this.store.markChange({ reverts: then.version });
      if (Object.keys(patch).length > 0) updateItem(this.store, now, patch);
      if (now.deleted && !then.deleted) {
        this.store.restoreNode(id);
        changed.push('restored');
      }
      for (const l of wanted) {
        if (current.has(l)) continue;
        const [type, dst] = l.split('|') as [LinkType, string];
        if (!this.store.findNode(dst)) continue;
        this.store.addLink(id, dst, type);
        changed.push(`+link ${type} ${dst}`);
      }
      for (const l of current) {
        if (wanted.has(l)) continue;
        const [type, dst] = l.split('|') as [LinkType, string];
        this.store.removeLink(id, dst, type);
        changed.push(`−link ${type} ${dst}`);
      }
    });
    return {
      node: this.store.getNode(id),
      version: then.version,
      short_version: then.short_version,
      at: then.at,
      changed,
    };
  }
}
