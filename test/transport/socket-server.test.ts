import { chown, mkdir, rename, stat, writeFile, readFile } from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import type { RpcContext } from '../../src/rpc/registry.js';
import { startSocketServer, type SocketServer } from '../../src/transport/socket-server.js';
import { makeBarrier, testRegistry } from '../rpc/fixtures.js';
import { RawConn, silentLogger, sleep, tempDir, until } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let toClose: (() => unknown)[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});

afterEach(async () => {
  for (const c of toClose.reverse()) await c();
  toClose = [];
  await cleanup();
});

async function serve(
  over: Partial<Parameters<typeof startSocketServer>[0]> = {},
): Promise<{ server: SocketServer; sock: string }> {
  const sock = over.path ?? path.join(dir, 'run', 'hephd.sock');
  const server = await startSocketServer({
    path: sock,
    registry: testRegistry(),
    logger: silentLogger,
    ...over,
  });
  toClose.push(() => server.stop());
  return { server, sock };
}

async function open(sock: string): Promise<RawConn> {
  const c = await RawConn.open(sock);
  toClose.push(() => c.close());
  return c;
}

const req = (method: string, params: unknown, id?: unknown) =>
  JSON.stringify({ jsonrpc: '2.0', method, params, ...(id !== undefined && { id }) }) + '\n';

/** Leaves a socket file nobody listens on, as a crashed daemon would. */
async function makeStaleSocket(target: string): Promise<void> {
  const tmp = target + '.x';
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(tmp, () => r()));
  await rename(tmp, target);
  await new Promise<void>((r) => srv.close(() => r()));
  expect((await stat(target)).isSocket()).toBe(true);
}

async function expectHephError(
  p: Promise<unknown>,
  code: string,
  message: RegExp,
): Promise<HephError> {
  const e: unknown = await p.then(
    () => new Error('expected rejection'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(HephError);
  expect((e as HephError).code).toBe(code);
  expect((e as HephError).message).toMatch(message);
  return e as HephError;
}

describe('socket files and directories', () => {
  it('creates the directory 0700 and the socket 0600, and answers', async () => {
    const { sock } = await serve();
    expect((await stat(path.dirname(sock))).mode & 0o777).toBe(0o700);
    expect((await stat(sock)).mode & 0o777).toBe(0o600);
    const c = await open(sock);
    c.send(req('test.echo', { value: 'hi' }, 1));
    await c.waitLines(1);
    expect(c.json(0)).toEqual({ jsonrpc: '2.0', result: { value: 'hi' }, id: 1 });
  });

  it('makes the socket 0600 as it binds it (never changed after), and gives the umask back', async () => {
    const mine = process.umask(0o002); // a group-writable umask: a plain bind would make 0775
    try {
      const { sock } = await serve();
      expect(process.umask(0o002)).toBe(0o002);
      const st = await stat(sock, { bigint: true });
      expect(Number(st.mode & 0o777n)).toBe(0o600);
      // Nothing touched the inode after the bind (a chmod would have moved its ctime): a client
      // that connects as soon as the file is there finds it as it stays. ext4 and tmpfs report
      // the birth time; a filesystem without it reports 0.
      if (st.birthtimeNs > 0n) expect(st.ctimeNs).toBe(st.birthtimeNs);
    } finally {
      process.umask(mine);
    }
  });

  it('refuses a group/world-accessible directory and says how to fix it', async () => {
    const d = path.join(dir, 'open');
    await mkdir(d, { mode: 0o755 });
    await expectHephError(serve({ path: path.join(d, 's.sock') }), 'io', /mode 0755.*chmod 700/);
  });

  it("refuses a directory that is not the user's", async () => {
    let d = '/';
    if (process.getuid!() === 0) {
      d = path.join(dir, 'theirs');
      await mkdir(d, { mode: 0o700 });
      await chown(d, 12345, 12345);
    }
    await expectHephError(
      serve({ path: path.join(d, 'hephd-test.sock') }),
      'io',
      /owned by uid .* not by you/,
    );
  });

  it('refuses a path over the platform limit without creating anything', async () => {
    const limit = process.platform === 'linux' ? 107 : 103;
    const base = path.join(dir, 'deep');
    const long = path.join(base, 'x'.repeat(limit - base.length - 1 + 1));
    expect(Buffer.byteLength(long)).toBe(limit + 1);
    await expectHephError(
      serve({ path: long }),
      'invalid_params',
      new RegExp(`${limit}-byte limit`),
    );
    await expect(stat(base)).rejects.toThrow(/ENOENT/);
  });

  it('removes a stale socket left by a crash', async () => {
    const sock = path.join(dir, 'hephd.sock');
    await makeStaleSocket(sock);
    await serve({ path: sock });
    const c = await open(sock);
    c.send(req('next', {}, 1));
    await c.waitLines(1);
    expect(c.json(0).result).toEqual([]);
  });

  it('refuses to start a second server on a live socket, and the first keeps serving', async () => {
    const { sock } = await serve();
    await expectHephError(
      serve({ path: sock }),
      'already_running',
      /^another process is already listening on .*: stop it, or choose another --socket$/,
    );
    const c = await open(sock);
    c.send(req('next', {}, 1));
    await c.waitLines(1);
    expect(c.json(0).id).toBe(1);
  });

  it('never removes a file that is not a socket', async () => {
    const p = path.join(dir, 'hephd.sock');
    await writeFile(p, 'precious');
    await expectHephError(serve({ path: p }), 'io', /not a socket/);
    expect(await readFile(p, 'utf8')).toBe('precious');
  });
});

describe('serving', () => {
  it('pipelines 100 requests in flight on one connection, matched by id', async () => {
    const barrier = makeBarrier(100);
    const { sock } = await serve({ registry: testRegistry({ barrier }) });
    const c = await open(sock);
    c.send(Array.from({ length: 100 }, (_, i) => req('test.barrier', { n: i }, `r${i}`)).join(''));
    const lines = await c.waitLines(100);
    expect(barrier.arrived).toBe(100);
    const got = lines.map((l) => JSON.parse(l));
    for (const r of got) expect(r.result.n).toBe(Number(r.id.slice(1)));
    expect(new Set(got.map((r) => r.id)).size).toBe(100);
  });

  it('answers as requests complete, not in arrival order', async () => {
    const { sock } = await serve();
    const c = await open(sock);
    c.send(req('test.sleep', { ms: 200 }, 'slow') + req('test.sleep', { ms: 0 }, 'fast'));
    await c.waitLines(2);
    expect([c.json(0).id, c.json(1).id]).toEqual(['fast', 'slow']);
  });

  it('handles a batch mixing valid, invalid and notifications', async () => {
    const { sock } = await serve();
    const c = await open(sock);
    c.send(
      JSON.stringify([
        { jsonrpc: '2.0', method: 'test.echo', params: { value: 1 }, id: 1 },
        { jsonrpc: '2.0', method: 'test.echo', params: { value: 2 } },
        { foo: 'boo' },
        { jsonrpc: '2.0', method: 'nope', id: 2 },
      ]) + '\n',
    );
    c.send('[{"jsonrpc":"2.0","method":"next"}]\n');
    c.send(req('next', {}, 'after'));
    // Replies come as they complete, so the batch and the later request may arrive in any order.
    const replies = (await c.waitLines(2)).map((l) => JSON.parse(l));
    const b = replies.find((r) => Array.isArray(r))!;
    const after = replies.find((r) => !Array.isArray(r))!;
    expect(b).toHaveLength(3);
    expect(b.map((r: { id: unknown }) => r.id).sort()).toEqual([1, 2, null].sort());
    expect(after.id).toBe('after');
    await sleep(50);
    expect(c.lines).toHaveLength(2);
  });

  it('sends server notifications on the connection', async () => {
    const { sock } = await serve();
    const c = await open(sock);
    c.send(req('test.notify_me', { count: 3 }, 1));
    const lines = (await c.waitLines(4)).map((l) => JSON.parse(l));
    expect(lines.slice(0, 3)).toEqual(
      [0, 1, 2].map((i) => ({ jsonrpc: '2.0', method: 'test.event', params: { i } })),
    );
    expect(lines[3].result.sent).toBe(3);
  });

  it('answers a peer that half-closes after writing', async () => {
    const { sock } = await serve();
    const c = await open(sock);
    c.socket.end(req('test.sleep', { ms: 50 }, 1));
    await c.closed;
    expect(c.lines.map((l) => JSON.parse(l).id)).toEqual([1]);
  });

  it('keeps answering when the peer does not read for a while (backpressure)', async () => {
    const { sock } = await serve();
    const c = await open(sock);
    c.socket.pause();
    const big = 'x'.repeat(100_000);
    c.send(Array.from({ length: 200 }, (_, i) => req('test.echo', { value: big }, i)).join(''));
    await sleep(200);
    c.socket.resume();
    const lines = await c.waitLines(200, 10_000);
    expect(new Set(lines.map((l) => JSON.parse(l).id)).size).toBe(200);
  });
});

describe('hostile input', () => {
  it('answers an over-limit frame with too_large, closes that connection, keeps serving others', async () => {
    const { server, sock } = await serve({ maxFrameBytes: 1024 });
    const other = await open(sock);
    const c = await open(sock);
    c.send(req('test.sleep', { ms: 50 }, 'before'));
    c.send('{"jsonrpc":"2.0","method":"test.echo","params":{"value":"' + 'a'.repeat(4000));
    await c.closed;
    const replies = c.lines.map((l) => JSON.parse(l));
    expect(replies).toHaveLength(2);
    expect(replies.find((r) => r.id === null).error.data).toEqual({
      code: 'too_large',
      limit: 1024,
    });
    expect(replies.find((r) => r.id === 'before').result.slept).toBe(50);
    other.send(req('next', {}, 1));
    await other.waitLines(1);
    expect(other.json(0).result).toEqual([]);
    expect(server.connections()).toBe(1);
  });

  it('a peer still writing after its over-limit frame gets the too_large reply, not a reset', async () => {
    const { sock } = await serve({ maxFrameBytes: 1024 });
    const c = await open(sock);
    const errors: string[] = [];
    c.socket.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    // 16 MiB after the limit: far more than the socket buffers hold, so the server must go on
    // reading it; closing with it unread resets the connection and the peer's pending write fails.
    c.send('{"jsonrpc":"2.0","method":"test.echo","params":{"value":"');
    const chunk = 'a'.repeat(1 << 20);
    for (let i = 0; i < 16; i++) c.send(chunk);
    await new Promise<void>((resolve) => c.socket.write('"}}\n', () => resolve()));
    await c.closed;
    expect(errors).toEqual([]);
    expect(c.lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({
        id: null,
        error: expect.objectContaining({ data: { code: 'too_large', limit: 1024 } }),
      }),
    ]);
  });

  it('answers 100,000-deep nesting with a parse error and keeps the connection', async () => {
    const { sock } = await serve();
    const c = await open(sock);
    c.send('['.repeat(100_000) + ']'.repeat(100_000) + '\n');
    c.send(req('next', {}, 2));
    await c.waitLines(2);
    expect(c.json(0)).toMatchObject({ error: { code: -32700 }, id: null });
    expect(c.json(1).id).toBe(2);
  });

  it('survives random bytes and still serves the same connection and others', async () => {
    const { server, sock } = await serve();
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const junk = Buffer.from(Array.from({ length: 200_000 }, rand));
    const c = await open(sock);
    c.send(junk);
    c.send('\n' + req('next', {}, 'ok'));
    const deadline = Date.now() + 5000;
    while (!c.lines.some((l) => l.includes('"ok"')) && Date.now() < deadline) await sleep(20);
    for (const l of c.lines) {
      const r = JSON.parse(l);
      if (r.id !== 'ok') expect([-32700, -32600]).toContain(r.error.code);
    }
    expect(c.lines.some((l) => JSON.parse(l).id === 'ok')).toBe(true);
    const d = await open(sock);
    d.send(req('next', {}, 1));
    await d.waitLines(1);
    expect(server.connections()).toBe(2);
  });

  it('drops a half-written line at close without crashing', async () => {
    const { server, sock } = await serve();
    const c = await RawConn.open(sock);
    c.send('{"jsonrpc":"2.0","method":"test.ec');
    c.close();
    await c.closed;
    await until(() => server.connections() === 0);
    const d = await open(sock);
    d.send(req('next', {}, 1));
    await d.waitLines(1);
  });

  it('reports invalid UTF-8 as a parse error', async () => {
    const { sock } = await serve();
    const c = await open(sock);
    c.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d, 0x0a]));
    await c.waitLines(1);
    expect(c.json(0)).toMatchObject({ error: { code: -32700 }, id: null });
  });

  it('holds 1,000 idle connections while another client gets answers', async () => {
    const { server, sock } = await serve();
    const idle: net.Socket[] = [];
    toClose.push(() => idle.forEach((s) => s.destroy()));
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from(
          { length: 100 },
          () =>
            new Promise<void>((resolve, reject) => {
              const s = net.connect(sock, () => resolve());
              s.on('error', reject);
              idle.push(s);
            }),
        ),
      );
    }
    const c = await open(sock);
    for (let i = 0; i < 5; i++) c.send(req('test.echo', { value: i }, i));
    await c.waitLines(5);
    expect(server.connections()).toBe(1001);
  });
});

describe('lifecycle', () => {
  it('stop() waits for an in-flight handler, removes the socket, and is idempotent', async () => {
    // The handler waits at a barrier only this test releases, so the order is recorded, not timed.
    const barrier = makeBarrier(2);
    const { server, sock } = await serve({ registry: testRegistry({ barrier }) });
    const c = await open(sock);
    c.send(req('test.barrier', { n: 1 }, 'slow'));
    await until(() => barrier.arrived === 1);
    const order: string[] = [];
    const a = server.stop();
    const b = server.stop();
    expect(b).toBe(a);
    void a.then(() => order.push('stopped'));
    await sleep(100); // time for a stop that did not wait to finish first
    order.push('released');
    barrier.release();
    await a;
    expect(order).toEqual(['released', 'stopped']);
    expect(c.lines.map((l) => JSON.parse(l).id)).toEqual(['slow']);
    await c.closed;
    await expect(stat(sock)).rejects.toThrow(/ENOENT/);
    expect(server.connections()).toBe(0);
    await server.stop();
    await expect(RawConn.open(sock)).rejects.toThrow(/ENOENT/);
  });

  it('stop() gives up on a handler that outlives stopTimeoutMs', async () => {
    const { server, sock } = await serve({ stopTimeoutMs: 100 });
    const c = await open(sock);
    c.send(req('test.sleep', { ms: 5000 }, 1));
    await sleep(20);
    const t0 = Date.now();
    await server.stop();
    expect(Date.now() - t0).toBeLessThan(2000);
    await c.closed;
  });

  it('gives handlers a per-connection context whose signal aborts on close', async () => {
    const seen: RpcContext[] = [];
    const registry = testRegistry();
    const { sock } = await serve({
      registry,
      makeContext: (base) => {
        seen.push(base);
        return base;
      },
    });
    const a = await open(sock);
    const b = await open(sock);
    a.send(req('test.notify_me', { count: 0 }, 1));
    b.send(req('test.notify_me', { count: 0 }, 1));
    await a.waitLines(1);
    await b.waitLines(1);
    expect(a.json(0).result.conn).not.toBe(b.json(0).result.conn);
    a.close();
    await a.closed;
    await until(() => seen.some((x) => x.signal.aborted));
    const ctxA = seen.find((x) => x.connectionId === a.json(0).result.conn)!;
    const ctxB = seen.find((x) => x.connectionId === b.json(0).result.conn)!;
    expect(ctxA.signal.aborted).toBe(true);
    expect(ctxA.notify('late', {})).toBe(false);
    expect(ctxB.signal.aborted).toBe(false);
  });

  it('closes connections idle longer than idleTimeoutMs', async () => {
    const { server, sock } = await serve({ idleTimeoutMs: 100 });
    const c = await open(sock);
    c.send(req('test.sleep', { ms: 200 }, 1));
    await c.waitLines(1);
    expect(server.connections()).toBe(1);
    await c.closed;
    await until(() => server.connections() === 0);
  });
});
