// The hub store contract (ports/hub-store.ts), run against every implementation:
//   runHubStoreContract('sqlite', (clock) => openSqliteFixture(clock));
// Each test gets a fresh, empty store on a clock it moves by hand.

import { afterEach, describe, expect, it } from 'vitest';
import { encodeHlc } from '../../src/core/hlc.js';
import { ulidFactory } from '../../src/core/ulid-factory.js';
import { ManualClock } from '../../src/ports/clock.js';
import {
  HUB_OWNER,
  type AppendResult,
  type HubStore,
  type OwnerId,
} from '../../src/ports/hub-store.js';
import { seededRandom } from '../../src/ports/random.js';
import { firstBody, saveBody } from '../../src/store/body-crdt.js';
import { deviceContract } from './device-store-contract.js';

export interface HubStoreFixture {
  store: HubStore;
  /** Closes the store and opens the same data again. */
  reopen(): Promise<HubStore>;
  /** Closes whatever is open and removes the data. */
  cleanup(): Promise<void>;
}

export type OpenHubStore = (clock: ManualClock) => Promise<HubStoreFixture>;

export const T0 = Date.UTC(2026, 10, 22, 12);
const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const targets = Array.from(
  { length: 20 },
  (
    (u) => () =>
      u(T0)
  )(ulidFactory(seededRandom(3))),
);

interface TestOp {
  id: string;
  kind: string;
  target: string;
  payload: Record<string, unknown>;
}

function title(counter: number, origin = A, value = `title ${counter}`, wall = T0): TestOp {
  return {
    id: encodeHlc({ wall, counter, origin }),
    kind: 'node.set',
    target: targets[counter % targets.length]!,
    payload: { field: 'title', value, prev: [] },
  };
}

const ids = (ops: readonly { id: string }[]): string[] => ops.map((o) => o.id);
const parsed = (texts: readonly string[]): TestOp[] => texts.map((t) => JSON.parse(t) as TestOp);

export function runHubStoreContract(name: string, open: OpenHubStore): void {
  describe(`hub store contract: ${name}`, () => {
    let fx: HubStoreFixture | undefined;
    let clock: ManualClock;
    afterEach(async () => {
      await fx?.cleanup();
      fx = undefined;
    });
    async function fresh(): Promise<HubStore> {
      clock = new ManualClock(T0);
      fx = await open(clock);
      return fx.store;
    }
    const push = async (s: HubStore, ops: readonly unknown[], owner: OwnerId = HUB_OWNER) =>
      (await s.append([{ owner, ops, maxDriftMs: 300_000 }]))[0]!;
    const all = async (s: HubStore, owner: OwnerId = HUB_OWNER) =>
      s.read(owner, { after: 0, limit: 100_000, maxChars: Infinity });

    deviceContract({ fresh, clock: () => clock, reopen: () => fx!.reopen() });

    it('stamps each owner’s ops 1, 2, 3, … in arrival order and pages them by cursor', async () => {
      const s = await fresh();
      expect(await s.head(HUB_OWNER)).toBe(0);
      // Arrival order differs from authoring order.
      const ops = [5, 1, 4, 2, 3, 0].map((c) => title(c));
      expect(await push(s, ops.slice(0, 4))).toEqual({
        accepted: ids(ops.slice(0, 4)),
        duplicates: 0,
        refused: [],
      });
      expect(await push(s, ops.slice(4))).toMatchObject({ accepted: ids(ops.slice(4)) });
      expect(await s.head(HUB_OWNER)).toBe(6);
      const first = await s.read(HUB_OWNER, { after: 0, limit: 4, maxChars: Infinity });
      expect(ids(parsed(first.ops))).toEqual(ids(ops.slice(0, 4)));
      expect(first).toMatchObject({ cursor: 4, more: true, remaining: 2 });
      const rest = await s.read(HUB_OWNER, { after: 4, limit: 4, maxChars: Infinity });
      expect(ids(parsed(rest.ops))).toEqual(ids(ops.slice(4)));
      expect(rest).toMatchObject({ cursor: 6, more: false, remaining: 0 });
      expect(await s.read(HUB_OWNER, { after: 6, limit: 4, maxChars: Infinity })).toEqual({
        ops: [],
        cursor: 6,
        more: false,
        remaining: 0,
      });
    });

    it('stores canonical text: the same op in another key order is a duplicate', async () => {
      const s = await fresh();
      const op = title(1);
      expect(await push(s, [op])).toMatchObject({ accepted: [op.id] });
      const reordered = {
        payload: { value: op.payload.value, prev: [], field: 'title' },
        target: op.target,
        kind: op.kind,
        id: op.id,
      };
      expect(await push(s, [reordered, op])).toEqual({ accepted: [], duplicates: 2, refused: [] });
      const page = await all(s);
      expect(page.ops).toEqual([
        `{"id":"${op.id}","kind":"node.set","target":"${op.target}",` +
          `"payload":{"field":"title","prev":[],"value":"title 1"}}`,
      ]);
      expect(await s.head(HUB_OWNER)).toBe(1);
    });

    it('refuses an op that reuses an id with other content, and stores the rest of the push', async () => {
      const s = await fresh();
      await push(s, [title(1)]);
      const other = title(1, A, 'something else');
      const fine = title(2);
      const r = await push(s, [other, fine]);
      expect(r.accepted).toEqual([fine.id]);
      expect(r.refused).toEqual([
        expect.objectContaining({ id: other.id, code: 'op_id_reused', origin: A }),
      ]);
      // Within one push too: the first of two texts under one id wins.
      const twice = await push(s, [title(3), title(3, A, 'changed')]);
      expect(twice.accepted).toEqual([title(3).id]);
      expect(twice.refused.map((x) => x.code)).toEqual(['op_id_reused']);
      expect(parsed((await all(s)).ops).map((o) => o.payload.value)).toEqual([
        'title 1',
        'title 2',
        'title 3',
      ]);
    });

    it('stamps a large push densely around stored ids, repeats and reused ids in it', async () => {
      const s = await fresh();
      // Stored before: two ops the push repeats as they are, one it repeats with other content.
      await push(s, [title(30), title(250), title(420)]);
      const big: TestOp[] = [];
      for (let c = 0; c < 500; c++) {
        big.push(c === 420 ? title(420, A, 'other') : title(c));
        if (c === 60) big.push(title(60)); // the same op twice in one push
        if (c === 200) big.push(title(200, A, 'changed')); // an id twice, other content
      }
      const r = await push(s, big);
      const fresh500 = Array.from({ length: 500 }, (_, c) => c).filter(
        (c) => c !== 30 && c !== 250 && c !== 420,
      );
      expect(r.accepted).toEqual(fresh500.map((c) => title(c).id));
      expect(r.duplicates).toBe(3);
      expect(r.refused.map((x) => [x.id, x.code])).toEqual([
        [title(200).id, 'op_id_reused'],
        [title(420).id, 'op_id_reused'],
      ]);
      expect(await s.head(HUB_OWNER)).toBe(3 + fresh500.length);
      // Every stamp holds one op: each page's cursor is its start plus its length.
      const seen: TestOp[] = [];
      for (let after = 0; ;) {
        const page = await s.read(HUB_OWNER, { after, limit: 64, maxChars: Infinity });
        expect(page.cursor).toBe(after + page.ops.length);
        seen.push(...parsed(page.ops));
        after = page.cursor;
        if (!page.more) break;
      }
      expect(seen.map((o) => o.payload.value)).toEqual([
        'title 30',
        'title 250',
        'title 420',
        ...fresh500.map((c) => `title ${c}`),
      ]);
      // The whole push again: nothing new, nothing refused but the two reused ids.
      const again = await push(s, big);
      expect(again).toMatchObject({ accepted: [], duplicates: big.length - 2 });
      expect(again.refused).toHaveLength(2);
      expect(await s.head(HUB_OWNER)).toBe(3 + fresh500.length);
    });

    it('refuses ops stamped too far ahead of its clock, naming the origin and the amount', async () => {
      const s = await fresh();
      const ahead = title(1, B, 'from the future', T0 + 300_001);
      const edge = title(2, B, 'at the limit', T0 + 300_000);
      const r = await push(s, [ahead, edge]);
      expect(r.accepted).toEqual([edge.id]);
      expect(r.refused).toEqual([
        {
          id: ahead.id,
          code: 'clock_drift',
          message: expect.stringMatching(/replica bbbbbbbbbbbbbbbb .* 5m00s ahead/),
          origin: B,
          ahead_ms: 300_001,
        },
      ]);
      // Once the store's clock has caught up, the same op is taken; without a limit, at once.
      clock.advance(10);
      expect((await push(s, [ahead])).accepted).toEqual([ahead.id]);
      const far = title(3, B, 'far', T0 + 86_400_000);
      expect((await s.append([{ owner: HUB_OWNER, ops: [far] }]))[0]!.accepted).toEqual([far.id]);
    });

    it('refuses body changes of every kind whose update Yjs cannot decode, and malformed ops, before storing anything of them', async () => {
      const s = await fresh();
      const { branch, update } = firstBody(targets[0]!, 'hello body\n');
      const edit = saveBody(update, 'hello body, edited\n', 7)!.update;
      const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
      let n = 0;
      const body = (kind: string, u: string, extra: Record<string, unknown> = {}) => ({
        id: encodeHlc({ wall: T0, counter: ++n, origin: A }),
        kind,
        target: targets[0]!,
        payload: { update: u, ...extra },
      });
      const kinds: [string, Record<string, unknown>, Uint8Array][] = [
        ['body.update', {}, edit],
        ['body.init', { branch }, update],
        ['body.edit', { branch }, edit],
      ];
      const good = kinds.map(([kind, extra, u]) => body(kind, b64(u), extra));
      const bad = kinds.flatMap(([kind, extra, u]) => [
        body(kind, b64(new Uint8Array([1, 2, 3, 250, 251])), extra),
        body(kind, b64(u.slice(0, 6)), extra),
      ]);
      const r = await push(s, [
        ...good,
        ...bad,
        { id: 'not-a-stamp', kind: 'node.set', target: 'x', payload: {} },
        42,
        { ...title(40), payload: { field: 'title' } },
      ]);
      expect(r.accepted).toEqual(ids(good));
      expect(r.refused.map((x) => [x.id, x.code])).toEqual([
        ...bad.map((o) => [o.id, 'invalid_op']),
        ['not-a-stamp', 'invalid_op'],
        ['?', 'invalid_op'],
        [title(40).id, 'invalid_op'],
      ]);
      for (const x of r.refused.slice(0, bad.length)) {
        expect(x.message).toMatch(/not a valid Yjs update/);
      }
      expect(await s.head(HUB_OWNER)).toBe(good.length);
      // A refused id is free: the right content under it is taken later.
      expect((await push(s, [title(40)])).accepted).toEqual([title(40).id]);
    });

    it('stores ops of unknown kinds and serves them as they came', async () => {
      const s = await fresh();
      const future = {
        id: encodeHlc({ wall: T0, counter: 9, origin: B }),
        kind: 'future.thing',
        target: 'anything at all',
        payload: { z: [1, { b: true, a: null }], a: 'é\u2028' },
      };
      expect((await push(s, [future])).accepted).toEqual([future.id]);
      expect(parsed((await all(s)).ops)).toEqual([future]);
    });

    it('stops a page short of its limit when its text passes maxChars, never at none', async () => {
      const s = await fresh();
      const big = (n: number) => title(n, A, 'x'.repeat(1000));
      await push(s, [big(1), big(2), big(3)]);
      const one = await s.read(HUB_OWNER, { after: 0, limit: 3, maxChars: 10 });
      expect(one).toMatchObject({ cursor: 1, more: true, remaining: 2 });
      expect(one.ops).toHaveLength(1);
      const two = await s.read(HUB_OWNER, { after: 1, limit: 3, maxChars: 2500 });
      expect(two).toMatchObject({ cursor: 3, more: false, remaining: 0 });
      expect(two.ops).toHaveLength(2);
    });

    it('refuses a cursor ahead of the log with conflict and the newest cursor', async () => {
      const s = await fresh();
      await push(s, [title(1), title(2)]);
      await expect(
        s.read(HUB_OWNER, { after: 3, limit: 10, maxChars: Infinity }),
      ).rejects.toMatchObject({ code: 'conflict', details: { last: '2' } });
      await expect(
        s.read(HUB_OWNER, { after: -1, limit: 10, maxChars: Infinity }),
      ).rejects.toMatchObject({ code: 'invalid_params' });
      await expect(
        s.read(HUB_OWNER, { after: 0, limit: 0, maxChars: Infinity }),
      ).rejects.toMatchObject({ code: 'invalid_params' });
    });

    it('skips the caller’s own ops up to its high mark, advancing the cursor past them', async () => {
      const s = await fresh();
      // a1 b1 a2 a3 b2 a4: the caller is A and holds its ops up to a3.
      const [a1, a2, a3, a4] = [1, 2, 3, 4].map((c) => title(c, A));
      const [b1, b2] = [1, 2].map((c) => title(c, B));
      await push(s, [a1, b1, a2, a3, b2, a4]);
      const skip = { origin: A, upTo: a3!.id };
      const q = (after: number, limit: number) =>
        s.read(HUB_OWNER, { after, limit, maxChars: Infinity, skip });
      const p1 = await q(0, 1);
      expect(ids(parsed(p1.ops))).toEqual([b1!.id]);
      expect(p1).toMatchObject({ cursor: 2, more: true, remaining: 2 });
      const p2 = await q(2, 1);
      expect(ids(parsed(p2.ops))).toEqual([b2!.id]);
      expect(p2).toMatchObject({ cursor: 5, more: true, remaining: 1 });
      const p3 = await q(5, 5);
      expect(ids(parsed(p3.ops))).toEqual([a4!.id]); // later own ops come back
      expect(p3).toMatchObject({ cursor: 6, more: false, remaining: 0 });
      // Only own ops after the cursor: an empty page, and the cursor moves to the end.
      const upToAll = { origin: A, upTo: a4!.id };
      const tail = await s.read(HUB_OWNER, { after: 5, limit: 5, maxChars: 1, skip: upToAll });
      expect(tail).toEqual({ ops: [], cursor: 6, more: false, remaining: 0 });
      // Another replica's view is unchanged.
      expect((await all(s)).ops).toHaveLength(6);
    });

    it('appends a group of pushes in one call, each with its own result', async () => {
      const s = await fresh();
      const bob = await s.ownerOf({ iss: 'https://id.test', sub: 'bob' });
      const results: AppendResult[] = await s.append([
        { owner: HUB_OWNER, ops: [title(1), title(2)], maxDriftMs: 1000 },
        { owner: bob, ops: [title(1, B)], maxDriftMs: 1000 },
        { owner: HUB_OWNER, ops: [title(2), title(3)], maxDriftMs: 1000 },
      ]);
      expect(results.map((r) => [r.accepted.length, r.duplicates])).toEqual([
        [2, 0],
        [1, 0],
        [1, 1],
      ]);
      expect(await s.head(HUB_OWNER)).toBe(3);
      expect(await s.head(bob)).toBe(1);
    });

    it('keeps owners apart: the same op id under two owners, separate logs, stamps and waits', async () => {
      const s = await fresh();
      const bob = await s.ownerOf({ iss: 'https://id.test', sub: 'bob' });
      expect(bob).not.toBe(HUB_OWNER);
      expect(await s.ownerOf({ iss: 'https://id.test', sub: 'bob' })).toBe(bob);
      expect(await s.findOwner({ iss: 'https://id.test', sub: 'bob' })).toBe(bob);
      expect(await s.findOwner({ iss: 'https://other.test', sub: 'bob' })).toBeUndefined();
      const mine = title(1, A, 'alice');
      const his = title(1, A, 'bob');
      expect((await push(s, [mine])).accepted).toEqual([mine.id]);
      expect((await push(s, [his], bob)).accepted).toEqual([his.id]);
      expect(parsed((await all(s)).ops)[0]!.payload.value).toBe('alice');
      expect(parsed((await all(s, bob)).ops)[0]!.payload.value).toBe('bob');
      // A wait on bob's log is not woken by the owner's appends.
      const gone = new AbortController();
      const waiting = s.waitForAppend(bob, 1, 60_000, gone.signal);
      await push(s, [title(2)]);
      const raced = await Promise.race([waiting, new Promise((r) => setTimeout(r, 50, 'open'))]);
      expect(raced).toBe('open');
      await push(s, [title(2, A, 'bob 2')], bob);
      expect(await waiting).toBe('appended');
      await expect(s.head(999_999)).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.ownerOf({ iss: '', sub: 'x' })).rejects.toMatchObject({
        code: 'invalid_params',
      });
    });

    it('ends waits on append, timeout, abort and close(); a wait behind the head ends at once', async () => {
      const s = await fresh();
      const gone = new AbortController();
      expect(await s.waitForAppend(HUB_OWNER, 0, 20, gone.signal)).toBe('timeout');
      const woken = s.waitForAppend(HUB_OWNER, 0, 60_000, gone.signal);
      await push(s, [title(1)]);
      expect(await woken).toBe('appended');
      expect(await s.waitForAppend(HUB_OWNER, 0, 60_000, gone.signal)).toBe('appended');
      const aborted = s.waitForAppend(HUB_OWNER, 1, 60_000, gone.signal);
      gone.abort();
      expect(await aborted).toBe('aborted');
      const still = new AbortController();
      const closing = s.waitForAppend(HUB_OWNER, 1, 60_000, still.signal);
      await s.close();
      expect(await closing).toBe('closed');
      expect(await s.waitForAppend(HUB_OWNER, 1, 60_000, still.signal)).toBe('closed');
      await expect(s.head(HUB_OWNER)).rejects.toMatchObject({ code: 'unavailable' });
      await expect(s.ping()).rejects.toThrow();
      await s.close();
    });

    it('records the first claim only; a claim replaces another only when told which', async () => {
      const s = await fresh();
      const alice = { iss: 'https://id.test', sub: 'alice' };
      const bob = { iss: 'https://id.test', sub: 'bob' };
      expect(await s.claim()).toBeUndefined();
      const [first, second] = await Promise.all([
        s.setClaim(alice, undefined),
        s.setClaim(bob, undefined),
      ]);
      expect(first).toEqual(alice);
      expect(second).toEqual(alice);
      expect(await s.claim()).toEqual(alice);
      expect(await s.setClaim(bob, undefined)).toEqual(alice);
      expect(await s.setClaim(bob, alice)).toEqual(bob);
      expect(await s.claim()).toEqual(bob);
    });

    it('keeps logs, stamps, owners, the claim and its id across a reopen', async () => {
      let s = await fresh();
      await s.ping();
      const id = await s.storeId();
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      const bob = await s.ownerOf({ iss: 'https://id.test', sub: 'bob' });
      await push(s, [title(1), title(2)]);
      await push(s, [title(1, B)], bob);
      await s.setClaim({ iss: 'https://id.test', sub: 'alice' }, undefined);
      s = await fx!.reopen();
      expect(await s.storeId()).toBe(id);
      expect(await s.head(HUB_OWNER)).toBe(2);
      expect(await s.findOwner({ iss: 'https://id.test', sub: 'bob' })).toBe(bob);
      expect(await s.claim()).toEqual({ iss: 'https://id.test', sub: 'alice' });
      expect(await push(s, [title(2), title(3)])).toMatchObject({
        accepted: [title(3).id],
        duplicates: 1,
      });
      expect(ids(parsed((await all(s)).ops))).toEqual(ids([title(1), title(2), title(3)]));
      expect(await s.head(bob)).toBe(1);
    });
  });
}
