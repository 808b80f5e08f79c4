// Body steps: what each body op changed, when a node's body ops are applied in op-id order.
// A body op's update may carry the whole delete set of the document its writer had (saves made
// before schema 9 encoded it so), so replaying a long-edited body from its ops costs far more
// than the edits themselves.
// A step is the op's change alone, as Yjs reports it when the op is applied after every op with
// a lower id: the items it inserted and the items it deleted that were still there. Guarantees:
// - applying the steps of a prefix of the ops (in op-id order) gives the same document as
//   applying those ops' updates (a step is the difference its update made to that prefix);
// - `added` and `removed` count the lines the op's inserted and deleted text touched (a change
//   inside one line counts one of each), the same on every replica (op-id order, not arrival);
// - a step that changed nothing is empty, and replaying skips it.

import * as Y from 'yjs';

const TEXT = 'body';

export interface Step {
  step: Uint8Array;
  added: number;
  removed: number;
}

function newDoc(): Y.Doc {
  // gc: deleted items keep no text here (steps carry deletions by id); a fixed guid avoids the
  // system call a random one costs.
  return new Y.Doc({ gc: true, guid: 'heph-steps' });
}

/** Lines a run of inserted or deleted text touches: a partial line counts as one. */
export function linesTouched(s: string): number {
  if (s === '') return 0;
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return s.endsWith('\n') || s.startsWith('\n') ? Math.max(1, n) : n + 1;
}

function isText(s: Y.AbstractStruct | null): s is Y.Item {
  return s instanceof Y.Item && s.content instanceof Y.ContentString;
}

/**
 * The texts of `set`'s items, one per run of items that stand next to each other in the
 * document, passing over items `hidden` says are not there in the state being described.
 */
function runs(set: ReadonlySet<Y.Item>, hidden: (i: Y.Item) => boolean): string[] {
  const neighbour = (i: Y.Item, side: 'left' | 'right'): Y.Item | null => {
    let n = i[side];
    while (n !== null && !set.has(n) && hidden(n)) n = n[side];
    return n;
  };
  const out: string[] = [];
  for (const start of set) {
    const left = neighbour(start, 'left');
    if (left !== null && set.has(left)) continue;
    let s = '';
    for (let i: Y.Item | null = start; i !== null && set.has(i); i = neighbour(i, 'right')) {
      s += (i.content as Y.ContentString).str;
    }
    out.push(s);
  }
  return out;
}

/** Lines the transaction's new text and deleted text touch. */
function measure(tr: Y.Transaction, doc: Y.Doc): { added: number; removed: number } {
  const inserted = new Set<Y.Item>();
  for (const [client, after] of tr.afterState) {
    const before = tr.beforeState.get(client) ?? 0;
    if (after <= before) continue;
    const structs = doc.store.clients.get(client) ?? [];
    for (let i = Y.findIndexSS(structs, before); i < structs.length; i++) {
      const s = structs[i] ?? null;
      if (isText(s) && !s.deleted) inserted.add(s);
    }
  }
  const deleted = new Set<Y.Item>();
  Y.iterateDeletedStructs(tr, tr.deleteSet, (s) => {
    if (isText(s) && s.id.clock < (tr.beforeState.get(s.id.client) ?? 0)) deleted.add(s);
  });
  const isNew = (i: Y.Item) => i.id.clock >= (tr.beforeState.get(i.id.client) ?? 0);
  let added = 0;
  for (const r of runs(inserted, (i) => i.deleted)) added += linesTouched(r);
  let removed = 0;
  // Before the op: items deleted earlier and items it inserted were not there.
  for (const r of runs(deleted, (i) => i.deleted || isNew(i))) removed += linesTouched(r);
  return { added, removed };
}

/** Documents of one node, built op by op in op-id order (one per body document). */
export class StepDocs {
  private readonly docs = new Map<string, Y.Doc>();

  private doc(branch: string): Y.Doc {
    let d = this.docs.get(branch);
    if (!d) this.docs.set(branch, (d = newDoc()));
    return d;
  }

  /** Applies steps made earlier, in order. */
  replay(steps: Iterable<{ branch: string; step: Uint8Array }>): void {
    const byBranch = new Map<string, Uint8Array[]>();
    for (const s of steps) {
      if (s.step.length === 0) continue;
      let list = byBranch.get(s.branch);
      if (!list) byBranch.set(s.branch, (list = []));
      list.push(s.step);
    }
    for (const [branch, list] of byBranch) {
      const d = this.doc(branch);
      // One transaction: Yjs then cleans up and merges once, not once per step.
      d.transact(() => {
        for (const u of list) Y.applyUpdate(d, u);
      });
    }
  }

  /** Applies the next op's update (it must have a higher id than every op applied). */
  apply(branch: string, update: Uint8Array): Step {
    const d = this.doc(branch);
    let measured = { added: 0, removed: 0 };
    let step: Uint8Array = new Uint8Array(0);
    const onAfter = (tr: Y.Transaction) => {
      measured = measure(tr, d);
    };
    const onUpdate = (u: Uint8Array) => {
      step = u;
    };
    d.on('afterTransaction', onAfter);
    d.on('update', onUpdate);
    try {
      Y.applyUpdate(d, update);
    } finally {
      d.off('afterTransaction', onAfter);
      d.off('update', onUpdate);
    }
    return { step, ...measured };
  }

  /** Starts a document from a state saved earlier (see `states`). */
  load(branch: string, state: Uint8Array): void {
    Y.applyUpdate(this.doc(branch), state);
  }

  /** Every document's state, to start from later. */
  states(): [branch: string, state: Uint8Array][] {
    return [...this.docs].map(([b, d]) => [b, Y.encodeStateAsUpdate(d)]);
  }

  text(branch: string): string {
    return this.docs.get(branch)?.getText(TEXT).toJSON() ?? '';
  }

  destroy(): void {
    for (const d of this.docs.values()) d.destroy();
    this.docs.clear();
  }
}
