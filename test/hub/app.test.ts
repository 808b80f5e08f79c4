import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import {
  PROTOCOL_NO_ECHO,
  PROTOCOL_VERSION,
  SUPPORTED_PROTOCOLS,
} from '../../src/protocol/sync.js';
import {
  ORIGIN_A,
  ORIGIN_B,
  SYNC_HEADERS,
  T0,
  makeHub,
  pushBody,
  titleOp,
  type TestHub,
} from './helpers.js';

let hub: TestHub;
beforeEach(async () => {
  hub = await makeHub({ bodyLimit: 64 * 1024, maxOpsPerPush: 100 });
});
afterEach(async () => {
  await hub.close();
});

const push = (payload: string | Readable, headers: Record<string, string> = SYNC_HEADERS()) =>
  hub.app.inject({ method: 'POST', url: '/sync/push', headers, payload });

const pull = (query = '', headers: Record<string, string> = SYNC_HEADERS()) =>
  hub.app.inject({ method: 'GET', url: `/sync/pull${query}`, headers });

type ErrorOf = { code: string; message: string } & Record<string, unknown>;
function errorOf(r: { json<T>(): T }): ErrorOf {
  return r.json<{ error: ErrorOf }>().error;
}

describe('routing and headers', () => {
  it('serves /healthz, /readyz and /config without sync headers', async () => {
    const h = await hub.app.inject({ method: 'GET', url: '/healthz' });
    expect(h.statusCode).toBe(200);
    expect(h.json()).toEqual({ ok: true, time_ms: T0 });
    const ready = await hub.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ok: true });
    const c = await hub.app.inject({ method: 'GET', url: '/config' });
    expect(c.json()).toEqual({
      issuer: null,
      client_id: null,
      audience: null,
      protocol: [...SUPPORTED_PROTOCOLS],
    });
  });

  it('answers /readyz with 503 when the store does not answer; /healthz stays live', async () => {
    await hub.hubStore.close();
    const ready = await hub.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(errorOf(ready)).toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/the hub store does not answer/),
    });
    expect((await hub.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('answers an unknown route with a JSON 404', async () => {
    const r = await hub.app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(r.statusCode).toBe(404);
    expect(errorOf(r)).toEqual({ code: 'not_found', message: 'no route GET /nope' });
  });

  it('requires Heph-Protocol and Heph-Replica on /sync', async () => {
    const { 'heph-protocol': _p, ...noProtocol } = SYNC_HEADERS();
    let r = await push(pushBody([]), noProtocol);
    expect(r.statusCode).toBe(400);
    expect(errorOf(r)).toMatchObject({ code: 'invalid_params', field: 'heph-protocol' });
    const { 'heph-replica': _r, ...noReplica } = SYNC_HEADERS();
    r = await pull('', noReplica);
    expect(r.statusCode).toBe(400);
    expect(errorOf(r).message).toMatch(/Heph-Replica/);
    r = await pull('', { ...SYNC_HEADERS(), 'heph-replica': 'NOT-A-REPLICA' });
    expect(r.statusCode).toBe(400);
    expect(errorOf(r).field).toBe('heph-replica');
  });

  it('answers an unknown protocol with 409, the supported versions and which side to upgrade', async () => {
    const cases: [string, RegExp][] = [
      ['0', /too old for this hub .*: upgrade heph on this device$/],
      [String(PROTOCOL_VERSION + 1), /newer than this hub .*: upgrade heph on the hub$/],
      ['banana', /does not speak sync protocol "banana"/],
    ];
    for (const [v, message] of cases) {
      const r = await push(pushBody([]), { ...SYNC_HEADERS(), 'heph-protocol': v });
      expect(r.statusCode).toBe(409);
      expect(errorOf(r)).toMatchObject({
        code: 'protocol_mismatch',
        supported: [...SUPPORTED_PROTOCOLS],
        message,
      });
    }
    for (const v of SUPPORTED_PROTOCOLS) {
      const r = await push(pushBody([]), { ...SYNC_HEADERS(), 'heph-protocol': String(v) });
      expect(r.statusCode, String(v)).toBe(200);
    }
  });

  it('refuses a Heph-Own-High that is not one of the caller’s op ids', async () => {
    for (const high of ['nope', titleOp(T0, 0, ORIGIN_B).id]) {
      const r = await pull('', {
        ...SYNC_HEADERS(ORIGIN_A, String(PROTOCOL_NO_ECHO)),
        'heph-own-high': high,
      });
      expect(r.statusCode).toBe(400);
      expect(errorOf(r)).toMatchObject({ field: 'heph-own-high' });
    }
  });

  it('refuses a device of protocol 1, which would misapply bodies with branches', async () => {
    for (const r of [
      await push(pushBody([]), { ...SYNC_HEADERS(), 'heph-protocol': '1' }),
      await pull('', { ...SYNC_HEADERS(), 'heph-protocol': '1' }),
    ]) {
      expect(r.statusCode).toBe(409);
      expect(errorOf(r)).toMatchObject({
        code: 'protocol_mismatch',
        supported: [...SUPPORTED_PROTOCOLS],
      });
      expect(errorOf(r).message).toMatch(
        /"1", too old for this hub .*: upgrade heph on this device$/,
      );
    }
  });
});

describe('hostile and malformed bodies', () => {
  it('refuses a body over the limit by Content-Length with 413', async () => {
    const r = await push(JSON.stringify({ pad: 'x'.repeat(70 * 1024) }));
    expect(r.statusCode).toBe(413);
    expect(errorOf(r)).toMatchObject({ code: 'too_large', limit: 64 * 1024 });
  });

  it('refuses a chunked body without a length once it passes the limit', async () => {
    let sent = 0;
    const stream = new Readable({
      read() {
        if (sent > 200 * 1024) {
          this.push(null);
          return;
        }
        sent += 8 * 1024;
        this.push('{"pad":"' + 'x'.repeat(8 * 1024));
      },
    });
    const r = await push(stream);
    expect(r.headers['content-length']).toBeDefined(); // the reply, not the request
    expect(r.statusCode).toBe(413);
    expect(errorOf(r).code).toBe('too_large');
  });

  it('refuses more ops per push than the limit with 413', async () => {
    const ops = Array.from({ length: 101 }, (_, i) => titleOp(T0, i, ORIGIN_A));
    const r = await push(pushBody(ops));
    expect(r.statusCode).toBe(413);
    expect(errorOf(r).message).toMatch(/101 ops.*\(100\)/);
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(0);
  });

  it('refuses JSON nested deeper than 64 levels with 400 and the reason', async () => {
    const deep = '['.repeat(30_000) + ']'.repeat(30_000);
    const r = await push(`{"replica":{"id":"${ORIGIN_A}"},"ops":[${deep}]}`);
    expect(r.statusCode).toBe(400);
    expect(errorOf(r).message).toMatch(/nested deeper than 64/);
  });

  it('refuses malformed JSON and an empty body with 400 and the reason', async () => {
    let r = await push('{"replica": ');
    expect(r.statusCode).toBe(400);
    expect(errorOf(r)).toMatchObject({ code: 'invalid_params', field: 'body' });
    expect(errorOf(r).message).toMatch(/not valid JSON/);
    r = await push('');
    expect(r.statusCode).toBe(400);
    expect(errorOf(r).message).toMatch(/empty/);
  });

  it('refuses a body that is not JSON with 415', async () => {
    const r = await push('replica=x', { ...SYNC_HEADERS(), 'content-type': 'text/plain' });
    expect(r.statusCode).toBe(415);
    expect(errorOf(r)).toMatchObject({ code: 'invalid_params', field: 'content-type' });
  });

  it('names the field of a schema violation', async () => {
    const cases: [unknown, RegExp][] = [
      [[], /^body: /],
      [{ replica: { id: ORIGIN_A }, ops: 'x' }, /^ops: /],
      [{ replica: { id: 'Z' }, ops: [] }, /^replica\.id: must be 16 lower-case hex digits/],
      [{ replica: { id: ORIGIN_A }, ops: [1] }, /^ops\.0: /],
      [{ replica: { id: ORIGIN_A }, ops: [], extra: 1 }, /^extra: unknown field/],
      [{ replica: { id: ORIGIN_B }, ops: [] }, /^replica\.id: must equal the Heph-Replica header/],
    ];
    for (const [body, re] of cases) {
      const r = await push(JSON.stringify(body));
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(errorOf(r).message).toMatch(re);
    }
  });

  it('names the bad query parameter of a pull', async () => {
    for (const [q, field] of [
      ['?after=abc', 'after'],
      ['?limit=0', 'limit'],
      ['?limit=5001', 'limit'],
      ['?wait=61', 'wait'],
      ['?wait=soon', 'wait'],
    ]) {
      const r = await pull(q);
      expect(r.statusCode, q).toBe(400);
      expect(errorOf(r).message.startsWith(`${field}: `)).toBe(true);
    }
  });

  it('refuses a cursor ahead of the log (a replaced hub database) with 409', async () => {
    const r = await pull('?after=5');
    expect(r.statusCode).toBe(409);
    expect(errorOf(r)).toMatchObject({ code: 'conflict', last: '0' });
  });
});

describe('push semantics', () => {
  it('accepts ops, and a re-push of the same batch is all duplicates', async () => {
    const ops = Array.from({ length: 20 }, (_, i) => titleOp(T0 - 1000, i, ORIGIN_A));
    let r = await push(pushBody(ops));
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ accepted: 20, duplicates: 0, refused: [] });
    r = await push(pushBody(ops));
    expect(r.json()).toEqual({ accepted: 0, duplicates: 20, refused: [] });
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(20);
    const p = await pull('?limit=1000');
    expect(p.json()).toMatchObject({ cursor: '20', more: false, remaining: 0 });
    expect(p.json<{ ops: unknown[] }>().ops).toEqual(ops);
  });

  it('refuses an op stamped more than 5 minutes ahead, naming origin and amount, and takes the rest', async () => {
    const ahead = titleOp(T0 + 5 * 60_000 + 90_000, 0, ORIGIN_A, 1);
    const justUnder = titleOp(T0 + 5 * 60_000 - 1, 0, ORIGIN_A, 2);
    const fine = titleOp(T0, 0, ORIGIN_A, 3);
    const r = await push(pushBody([ahead, justUnder, fine]));
    expect(r.statusCode).toBe(200);
    const body = r.json<{ accepted: number; refused: Record<string, unknown>[] }>();
    expect(body.accepted).toBe(2);
    expect(body.refused).toEqual([
      {
        id: ahead.id,
        code: 'clock_drift',
        origin: ORIGIN_A,
        ahead_ms: 390_000,
        message: expect.stringMatching(/replica aaaaaaaaaaaaaaaa is stamped 6m30s ahead/),
      },
    ]);
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(2);
  });

  it('refuses an op that reuses an id with different content, without blocking the others', async () => {
    const first = titleOp(T0, 1, ORIGIN_A);
    await push(pushBody([first]));
    const reused = { ...first, payload: { ...first.payload, value: 'something else' } };
    const other = titleOp(T0, 2, ORIGIN_A);
    const r = await push(pushBody([reused, other]));
    expect(r.json()).toEqual({
      accepted: 1,
      duplicates: 0,
      refused: [
        {
          id: first.id,
          code: 'op_id_reused',
          origin: ORIGIN_A,
          message: expect.stringMatching(/reuses an id/),
        },
      ],
    });
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(2);
  });

  it('commits pushes that arrive together in one transaction, each with its own reply', async () => {
    const append = vi.spyOn(hub.hubStore, 'append');
    const origins = ['1000000000000000', '2000000000000000', '3000000000000000'];
    const replies = await Promise.all(
      origins.map((origin, k) => {
        const ops = Array.from({ length: 10 }, (_, i) => titleOp(T0, i, origin, k * 10 + i));
        if (k === 1) ops.push(titleOp(T0 + 3_600_000, 0, origin)); // refused: drift
        return push(pushBody(ops, origin), SYNC_HEADERS(origin));
      }),
    );
    expect(replies.map((r) => r.json<{ accepted: number; refused: unknown[] }>())).toMatchObject([
      { accepted: 10, refused: [] },
      { accepted: 10, refused: [{ code: 'clock_drift' }] },
      { accepted: 10, refused: [] },
    ]);
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(30);
    expect(append).toHaveBeenCalledTimes(1);
    append.mockRestore();
  });

  it('refuses an op of bad shape by name and takes the rest', async () => {
    const good = titleOp(T0, 1, ORIGIN_A);
    const r = await push(pushBody([{ id: 'nope', kind: 'node.set' }, good]));
    const body = r.json<{ accepted: number; refused: { id: string; code: string }[] }>();
    expect(body.accepted).toBe(1);
    expect(body.refused).toMatchObject([{ id: 'nope', code: 'invalid_op' }]);
  });

  it('stores and serves ops of kinds this version does not know', async () => {
    const future = {
      id: titleOp(T0, 9, ORIGIN_A).id,
      kind: 'future.thing',
      target: 'x',
      payload: { a: 1 },
    };
    expect((await push(pushBody([future]))).json()).toMatchObject({ accepted: 1 });
    expect((await pull()).json()).toMatchObject({ ops: [future], cursor: '1' });
  });
});

describe('POST /rpc', () => {
  const rpc = (payload: unknown) =>
    hub.app.inject({
      method: 'POST',
      url: '/rpc',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });

  it('serves a method, a batch, and 204 for notifications', async () => {
    let r = await rpc({
      jsonrpc: '2.0',
      id: 1,
      method: 'node.create',
      params: { kind: 'doc', title: 'Hello' },
    });
    expect(r.statusCode).toBe(200);
    const created = r.json<{ result: { id: string; title: string } }>().result;
    expect(created.title).toBe('Hello');
    r = await rpc([
      { jsonrpc: '2.0', id: 'a', method: 'node.get', params: { id: created.id } },
      { jsonrpc: '2.0', method: 'status' },
      { jsonrpc: '2.0', id: 'b', method: 'nope' },
    ]);
    const replies = r.json<
      {
        id: string;
        result?: { title: string };
        error?: { code: number };
      }[]
    >();
    expect(replies.map((x) => x.id)).toEqual(['a', 'b']);
    expect(replies[0]!.result!.title).toBe('Hello');
    expect(replies[1]!.error!.code).toBe(-32601);
    r = await rpc({ jsonrpc: '2.0', method: 'status' });
    expect(r.statusCode).toBe(204);
    expect(r.body).toBe('');
    r = await rpc({ jsonrpc: '2.0', id: 2, method: 'node.get', params: { id: 42 } });
    expect(r.json<{ error: { code: number; data: { field: string } } }>().error).toMatchObject({
      code: -32602,
      data: { field: 'id' },
    });
  });

  it('refuses export, import and backup with a clear error', async () => {
    for (const [method, params] of [
      ['export', { dir: '/tmp/x' }],
      ['import', { dir: '/tmp/x' }],
      ['backup', { path: '/tmp/x.db' }],
    ] as const) {
      const r = await rpc({ jsonrpc: '2.0', id: 1, method, params });
      expect(r.statusCode).toBe(200);
      const e = r.json<{ error: { message: string; data: { code: string } } }>().error;
      expect(e.data.code, method).toBe('forbidden');
      expect(e.message).toMatch(new RegExp(`^${method} .*only served on the local socket`));
    }
  });

  it('wakes a waiting pull when an /rpc write commits', async () => {
    const waiting = pull('?wait=5');
    while (hub.hubStore.waiting(HUB_OWNER) === 0) await new Promise((r) => setTimeout(r, 5));
    await rpc({
      jsonrpc: '2.0',
      id: 1,
      method: 'node.create',
      params: { kind: 'doc', title: 'x' },
    });
    const r = await waiting;
    expect(r.json<{ ops: unknown[] }>().ops.length).toBeGreaterThan(0);
  });
});
