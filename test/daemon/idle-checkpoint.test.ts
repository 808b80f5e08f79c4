import { copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startIdleCheckpoint } from '../../src/daemon/idle-checkpoint.js';
import { manualTimers } from '../helpers/manual-timers.js';
import { silentLogger } from '../../src/ports/logger.js';
import { ManualClock } from '../../src/ports/clock.js';
import { seededRandom } from '../../src/ports/random.js';
import { openStore } from '../../src/store/open-store.js';
import { useCleanup } from '../helpers/temp.js';

const cleanup = useCleanup();

/** Titles readable from the database file alone, as a copy without its WAL sees them. */
function titlesInMainFile(dir: string, db: string): string[] {
  const copy = join(dir, 'main-only.db');
  copyFileSync(db, copy);
  const c = new Database(copy, { readonly: true });
  try {
    return (c.prepare('SELECT title FROM nodes ORDER BY title').pluck().all() as string[]).sort();
  } finally {
    c.close();
  }
}

describe('idle checkpoint', () => {
  it('copies the WAL into the database file once writing pauses, one timer per pause', () => {
    const dir = cleanup.dir('heph-idle-ckpt-');
    const path = join(dir, 'heph.db');
    const clock = new ManualClock(1_800_000_000_000);
    const store = openStore(
      { path, walAutocheckpointPages: 10_000 },
      { clock, random: seededRandom(7) },
    );
    cleanup.defer(() => store.close());
    store.checkpoint(); // the schema, so a copy of the file alone opens
    const timers = manualTimers();
    const idle = startIdleCheckpoint(store, { logger: silentLogger, timers });

    for (let i = 0; i < 30; i++) {
      clock.advance(1);
      store.createNode({ kind: 'doc', title: `Note ${String(i).padStart(2, '0')}` });
    }
    // Every write re-armed the same pause: one timer pending, and nothing written to the
    // database file yet (the writes live in the WAL; the default bound would not be reached).
    expect(timers.armed).toBe(30);
    expect(timers.live()).toBe(1);
    expect(titlesInMainFile(dir, path)).toEqual([]);
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);

    timers.fireAll();
    const titles = Array.from({ length: 30 }, (_, i) => `Note ${String(i).padStart(2, '0')}`);
    expect(titlesInMainFile(dir, path)).toEqual(titles);

    // A later burst arms again; after stop() nothing is armed and no write arms anything.
    store.createNode({ kind: 'doc', title: 'Later' });
    expect(timers.live()).toBe(1);
    idle.stop();
    expect(timers.live()).toBe(0);
    store.createNode({ kind: 'doc', title: 'After stop' });
    expect(timers.live()).toBe(0);
    expect(store.checkpoint()).toMatchObject({ busy: false });
    expect(titlesInMainFile(dir, path)).toEqual([...titles, 'After stop', 'Later'].sort());
  });

  it('without the raised bound SQLite checkpoints inside commits (the control)', () => {
    const dir = cleanup.dir('heph-idle-ckpt-');
    const path = join(dir, 'heph.db');
    const clock = new ManualClock(1_800_000_000_000);
    const store = openStore({ path }, { clock, random: seededRandom(8) });
    cleanup.defer(() => store.close());
    store.checkpoint();
    // Enough writes to pass 1,000 WAL pages: some already reached the database file.
    for (let i = 0; i < 400; i++) {
      clock.advance(1);
      store.createNode({ kind: 'doc', title: `Note ${i}`, body: 'x'.repeat(2000) });
    }
    expect(titlesInMainFile(dir, path).length).toBeGreaterThan(0);
  });

  it('a checkpoint that fails is logged, and the next pause tries again', () => {
    const warnings: string[] = [];
    const timers = manualTimers();
    let listener: () => void = () => {};
    let calls = 0;
    startIdleCheckpoint(
      {
        checkpoint: () => {
          calls++;
          if (calls === 1) throw new Error('disk I/O error');
          return { busy: false, walFrames: 3, checkpointed: 3 };
        },
        onChange: (l) => {
          listener = l;
          return () => {};
        },
      },
      { logger: { ...silentLogger, warn: (_o, m) => void warnings.push(String(m)) }, timers },
    );
    listener();
    timers.fireAll();
    expect(warnings).toEqual(['idle checkpoint failed']);
    listener();
    timers.fireAll();
    expect(calls).toBe(2);
    expect(warnings).toHaveLength(1);
  });

  it('a raised WAL bound keeps checkpoints out of commits until the last hold ends', () => {
    const dir = cleanup.dir('heph-wal-bound-');
    const path = join(dir, 'heph.db');
    const clock = new ManualClock(1_800_000_000_000);
    const store = openStore(
      { path, walAutocheckpointPages: 20 },
      { clock, random: seededRandom(8) },
    );
    cleanup.defer(() => store.close());
    store.checkpoint();
    const framesAfter = (n: number): number => {
      for (let i = 0; i < n; i++) {
        clock.advance(1);
        store.createNode({ kind: 'doc', title: `Note ${i}`, body: 'x'.repeat(2000) });
      }
      return statSync(`${path}-wal`).size / 4096;
    };
    // At its own bound of 20 pages a commit checkpoints, and the WAL starts over.
    expect(framesAfter(60)).toBeLessThan(60);
    store.checkpoint();
    const release = store.raiseWalBound(100_000);
    const inner = store.raiseWalBound(50); // lower than the raised bound: changes nothing
    expect(store.walBoundPages()).toBe(100_000);
    expect(titlesInMainFile(dir, path)).toHaveLength(60);
    expect(framesAfter(60)).toBeGreaterThan(100);
    expect(titlesInMainFile(dir, path)).toHaveLength(60); // nothing of these reached the file
    release();
    release(); // once only
    expect(store.walBoundPages()).toBe(100_000);
    inner();
    expect(store.walBoundPages()).toBe(20);
    // The next commit past the bound checkpoints again.
    framesAfter(1);
    expect(titlesInMainFile(dir, path)).toHaveLength(121);
  });
});
