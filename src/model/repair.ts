// Repair of bodies doubled by earlier versions: a note two devices created with the same id and
// the same first text (a vault imported on both before they first synced) holds that text once
// per device, one after the other. Found from the op-log, not guessed from the text: the body's
// first document holds the same first text written by two or more replicas (each such op, read
// alone, is that text inserted into an empty document), and the body is that text repeated.
// A body edited since is listed but not changed: only a person can tell which copy to keep.
// Repairs are ordinary edits, in one change, that sync like any other.

import { originOf } from '../core/hlc.js';
import { isUlid } from '../core/ids.js';
import type { NodeView } from '../ports/store.js';
import { bodyText } from '../store/body-crdt.js';
import type { SqliteStore } from '../store/sqlite-store.js';

export interface DoubledBody {
  id: string;
  title: string;
  /** How many times the text stands one after the other. */
  copies: number;
  /** The length of one copy, in characters. */
  length: number;
  /** False when the body was edited since it was doubled: fix it by hand. */
  fixable: boolean;
}

export interface RepairReport {
  doubled: DoubledBody[];
  fixed: number;
}

const PAGE = 1000;

/** The text repeated in a doubled body, and how many times it stands there. */
function doubledText(
  store: SqliteStore,
  node: NodeView,
): { text: string; copies: number } | undefined {
  const firsts = new Map<string, Set<string>>();
  for (const op of store.bodyOps(node.id)) {
    if (op.doc !== '' || op.kind !== 'body.update') continue;
    // Read alone, an update that builds on others integrates nothing: only a first text shows.
    const alone = bodyText(Buffer.from(op.update, 'base64'));
    if (alone === '') continue;
    const origins = firsts.get(alone) ?? new Set<string>();
    origins.add(originOf(op.id));
    firsts.set(alone, origins);
  }
  for (const [text, origins] of firsts) {
    if (origins.size < 2) continue;
    let copies = 0;
    for (
      let at = node.body.indexOf(text);
      at !== -1;
      at = node.body.indexOf(text, at + text.length)
    ) {
      copies++;
    }
    if (copies >= 2) return { text, copies };
  }
  return undefined;
}

/** Every doubled body (see the file comment); with `fix`, the fixable ones are made single. */
export function repairDoubled(store: SqliteStore, fix: boolean): RepairReport {
  const found: { node: NodeView; text: string; copies: number }[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = store.listNodes({ scope: 'all', limit: PAGE, offset });
    for (const node of page) {
      // A node this replica minted (a ULID) was never created by two devices, unless imported.
      if (isUlid(node.id) && node.extra.vault_path === undefined) continue;
      if (node.body === '') continue;
      const d = doubledText(store, node);
      if (d) found.push({ node, ...d });
    }
    if (page.length < PAGE) break;
  }
  const doubled = found.map(({ node, text, copies }) => ({
    id: node.id,
    title: node.title,
    copies,
    length: text.length,
    fixable: node.body === text.repeat(copies),
  }));
  let fixed = 0;
  if (fix) {
    store.transaction(() => {
      for (const { node, text, copies } of found) {
        if (node.body !== text.repeat(copies)) continue;
        store.updateNode(node.id, { body: text, base_version: node.body_version });
        fixed++;
      }
    });
  }
  return { doubled, fixed };
}
