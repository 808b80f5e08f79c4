// Bodies as Yjs text. A whole-buffer save is diffed (core/text-diff) into splices applied to the
// Y.Text, and the resulting Yjs update is what travels in a `body.update` op. Yjs merges updates
// in any order and keeps updates whose dependencies have not arrived yet inside the encoded
// state, so the materialized text is a function of the set of updates seen.

import * as Y from 'yjs';
import { HephError } from '../core/errors.js';
import { diffText } from '../core/text-diff.js';

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
 * Records a whole-buffer save as a Yjs update made by `clientId`. Returns undefined when the
 * text is unchanged.
 */
export function saveBody(
  state: Uint8Array | undefined,
  next: string,
  clientId: number,
): { update: Uint8Array; state: Uint8Array; text: string } | undefined {
  const doc = load(state);
  doc.clientID = clientId;
  const ytext = doc.getText(TEXT);
  const before = ytext.toJSON();
  const splices = diffText(before, next);
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
  const text = ytext.toJSON();
  if (text !== next) {
    doc.destroy();
    throw new HephError('internal', 'body save did not reproduce the saved text');
  }
  const out = { update: Y.encodeStateAsUpdate(doc, sv), state: Y.encodeStateAsUpdate(doc), text };
  doc.destroy();
  return out;
}

/** The Yjs client id a replica uses, derived from its origin. */
export function yjsClientId(origin: string): number {
  return parseInt(origin.slice(0, 8), 16) >>> 0 || 1;
}
