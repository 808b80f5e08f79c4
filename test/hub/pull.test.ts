// A real hub listening on 127.0.0.1:0, driven over HTTP with undici.

import * as net from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/ports/clock.js';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { seededRandom } from '../../src/ports/random.js';
import { MAX_PULL_PAGE_CHARS } from '../../src/protocol/sync.js';
import { openStore } from '../../src/store/open-store.js';
import {
  ORIGIN_A,
  ORIGIN_B,
  T0,
  httpPull,
  httpPush,
  makeHub,
  pullAll,
  titleOp,
  type TestHub,
  type TestOp,
} from './helpers.js';

const hubs: TestHub[] = [];
async function listening(opts: Parameters<typeof makeHub>[0] = {}): Promise<TestHub> {
  const h = await makeHub(opts);
  hubs.push(h);
  await h.listen();
  return h;
}
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

const ORIGINS = ['0000000000000001', '00000000000000a2', '0123456789abcdef', 'ffffffffffffffff'];

describe('pull pages', () => {
  /** n ops stamped in one millisecond (counters 0..n-1 across four origins), pushed so that
   *  arrival order differs from authoring order: the second half first. */
  async function filled(n: number): Promise<{ hub: TestHub; arrival: string[] }> {
    const hub = await listening();
    const ops: TestOp[] = Array.from({ length: n }, (_, i) =>
      titleOp(T0, i, ORIGINS[i % ORIGINS.length]!),
    );
    const order = [...ops.slice(n / 2), ...ops.slice(0, n / 2)];
    for (let i = 0; i < n; i += 5000) {
      const r = await httpPush(hub.url, order.slice(i, i + 5000));
      expect(r).toEqual({ accepted: Math.min(5000, n - i), duplicates: 0, refused: [] });
    }
    return { hub, arrival: order.map((o) => o.id) };
  }

  async function pullsExactly(hub: TestHub, arrival: string[], sizes: number[]): Promise<void> {
    const n = arrival.length;
    for (const size of sizes) {
      const { ops: got, pages, cursor, last } = await pullAll(hub.url, size);
      expect(got.length, `page size ${size}`).toBe(n);
      expect(new Set(got.map((o) => o.id)).size).toBe(n);
      expect(got.map((o) => o.id)).toEqual(arrival);
      expect(pages).toBe(Math.ceil(n / size));
      expect(cursor).toBe(String(n));
      expect(last).toMatchObject({ more: false, remaining: 0 });
    }
  }

  it('serves 10,000 ops stamped within one millisecond exactly once at page sizes 3, 7, 97 and 1,000', async () => {
    const { hub, arrival } = await filled(10_000);
    await pullsExactly(hub, arrival, [3, 7, 97, 1000]);
    const mid = await httpPull(hub.url, { after: '9990', limit: 3 });
    expect(mid).toMatchObject({ cursor: '9993', more: true, remaining: 7 });
  }, 60_000);

  // 10,000 one-op pages take tens of seconds on a loaded machine: 2,000 ops here.
  it('serves 2,000 ops stamped within one millisecond exactly once at page sizes 1 and 2', async () => {
    const { hub, arrival } = await filled(2_000);
    await pullsExactly(hub, arrival, [1, 2]);
  }, 60_000);

  it('stops a page short of its limit when its ops would pass 8 MiB of text, never at none', async () => {
    const hub = await listening();
    const src = openStore(
      { path: ':memory:' },
      { clock: new ManualClock(T0), random: seededRandom(9) },
    );
    // Each body change near the most one change may add (2.9 MiB): about 3.7 MiB of base64.
    for (let i = 0; i < 5; i++) {
      src.createNode({ kind: 'doc', title: `big ${i}`, body: String(i).repeat(2_800_000) });
    }
    const ops = src.opsSince(0, 100).ops;
    src.close();
    // One op per push keeps each request under the hub's body limit.
    for (const op of ops) await httpPush(hub.url, [op]);
    const pages: Awaited<ReturnType<typeof httpPull>>[] = [];
    let after: string | undefined;
    do {
      const page = await httpPull(hub.url, { limit: 1000, ...(after !== undefined && { after }) });
      pages.push(page);
      after = page.cursor;
    } while (pages.at(-1)!.more);
    const got = pages.flatMap((p) => p.ops as { id: string }[]);
    expect(got.map((o) => o.id)).toEqual(ops.map((o) => o.id));
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages[0]!.more).toBe(true);
    for (const p of pages) {
      expect(p.ops.length).toBeGreaterThan(0);
      const chars = (p.ops as unknown[]).reduce<number>(
        (n, o) => n + JSON.stringify((o as { payload: unknown }).payload).length,
        0,
      );
      if (p.ops.length > 1) expect(chars).toBeLessThanOrEqual(MAX_PULL_PAGE_CHARS);
    }
  });

  it('names the op at its cursor when asked (Heph-Cursor-Op), and refuses a cursor naming another', async () => {
    const hub = await listening();
    const ops = [0, 1, 2].map((i) => titleOp(T0, i, ORIGIN_A));
    await httpPush(hub.url, ops);
    const pull = async (after: string | undefined, limit: number, cursorOp?: string) => {
      const qs = new URLSearchParams({ limit: String(limit), ...(after && { after }) });
      const r = await request(`${hub.url}/sync/pull?${qs.toString()}`, {
        headers: {
          'heph-protocol': '4',
          'heph-replica': ORIGIN_B,
          ...(cursorOp !== undefined && { 'heph-cursor-op': cursorOp }),
        },
      });
      return {
        status: r.statusCode,
        body: (await r.body.json()) as { error: { message: string } },
      };
    };
    // Without the header, the reply is as before.
    expect((await pull(undefined, 10)).body).not.toHaveProperty('cursor_op');
    // With it: the op at the cursor, whether the page ends at its limit or at the log's end.
    expect((await pull(undefined, 2, '')).body).toMatchObject({
      cursor: '2',
      cursor_op: ops[1]!.id,
    });
    expect((await pull('2', 10, ops[1]!.id)).body).toMatchObject({
      cursor: '3',
      cursor_op: ops[2]!.id,
      more: false,
    });
    // A cursor naming another op there (the log was restored, then written again) is a
    // conflict, like a cursor ahead of the log; so is that one, with the header.
    const replaced = await pull('2', 10, ops[0]!.id);
    expect(replaced).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect(replaced.body.error.message).toMatch(/names another op .* replaced or restored/);
    expect(await pull('9', 10, ops[2]!.id)).toMatchObject({
      status: 409,
      body: { error: { code: 'conflict', last: '3' } },
    });
    expect(await pull('2', 10, 'not an op id')).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_params', message: expect.stringMatching(/heph-cursor-op/) } },
    });
    // An empty Heph-Cursor-Op (a device that has not been told one yet) is not checked.
    expect((await pull('3', 10, '')).body).toMatchObject({ cursor: '3', cursor_op: ops[2]!.id });
  });

  it('delivers an op authored earlier but pushed later after the cursor (arrival order)', async () => {
    const hub = await listening();
    await httpPush(hub.url, [titleOp(T0, 0, ORIGIN_A), titleOp(T0, 1, ORIGIN_A)]);
    const first = await pullAll(hub.url, 100);
    expect(first.ops).toHaveLength(2);
    // A device whose clock ran an hour behind, or that was offline, pushes now.
    const late = titleOp(T0 - 3_600_000, 0, ORIGIN_B);
    await httpPush(hub.url, [late], ORIGIN_B);
    const next = await pullAll(hub.url, 100, first.cursor);
    expect(next.ops.map((o) => o.id)).toEqual([late.id]);
  });
});

describe('long-poll', () => {
  it('wakes every waiting pull well under a second after a push', async () => {
    const hub = await listening();
    const waiting = Array.from({ length: 20 }, () => httpPull(hub.url, { wait: 30 }));
    while (hub.hubStore.waiting(HUB_OWNER) < 20) await new Promise((r) => setTimeout(r, 5));
    const t0 = performance.now();
    await httpPush(hub.url, [titleOp(T0, 0, ORIGIN_A)]);
    const pages = await Promise.all(waiting);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(500);
    for (const p of pages) expect(p).toMatchObject({ cursor: '1', more: false, remaining: 0 });
    expect(pages[0]!.ops).toHaveLength(1);
  });

  it('answers at once when ops exist, and with an empty page and the same cursor after wait', async () => {
    const hub = await listening();
    await httpPush(hub.url, [titleOp(T0, 0, ORIGIN_A)]);
    let t0 = performance.now();
    expect((await httpPull(hub.url, { wait: 30 })).ops).toHaveLength(1);
    expect(performance.now() - t0).toBeLessThan(500);
    t0 = performance.now();
    const p = await httpPull(hub.url, { after: '1', wait: 1 });
    const ms = performance.now() - t0;
    expect(p).toEqual({ ops: [], cursor: '1', more: false, remaining: 0 });
    expect(ms).toBeGreaterThanOrEqual(950);
    expect(ms).toBeLessThan(2000);
  });

  it('a duplicate-only push does not end a wait; a pull that disconnects stops waiting', async () => {
    const hub = await listening();
    const op = titleOp(T0, 0, ORIGIN_A);
    await httpPush(hub.url, [op]);
    const gone = new AbortController();
    const abandoned = httpPull(hub.url, { after: '1', wait: 30 }, gone.signal).catch(
      (e: Error) => e,
    );
    while (hub.hubStore.waiting(HUB_OWNER) < 1) await new Promise((r) => setTimeout(r, 5));
    await httpPush(hub.url, [op]);
    expect(hub.hubStore.waiting(HUB_OWNER)).toBe(1);
    gone.abort();
    expect(await abandoned).toBeInstanceOf(Error);
    const deadline = Date.now() + 2000;
    while (hub.hubStore.waiting(HUB_OWNER) > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    expect(hub.hubStore.waiting(HUB_OWNER)).toBe(0);
  });

  it('is not cut by the request timeout, and close() ends waiting pulls at once', async () => {
    const hub = await listening({
      timeouts: { requestMs: 300, headersMs: 300, checkIntervalMs: 50 },
    });
    const p = await httpPull(hub.url, { wait: 1 });
    expect(p).toMatchObject({ ops: [], cursor: '0' });
    const waiting = httpPull(hub.url, { wait: 30 }).catch((e: Error) => e);
    while (hub.hubStore.waiting(HUB_OWNER) < 1) await new Promise((r) => setTimeout(r, 5));
    const t0 = performance.now();
    await hub.close();
    expect(performance.now() - t0).toBeLessThan(2000);
    const r = await waiting;
    if (!(r instanceof Error)) expect(r.ops).toEqual([]);
  });
});

describe('slow clients', () => {
  it('drops a client that trickles its headers', async () => {
    const hub = await listening({ timeouts: { headersMs: 500, checkIntervalMs: 100 } });
    const port = Number(new URL(hub.url).port);
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8').on('data', (d: string) => (received += d));
    const closed = new Promise<number>((resolve) =>
      socket.once('close', () => resolve(performance.now())),
    );
    socket.on('error', () => undefined);
    const t0 = performance.now();
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const timer = setInterval(() => {
      if (!socket.destroyed) socket.write('X-Slow: 1\r\n');
    }, 100);
    try {
      const end = await closed;
      expect(end - t0).toBeLessThan(3000);
      expect(received).not.toMatch(/200 OK/);
    } finally {
      clearInterval(timer);
      socket.destroy();
    }
    // The hub still serves everyone else.
    expect((await httpPull(hub.url, {})).cursor).toBe('0');
  });
});
