// The hub store contract on the SQLite store, plus what is particular to it: one process per
// file, and a file that is not a hub store.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteHubStore } from '../../src/hub/store/sqlite.js';
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
