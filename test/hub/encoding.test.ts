// Content codings on a real hub on 127.0.0.1:0: replies in br or gzip when asked (plain when
// not), request bodies read in gzip or br with the body limit on the decoded size, and every bad
// coding refused with a clear 4xx and nothing stored.

import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { makeHub, ORIGIN_A, pushBody, SYNC_HEADERS, T0, titleOp, type TestHub } from './helpers.js';

const LIMIT = 256 * 1024;
let hub: TestHub;
let url: string;
beforeEach(async () => {
  hub = await makeHub({ bodyLimit: LIMIT });
  url = await hub.listen();
});
afterEach(async () => {
  await hub.close();
});

async function send(
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string>,
  body?: Buffer | string,
) {
  const r = await request(`${url}${path}`, {
    method,
    headers,
    ...(body !== undefined && { body }),
  });
  const raw = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, headers: r.headers, raw };
}

function decoded(r: { headers: Record<string, unknown>; raw: Buffer }): unknown {
  const ce = r.headers['content-encoding'];
  const text =
    ce === 'br' ? brotliDecompressSync(r.raw) : ce === 'gzip' ? gunzipSync(r.raw) : r.raw;
  return JSON.parse(text.toString('utf8'));
}

const ops = Array.from({ length: 40 }, (_, i) => titleOp(T0 - 1000, i, ORIGIN_A));

describe('replies', () => {
  beforeEach(async () => {
    const r = await send('POST', '/sync/push', SYNC_HEADERS(), pushBody(ops));
    expect(r.status).toBe(200);
  });

  it('encodes a pull page in the coding the client prefers, and sends it plain to a client that asks for none', async () => {
    const plain = await send('GET', '/sync/pull', SYNC_HEADERS());
    expect(plain.headers['content-encoding']).toBeUndefined();
    const page = decoded(plain) as { ops: unknown[] };
    expect(page.ops).toEqual(ops);

    for (const [accept, coding] of [
      ['br, gzip', 'br'],
      ['gzip, deflate', 'gzip'],
      ['gzip;q=1, br;q=0.5', 'gzip'],
      ['br;q=0, gzip', 'gzip'],
      ['*', 'br'],
    ] as const) {
      const r = await send('GET', '/sync/pull', { ...SYNC_HEADERS(), 'accept-encoding': accept });
      expect(r.status, accept).toBe(200);
      expect(r.headers['content-encoding'], accept).toBe(coding);
      expect(r.headers.vary).toMatch(/accept-encoding/i);
      expect(r.raw.length).toBeLessThan(plain.raw.length / 3);
      expect(decoded(r), accept).toEqual(page);
    }
    for (const accept of ['identity', 'deflate', 'br;q=0, gzip;q=0']) {
      const r = await send('GET', '/sync/pull', { ...SYNC_HEADERS(), 'accept-encoding': accept });
      expect(r.headers['content-encoding'], accept).toBeUndefined();
      expect(decoded(r)).toEqual(page);
    }
  });

  it('encodes /rpc replies too, and leaves small replies plain', async () => {
    const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'rpc.methods', params: {} });
    const big = await send(
      'POST',
      '/rpc',
      { 'content-type': 'application/json', 'accept-encoding': 'gzip' },
      call,
    );
    expect(big.status).toBe(200);
    expect(big.headers['content-encoding']).toBe('gzip');
    expect(decoded(big)).toMatchObject({ id: 1, result: expect.anything() });

    const small = await send('GET', '/healthz', { 'accept-encoding': 'br, gzip' });
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(decoded(small)).toMatchObject({ ok: true });
  });

  it('says on every reply, errors included, which request codings it reads', async () => {
    for (const [method, path, headers] of [
      ['GET', '/config', {}],
      ['GET', '/sync/pull', SYNC_HEADERS()],
      ['GET', '/sync/pull', {}], // 400: no sync headers
      ['GET', '/nowhere', {}],
    ] as const) {
      const r = await send(method, path, headers);
      expect(r.headers['accept-encoding'], `${method} ${path} ${r.status}`).toBe('br, gzip');
    }
  });
});

describe('request bodies', () => {
  const pushHeaders = (coding: string) => ({ ...SYNC_HEADERS(), 'content-encoding': coding });

  it('reads a push in gzip and in br as it reads a plain one', async () => {
    const body = pushBody(ops);
    let r = await send('POST', '/sync/push', pushHeaders('gzip'), gzipSync(body));
    expect(r.status).toBe(200);
    expect(decoded(r)).toEqual({ accepted: 40, duplicates: 0, refused: [] });
    r = await send('POST', '/sync/push', pushHeaders('br'), brotliCompressSync(body));
    expect(decoded(r)).toEqual({ accepted: 0, duplicates: 40, refused: [] });
    r = await send('POST', '/sync/push', pushHeaders('identity'), body);
    expect(decoded(r)).toEqual({ accepted: 0, duplicates: 40, refused: [] });
    const page = decoded(await send('GET', '/sync/pull', SYNC_HEADERS())) as { ops: unknown[] };
    expect(page.ops).toEqual(ops);
  });

  it('reads an /rpc call in gzip', async () => {
    const call = { jsonrpc: '2.0', id: 7, method: 'task.create', params: { title: 'zipped' } };
    const r = await send(
      'POST',
      '/rpc',
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      gzipSync(JSON.stringify(call)),
    );
    expect(r.status).toBe(200);
    expect(decoded(r)).toMatchObject({ id: 7, result: { task: { title: 'zipped' } } });
    expect(await hub.hubStore.head(HUB_OWNER)).toBeGreaterThan(0);
  });

  it('refuses a body that decodes past the limit (a zip bomb) with 413, and stores nothing', async () => {
    // Valid JSON that decodes to 4 × the limit: 16 MB of spaces compress to a few KB.
    const bomb = `{"replica":{"id":"${ORIGIN_A}"},"ops":[${' '.repeat(4 * LIMIT)}]}`;
    for (const [coding, body] of [
      ['gzip', gzipSync(bomb, { level: 9 })],
      ['br', brotliCompressSync(bomb)],
    ] as const) {
      expect(body.length).toBeLessThan(LIMIT / 10);
      const r = await send('POST', '/sync/push', pushHeaders(coding), body);
      expect(r.status, coding).toBe(413);
      const e = (decoded(r) as { error: Record<string, unknown> }).error;
      expect(e).toMatchObject({ code: 'too_large', limit: LIMIT });
      expect(e.message).toMatch(new RegExp(`decodes to more than ${LIMIT} bytes.*${coding}`));
    }
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(0);
    // The hub still serves this connection's peers.
    const after = await send('POST', '/sync/push', pushHeaders('gzip'), gzipSync(pushBody(ops)));
    expect(after.status).toBe(200);
  });

  it('refuses an unknown or stacked Content-Encoding with 415 naming what it reads', async () => {
    for (const coding of ['deflate', 'compress', 'zstd', 'gzip, br']) {
      const r = await send('POST', '/sync/push', pushHeaders(coding), gzipSync(pushBody(ops)));
      expect(r.status, coding).toBe(415);
      expect(r.headers['accept-encoding']).toBe('br, gzip');
      const e = (decoded(r) as { error: Record<string, unknown> }).error;
      expect(e).toMatchObject({ code: 'invalid_params', field: 'content-encoding' });
      expect(e.message).toMatch(/is not one heph reads \(it reads br and gzip/);
    }
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(0);
  });

  it('refuses a corrupt, truncated or mislabelled body with 400, and stores nothing', async () => {
    const good = gzipSync(pushBody(ops));
    const corrupt = Buffer.from(good);
    corrupt.fill(0x55, 20, 60);
    const cases: [string, Buffer, RegExp][] = [
      ['gzip', corrupt, /not valid gzip/],
      ['gzip', good.subarray(0, good.length - 30), /not valid gzip/],
      ['gzip', Buffer.from(pushBody(ops)), /not valid gzip/],
      ['br', good, /not valid br/],
    ];
    for (const [coding, body, re] of cases) {
      const r = await send('POST', '/sync/push', pushHeaders(coding), body);
      expect(r.status, coding).toBe(400);
      const e = (decoded(r) as { error: Record<string, unknown> }).error;
      expect(e).toMatchObject({ code: 'invalid_params', field: 'body' });
      expect(e.message).toMatch(re);
    }
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(0);
  });

  it('still refuses an encoded body over the limit by its own length', async () => {
    const noise = Buffer.alloc(LIMIT + 1024, 1);
    const r = await send('POST', '/sync/push', pushHeaders('gzip'), noise);
    expect(r.status).toBe(413);
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(0);
  });
});
