// Where a cursor into an owner's log stands: the id of the op at an arrival stamp. A cursor is
// an arrival stamp, so a log restored from an older copy and written again up to and past it
// holds another op there; comparing the op named when the cursor was issued with the op held
// now tells the two logs apart (the pull route for devices, cache.ts for cache replicas).

import type { HubStore, LogPage, OwnerId } from '../ports/hub-store.js';
import { MAX_PULL_PAGE_CHARS } from '../protocol/sync.js';

/** The id in an op's stored text (canonical JSON: "id" is its first key). */
export function idOfText(text: string): string {
  const m = /^\{"id":"([^"\\]{1,64})"/.exec(text);
  return m ? (m[1] as string) : ((JSON.parse(text) as { id?: unknown }).id as string);
}

/**
 * The id of the op at arrival stamp `stamp` of an owner's log; '' for none (stamp 0, or a gap).
 * `known` is a page whose last op is at its cursor, when one is at hand.
 */
export async function opIdAt(
  store: HubStore,
  owner: OwnerId,
  stamp: number,
  known?: LogPage,
): Promise<string> {
  if (stamp === 0) return '';
  if (known && known.more && known.cursor === stamp && known.ops.length > 0) {
    return idOfText(known.ops[known.ops.length - 1] as string);
  }
  const one = await store.read(owner, {
    after: stamp - 1,
    limit: 1,
    maxChars: MAX_PULL_PAGE_CHARS,
  });
  return one.ops.length === 1 && one.cursor === stamp ? idOfText(one.ops[0] as string) : '';
}
