// Multi-value register, shown last-writer-wins. A field's state is the set of its *heads*: ops
// that no later op of the same field names in `prev`. The visible value is the head with the
// highest HLC; the field is in conflict while its heads hold more than one distinct value.
//
// Guarantee: the state reached is a function of the set of ops applied, whatever their order
// and however often each is applied (the caller drops exact duplicates before calling). Ops can
// arrive before the ops they supersede: such not-yet-seen ids wait in `pending`, so that when
// they arrive they do not become heads.

export interface Head {
  readonly id: string; // HLC of the op
  readonly value: string; // canonical JSON of the value
}

export interface RegisterState {
  readonly heads: readonly Head[]; // sorted by id ascending
  readonly pending: readonly string[]; // ids superseded before they arrived, sorted
}

export const EMPTY_REGISTER: RegisterState = { heads: [], pending: [] };

export interface RegisterView {
  /** The visible value (canonical JSON), or undefined when the field has never been written. */
  readonly visible: string | undefined;
  readonly conflict: boolean;
}

/**
 * Applies one write to a register.
 * `seen(id)` answers whether an op with that id has already been applied on this replica; it is
 * consulted only for `prev` entries that are not current heads.
 */
export function applyWrite(
  state: RegisterState,
  op: { id: string; value: string; prev: readonly string[] },
  seen: (id: string) => boolean,
): RegisterState {
  let heads = state.heads as Head[];
  let pending = state.pending as string[];
  // The usual write, allocating only its result: one that supersedes the one head there is (or
  // the first write of a field), with nothing pending.
  if (
    pending.length === 0 &&
    ((heads.length === 1 && op.prev.length === 1 && op.prev[0] === heads[0]!.id) ||
      (heads.length === 0 && op.prev.length === 0)) &&
    heads[0]?.id !== op.id
  ) {
    return { heads: [{ id: op.id, value: op.value }], pending };
  }
  for (const p of op.prev) {
    if (p === op.id) continue;
    const i = heads.findIndex((h) => h.id === p);
    if (i >= 0) {
      heads = heads.slice(0, i).concat(heads.slice(i + 1));
    } else if (!pending.includes(p) && !seen(p)) {
      pending = insertSorted(pending, p);
    }
  }
  const pi = pending.indexOf(op.id);
  if (pi >= 0) {
    pending = pending.slice(0, pi).concat(pending.slice(pi + 1));
  } else if (!heads.some((h) => h.id === op.id)) {
    heads = insertHead(heads, { id: op.id, value: op.value });
  }
  return { heads, pending };
}

export function viewRegister(state: RegisterState): RegisterView {
  const last = state.heads[state.heads.length - 1];
  if (!last) return { visible: undefined, conflict: false };
  const first = state.heads[0];
  let conflict = false;
  for (const h of state.heads) {
    if (h.value !== first?.value) {
      conflict = true;
      break;
    }
  }
  return { visible: last.value, conflict };
}

export function headIds(state: RegisterState): string[] {
  return state.heads.map((h) => h.id);
}

function insertSorted(xs: readonly string[], x: string): string[] {
  const out = xs.slice();
  let i = out.length;
  while (i > 0 && (out[i - 1] as string) > x) i--;
  out.splice(i, 0, x);
  return out;
}

function insertHead(xs: readonly Head[], h: Head): Head[] {
  const out = xs.slice();
  let i = out.length;
  while (i > 0 && (out[i - 1] as Head).id > h.id) i--;
  out.splice(i, 0, h);
  return out;
}

/** Compact storage form: [[id, value], …] heads plus pending ids. */
export function encodeRegister(s: RegisterState): string {
  return JSON.stringify([s.heads.map((h) => [h.id, h.value]), s.pending]);
}

export function decodeRegister(text: string): RegisterState {
  const [heads, pending] = JSON.parse(text) as [[string, string][], string[]];
  return { heads: heads.map(([id, value]) => ({ id, value })), pending };
}
