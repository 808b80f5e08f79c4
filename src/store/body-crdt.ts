// Bodies as Yjs text. A whole-buffer save is diffed (core/text-diff) into splices applied to the
// Y.Text, and the resulting Yjs update is what travels in a `body.update` op. Yjs merges updates
// in any order and keeps updates whose dependencies have not arrived yet inside the encoded
// state, so the materialized text is a function of the set of updates seen.

import { createHash } from 'node:crypto';
import * as Y from 'yjs';
import { HephError } from '../core/errors.js';
import type { KnownOp } from '../core/op.js';
import { diffEdit, diffText, type Splice } from '../core/text-diff.js';

const TEXT = 'body';

function load(state: Uint8Array | undefined): Y.Doc {
  // A fixed guid: these documents live for one call, and a random one costs a system call.
  const doc = new Y.Doc({ gc: true, guid: 'heph-body' });
  if (state) Y.applyUpdate(doc, state);
  return doc;
}

export function bodyText(state: Uint8Array | undefined): string {
  if (!state) return '';
  const doc = load(state);
  const text = doc.getText(TEXT).toJSON();
  doc.destroy();
  return text;
}

/** Applies a foreign update; throws invalid_op when Yjs cannot decode it. */
export function mergeBodyUpdate(
  state: Uint8Array | undefined,
  update: Uint8Array,
): { state: Uint8Array; text: string } {
  const doc = load(state);
  try {
    Y.applyUpdate(doc, update);
  } catch (e) {
    doc.destroy();
    throw new HephError(
      'invalid_op',
      `body update is not a valid Yjs update: ${(e as Error).message}`,
    );
  }
  const out = { state: Y.encodeStateAsUpdate(doc), text: doc.getText(TEXT).toJSON() };
  doc.destroy();
  return out;
}

/**
 * Refuses (invalid_op, naming the op) a known op carrying body content that a replica could not
 * merge: its Yjs update must apply to an empty document and read back as text. Ops of other
 * kinds pass. The hub keeps no bodies and decides from the op alone with this function, so every
 * known kind is sorted here (a new kind of op does not compile until it is).
 */
export function checkBodyOp(op: KnownOp): void {
  switch (op.kind) {
    case 'body.update':
    case 'body.init':
    case 'body.edit': {
      const doc = load(undefined);
      try {
        Y.applyUpdate(doc, Buffer.from(op.update, 'base64'));
        doc.getText(TEXT).toJSON();
      } catch (e) {
        throw new HephError(
          'invalid_op',
          `op ${op.id}: body update is not a valid Yjs update: ${(e as Error).message}`,
          { id: op.id },
        );
      } finally {
        doc.destroy();
      }
      return;
    }
    case 'node.set':
    case 'link.add':
    case 'link.remove':
    case 'device.name':
      return;
    default: {
      const unsorted: never = op;
      return unsorted;
    }
  }
}

/**
 * Records a whole-buffer save as a Yjs update made by `clientId`. Returns undefined when the
 * text is unchanged.
 */
export function saveBody(
  state: Uint8Array | undefined,
  next: string,
  clientId: number,
): { update: Uint8Array; state: Uint8Array; text: string } | undefined {
  const saved = edit(state, clientId, (before) => diffText(before, next));
  if (saved && saved.text !== next) {
    throw new HephError('internal', 'body save did not reproduce the saved text');
  }
  return saved;
}

/**
 * Applies splices (in the order given, each at an offset of the text as it is then) as one Yjs
 * update made by `clientId`. Undefined when there are none.
 */
export function applySplices(
  state: Uint8Array | undefined,
  splices: readonly Splice[],
  clientId: number,
): { update: Uint8Array; state: Uint8Array; text: string } | undefined {
  return edit(state, clientId, () => splices);
}

/** A new, empty body document. */
export function newBodyDoc(): Y.Doc {
  return load(undefined);
}

/** A body document's text. */
export function docText(doc: Y.Doc): string {
  return doc.getText(TEXT).toJSON();
}

/**
 * Records a whole-buffer save on a live document (whose text is `before`) as an edit by
 * `clientId`. Returns the update of that edit alone, or undefined when the text is unchanged.
 * The splices come from diffEdit, which sets aside the lines both texts share, so a small change
 * to a long note costs about one pass over its text.
 */
export function saveInto(
  doc: Y.Doc,
  before: string,
  next: string,
  clientId: number,
): Uint8Array | undefined {
  const update = spliceInto(doc, diffEdit(before, next), clientId);
  if (update && docText(doc) !== next) {
    throw new HephError('internal', 'body save did not reproduce the saved text');
  }
  return update;
}

/**
 * Applies splices (in the order given, each at an offset of the text as it is then) to a live
 * document as one edit by `clientId`. Returns that edit's update (its items and what it deleted,
 * not the document's whole delete set), or undefined when there are no splices.
 */
export function spliceInto(
  doc: Y.Doc,
  splices: readonly Splice[],
  clientId: number,
): Uint8Array | undefined {
  if (splices.length === 0) return undefined;
  // The document keeps a client id of its own between edits: were it `clientId` when an op of
  // this replica made elsewhere (a rebased save) is merged, Yjs would take that for another
  // client using its id, and warn.
  const own = doc.clientID;
  doc.clientID = clientId;
  const ytext = doc.getText(TEXT);
  let update: Uint8Array | undefined;
  const keep = (u: Uint8Array) => {
    update = u;
  };
  doc.on('update', keep);
  try {
    doc.transact(() => {
      for (const s of splices) {
        if (s.remove > 0) ytext.delete(s.index, s.remove);
        if (s.insert.length > 0) ytext.insert(s.index, s.insert);
      }
    });
  } finally {
    doc.off('update', keep);
    doc.clientID = own;
  }
  return update;
}

function edit(
  state: Uint8Array | undefined,
  clientId: number,
  splicesOf: (text: string) => readonly Splice[],
): { update: Uint8Array; state: Uint8Array; text: string } | undefined {
  const doc = load(state);
  doc.clientID = clientId;
  const ytext = doc.getText(TEXT);
  const splices = splicesOf(ytext.toJSON());
  if (splices.length === 0) {
    doc.destroy();
    return undefined;
  }
  const sv = Y.encodeStateVector(doc);
  doc.transact(() => {
    for (const s of splices) {
      if (s.remove > 0) ytext.delete(s.index, s.remove);
      if (s.insert.length > 0) ytext.insert(s.index, s.insert);
    }
  });
  const out = {
    update: Y.encodeStateAsUpdate(doc, sv),
    state: Y.encodeStateAsUpdate(doc),
    text: ytext.toJSON(),
  };
  doc.destroy();
  return out;
}

/** The Yjs client id a replica uses, derived from its origin. */
export function yjsClientId(origin: string): number {
  return parseInt(origin.slice(0, 8), 16) >>> 0 || 1;
}

// ---- first bodies ------------------------------------------------------------------------------

/**
 * The first body of a node that other replicas may create too (a shared id): its branch id and a
 * Yjs update built the same way on every replica (a client id and clock derived from the node
 * id and the text, not from the replica), so identical first texts are one Yjs item everywhere:
 * merged, they appear once.
 */
export function firstBody(nodeId: string, text: string): { branch: string; update: Uint8Array } {
  const h = createHash('sha256').update(nodeId).update('\0').update(text).digest();
  const doc = new Y.Doc({ gc: true, guid: 'heph-body' });
  // Never 0: a Yjs client id of 0 is valid, but 0 is what an unset id looks like in a dump.
  doc.clientID = h.readUInt32BE(0) || 1;
  doc.getText(TEXT).insert(0, text);
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return { branch: h.subarray(0, 16).toString('hex'), update };
}

/** A document's state made from a set of updates (any order); throws invalid_op when Yjs cannot. */
export function stateOf(updates: readonly Uint8Array[]): Uint8Array {
  const doc = load(undefined);
  try {
    for (const u of updates) Y.applyUpdate(doc, u);
    return Y.encodeStateAsUpdate(doc);
  } catch (e) {
    throw new HephError(
      'invalid_op',
      `body update is not a valid Yjs update: ${(e as Error).message}`,
    );
  } finally {
    doc.destroy();
  }
}

/** Whether a document holds no item at all (not even deleted ones): a first write goes next. */
export function isEmptyDoc(state: Uint8Array | undefined): boolean {
  if (!state) return true;
  const doc = load(state);
  const empty = Y.encodeStateVector(doc).length <= 1;
  doc.destroy();
  return empty;
}

// ---- saves made from an older version ----------------------------------------------------------

/** A run of Yjs item ids: `len` characters from `clock` of `client`. */
interface IdRun {
  client: number;
  clock: number;
  len: number;
}

/** The ids of the visible characters [from, to) of a text, as runs. */
function idRuns(ytext: Y.Text, from: number, to: number): IdRun[] {
  const out: IdRun[] = [];
  let index = 0;
  for (let item = ytext._start; item !== null && index < to; item = item.right) {
    if (item.deleted || !item.countable) continue;
    const start = Math.max(from, index);
    const end = Math.min(to, index + item.length);
    if (start < end) {
      out.push({
        client: item.id.client,
        clock: item.id.clock + (start - index),
        len: end - start,
      });
    }
    index += item.length;
  }
  return out;
}

/** Where the visible characters of `runs` are now: [index, length] pieces, last first. */
function visiblePieces(ytext: Y.Text, runs: readonly IdRun[]): [number, number][] {
  const out: [number, number][] = [];
  let index = 0;
  for (let item = ytext._start; item !== null; item = item.right) {
    if (item.deleted || !item.countable) continue;
    const a = item.id.clock;
    const b = a + item.length;
    for (const r of runs) {
      if (r.client !== item.id.client) continue;
      const lo = Math.max(a, r.clock);
      const hi = Math.min(b, r.clock + r.len);
      if (lo < hi) out.push([index + (lo - a), hi - lo]);
    }
    index += item.length;
  }
  return out.sort((x, y) => y[0] - x[0]);
}

/**
 * A whole-buffer save made by an editor that read the body at `base` (an older state of the
 * same document), applied to the document as it is now (`current`) as an edit by `clientId`:
 * the characters the editor removed are removed (those still there), and what it typed goes where
 * it typed it, after any text another replica put in the same place meanwhile. Text that synced
 * in after the editor read the body is kept. Returns undefined when the save changes nothing.
 */
export function rebaseSave(
  base: Uint8Array | undefined,
  current: Uint8Array | undefined,
  next: string,
  clientId: number,
): { update: Uint8Array; state: Uint8Array; text: string } | undefined {
  const baseDoc = load(base);
  const baseText = baseDoc.getText(TEXT);
  const splices = diffEdit(baseText.toJSON(), next);
  if (splices.length === 0) {
    baseDoc.destroy();
    return undefined;
  }
  // Everything about the editor's edit is taken from the base before the current one changes.
  const plan = splices.map((s) => ({
    remove: idRuns(baseText, s.index, s.index + s.remove),
    at: Y.createRelativePositionFromTypeIndex(baseText, s.index + s.remove),
    insert: s.insert,
  }));
  baseDoc.destroy();
  const doc = load(current);
  doc.clientID = clientId;
  const ytext = doc.getText(TEXT);
  const before = Y.encodeStateVector(doc);
  const was = ytext.toJSON();
  doc.transact(() => {
    // Splices come last position first, so each one's places are still where the base had them.
    for (const p of plan) {
      for (const [index, len] of visiblePieces(ytext, p.remove)) ytext.delete(index, len);
      if (p.insert.length > 0) {
        const pos = Y.createAbsolutePositionFromRelativePosition(p.at, doc);
        ytext.insert(pos?.index ?? ytext.length, p.insert);
      }
    }
  });
  const text = ytext.toJSON();
  if (text === was) {
    doc.destroy();
    return undefined;
  }
  const out = {
    update: Y.encodeStateAsUpdate(doc, before),
    state: Y.encodeStateAsUpdate(doc),
    text,
  };
  doc.destroy();
  return out;
}

/**
 * An edit that depends only on the document it starts from and the text it ends at: made on
 * `base` by a Yjs client derived from the node, the base document's encoding and the text.
 * Devices that make the same change to the same document (two devices importing one changed file
 * over the same version) make the same update, the same Yjs items: merged, the change appears
 * once. The same client id never writes two different updates: a different document or text is
 * a different client. Undefined when `next` is the base's text.
 */
export function sameEditEverywhere(
  base: Uint8Array | undefined,
  next: string,
  nodeId: string,
): Uint8Array | undefined {
  const doc = load(base);
  const ytext = doc.getText(TEXT);
  const splices = diffText(ytext.toJSON(), next);
  if (splices.length === 0) {
    doc.destroy();
    return undefined;
  }
  const h = createHash('sha256')
    .update(nodeId)
    .update('\0')
    .update(Y.encodeStateAsUpdate(doc))
    .update('\0')
    .update(next)
    .digest();
  doc.clientID = h.readUInt32BE(0) || 1;
  const sv = Y.encodeStateVector(doc);
  doc.transact(() => {
    for (const sp of splices) {
      if (sp.remove > 0) ytext.delete(sp.index, sp.remove);
      if (sp.insert.length > 0) ytext.insert(sp.index, sp.insert);
    }
  });
  const update = Y.encodeStateAsUpdate(doc, sv);
  doc.destroy();
  return update;
}

/** An update that changes nothing (a resolution that keeps the text shown). */
export function emptyUpdate(): Uint8Array {
  const doc = load(undefined);
  const u = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return u;
}
