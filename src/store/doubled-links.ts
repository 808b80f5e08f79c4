// Conflicts between links a node holds one of (SINGLE_LINK_FIELDS: a task's project, a project's
// parent). Links are an add-wins set, so a task moved to P1 on one device and to P2 on another
// holds both links after sync; that is listed like a field written to two values, one head per
// live link: the link's latest add op (who moved it there, and when) and its destination.
// Guarantees:
// - what `list()` answers is what a scan of the links table would give: the set of doubled
//   (source, type) pairs is read from the table once, then kept by `changed()` at every link
//   that becomes live or not, and forgotten (read again when next asked) on a rollback or a
//   rebuild;
// - a status poll costs the doubled links only, never a walk of every link;
// - a pure function of the live links, so every replica with the same links lists the same.

import type Database from 'better-sqlite3';
import { originOf, wallOf } from '../core/hlc.js';
import { SINGLE_LINK_FIELDS, type SingleLinkType } from '../core/ids.js';
import { decodeLinkSet } from '../core/link-set.js';
import type { ConflictHead, ConflictView } from '../ports/store.js';
import { isoOf } from './node-rows.js';

const TYPES = Object.keys(SINGLE_LINK_FIELDS)
  .map((t) => `'${t}'`)
  .join(', ');

/** The id range of one source's links of one type: `src|type|dst` (ids hold no other `|`). */
function range(key: string): [string, string] {
  return [`${key}|`, `${key}}`];
}

export class DoubledLinks {
  /** `src|type` of every source holding more than one live link of a single-link type. */
  private keys: Set<string> | undefined;
  private readonly stmt;

  constructor(db: Database.Database) {
    this.stmt = {
      all: db
        .prepare(`SELECT id FROM links WHERE live = 1 AND type IN (${TYPES}) ORDER BY id`)
        .pluck(),
      count: db.prepare('SELECT count(*) FROM links WHERE id > ? AND id < ? AND live = 1').pluck(),
      heads: db.prepare(
        'SELECT dst, state FROM links WHERE id > ? AND id < ? AND live = 1 ORDER BY id',
      ),
    };
  }

  /**
   * A `type` link of `src` became live (`nowLive`) or stopped being. Whether a conflict began,
   * ended or changed its heads by it.
   */
  changed(src: string, type: SingleLinkType, nowLive: boolean): boolean {
    const key = `${src}|${type}`;
    const n = this.stmt.count.get(...range(key)) as number;
    if (this.keys) {
      if (n > 1) this.keys.add(key);
      else this.keys.delete(key);
    }
    // Before this link changed there was one more live link (it was removed) or one fewer.
    return n > 1 || (!nowLive && n === 1);
  }

  /** The table may hold what the set does not (rolled back, rebuilt): read it again when asked. */
  forget(): void {
    this.keys = undefined;
  }

  list(): ConflictView[] {
    const out: ConflictView[] = [];
    for (const key of [...this.load()].sort()) {
      const cut = key.lastIndexOf('|');
      const type = key.slice(cut + 1) as SingleLinkType;
      const target = key.slice(0, cut);
      out.push({ target, field: SINGLE_LINK_FIELDS[type], heads: this.heads(target, type) });
    }
    return out;
  }

  /** One head per live `type` link of `src`, oldest move first. */
  heads(src: string, type: SingleLinkType): ConflictHead[] {
    const rows = this.stmt.heads.all(...range(`${src}|${type}`)) as {
      dst: string;
      state: string;
    }[];
    const heads: ConflictHead[] = rows.map((r) => {
      // The link's latest add: the move that put the node there.
      const op = decodeLinkSet(r.state).adds.at(-1) ?? '';
      return { op, origin: originOf(op), at: isoOf(wallOf(op)), value: r.dst };
    });
    return heads.sort((a, b) => (a.op < b.op ? -1 : a.op > b.op ? 1 : 0));
  }

  private load(): Set<string> {
    if (this.keys) return this.keys;
    const keys = new Set<string>();
    let prev = '';
    for (const id of this.stmt.all.iterate() as IterableIterator<string>) {
      const key = id.slice(0, id.lastIndexOf('|'));
      if (key === prev) keys.add(key);
      prev = key;
    }
    this.keys = keys;
    return keys;
  }
}
