import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { compareHlc } from '../../src/core/hlc.js';
import type { Op } from '../../src/core/op.js';
import { ManualClock } from '../../src/ports/clock.js';
import { seededRandom } from '../../src/ports/random.js';
import { currentSchemaSql, SCHEMA_VERSION } from '../../src/store/migrate.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { openTestStore } from '../helpers/store.js';
import { tempDir } from '../helpers/temp.js';
import { runStoreContract } from './contract.js';

runStoreContract('SqliteStore', () => openTestStore());

function allOps(s: SqliteStore): Op[] {
  return s.opsSince(0, 100_000).ops;
}

describe('SqliteStore on a real file', () => {
  it('keeps its clock moving forward across a restart with the wall clock set back', () => {
    const h = openTestStore();
    try {
      const n = h.store.createNode({ kind: 'doc', title: 'before' });
      const before = allOps(h.store).map((o) => o.id);
      const highest = before.reduce((a, b) => (a > b ? a : b));
      h.clock.advance(-3_600_000);
      const s = h.reopen();
      s.updateNode(n.id, { title: 'after' });
      const after = allOps(s)
        .map((o) => o.id)
        .filter((id) => !before.includes(id));
      expect(after.length).toBeGreaterThan(0);
      for (const id of after) expect(id > highest).toBe(true);
      expect(s.getNode(n.id).title).toBe('after');
    } finally {
      h.close();
    }
  });

  it('keeps its clock past the ops of another replica and its own local writes across restarts', () => {
    const a = openTestStore();
    const b = openTestStore();
    try {
      // The other replica's clock runs an hour ahead: its ops carry higher stamps.
      b.clock.advance(3_600_000);
      const n = b.store.createNode({ kind: 'doc', title: 'from b' });
      const received = allOps(b.store);
      a.store.applyOps(received);
      const meta = () =>
        a.store.connection.prepare("SELECT value FROM meta WHERE key = 'hlc'").pluck().get();
      const afterApply = meta();
      expect(received.every((o) => (afterApply as string) > o.id)).toBe(true);
      // A local write leaves the high-water mark in the log (its op), not in meta.
      a.store.updateNode(n.id, { title: 'edited on a' });
      expect(meta()).toBe(afterApply);
      const highest = allOps(a.store)
        .map((o) => o.id)
        .reduce((x, y) => (x > y ? x : y));
      const s = a.reopen();
      s.updateNode(n.id, { title: 'after restart' });
      const last = allOps(s).at(-1)?.id ?? '';
      expect(last > highest).toBe(true);
      expect(s.getNode(n.id).title).toBe('after restart');
    } finally {
      a.close();
      b.close();
    }
  });

  it('keeps the same replica id across restarts and a new one per database', () => {
    const a = openTestStore();
    const b = openTestStore();
    try {
      const origin = a.store.origin;
      expect(a.reopen().origin).toBe(origin);
      expect(b.store.origin).not.toBe(origin);
    } finally {
      a.close();
      b.close();
    }
  });

  it('moves its clock past ops it receives', () => {
    const a = openTestStore();
    const b = openTestStore();
    try {
      a.clock.advance(60_000); // a runs a minute ahead
      a.store.createNode({ kind: 'doc', title: 'ahead' });
      b.store.applyOps(allOps(a.store));
      const received = allOps(a.store).map((o) => o.id);
      const n = b.store.createNode({ kind: 'doc', title: 'later' });
      const mine = allOps(b.store).filter((o) => o.target === n.id);
      for (const op of mine) for (const r of received) expect(op.id > r).toBe(true);
      expect(compareHlc(b.store.clockState(), a.store.clockState())).toBeGreaterThan(0);
    } finally {
      a.close();
      b.close();
    }
  });

  it('rebuilds the same state from the op-log', () => {
    const h = openTestStore();
    try {
      const t = h.store.createNode({
        kind: 'task',
        title: 'Task',
        body: 'a\nb\n',
        do_date: '2026-12-24',
      });
      const d = h.store.createNode({
        kind: 'doc',
        title: 'Doc',
        aliases: ['D'],
        extra: { color: 'teal' },
      });
      h.store.addLink(t.id, d.id, 'canonical-context');
      h.store.updateNode(t.id, { body: 'a\nB\nc\n', state: 'done' });
      h.store.deleteNode(d.id);
      const digest = h.store.digest();
      h.store.rebuild();
      expect(h.store.digest()).toBe(digest);
      expect(h.reopen().digest()).toBe(digest);
    } finally {
      h.close();
    }
  });

  it('round-trips values exactly: unicode, empty strings, large bodies, safe-integer edges', () => {
    const a = openTestStore();
    const b = openTestStore();
    try {
      const title = 'Z̤͔ͧ̑̓ä͖̭̈̇lg͖̟ ̈̈ 𝕳𝖊𝖕𝖍 🧑‍🚀 𠜎 e\u0301';
      const body =
        Array.from({ length: 20_000 }, (_, i) => `line ${i} 😀 ${'x'.repeat(i % 50)}`).join('\n') +
        '\n\u0000end';
      const extra = {
        max: Number.MAX_SAFE_INTEGER,
        min: Number.MIN_SAFE_INTEGER,
        tiny: 5e-324,
        neg0: 0,
        empty: '',
        list: ['', '𝄞', { nested: [null, true, false] }],
      };
      const n = a.store.createNode({
        kind: 'doc',
        title,
        body,
        aliases: ['𝄞 clef', 'Ünïcödé'],
        extra,
      });
      const empty = a.store.createNode({ kind: 'doc', title: '', body: '' });
      b.store.applyOps(allOps(a.store));
      for (const s of [a.store, b.store]) {
        const got = s.getNode(n.id);
        expect(got.title).toBe(title);
        expect(got.body).toBe(body);
        expect(got.body.length).toBe(body.length);
        expect(s.crdtBody(n.id)).toBe(body);
        expect(got.aliases).toEqual(['𝄞 clef', 'Ünïcödé']);
        expect(got.extra).toEqual(extra);
        expect(s.getNode(empty.id)).toMatchObject({ title: '', body: '' });
      }
      expect(b.store.digest()).toBe(a.store.digest());
    } finally {
      a.close();
      b.close();
    }
  });

  it('saves whole buffers byte-exactly, including edits that split emoji and combining marks', () => {
    const h = openTestStore();
    try {
      const n = h.store.createNode({ kind: 'doc', title: 'x', body: 'a😀b e\u0301 c' });
      for (const text of [
        'a😃b e\u0301 c',
        'a😃😀b e c',
        '',
        '\r\n\r\n',
        'tail\n',
        'a😃b e\u0301 c\u200d',
      ]) {
        expect(h.store.updateNode(n.id, { body: text }).body).toBe(text);
        expect(h.store.crdtBody(n.id)).toBe(text);
      }
    } finally {
      h.close();
    }
  });

  it('creates the schema from schema.sql at the current version', () => {
    const h = openTestStore();
    try {
      h.store.close();
      const db = new Database(h.path);
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .pluck()
        .all();
      for (const t of ['bodies', 'links', 'meta', 'nodes', 'oplog', 'wiki_links'])
        expect(tables).toContain(t);
      expect(currentSchemaSql()).toContain('CREATE TABLE oplog');
      db.close();
    } finally {
      h.close();
    }
  });

  it('refuses files that are not heph databases, and newer schema versions, without touching them', () => {
    const t = tempDir();
    try {
      const clock = new ManualClock();
      const random = seededRandom(1);
      const junk = join(t.dir, 'junk.db');
      writeFileSync(
        junk,
        'this is not a database at all, just some text that is long enough'.repeat(100),
      );
      expect(() => SqliteStore.open({ path: junk }, { clock, random })).toThrow(HephError);
      const other = join(t.dir, 'other.db');
      const db = new Database(other);
      db.exec('CREATE TABLE unrelated (x)');
      db.close();
      expect(() => SqliteStore.open({ path: other }, { clock, random })).toThrow(
        /not a heph database/,
      );
      const future = join(t.dir, 'future.db');
      const f = new Database(future);
      f.pragma('user_version = 999');
      f.close();
      expect(() => SqliteStore.open({ path: future }, { clock, random })).toThrow(
        /newer than this heph/,
      );
      expect(() =>
        SqliteStore.open({ path: join(t.dir, 'missing', 'dir', 'x.db') }, { clock, random }),
      ).toThrow(/cannot open/);
    } finally {
      t.cleanup();
    }
  });

  it('stamps ops on one node with strictly increasing ids even under a frozen clock', () => {
    const h = openTestStore();
    try {
      const n = h.store.createNode({ kind: 'doc', title: '0' });
      for (let i = 1; i < 300; i++) h.store.updateNode(n.id, { title: String(i) });
      const ids = allOps(h.store).map((o) => o.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual(ids);
      expect(h.store.getNode(n.id).title).toBe('299');
    } finally {
      h.close();
    }
  });
});
