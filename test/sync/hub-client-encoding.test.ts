// The device's side of content codings, against real hubs on 127.0.0.1:0: it asks for
// compressed replies and reads them; it compresses a push only after the hub said it reads that
// coding, never towards a hub that did not (an older hub), and sends a body plain again when a
// hub that stopped saying so refuses it; a reply in a coding it does not read, corrupt, or
// decoding past its limit is a clear error.

import { createServer, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { HubClient } from '../../src/sync/hub-client.js';
import { makeHub, ORIGIN_A, ORIGIN_B, T0, titleOp, type TestHub } from '../hub/helpers.js';
import { encodeWireOp } from '../../src/protocol/op-wire.js';
import { pullCursor } from '../../src/sync/sync-state.js';
import { syncOnce } from '../../src/sync/sync-once.js';
import { openTestStore } from '../helpers/store.js';
import type { Op } from '../../src/core/op.js';

interface Seen {
  path: string;
  contentEncoding: string | undefined;
  acceptEncoding: string | undefined;
  status: number;
  replyEncoding: string | undefined;
}

let hub: TestHub;
let seen: Seen[];
/** Whether the hub behaves as a version before content codings (says nothing, reads plain only). */
let old: boolean;
let client: HubClient;

beforeEach(async () => {
  hub = await makeHub();
  seen = [];
  old = false;
  hub.app.addHook('onRequest', (request, reply, done) => {
    if (old && request.headers['content-encoding'] !== undefined) {
      // What an older hub answers: it parses the compressed bytes as JSON.
      void reply
        .code(400)
        .send({ error: { code: 'invalid_params', message: 'body is not valid JSON' } });
      return;
    }
    done();
  });
  hub.app.addHook('onSend', (request, reply, payload, done) => {
    if (old) void reply.removeHeader('accept-encoding');
    const enc = reply.getHeader('content-encoding');
    seen.push({
      path: request.url.split('?')[0]!,
      contentEncoding: request.headers['content-encoding'],
      acceptEncoding: request.headers['accept-encoding'],
      status: reply.statusCode,
      replyEncoding: typeof enc === 'string' ? enc : undefined,
    });
    done(null, payload);
  });
  client = new HubClient({ url: await hub.listen(), origin: ORIGIN_A });
});
afterEach(async () => {
  await client.close();
  await hub.close();
});

const batch = (from: number): Op[] =>
  Array.from({ length: 50 }, (_, i) => titleOp(T0 - 10_000, from + i, ORIGIN_A) as Op);

async function pullAllOps(c: HubClient): Promise<unknown[]> {
  const page = await c.pull(undefined, 5000);
  expect(page.more).toBe(false);
  return page.ops;
}

describe('towards a hub that reads codings', () => {
  it('asks for compressed replies, and compresses pushes once the hub said it reads them', async () => {
    expect(await client.push(batch(0))).toMatchObject({ accepted: 50 });
    // The first request went plain: the device knew nothing of this hub yet.
    expect(seen[0]).toMatchObject({ path: '/sync/push', contentEncoding: undefined });
    expect(seen[0]!.acceptEncoding).toBe('br, gzip');

    const ops = await pullAllOps(client);
    expect(ops).toEqual(batch(0));
    expect(seen[1]).toMatchObject({ path: '/sync/pull', replyEncoding: 'br' });

    expect(await client.push(batch(50))).toMatchObject({ accepted: 50 });
    expect(seen[2]).toMatchObject({ path: '/sync/push', contentEncoding: 'br', status: 200 });
    expect(await pullAllOps(client)).toEqual([...batch(0), ...batch(50)]);
    // Re-sent compressed, the same ops are duplicates: the hub read the same bytes.
    expect(await client.push(batch(50))).toMatchObject({ accepted: 0, duplicates: 50 });
  });

  it('sends /rpc calls and reads their replies through the same codings', async () => {
    await client.health();
    const reply = await client.rpc({ jsonrpc: '2.0', id: 1, method: 'rpc.methods', params: {} });
    expect(reply).toMatchObject({ id: 1, result: expect.anything() });
    expect(seen.at(-1)).toMatchObject({ path: '/rpc', replyEncoding: 'br' });
  });

  it('sends a body plain again when a hub that stopped reading codings refuses it', async () => {
    await client.health(); // learns that the hub reads br
    old = true; // the hub is replaced by an older version
    expect(await client.push(batch(0))).toMatchObject({ accepted: 50 });
    expect(seen.map((s) => [s.path, s.contentEncoding, s.status])).toEqual([
      ['/healthz', undefined, 200],
      ['/sync/push', 'br', 400],
      ['/sync/push', undefined, 200],
    ]);
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(50);
  });
});

describe('towards an older hub', () => {
  it('never compresses a body for a hub that did not say it reads codings', async () => {
    old = true;
    await client.health();
    for (let i = 0; i < 3; i++) {
      expect(await client.push(batch(i * 50))).toMatchObject({ accepted: 50 });
      await pullAllOps(client);
    }
    const pushes = seen.filter((s) => s.path === '/sync/push');
    expect(pushes).toHaveLength(3);
    for (const s of pushes) expect(s).toMatchObject({ contentEncoding: undefined, status: 200 });
  });
});

describe('hostile replies', () => {
  let server: Server;
  let reply: { encoding: string; body: Buffer };
  let url: string;
  beforeEach(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': reply.encoding,
      });
      res.end(reply.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });
  afterEach(async () => {
    await new Promise((r) => server.close(r));
  });

  it('refuses a reply in a coding it does not read, a corrupt one, and one decoding past its limit', async () => {
    const c = new HubClient({ url, origin: ORIGIN_A, maxReplyBytes: 1024 * 1024 });
    try {
      const page = JSON.stringify({ ops: [], cursor: '0', more: false, remaining: 0 });
      reply = { encoding: 'gzip', body: gzipSync(page) };
      expect(await c.pull(undefined)).toEqual(JSON.parse(page));

      const cases: [string, Buffer, string, RegExp][] = [
        ['zstd', Buffer.from(page), 'protocol_mismatch', /coding this device does not read/],
        ['gzip', Buffer.from('not gzip at all'), 'protocol_mismatch', /is not valid gzip/],
        [
          'gzip',
          gzipSync(`{"ops":[${' '.repeat(4 * 1024 * 1024)}]}`),
          'too_large',
          /decodes to more than 1048576 bytes/,
        ],
      ];
      for (const [encoding, body, code, re] of cases) {
        reply = { encoding, body };
        const e = await c.pull(undefined).catch((x: unknown) => x);
        expect(e, encoding).toMatchObject({ code });
        expect((e as Error).message).toMatch(re);
      }
    } finally {
      await c.close();
    }
  });

  it('a page holding a malformed op applies nothing of it: pulled ops are decoded as they are applied', async () => {
    const c = new HubClient({ url, origin: ORIGIN_A });
    const dev = openTestStore({ seed: 31 });
    try {
      const good = [1, 2, 3].map((i) => titleOp(T0 + i, 0, ORIGIN_B, i) as Op);
      const bad = [good[2]!.id, good[2]!.target, 'title']; // a field set is 5 or 6 members
      const page = (ops: unknown[]) =>
        gzipSync(JSON.stringify({ ops, cursor: '3', more: false, remaining: 0 }));
      // After two good ops of the same page.
      reply = { encoding: 'gzip', body: page([...good.slice(0, 2).map(encodeWireOp), bad]) };
      const e = await syncOnce(dev.store, c).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'protocol_mismatch' });
      expect((e as Error).message).toMatch(/sent a malformed op: .*field set/);
      expect(dev.store.opCount()).toBe(0);
      expect(dev.store.listNodes({ scope: 'all' })).toEqual([]);
      expect(pullCursor(dev.store)).toBeUndefined();
      // pull (every op decoded at once) says the same of the page.
      await expect(c.pull(undefined)).rejects.toThrow(/sent a malformed op/);
      // The page as it should be: every op applied, the cursor saved.
      reply = { encoding: 'gzip', body: page(good.map(encodeWireOp)) };
      const r = await syncOnce(dev.store, c);
      expect(r).toMatchObject({ pulled: 3, applied: 3 });
      expect(dev.store.opCount()).toBe(3);
      expect(pullCursor(dev.store)).toBe('3');
    } finally {
      dev.close();
      await c.close();
    }
  });

  it('applied in parts, a page holding a malformed op keeps the parts before it without the cursor', async () => {
    const c = new HubClient({ url, origin: ORIGIN_A });
    const dev = openTestStore({ seed: 32 });
    try {
      const good = [1, 2, 3].map((i) => titleOp(T0 + i, 0, ORIGIN_B, i) as Op);
      const bad = [good[2]!.id, good[2]!.target, 'title'];
      const page = (ops: unknown[]) =>
        gzipSync(JSON.stringify({ ops, cursor: '3', more: false, remaining: 0 }));
      reply = { encoding: 'gzip', body: page([...good.slice(0, 2).map(encodeWireOp), bad]) };
      const e = await syncOnce(dev.store, c, { partOps: 1 }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'protocol_mismatch' });
      // The two parts before the malformed op committed; the cursor did not move past it.
      expect(dev.store.opCount()).toBe(2);
      expect(pullCursor(dev.store)).toBeUndefined();
      // Pulled again as it should be: the two are duplicates, the third applied, the cursor saved.
      reply = { encoding: 'gzip', body: page(good.map(encodeWireOp)) };
      const r = await syncOnce(dev.store, c, { partOps: 1 });
      expect(r).toMatchObject({ pulled: 3, applied: 1 });
      expect(dev.store.opCount()).toBe(3);
      expect(pullCursor(dev.store)).toBe('3');
    } finally {
      dev.close();
      await c.close();
    }
  });
});
