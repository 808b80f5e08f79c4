// The store contract: behaviour every Store implementation must show. Each implementation's
// test file calls runStoreContract with a factory that opens a fresh, empty store.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import type { Op } from '../../src/core/op.js';
import type { ManualClock } from '../../src/ports/clock.js';
import type { Store } from '../../src/ports/store.js';

export interface StoreHandle {
  store: Store;
  clock: ManualClock;
  close(): void;
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof HephError) return e.code;
    throw e;
  }
  throw new Error('expected an error');
}

function allOps(s: Store): Op[] {
  const out: Op[] = [];
  let cursor = 0;
  for (;;) {
    const page = s.opsSince(cursor, 500);
    out.push(...page.ops);
    cursor = page.cursor;
    if (!page.more) return out;
  }
}

export function runStoreContract(name: string, open: () => StoreHandle): void {
  describe(`${name}: store contract`, () => {
    let h: StoreHandle;
    let peer: StoreHandle;
    beforeEach(() => {
      h = open();
      peer = open();
    });
    afterEach(() => {
      h.close();
      peer.close();
    });

    it('creates, reads and updates nodes of every kind', () => {
      const doc = h.store.createNode({
        kind: 'doc',
        title: 'Plan',
        body: '# Plan\n',
        aliases: ['the plan'],
      });
      expect(doc).toMatchObject({
        kind: 'doc',
        title: 'Plan',
        body: '# Plan\n',
        aliases: ['the plan'],
        deleted: false,
      });
      expect(doc.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(doc.state).toBeUndefined();
      const task = h.store.createNode({ kind: 'task', title: 'Pay rent', do_date: '2026-12-01' });
      expect(task).toMatchObject({
        state: 'outstanding',
        attention: 'white',
        do_date: '2026-12-01',
        late_on: null,
      });
      const tag = h.store.createNode({ kind: 'tag', id: 'tag:home', title: 'home' });
      expect(tag.id).toBe('tag:home');
      const day = h.store.createNode({
        kind: 'journal',
        id: 'journal:2026-11-22',
        title: '2026-11-22',
      });
      expect(day.kind).toBe('journal');
      h.store.createNode({ kind: 'project', title: 'Work' });
      const updated = h.store.updateNode(task.id, {
        state: 'done',
        attention: 'red',
        title: 'Paid rent',
      });
      expect(updated).toMatchObject({ state: 'done', attention: 'red', title: 'Paid rent' });
      expect(h.store.getNode(task.id)).toEqual(updated);
      expect(h.store.listNodes({ kind: 'task' }).map((n) => n.id)).toEqual([task.id]);
      expect(h.store.listNodes().length).toBe(5);
    });

    it('refuses a second node with the same deterministic id', () => {
      h.store.createNode({ kind: 'tag', id: 'tag:home', title: 'home' });
      expect(code(() => h.store.createNode({ kind: 'tag', id: 'tag:home', title: 'home' }))).toBe(
        'already_exists',
      );
    });

    it('deletes to the trash and restores, keeping every write', () => {
      const n = h.store.createNode({ kind: 'doc', title: 'Keep me', body: 'text' });
      h.store.deleteNode(n.id);
      expect(h.store.listNodes().map((x) => x.id)).not.toContain(n.id);
      expect(h.store.listNodes({ scope: 'trash' }).map((x) => x.id)).toEqual([n.id]);
      expect(h.store.getNode(n.id).deleted).toBe(true);
      const back = h.store.restoreNode(n.id);
      expect(back).toMatchObject({ deleted: false, title: 'Keep me', body: 'text' });
      expect(h.store.listNodes().map((x) => x.id)).toContain(n.id);
    });

    it('resolves names exactly: id, then alias, then title', () => {
      const a = h.store.createNode({ kind: 'doc', title: 'Alpha', aliases: ['First'] });
      const b = h.store.createNode({ kind: 'doc', title: 'First' });
      expect(h.store.resolveNode(a.id).id).toBe(a.id);
      expect(h.store.resolveNode('First').id).toBe(a.id); // alias beats title
      expect(h.store.resolveNode('Alpha').id).toBe(a.id);
      expect(code(() => h.store.resolveNode('alpha'))).toBe('not_found'); // never fuzzy
      h.store.createNode({ kind: 'doc', title: 'Twin' });
      h.store.createNode({ kind: 'doc', title: 'Twin' });
      expect(code(() => h.store.resolveNode('Twin'))).toBe('ambiguous');
      expect(b.title).toBe('First');
    });

    it('adds, lists and removes typed links; backlinks follow', () => {
      const task = h.store.createNode({ kind: 'task', title: 'T' });
      const ctx = h.store.createNode({ kind: 'doc', title: 'Context' });
      const l = h.store.addLink(task.id, ctx.id, 'canonical-context');
      expect(h.store.links(task.id)).toEqual([l]);
      expect(h.store.backlinks(ctx.id)).toEqual([l]);
      expect(h.store.links(task.id, 'tagged')).toEqual([]);
      h.store.addLink(task.id, ctx.id, 'canonical-context'); // idempotent
      expect(h.store.links(task.id)).toHaveLength(1);
      h.store.removeLink(task.id, ctx.id, 'canonical-context');
      expect(h.store.links(task.id)).toEqual([]);
      expect(code(() => h.store.removeLink(task.id, ctx.id, 'canonical-context'))).toBe(
        'not_found',
      );
      expect(code(() => h.store.addLink(task.id, ctx.id, 'wiki'))).toBe('invalid_params');
    });

    it('pages the op-log by local cursor', () => {
      for (let i = 0; i < 7; i++) h.store.createNode({ kind: 'doc', title: `n${i}` });
      const total = h.store.opCount();
      const seen = new Set<string>();
      let cursor = 0;
      for (;;) {
        const page = h.store.opsSince(cursor, 3);
        expect(page.ops.length).toBeLessThanOrEqual(3);
        for (const op of page.ops) seen.add(op.id);
        cursor = page.cursor;
        if (!page.more) break;
      }
      expect(seen.size).toBe(total);
      expect(h.store.opsSince(cursor).ops).toEqual([]);
    });

    it('applies foreign ops once; duplicates change nothing', () => {
      h.store.createNode({ kind: 'doc', title: 'From A', body: 'hello' });
      const ops = allOps(h.store);
      const r1 = peer.store.applyOps(ops);
      expect(r1.applied).toHaveLength(ops.length);
      expect(r1.refused).toEqual([]);
      const d = peer.store.digest();
      expect(d).toBe(h.store.digest());
      const r2 = peer.store.applyOps([...ops, ...ops]);
      expect(r2).toEqual({ applied: [], duplicates: ops.length * 2, refused: [] });
      expect(peer.store.digest()).toBe(d);
    });

    it('refuses an op that reuses an id with different content, and applies the rest', () => {
      const n = h.store.createNode({ kind: 'doc', title: 'Original' });
      const ops = allOps(h.store);
      peer.store.applyOps(ops);
      const titleOp = ops.find((o) => o.kind === 'node.set' && o.payload.field === 'title')!;
      const forged = { ...titleOp, payload: { ...titleOp.payload, value: 'Forged' } };
      h.clock.advance(1000);
      h.store.updateNode(n.id, { title: 'Second' });
      const next = allOps(h.store).slice(ops.length);
      const before = peer.store.digest();
      const r = peer.store.applyOps([forged, ...next]);
      expect(r.refused).toEqual([
        expect.objectContaining({ id: titleOp.id, code: 'op_id_reused' }),
      ]);
      expect(r.applied.map((o) => o.id)).toEqual(next.map((o) => o.id));
      expect(peer.store.getNode(n.id).title).toBe('Second');
      expect(peer.store.digest()).not.toBe(before);
    });

    it('stores unknown op kinds without applying them, and ignores unknown payload fields', () => {
      const n = h.store.createNode({ kind: 'doc', title: 'x' });
      peer.store.applyOps(allOps(h.store));
      const before = peer.store.digest();
      const future: Op = {
        id: '019aaaaaaaaa-0000-0123456789abcdef',
        kind: 'node.pin',
        target: n.id,
        payload: { pinned: true },
      };
      const r = peer.store.applyOps([future]);
      expect(r.applied).toEqual([future]);
      expect(peer.store.digest()).toBe(before);
      expect(allOps(peer.store).some((o) => o.id === future.id)).toBe(true);
      const titleHead = allOps(h.store).find((o) => o.payload.field === 'title')!.id;
      const later = (h.clock.now() + 1000).toString(16).padStart(12, '0');
      const extraField: Op = {
        id: `${later}-0000-0123456789abcdef`,
        kind: 'node.set',
        target: n.id,
        payload: { field: 'title', value: 'Newer', prev: [titleHead], color: 'blue' },
      };
      expect(peer.store.applyOps([extraField]).applied).toHaveLength(1);
      expect(peer.store.getNode(n.id).title).toBe('Newer');
    });

    it('shows concurrent writes of one field as a conflict until a new write resolves it', () => {
      const n = h.store.createNode({ kind: 'task', title: 'Shared' });
      peer.store.applyOps(allOps(h.store));
      h.clock.advance(10);
      h.store.updateNode(n.id, { attention: 'red', title: 'Title from A' });
      peer.clock.advance(20);
      peer.store.updateNode(n.id, { attention: 'orange', state: 'done' });
      const aOps = allOps(h.store);
      const bOps = allOps(peer.store);
      h.store.applyOps(bOps);
      peer.store.applyOps(aOps);
      for (const s of [h.store, peer.store]) {
        const node = s.getNode(n.id);
        expect(node).toMatchObject({ title: 'Title from A', state: 'done' }); // different fields both survive
        const c = s.conflicts();
        expect(c).toHaveLength(1);
        expect(c[0]!.field).toBe('attention');
        expect(c[0]!.heads.map((x) => x.value).sort()).toEqual(['orange', 'red']);
        expect(new Set(c[0]!.heads.map((x) => x.origin))).toEqual(
          new Set([h.store.origin, peer.store.origin]),
        );
      }
      expect(h.store.digest()).toBe(peer.store.digest());
      h.clock.advance(1000);
      h.store.resolveConflict(n.id, 'attention', 'white');
      expect(h.store.conflicts()).toEqual([]);
      peer.store.applyOps(allOps(h.store));
      expect(peer.store.conflicts()).toEqual([]);
      expect(peer.store.getNode(n.id).attention).toBe('white');
      expect(code(() => h.store.resolveConflict(n.id, 'attention', 'red'))).toBe('not_found');
    });

    it('merges concurrent body edits to different parts', () => {
      const n = h.store.createNode({
        kind: 'doc',
        title: 'Doc',
        body: 'first line\nmiddle\nlast line\n',
      });
      peer.store.applyOps(allOps(h.store));
      h.store.updateNode(n.id, { body: 'FIRST line\nmiddle\nlast line\n' });
      peer.store.updateNode(n.id, { body: 'first line\nmiddle\nlast LINE\n' });
      h.store.applyOps(allOps(peer.store));
      peer.store.applyOps(allOps(h.store));
      expect(h.store.getNode(n.id).body).toBe('FIRST line\nmiddle\nlast LINE\n');
      expect(peer.store.getNode(n.id).body).toBe('FIRST line\nmiddle\nlast LINE\n');
    });

    it('refuses ops stamped too far ahead when asked, without moving the clock', () => {
      const now = h.clock.now();
      const stamp = (ahead: number, c: number) =>
        `${(now + ahead).toString(16).padStart(12, '0')}-${c.toString(16).padStart(4, '0')}-00000000000000aa`;
      const mk = (id: string): Op => ({
        id,
        kind: 'node.set',
        target: '01KAAAAAAAAAAAAAAAAAAAAAAA',
        payload: { field: 'kind', value: 'doc' },
      });
      const limit = 5 * 60 * 1000;
      const before = peer.store.digest();
      const over = mk(stamp(limit + 1, 0));
      const r = peer.store.applyOps([over], { maxDriftMs: limit });
      expect(r.applied).toEqual([]);
      expect(r.refused).toEqual([
        expect.objectContaining({
          id: over.id,
          code: 'clock_drift',
          origin: '00000000000000aa',
          ahead_ms: limit + 1,
        }),
      ]);
      expect(r.refused[0]!.message).toContain('00000000000000aa');
      expect(peer.store.digest()).toBe(before);
      expect(peer.store.opCount()).toBe(0);
      const under = mk(stamp(limit, 1));
      expect(peer.store.applyOps([under], { maxDriftMs: limit }).applied).toHaveLength(1);
    });

    it('rejects malformed input at every entry point and leaves data untouched', () => {
      const n = h.store.createNode({ kind: 'task', title: 'Solid' });
      const digest = h.store.digest();
      const ops = h.store.opCount();
      const bad: [string, () => unknown][] = [
        ['kind', () => h.store.createNode({ kind: 'note' as never, title: 'x' })],
        ['title type', () => h.store.createNode({ kind: 'doc', title: 42 as never })],
        ['title newline', () => h.store.createNode({ kind: 'doc', title: 'a\nb' })],
        ['task field on doc', () => h.store.createNode({ kind: 'doc', title: 'x', state: 'done' })],
        [
          'unknown field',
          () => h.store.createNode({ kind: 'doc', title: 'x', colour: 'red' } as never),
        ],
        ['ulid id given', () => h.store.createNode({ kind: 'doc', id: n.id, title: 'x' })],
        ['tag without id', () => h.store.createNode({ kind: 'tag', title: 'x' })],
        [
          'journal bad date',
          () => h.store.createNode({ kind: 'journal', id: 'journal:2026-02-30', title: 'x' }),
        ],
        ['bad id get', () => h.store.getNode('not an id')],
        ['bad id pipe', () => h.store.getNode('a|b')],
        ['missing node', () => h.store.getNode('01KAAAAAAAAAAAAAAAAAAAAAAA')],
        ['bad state', () => h.store.updateNode(n.id, { state: 'finished' as never })],
        ['bad attention', () => h.store.updateNode(n.id, { attention: 'green' as never })],
        ['bad date', () => h.store.updateNode(n.id, { do_date: '2026-13-01' })],
        ['aliases type', () => h.store.updateNode(n.id, { aliases: 'x' as never })],
        ['empty alias', () => h.store.updateNode(n.id, { aliases: [' '] })],
        ['body type', () => h.store.updateNode(n.id, { body: 5 as never })],
        ['extra known', () => h.store.updateNode(n.id, { extra: { title: 'x' } })],
        ['extra bad name', () => h.store.updateNode(n.id, { extra: { 'Bad Name': 1 } })],
        ['link type', () => h.store.addLink(n.id, n.id, 'friend' as never)],
        ['link dst', () => h.store.addLink(n.id, 'nope', 'parent')],
        ['list kind', () => h.store.listNodes({ kind: 'x' as never })],
        ['list limit', () => h.store.listNodes({ limit: -1 })],
        ['opsSince cursor', () => h.store.opsSince(-1)],
        ['resolve empty', () => h.store.resolveNode('')],
        ['resolve conflict missing field', () => h.store.resolveConflict(n.id, 'title', 'x')],
      ];
      for (const [label, fn] of bad) {
        expect([label, code(fn)]).toEqual([
          label,
          expect.stringMatching(/^(invalid_params|not_found)$/),
        ]);
      }
      const r = h.store.applyOps([
        null,
        42,
        { id: 'nope', kind: 'node.set', target: n.id, payload: {} },
        { id: '019aaaaaaaaa-0000-0123456789abcdef', kind: 'Node Set', target: n.id, payload: {} },
        {
          id: '019aaaaaaaaa-0000-0123456789abcdef',
          kind: 'node.set',
          target: n.id,
          payload: { field: 'state', value: 'x' },
        },
        {
          id: '019aaaaaaaaa-0000-0123456789abcdef',
          kind: 'node.set',
          target: 'x y',
          payload: { field: 'title', value: 'x' },
        },
        {
          id: '019aaaaaaaaa-0000-0123456789abcdef',
          kind: 'node.set',
          target: n.id,
          payload: { field: 'title' },
        },
        {
          id: '019aaaaaaaaa-0000-0123456789abcdef',
          kind: 'node.set',
          target: n.id,
          payload: { field: 'title', value: 'x', prev: 'y' },
        },
        {
          id: '019aaaaaaaaa-0000-0123456789abcdef',
          kind: 'body.update',
          target: n.id,
          payload: { update: '!!!' },
        },
        {
          id: '019aaaaaaaaa-0000-0123456789abcdef',
          kind: 'body.update',
          target: n.id,
          payload: { update: 'AQIDBA==' },
        },
        {
          id: '019aaaaaaaaa-0000-0123456789abcdef',
          kind: 'link.add',
          target: 'a|b|c',
          payload: { src: n.id, dst: n.id, type: 'parent' },
        },
        {
          id: '019aaaaaaaaa-0000-0123456789abcdef',
          kind: 'link.remove',
          target: `${n.id}|parent|${n.id}`,
          payload: { observed: 'x' },
        },
      ]);
      expect(r.applied).toEqual([]);
      expect(r.refused).toHaveLength(12);
      for (const x of r.refused) expect(x.code).toBe('invalid_op');
      expect(h.store.digest()).toBe(digest);
      expect(h.store.opCount()).toBe(ops);
    });

    it('notifies listeners of committed changes only', () => {
      const seen: string[][] = [];
      const off = h.store.onChange((c) => seen.push(c.nodes));
      const n = h.store.createNode({ kind: 'doc', title: 'x' });
      expect(seen).toEqual([[n.id]]);
      expect(() =>
        h.store.transaction(() => {
          h.store.updateNode(n.id, { title: 'rolled back' });
          throw new Error('abort');
        }),
      ).toThrow('abort');
      expect(seen).toHaveLength(1);
      expect(h.store.getNode(n.id).title).toBe('x');
      off();
      h.store.updateNode(n.id, { title: 'y' });
      expect(seen).toHaveLength(1);
    });
  });
}
