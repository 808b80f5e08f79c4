import { join } from 'node:path';
import { canonicalJson } from '../../src/core/json.js';
import type { Op } from '../../src/core/op.js';
import { ManualClock } from '../../src/ports/clock.js';
import { seededRandom } from '../../src/ports/random.js';
import { openStore } from '../../src/store/open-store.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir } from './temp.js';

export interface TestStore {
  store: SqliteStore;
  clock: ManualClock;
  path: string;
  dir: string;
  reopen(): SqliteStore;
  close(): void;
}

let counter = 0;

/** A store on a real SQLite file in a temp dir (opened as the daemon opens it), with a hand-driven clock. */
export function openTestStore(opts: { seed?: number; clock?: ManualClock } = {}): TestStore {
  const t = tempDir();
  const clock = opts.clock ?? new ManualClock(Date.UTC(2026, 10, 22, 12));
  const random = seededRandom(opts.seed ?? ++counter * 7919);
  const path = join(t.dir, 'heph.db');
  const h: TestStore = {
    store: openStore({ path }, { clock, random }),
    clock,
    path,
    dir: t.dir,
    reopen() {
      h.store.close();
      h.store = openStore({ path }, { clock, random });
      return h.store;
    },
    close() {
      h.store.close();
      t.cleanup();
    },
  };
  return h;
}

/**
 * Every materialized table a user's view comes from, in a fixed order, for comparing two stores.
 * A row's registers are a JSON object whose key order follows arrival order: compared as values.
 */
export function materializedTables(s: SqliteStore): unknown {
  const db = s.connection;
  return {
    nodes: (db.prepare('SELECT * FROM nodes ORDER BY id').all() as { regs: string }[]).map((r) => ({
      ...r,
      regs: canonicalJson(JSON.parse(r.regs)),
    })),
    bodies: db.prepare('SELECT node_id, body FROM bodies ORDER BY node_id').all(),
    crdt: (db.prepare('SELECT node_id FROM bodies ORDER BY node_id').pluck().all() as string[]).map(
      (id) => s.crdtBody(id),
    ),
    links: db.prepare('SELECT * FROM links ORDER BY id').all(),
    wiki: db.prepare('SELECT * FROM wiki_links ORDER BY src, target').all(),
  };
}

/** Every op a store holds, in arrival order. */
export function allOps(s: SqliteStore): Op[] {
  return s.opsSince(0, 100_000).ops;
}

/** Cuts a body at a UTF-16 offset that does not split a surrogate pair. */
export function safeCut(s: string, at: number): number {
  let i = Math.min(at, s.length);
  const c = s.charCodeAt(i);
  if (i > 0 && c >= 0xdc00 && c <= 0xdfff) i--;
  return i;
}
