// What every hub store decides the same way, whatever its backend. Pushed ops are checked before
// anything is stored, from the op alone (the hub materializes nothing): its shape and, for known
// kinds, its payload (core/op.ts); its stamp against the store's clock (clock drift); and, for
// body kinds, that Yjs can decode its update (store/body-crdt.ts). Unknown kinds pass, to be
// stored and forwarded. Each accepted op comes back with its canonical text, which is what the
// store keeps and compares: an op id seen again is a duplicate only when its text is byte-equal,
// and is refused with reusedId() otherwise. A read after the owner's newest stamp is refused
// with cursorAhead().

import { HephError } from '../../core/errors.js';
import { originOf, wallOf } from '../../core/hlc.js';
import { interpretOp, parseOp } from '../../core/op.js';
import type { AppendRefusal } from '../../ports/hub-store.js';
import { checkBodyOp } from '../../store/body-crdt.js';
import { canonicalOpText } from '../../store/canonical-text.js';
import { driftRefusal, refusalOf } from '../../store/refusals.js';

export interface CheckedOp {
  id: string;
  origin: string;
  /** The canonical text (store/canonical-text.ts canonicalOpText). */
  text: string;
}

export interface Checked {
  ok: CheckedOp[];
  refused: AppendRefusal[];
}

/** Checks one push's ops at time `now`; a refused op never affects the others. */
export function checkOps(raw: readonly unknown[], now: number, maxDriftMs?: number): Checked {
  const out: Checked = { ok: [], refused: [] };
  for (const r of raw) {
    try {
      const op = parseOp(r);
      if (maxDriftMs !== undefined) {
        const ahead = wallOf(op.id) - now;
        if (ahead > maxDriftMs) {
          out.refused.push(driftRefusal(op, ahead, maxDriftMs));
          continue;
        }
      }
      const known = interpretOp(op);
      if (known !== undefined) checkBodyOp(known);
      out.ok.push({ id: op.id, origin: originOf(op.id), text: canonicalOpText(op) });
    } catch (e) {
      out.refused.push(refusalOf(r, e));
    }
  }
  return out;
}

export function cursorAhead(after: number, head: number): HephError {
  return new HephError(
    'conflict',
    `cursor ${after} is ahead of this hub's log (last ${head}): the hub's data was replaced or ` +
      'restored; pull from the beginning',
    { field: 'after', last: String(head) },
  );
}

/** A cursor whose op (Heph-Cursor-Op) is not the op this hub's log holds at that stamp. */
export function cursorReplaced(after: number): HephError {
  return new HephError(
    'conflict',
    `cursor ${after} names another op than this hub's log holds there: the hub's data was ` +
      'replaced or restored; pull from the beginning',
    { field: 'after' },
  );
}

export function reusedId(id: string, origin: string): AppendRefusal {
  return {
    id,
    code: 'op_id_reused',
    message: `op ${id} from replica ${origin} reuses an id already stored with different content`,
    origin,
  };
}

/**
 * Splits checked ops into those that may be stored and refusals of those made by a revoked
 * device's replica (`revoked(origin)`, asked once per origin, inside the append's transaction).
 */
export function revokedRefusals(
  ops: readonly CheckedOp[],
  revoked: (origin: string) => boolean,
): { ok: CheckedOp[]; revoked: AppendRefusal[] } {
  const asked = new Map<string, boolean>();
  const out: { ok: CheckedOp[]; revoked: AppendRefusal[] } = { ok: [], revoked: [] };
  for (const op of ops) {
    let r = asked.get(op.origin);
    if (r === undefined) {
      r = revoked(op.origin);
      asked.set(op.origin, r);
    }
    if (!r) out.ok.push(op);
    else {
      out.revoked.push({
        id: op.id,
        code: 'device_revoked',
        message: `op ${op.id} was made by replica ${op.origin}, whose device was revoked on this hub`,
        origin: op.origin,
      });
    }
  }
  return out;
}

/** The newest id among a push's ops of its own replica (its last acknowledged op). */
export function ownNewest(ops: readonly CheckedOp[], replica: string): string | undefined {
  let newest: string | undefined;
  for (const op of ops)
    if (op.origin === replica && (newest === undefined || op.id > newest)) newest = op.id;
  return newest;
}
