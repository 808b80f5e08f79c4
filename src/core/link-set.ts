// Add-wins set for one link (an observed-remove set). A link is live while at least one of its
// `link.add` ops has not been observed by a `link.remove`. A remove names the adds it saw, so a
// concurrent add (which the remover never saw) survives: add wins.
//
// Like the register, the state is a function of the set of ops applied, in any order: removes
// that arrive before the adds they observed keep those ids in `removed` until they arrive.

export interface LinkSetState {
  readonly adds: readonly string[]; // live add op ids, sorted
  readonly removed: readonly string[]; // observed add ids that have not arrived yet, sorted
}

export const EMPTY_LINK: LinkSetState = { adds: [], removed: [] };

export function applyAdd(s: LinkSetState, opId: string): LinkSetState {
  if (s.removed.includes(opId))
    return { adds: s.adds, removed: s.removed.filter((x) => x !== opId) };
  if (s.adds.includes(opId)) return s;
  return { adds: [...s.adds, opId].sort(), removed: s.removed };
}

export function applyRemove(
  s: LinkSetState,
  observed: readonly string[],
  seen: (id: string) => boolean,
): LinkSetState {
  let adds = s.adds;
  let removed = s.removed;
  for (const o of observed) {
    if (adds.includes(o)) adds = adds.filter((x) => x !== o);
    else if (!removed.includes(o) && !seen(o)) removed = [...removed, o].sort();
  }
  return { adds, removed };
}

export function isLive(s: LinkSetState): boolean {
  return s.adds.length > 0;
}

export function encodeLinkSet(s: LinkSetState): string {
  return JSON.stringify([s.adds, s.removed]);
}

export function decodeLinkSet(text: string): LinkSetState {
  const [adds, removed] = JSON.parse(text) as [string[], string[]];
  return { adds, removed };
}
