import { rename } from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { connect, type RpcClient } from '../../src/transport/socket-client.js';
import { startSocketServer, type SocketServer } from '../../src/transport/socket-server.js';
import { makeBarrier, testRegistry } from '../rpc/fixtures.js';
import { silentLogger, sleep, tempDir, until } from './helpers.js';

let dir: string;
let sock: string;
let cleanup: () => Promise<void>;
let toClose: (() => unknown)[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  sock = path.join(dir, 'run', 'hephd.sock');
});

afterEach(async () => {
  for (const c of toClose.reverse()) await c();
  toClose = [];
  await cleanup();
});

async function serve(registry = testRegistry()): Promise<SocketServer> {
  const server = await startSocketServer({ path: sock, registry, logger: silentLogger });
  toClose.push(() => server.stop());
  return server;
}

async function client(p = sock, maxFrameBytes?: number): Promise<RpcClient> {
  const c = await connect(p, maxFrameBytes === undefined ? {} : { maxFrameBytes });
  toClose.push(() => c.close());
  return c;
}

/** A fake daemon: `onLine` decides what happens to each request line on each connection. */
async function fakeDaemon(
  p: string,
  onLine: (line: string, socket: net.Socket, connIndex: number) => void,
  onConnection?: (socket: net.Socket, connIndex: number) => void,
): Promise<{ lines: string[]; connections: () => number }> {
  const lines: string[] = [];
  let n = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    const idx = n++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    let buf = '';
    s.on('data', (d) => {
      buf += String(d);
      let i: number;
      while ((i = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        onLine(line, s, idx);
      }
    });
    onConnection?.(s, idx);
  });
  await new Promise<void>((r) => srv.listen(p, () => r()));
  toClose.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  });
  return { lines, connections: () => n };
}

const reply = (line: string, result: unknown) =>
  JSON.stringify({ jsonrpc: '2.0', result, id: JSON.parse(line).id }) + '\n';

async function rejection(p: Promise<unknown>): Promise<HephError> {
  const e: unknown = await p.then(
    () => new Error('expected rejection'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(HephError);
  return e as HephError;
}

describe('connecting', () => {
  it('says the daemon is not running when there is no socket', async () => {
    const p = path.join(dir, 'nope.sock');
    const e = await rejection(connect(p));
    expect(e.code).toBe('unavailable');
    expect(e.message).toBe(
      `hephd is not running (no socket at ${p}); start it with \`heph daemon start\``,
    );
  });

  it('says the daemon is not running when the socket is stale', async () => {
    const p = path.join(dir, 'stale.sock');
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(p + '.x', () => r()));
    await rename(p + '.x', p);
    await new Promise<void>((r) => srv.close(() => r()));
    const e = await rejection(connect(p));
    expect(e.code).toBe('unavailable');
    expect(e.message).toMatch(/hephd is not running .*heph daemon start/);
  });
});

describe('calls', () => {
  it('resolves results and rejects with the daemon’s HephError', async () => {
    await serve();
    const c = await client();
    expect(await c.call('test.echo', { value: { a: [1, 'é'] } })).toEqual({
      value: { a: [1, 'é'] },
    });
    const e = await rejection(c.call('test.fail', { id: '01X' }));
    expect(e.code).toBe('not_found');
    expect(e.details).toEqual({ id: '01X' });
    const bad = await rejection(c.call('test.nested', { task: {} }));
    expect(bad.code).toBe('invalid_params');
    expect(bad.details.field).toBe('task.title');
    expect((await rejection(c.call('no.such'))).code).toBe('protocol_mismatch');
  });

  it('pipelines 100 concurrent calls on one connection', async () => {
    const barrier = makeBarrier(100);
    await serve(testRegistry({ barrier }));
    const c = await client();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, n) => c.call('test.barrier', { n })),
    );
    expect(results).toEqual(Array.from({ length: 100 }, (_, n) => ({ n })));
  });

  it('sends notifications without waiting for a reply', async () => {
    const calls: string[] = [];
    await serve(testRegistry({ calls }));
    const c = await client();
    await c.notify('test.echo', { value: 1 });
    await until(() => calls.length === 1);
    expect(await c.call('next')).toEqual([]);
  });

  it('delivers server notifications to handlers until removed', async () => {
    await serve();
    const c = await client();
    const got: unknown[] = [];
    const off = c.onNotification((method, params) => got.push([method, params]));
    await c.call('test.notify_me', { count: 2 });
    expect(got).toEqual([
      ['test.event', { i: 0 }],
      ['test.event', { i: 1 }],
    ]);
    off();
    await c.call('test.notify_me', { count: 1 });
    expect(got).toHaveLength(2);
  });

  it('refuses a request larger than a frame before sending it', async () => {
    const fake = await fakeDaemon(sock.replace('run/', ''), () => {});
    const c = await client(sock.replace('run/', ''), 1024);
    const e = await rejection(c.call('test.echo', { value: 'x'.repeat(2000) }));
    expect(e.code).toBe('too_large');
    await sleep(50);
    expect(fake.lines).toEqual([]);
  });
});

describe('disconnects', () => {
  it('reconnects to a restarted daemon for the next call', async () => {
    const first = await serve();
    const c = await client();
    let drops = 0;
    c.onDisconnect(() => drops++);
    expect(await c.call('next')).toEqual([]);
    await first.stop();
    await until(() => drops === 1);
    await serve();
    expect(await c.call('test.echo', { value: 2 })).toEqual({ value: 2 });
  });

  it('rejects with "not running" when the daemon is gone for good', async () => {
    const server = await serve();
    const c = await client();
    let drops = 0;
    c.onDisconnect(() => drops++);
    await server.stop();
    await until(() => drops === 1);
    const e = await rejection(c.call('next'));
    expect(e.code).toBe('unavailable');
    expect(e.message).toMatch(/hephd is not running .*heph daemon start/);
  });

  it('a request queued while disconnected is sent once after reconnecting', async () => {
    const p = path.join(dir, 'fake.sock');
    // The first connection is dropped at once; later ones answer.
    const fake = await fakeDaemon(
      p,
      (line, s) => s.write(reply(line, 'ok')),
      (s, idx) => {
        if (idx === 0) s.destroy();
      },
    );
    const c = await client(p);
    await new Promise<void>((r) => c.onDisconnect(r));
    expect(await c.call('x.y', { a: 1 })).toBe('ok');
    expect(fake.lines).toHaveLength(1);
    expect(fake.connections()).toBe(2);
  });

  it('a request stuck behind an unfinished write is sent again once; the unfinished one is not', async () => {
    const p = path.join(dir, 'fake.sock');
    // The first connection never reads, so a 4 MB request cannot leave the client, then it is
    // dropped; later connections answer.
    const fake = await fakeDaemon(
      p,
      (line, s) => s.write(reply(line, JSON.parse(line).params.value.length)),
      (s, idx) => {
        if (idx !== 0) return;
        s.pause();
        setTimeout(() => s.destroy(), 200);
      },
    );
    const c = await client(p);
    const big = rejection(c.call('doc.save', { value: 'x'.repeat(4_000_000) }));
    const small = c.call('doc.save', { value: 'abc' });
    const e = await big;
    expect(e.code).toBe('unavailable');
    expect(e.details.outcome).toBe('unknown');
    expect(await small).toBe(3);
    expect(fake.lines.map((l) => JSON.parse(l).params.value)).toEqual(['abc']);
    expect(fake.connections()).toBe(2);
  });

  it('never re-sends a request whose reply was lost: the outcome is unknown', async () => {
    const p = path.join(dir, 'fake.sock');
    const fake = await fakeDaemon(p, (_line, s) => s.destroy());
    const c = await client(p);
    const e = await rejection(c.call('task.create', { title: 't' }));
    expect(e.code).toBe('unavailable');
    expect(e.message).toMatch(/outcome is unknown/);
    expect(e.details).toMatchObject({ method: 'task.create', outcome: 'unknown' });
    await sleep(100);
    expect(fake.lines).toHaveLength(1);
    expect(fake.connections()).toBe(1);
  });

  it('pipelined calls lost with the connection all reject; answered ones resolve', async () => {
    const p = path.join(dir, 'fake.sock');
    let seen = 0;
    await fakeDaemon(p, (line, s) => {
      seen++;
      if (seen <= 2) s.write(reply(line, seen));
      else if (seen === 5) s.destroy();
    });
    const c = await client(p);
    const calls = Array.from({ length: 5 }, (_, i) => c.call('m.x', { i }));
    const settled = await Promise.allSettled(calls);
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(2);
    for (const s of settled.filter((x) => x.status === 'rejected')) {
      expect((s.reason as HephError).details.outcome).toBe('unknown');
    }
  });

  it('close() rejects calls still waiting, is idempotent, and refuses new calls', async () => {
    await serve();
    const c = await client();
    const pending = rejection(c.call('test.sleep', { ms: 300 }));
    await sleep(30);
    const a = c.close();
    expect(c.close()).toBe(a);
    await a;
    const e = await pending;
    expect(e.code).toBe('unavailable');
    expect(e.message).toMatch(/outcome is unknown/);
    expect((await rejection(c.call('next'))).message).toMatch(/closed/);
  });
});
