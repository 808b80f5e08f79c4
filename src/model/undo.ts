// Undo: this device's changes taken back, newest first, like an editor's undo. Guarantees:
// - `undo` reverts the newest change this replica made (all ops of one command: its change id)
//   that is not itself an undo and not undone yet, as one new change whose every op carries
//   `undoes: <change id>`; so a second undo walks further back, on every replica alike;
// - a field is written back only while every head of it is the value the change wrote, written
//   here: a field another device changed since (or holds in conflict) is named in `skipped` and
//   left alone, never clobbered; so is one a later change here set to something else;
// - body edits are inverted where their text is now: the text the change removed goes back at
//   its place and the text it added goes (edits made since, elsewhere in the body, stay);
// - nodes the change created go to the trash (nothing is destroyed), links it added are removed
//   unless added again elsewhere, links it removed come back;
// - a change of which nothing can be undone changes nothing and says why (conflict).

import { HephError } from '../core/errors.js';
import { originOf, wallOf } from '../core/hlc.js';
import {
  isBodyKind,
  nodeOfOp,
  resolveVersionRef,
  shortVersions,
  summarize,
  valueBefore,
} from '../core/history.js';
import { isKnownField, type KnownField } from '../core/fields.js';
import type { LinkType } from '../core/ids.js';
import { canonicalJson, type Json } from '../core/json.js';
import { isLive } from '../core/link-set.js';
import { formatVersion } from '../core/version.js';
import type { NodePatch } from '../ports/store.js';
import type { LogOp, OwnChange } from '../store/node-log.js';
import { isoOf } from '../store/node-rows.js';
import type { History } from './history.js';

export interface ChangeNode {
  id: string;
  title: string;
  kind: string;
  /** What the change did to this node. */
  summary: string;
}

export interface Skipped {
  id: string;
  title: string;
  /** The field, 'body' or 'link <type> <dst>'. */
  what: string;
  reason: string;
  /** The device that changed it since, when it was another one. */
  device?: string;
}

export interface UndoEntry {
  change: string;
  short_change: string;
  at: string;
  summary: string;
  nodes: ChangeNode[];
  /** Whether undo would change anything (false: every part was changed since elsewhere). */
  undoable: boolean;
  skipped: Skipped[];
}

export interface UndoResult {
  /** The change undone. */
  undone: string;
  /** When it was made. */
  at: string;
  summary: string;
  nodes: ChangeNode[];
  skipped: Skipped[];
}

/** The value a field has before any write (what writing it back means). */
const UNSET: Record<string, Json> = { title: '', aliases: [], deleted: false };
const LIST_LIMIT = 1000;
/** Nodes a change's one-line summary names before it counts the rest. */
const SUMMARY_NODES = 3;

interface Plan {
  actions: (() => void)[];
  skipped: Skipped[];
}

export class Undo {
  constructor(private readonly history: History) {}

  private get store() {
    return this.history.store;
  }

  /** Own changes undo could take, newest first (at most `limit`). */
  private candidates(limit: number): OwnChange[] & { made?: boolean } {
    const out: OwnChange[] & { made?: boolean } = [];
    const undone = new Set<string>();
    this.history.log.ownChanges(this.store.origin, (c) => {
      // Naming a device is no edit of notes: undo passes it by.
      if (c.ops.every((o) => o.kind === 'device.name')) return true;
      out.made = true;
      if (c.undoes !== undefined) undone.add(c.undoes);
      else if (!undone.has(c.change)) out.push(c);
      return out.length < limit;
    });
    return out;
  }

  list(limit = 10): { changes: UndoEntry[] } {
    const found = this.candidates(limit);
    const short = shortVersions(
      found.map((c) => c.change),
      found.map((c) => c.change),
    );
    // Each is judged as the undo that follows the ones listed before it: fields those will set
    // back do not count as changed since.
    const above = new Set<string>();
    return {
      changes: found.map((c) => {
        const ops = this.opsOf(c);
        const plan = this.plan(ops, above);
        above.add(c.change);
        return {
          change: c.change,
          short_change: short.get(c.change) ?? c.change,
          at: isoOf(wallOf(c.change)),
          ...this.describe(ops),
          undoable: plan.actions.length > 0,
          skipped: plan.skipped,
        };
      }),
    };
  }

  undo(ref?: string): UndoResult {
    const found: OwnChange[] & { made?: boolean } =
      ref === undefined ? this.candidates(1) : [this.find(ref)];
    const c = found[0];
    if (!c) {
      throw new HephError(
        'not_found',
        found.made === true
          ? 'nothing to undo: every change made on this device is undone'
          : 'nothing to undo: no change was made on this device yet (changes that synced in ' +
              'from other devices are undone on the device that made them)',
        {},
      );
    }
    const ops = this.opsOf(c);
    const plan = this.plan(ops);
    const described = this.describe(ops);
    if (plan.actions.length === 0) {
      throw new HephError(
        'conflict',
        `nothing of the last change (${described.summary}) can be undone: ` +
          plan.skipped.map((s) => `${s.what} of ${s.title || s.id} ${s.reason}`).join('; ') +
          '. Nothing was changed; heph undo --list shows the changes this device can undo',
        { change: c.change, skipped: plan.skipped.map((s) => ({ ...s })) },
      );
    }
    this.store.transaction(() => {
      this.store.markChange({ undoes: c.change });
      for (const a of plan.actions) a();
    });
    return { undone: c.change, at: isoOf(wallOf(c.change)), ...described, skipped: plan.skipped };
  }

  /** The change `ref` names (full id, or a short form among the changes undo could take). */
  private find(ref: string): OwnChange {
    const r = ref.trim().toLowerCase();
    if (/^[0-9a-f]{12}-[0-9a-f]{4}-[0-9a-f]{16}$/.test(r) && originOf(r) !== this.store.origin) {
      throw new HephError(
        'invalid_params',
        `change: ${r} was not made on this device; only this device's own changes can be undone here`,
        { field: 'change' },
      );
    }
    const found = this.candidates(LIST_LIMIT);
    const id = resolveVersionRef(
      r,
      found.map((c) => c.change),
      'this device',
      'change',
    );
    return found.find((c) => c.change === id) as OwnChange;
  }

  private opsOf(c: OwnChange): LogOp[] {
    return c.ops.flatMap((o) => {
      const op = this.history.log.op(o.id);
      return op ? [op] : [];
    });
  }

  /** What a change did, node by node. */
  private describe(ops: readonly LogOp[]): { summary: string; nodes: ChangeNode[] } {
    const ctx = this.history.summaryContext(ops);
    const byNode = new Map<string, LogOp[]>();
    for (const op of ops) {
      const n = nodeOfOp(op);
      byNode.set(n, [...(byNode.get(n) ?? []), op]);
    }
    const nodes: ChangeNode[] = [];
    for (const [id, nodeOps] of byNode) {
      const n = this.store.findNode(id);
      nodes.push({
        id,
        title: n?.title ?? '',
        kind: n?.kind ?? '',
        summary: summarize(nodeOps, ctx),
      });
    }
    // Nodes the change did the same to (a task and its context doc renamed) are named once.
    const same = new Map<string, string[]>();
    for (const n of nodes) {
      const part = n.summary.startsWith('created ')
        ? n.summary
        : `${JSON.stringify(n.title || n.id)}: ${n.summary}`;
      same.set(part, [...(same.get(part) ?? []), n.kind || 'node']);
    }
    const parts = [...same].map(([part, kinds]) =>
      kinds.length > 1 ? `${part} (${kinds.join(' and ')})` : part,
    );
    // A change of many nodes (an import) is named by its first few and a count.
    const summary =
      parts.length > SUMMARY_NODES
        ? `${parts.slice(0, SUMMARY_NODES).join('; ')}; and ${parts.length - SUMMARY_NODES} more ${parts.length - SUMMARY_NODES === 1 ? 'node' : 'nodes'}`
        : parts.join('; ');
    return { summary, nodes };
  }

  /** The writes that undo a change, and what it must leave alone. */
  private plan(ops: readonly LogOp[], undoneFirst: ReadonlySet<string> = new Set()): Plan {
    const store = this.store;
    const created = new Set(
      ops.filter((o) => o.kind === 'node.set' && o.payload?.field === 'kind').map((o) => o.target),
    );
    const actions: (() => void)[] = [];
    const skipped: Skipped[] = [];
    const title = (id: string) => store.findNode(id)?.title ?? '';
    const skip = (id: string, what: string, reason: string, origin?: string) =>
      skipped.push({
        id,
        title: title(id),
        what,
        reason,
        ...(origin !== undefined && { device: this.history.device(origin) }),
      });
    for (const id of created) {
      if (store.findNode(id)?.deleted === false) actions.push(() => store.deleteNode(id));
    }
    const mine = ops.filter((o) => !created.has(nodeOfOp(o)));
    const ctx = this.history.summaryContext(ops);
    // Fields: first and last write of each (node, field).
    const writes = new Map<string, { first: LogOp; last: LogOp }>();
    for (const o of mine) {
      if (o.kind !== 'node.set' || typeof o.payload?.field !== 'string') continue;
      const key = `${o.target}\0${o.payload.field}`;
      const w = writes.get(key);
      if (w) w.last = o;
      else writes.set(key, { first: o, last: o });
    }
    const patches = new Map<string, NodePatch>();
    const patchField = (id: string, field: string, first: LogOp) => {
      const old = valueBefore(first, ctx) ?? UNSET[field] ?? null;
      if (field === 'deleted') {
        actions.push(() => (old === true ? store.deleteNode(id) : store.restoreNode(id)));
        return;
      }
      const patch = patches.get(id) ?? {};
      if (isKnownField(field)) (patch as Record<KnownField, unknown>)[field] = old;
      else patch.extra = { ...patch.extra, [field]: old };
      patches.set(id, patch);
    };
    for (const { first, last } of writes.values()) {
      const id = first.target;
      const field = first.payload?.field as string;
      if (field === 'kind') continue;
      const all = this.history.log.registers(id)[field]?.heads ?? [];
      const heads = all.filter((h) => !undoneFirst.has(this.history.log.op(h.id)?.change ?? ''));
      if (all.length > 0 && heads.length === 0) {
        // Undone first, the changes listed before this one set the field back to this one's value.
        patchField(id, field, first);
        continue;
      }
      const written = canonicalJson(last.payload?.value ?? null);
      const foreign = heads.find((h) => originOf(h.id) !== store.origin);
      if (foreign) {
        skip(
          id,
          field,
          `was changed on ${this.history.device(originOf(foreign.id))} since`,
          originOf(foreign.id),
        );
        continue;
      }
      if (heads.length === 0 || heads.some((h) => h.value !== written)) {
        skip(id, field, 'was changed here since, by a later change');
        continue;
      }
      patchField(id, field, first);
    }
    // Bodies: the change's edits inverted where their text is now.
    for (const id of new Set(mine.filter((o) => isBodyKind(o.kind)).map((o) => o.target))) {
      const own = mine.filter((o) => o.target === id && isBodyKind(o.kind)).map((o) => o.id);
      const firstId = own[0] as string;
      const lastId = own[own.length - 1] as string;
      const steps = this.history.log.steps;
      steps.fill(id);
      const rows = steps.meta(id, lastId);
      const branch = rows.find((r) => r.id === firstId)?.branch ?? '';
      const after = steps.bodyAt(id, lastId);
      if (after.shown !== branch) {
        skip(
          id,
          'body',
          'was an edit of a conflicting copy of the body: resolve the conflict instead',
        );
        continue;
      }
      const prev = rows.filter((r) => r.id < firstId).pop();
      const before = prev === undefined ? '' : (steps.bodyAt(id, prev.id).texts.get(branch) ?? '');
      if (before === after.texts.get(branch)) continue;
      const patch = patches.get(id) ?? {};
      patch.body = before;
      patch.base_version = formatVersion(after.version);
      patches.set(id, patch);
    }
    for (const [id, patch] of patches) actions.unshift(() => store.updateNode(id, patch));
    // Typed links from nodes the change did not create, each by the change's first and last op
    // of it: removed and added again (a move that rewrote where a node stays, see setOnlyLink),
    // or added and removed, it ends as it was found, and there is nothing to take back.
    const linkOps = new Map<string, { first: LogOp; last: LogOp }>();
    for (const o of mine) {
      if (o.kind !== 'link.add' && o.kind !== 'link.remove') continue;
      const w = linkOps.get(o.target);
      if (w) w.last = o;
      else linkOps.set(o.target, { first: o, last: o });
    }
    for (const { first, last: o } of linkOps.values()) {
      if (first.kind !== o.kind) continue;
      const [src, type, dst] = o.target.split('|') as [string, LinkType, string];
      const state = this.history.log.link(o.target);
      if (o.kind === 'link.add') {
        if (!state.adds.includes(o.id)) continue;
        const other = state.adds.find((a) => a !== o.id);
        if (other !== undefined) {
          skip(
            src,
            `link ${type} ${dst}`,
            `was added again on ${this.history.device(originOf(other))}`,
            originOf(other),
          );
        } else actions.push(() => store.removeLink(src, dst, type));
      } else if (!isLive(state) && store.findNode(dst)) {
        actions.push(() => store.addLink(src, dst, type));
      }
    }
    return { actions, skipped };
  }
}
