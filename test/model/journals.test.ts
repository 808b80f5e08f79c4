import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Model } from '../../src/model/model.js';
import { exchange, expectRefused, openTestModel, TODAY, type TestModel } from './helpers.js';

let h: TestModel;
beforeEach(() => {
  h = openTestModel();
});
afterEach(() => h.close());

describe('journals', () => {
  it("opens today's journal by default, titled with the date", () => {
    const r = h.model.openJournal();
    expect(r).toMatchObject({
      created: true,
      restored: false,
      journal: { id: `journal:${TODAY}`, date: TODAY, title: TODAY, body: '' },
    });
    expect(h.store.getNode(r.journal.id).kind).toBe('journal');
  });

  it("follows the model's time zone: late evening in New York is still the 21st there", () => {
    h.clock.set(Date.UTC(2026, 10, 22, 3)); // 22:00 on the 21st in New York
    const ny = new Model(h.store, { clock: h.clock, timeZone: 'America/New_York' });
    expect(ny.openJournal().journal.id).toBe('journal:2026-11-21');
    expect(h.model.openJournal().journal.id).toBe('journal:2026-11-22');
  });

  it('is idempotent: opening again writes nothing', () => {
    h.model.openJournal('2026-01-01');
    const ops = h.store.opCount();
    const again = h.model.openJournal('2026-01-01');
    expect(again).toMatchObject({ created: false, restored: false });
    expect(h.store.opCount()).toBe(ops);
  });

  it("returns the body's version, the same as node.get gives", () => {
    const id = h.model.openJournal('2026-01-01').journal.id;
    expect(h.model.openJournal('2026-01-01').journal.body_version).toBe('');
    h.store.updateNode(id, { body: 'a line\n' });
    const v = h.model.openJournal('2026-01-01').journal.body_version;
    expect(v).toBe(h.store.getNode(id).body_version);
    expect(v).not.toBe('');
  });

  it('restores a deleted journal', () => {
    h.model.openJournal('2026-01-01');
    h.store.deleteNode('journal:2026-01-01');
    const r = h.model.openJournal('2026-01-01');
    expect(r).toMatchObject({ created: false, restored: true });
    expect(h.store.getNode('journal:2026-01-01').deleted).toBe(false);
  });

  it('two stores opening the same day offline converge on one node', () => {
    const other = openTestModel();
    try {
      other.clock.advance(5_000);
      h.store.updateNode(h.model.openJournal('2026-03-03').journal.id, { body: 'from A\n' });
      other.model.openJournal('2026-03-03');
      exchange(h.store, other.store);
      expect(h.store.digest()).toBe(other.store.digest());
      expect(h.store.listNodes({ kind: 'journal' }).map((n) => n.id)).toEqual([
        'journal:2026-03-03',
      ]);
      expect(other.store.getNode('journal:2026-03-03').body).toBe('from A\n');
      expect(h.store.conflicts()).toEqual([]);
      // Opening it again on either side after the exchange writes nothing.
      const ops = other.store.opCount();
      expect(other.model.openJournal('2026-03-03').created).toBe(false);
      expect(other.store.opCount()).toBe(ops);
    } finally {
      other.close();
    }
  });

  it('appends lines to a day, creating the journal, each on a line of its own', () => {
    const first = h.model.appendJournal(undefined, 'met Anna');
    expect(first).toMatchObject({ created: true, journal: { date: TODAY, body: 'met Anna\n' } });
    h.store.updateNode(first.journal.id, { body: 'met Anna\nno newline' });
    const second = h.model.appendJournal(TODAY, 'two\nlines\n');
    expect(second.created).toBe(false);
    expect(second.journal.body).toBe('met Anna\nno newline\ntwo\nlines\n');
    expect(h.model.appendJournal('2026-01-02', 'x').journal.id).toBe('journal:2026-01-02');
  });

  it('refuses empty text and a bad date, storing nothing (not even the journal)', () => {
    expectRefused(h.store, () => h.model.appendJournal(undefined, ''), 'invalid_params', 'text');
    expectRefused(
      h.store,
      () => h.model.appendJournal(undefined, ' \n '),
      'invalid_params',
      'text',
    );
    expectRefused(
      h.store,
      () => h.model.appendJournal('2026-02-30', 'x'),
      'invalid_params',
      'date',
    );
    expect(h.store.listNodes({ kind: 'journal' })).toEqual([]);
  });

  it('appends made on two devices at once both survive, once each', () => {
    const other = openTestModel();
    try {
      h.model.appendJournal('2026-03-03', 'start');
      exchange(h.store, other.store);
      h.model.appendJournal('2026-03-03', 'from A');
      other.model.appendJournal('2026-03-03', 'from B');
      exchange(h.store, other.store);
      const body = h.store.getNode('journal:2026-03-03').body;
      expect(other.store.getNode('journal:2026-03-03').body).toBe(body);
      expect(body.split('\n').sort()).toEqual(['', 'from A', 'from B', 'start']);
    } finally {
      other.close();
    }
  });

  it('appends to any live note by id; a note in the trash must be restored first', () => {
    const n = h.store.createNode({ kind: 'doc', title: 'Notes', body: '# Notes' });
    expect(h.model.appendToNode(n.id, 'piped text').body).toBe('# Notes\npiped text\n');
    h.store.deleteNode(n.id);
    expectRefused(h.store, () => h.model.appendToNode(n.id, 'more'), 'not_found');
  });
});
