// Loops in the project tree made by moves on two devices at once: X put under Y on one, Y under X
// on the other. Each project keeps one parent link, so no link is doubled, yet after sync the
// parent links run in a circle. Such a loop is a conflict on the field 'parent' of every project
// in it, and until it is resolved every reader leaves out one link of it (`breaks()`), so the
// tree every replica shows has no loop.
//
// Which link is left out: the one whose latest add is newest (highest HLC), i.e. the move that
// closed the loop. The tree shown is then the one a single device making the same moves in HLC
// order would have: the earlier moves stand, and the last one, refused there as a cycle, is not
// shown. The HLC is part of the op set, so every replica leaves out the same link.
//
// Guarantees:
// - the answer is what a scan of the links table would give: the shown parent of every project
//   (the lowest live `parent` link id, as firstLinkDst reads it) is read from the table once,
//   then kept by `changed()` at every op on a parent link, and forgotten (read again when next
//   asked) on a rollback or a rebuild;
// - the loops are found again only when a change touches one (a project in a loop, or one
//   whose new parent leads back to it); a status poll costs nothing more;
// - a pure function of the live links, so every replica with the same links lists the same.

import type Database from 'better-sqlite3';
import { decodeLinkSet } from '../core/link-set.js';

/** A project's shown parent link: its destination and the link's latest add op. */
interface Up {
  dst: string;
  add: string;
}

/** One loop: its projects, each under the next and the last under the first, from the lowest id. */
export interface ParentLoop {
  members: string[];
  /** The project whose parent link readers leave out (it is shown at the top). */
  cut: string;
}

function latestAdd(state: string): string {
  return decodeLinkSet(state).adds.at(-1) ?? '';
}

/** The loops of a map where each project has at most one parent, each from its lowest id. */
export function findLoops(ups: ReadonlyMap<string, Up>): ParentLoop[] {
  const done = new Set<string>();
  const loops: ParentLoop[] = [];
  for (const start of [...ups.keys()].sort()) {
    const path: string[] = [];
    const onPath = new Map<string, number>();
    let p: string | undefined = start;
    while (p !== undefined && !done.has(p) && !onPath.has(p)) {
      onPath.set(p, path.length);
      path.push(p);
      p = ups.get(p)?.dst;
    }
    if (p !== undefined && onPath.has(p)) {
      const members = path.slice(onPath.get(p));
      const ordered = loopFrom({ members, cut: '' }, [...members].sort()[0] ?? '') ?? members;
      let cut = ordered[0] ?? '';
      for (const m of ordered) if ((ups.get(m)?.add ?? '') > (ups.get(cut)?.add ?? '')) cut = m;
      loops.push({ members: ordered, cut });
    }
    for (const q of path) done.add(q);
  }
  return loops;
}

/** `loop`'s projects from `id` (each under the next), or undefined when `id` is not in it. */
export function loopFrom(loop: ParentLoop, id: string): string[] | undefined {
  const i = loop.members.indexOf(id);
  return i < 0 ? undefined : [...loop.members.slice(i), ...loop.members.slice(0, i)];
}

export class ParentCycles {
  /** Each project's shown parent link; undefined: not read yet (or forgotten). */
  private ups: Map<string, Up> | undefined;
  /** The loops; undefined: find them again when asked. */
  private loops: ParentLoop[] | undefined;
  private readonly stmt;

  constructor(db: Database.Database) {
    this.stmt = {
      all: db.prepare(
        `SELECT src, dst, state FROM links WHERE live = 1 AND type = 'parent' ORDER BY id`,
      ),
      first: db.prepare(
        'SELECT dst, state FROM links WHERE id > ? AND id < ? AND live = 1 ORDER BY id LIMIT 1',
      ),
    };
  }

  /**
   * An op on one of `src`'s parent links was applied (it may have changed which link is shown,
   * or that link's latest add). Whether a loop began, ended or changed by it.
   */
  changed(src: string): boolean {
    const ups = this.load();
    const wasIn = this.list().some((l) => l.members.includes(src));
    const row = this.stmt.first.get(`${src}|parent|`, `${src}|parent}`) as
      { dst: string; state: string } | undefined;
    if (row) ups.set(src, { dst: row.dst, add: latestAdd(row.state) });
    else ups.delete(src);
    // Not in a loop before: one can only have begun through src, leading back to it.
    let nowIn = false;
    const seen = new Set<string>();
    for (let p = ups.get(src)?.dst; p !== undefined && !seen.has(p); p = ups.get(p)?.dst) {
      if (p === src) {
        nowIn = true;
        break;
      }
      seen.add(p);
    }
    if (!wasIn && !nowIn) return false;
    this.loops = undefined;
    return true;
  }

  /** The table may hold what the map does not (rolled back, rebuilt): read it again when asked. */
  forget(): void {
    this.ups = undefined;
    this.loops = undefined;
  }

  list(): ParentLoop[] {
    this.loops ??= findLoops(this.load());
    return this.loops;
  }

  /** The projects whose parent link readers leave out, one per loop. */
  breaks(): Set<string> {
    return new Set(this.list().map((l) => l.cut));
  }

  private load(): Map<string, Up> {
    if (this.ups) return this.ups;
    const ups = new Map<string, Up>();
    for (const r of this.stmt.all.iterate() as IterableIterator<Record<string, string>>) {
      const src = r.src as string;
      if (!ups.has(src)) ups.set(src, { dst: r.dst as string, add: latestAdd(r.state as string) });
    }
    this.ups = ups;
    this.loops = undefined;
    return ups;
  }
}
