// The hub store contract on the SQLite store, plus what is particular to it: one process per
// file, and a file that is not a hub store.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteHubStore } from '../../src/hub/store/sqlite.js';
import { HUB_PAGE_SIZE } from '../../src/hub/store/sqlite-schema.js';
import { ManualClock } from '../../src/ports/clock.js';
import { tempDir } from '../helpers/temp.js';
import { runHubStoreContract, T0 } from './store-contract.js';

runHubStoreContract('sqlite', (clock) => {
  const t = tempDir('heph-hubstore-');
  const path = join(t.dir, 'hub.db');
  let store = SqliteHubStore.open({ path }, { clock });
  return Promise.resolve({
    store,
    async reopen() {
      await store.close();
      store = SqliteHubStore.open({ path }, { clock });
      return store;
    },
    async cleanup() {
      await store.close();
      t.cleanup();
    },
  });
});

describe('SqliteHubStore', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });
  function dir(): string {
    const t = tempDir('heph-hubstore-');
    cleanups.push(() => t.cleanup());
    return t.dir;
  }

  it('makes a new file with 16 KB pages, and keeps the page size of a file made with another', async () => {
    const clock = new ManualClock(T0);
    const pageSize = (path: string): number => {
      const db = new Database(path, { readonly: true });
      try {
        return db.pragma('page_size', { simple: true }) as number;
      } finally {
        db.close();
      }
    };
    const made = join(dir(), 'hub.db');
    await SqliteHubStore.open({ path: made }, { clock }).close();
    expect(pageSize(made)).toBe(HUB_PAGE_SIZE);
    // A store made with 4 KB pages (as before): opened, written and read as it is.
    const old = join(dir(), 'hub.db');
    const first = SqliteHubStore.open({ path: old }, { clock });
    await first.close();
    const raw = new Database(old);
    raw.pragma('journal_mode = DELETE');
    raw.pragma('page_size = 4096');
    raw.exec('VACUUM');
    raw.close();
    expect(pageSize(old)).toBe(4096);
    const store = SqliteHubStore.open({ path: old }, { clock });
    try {
      const op = {
        id: '019aabb00000-0000-aaaaaaaaaaaaaaaa',
        kind: 'unknown.kind',
        target: 't',
        payload: {},
      };
      expect((await store.append([{ owner: 1, ops: [op] }]))[0]!.accepted).toEqual([op.id]);
      expect((await store.read(1, { after: 0, limit: 10, maxChars: Infinity })).ops).toHaveLength(
        1,
      );
    } finally {
      await store.close();
    }
    expect(pageSize(old)).toBe(4096);
  });
  const clock = new ManualClock(T0);

  it('is opened by one process at a time, with synchronous=FULL', async () => {
    const path = join(dir(), 'hub.db');
    const s = SqliteHubStore.open({ path }, { clock });
    expect(() => SqliteHubStore.open({ path }, { clock })).toThrow(/in use by another process/);
    expect(s.description).toBe(`sqlite ${path}`);
    await s.close();
    const again = SqliteHubStore.open({ path }, { clock });
    await again.close();
  });

  it('refuses a file that is not a hub store, and leaves it as it was', () => {
    const d = dir();
    const notDb = join(d, 'junk.db');
    writeFileSync(notDb, 'this is not a database at all, just some text to fill a page');
    expect(() => SqliteHubStore.open({ path: notDb }, { clock })).toThrow(
      /not a heph database|damaged/,
    );
    const other = join(d, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE mine (x)');
    db.close();
    expect(() => SqliteHubStore.open({ path: other }, { clock })).toThrow(/not a hub store/);
    const check = new Database(other, { readonly: true });
    expect(
      check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all(),
    ).toEqual(['mine']);
    check.close();
  });
});
