// The Yjs adapter's merge-safety pieces: deterministic first bodies, and saves made from an older
// version of the body applied to the current one without erasing what arrived meanwhile.

import fc from 'fast-check';
import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import {
  bodyText,
  firstBody,
  isEmptyDoc,
  mergeBodyUpdate,
  rebaseSave,
  saveBody,
} from '../../src/store/body-crdt.js';

const D = 0x1111;
const E = 0x2222;

/** A document made by `client` saving `text` over `state`. */
function saved(state: Uint8Array | undefined, text: string, client: number): Uint8Array {
  const r = saveBody(state, text, client);
  if (!r) throw new Error('no change');
  return r.state;
}

function merge(a: Uint8Array, b: Uint8Array): Uint8Array {
  return mergeBodyUpdate(a, b).state;
}

describe('first bodies', () => {
  it('are the same Yjs item on every replica for the same text, and differ otherwise', () => {
    const a = firstBody('vault:Home', '# Home\n');
    const b = firstBody('vault:Home', '# Home\n');
    expect(Buffer.from(a.update).equals(Buffer.from(b.update))).toBe(true);
    expect(a.branch).toMatch(/^[0-9a-f]{32}$/);
    expect(bodyText(merge(a.update, b.update))).toBe('# Home\n');
    const other = firstBody('vault:Home', '# Home, v2\n');
    expect(other.branch).not.toBe(a.branch);
    expect(firstBody('vault:Away', '# Home\n').branch).not.toBe(a.branch);
    // In one document, different first texts would both stay: hence branches.
    expect(bodyText(merge(a.update, other.update))).toHaveLength(7 + 11);
  });

  it('knows a document with no item at all', () => {
    expect(isEmptyDoc(undefined)).toBe(true);
    const d = saved(undefined, 'x', D);
    expect(isEmptyDoc(d)).toBe(false);
    // Emptied by a delete, it still holds the deleted item: not a first write any more.
    expect(isEmptyDoc(saved(d, '', D))).toBe(false);
  });
});

describe('a save made from an older version', () => {
  const base = saved(undefined, 'alpha\nbeta\ngamma\n', D);

  it('keeps a line that synced in after the editor read the body', () => {
    const now = merge(base, saved(base, 'alpha\nfrom E\nbeta\ngamma\n', E));
    const r = rebaseSave(base, now, 'alpha\nbeta\ngamma, edited\n', D);
    expect(r?.text).toBe('alpha\nfrom E\nbeta\ngamma, edited\n');
    // The update alone brings another replica holding `now` to the same text.
    expect(bodyText(merge(now, r!.update))).toBe(r!.text);
  });

  it('keeps both texts where both changed the same span, the editor after the other', () => {
    const now = merge(base, saved(base, 'alpha\nBETA (E)\ngamma\n', E));
    const r = rebaseSave(base, now, 'alpha\nBeta (D)\ngamma\n', D);
    expect(r?.text).toBe('alpha\nBETA (E)Beta (D)\ngamma\n');
    // An insertion next to a span the other replaced goes where the editor put it.
    const added = rebaseSave(base, now, 'alpha\nbeta (D)\ngamma\n', D);
    expect(added?.text).toBe('alpha\nBETA (E) (D)\ngamma\n');
  });

  it('removes only what the editor saw: text typed inside a removed span stays', () => {
    const now = merge(base, saved(base, 'alpha\nbe-E-ta\ngamma\n', E));
    const r = rebaseSave(base, now, 'alpha\ngamma\n', D);
    expect(r?.text).toBe('alpha\n-E-gamma\n');
  });

  it('keeps what the editor typed in one piece where another replica removed the text around it', () => {
    // " [x] " typed after "a": a character diff would make it "x]  [" typed after the "[" of
    // "[y]", and E removing the line would then leave "x]  [".
    const mine = saved(undefined, 'a [y] b\n', D);
    const now = merge(mine, saved(mine, '', E));
    const r = rebaseSave(mine, now, 'a [x]  [y] b\n', D);
    expect(r?.text.trim()).toBe('[x]');
  });

  it('is an ordinary save when nothing arrived, and nothing when nothing changed', () => {
    expect(rebaseSave(base, base, 'alpha\nbeta!\ngamma\n', D)?.text).toBe('alpha\nbeta!\ngamma\n');
    expect(rebaseSave(base, base, 'alpha\nbeta\ngamma\n', D)).toBeUndefined();
    // The other replica already made the same deletion: the save changes nothing more.
    const now = merge(base, saved(base, 'alpha\ngamma\n', E));
    expect(rebaseSave(base, now, 'alpha\ngamma\n', D)).toBeUndefined();
  });

  it('never reuses an id: saving twice from one base keeps both saves', () => {
    const first = rebaseSave(base, base, 'alpha\nbeta\ngamma\none\n', D)!;
    const second = rebaseSave(base, first.state, 'alpha\nbeta\ngamma\ntwo\n', D)!;
    expect(second.text).toBe('alpha\nbeta\ngamma\none\ntwo\n');
    const elsewhere = new Y.Doc();
    Y.applyUpdate(elsewhere, base);
    Y.applyUpdate(elsewhere, first.update);
    Y.applyUpdate(elsewhere, second.update);
    expect(elsewhere.getText('body').toJSON()).toBe(second.text);
  });

  it('keeps every marker both sides typed, once (property)', () => {
    const seed = 20261206;
    console.log(`rebase save property: seed ${seed}`);
    const line = fc.stringMatching(/^[a-z ]{0,6}$/);
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        (lines, at, at2, removeOne) => {
          const b = saved(undefined, lines.map((l) => l + '\n').join(''), D);
          const text = bodyText(b).split('\n');
          const other = [...text];
          other.splice(at % text.length, 0, '<E>');
          const now = merge(b, saved(b, other.join('\n'), E));
          const mine = [...text];
          if (removeOne) mine.splice(at2 % text.length, 1);
          mine.splice(at2 % (mine.length + 1), 0, '<D>');
          const r = rebaseSave(b, now, mine.join('\n'), D);
          const out = r?.text ?? bodyText(now);
          expect(out.split('<E>')).toHaveLength(2);
          expect(out.split('<D>')).toHaveLength(2);
        },
      ),
      { seed, numRuns: 300 },
    );
  });
});
