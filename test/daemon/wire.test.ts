// JSON-RPC 2.0 conformance and hostile input against a real hephd process: one daemon serves the
// whole file, and every test ends by checking it still answers.

import * as net from 'node:net';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/transport/socket-client.js';
import { RawConn } from '../transport/helpers.js';
import { req, until, useDaemons, type DaemonProcess, type Wire } from './helpers.js';

const h = useDaemons();
let d: DaemonProcess;
const conns: RawConn[] = [];

beforeAll(async () => {
  const dir = h.dir();
  d = await h.start({ db: join(dir, 'heph.db'), socket: join(dir, 'd.sock') });
});

afterEach(() => {
  for (const c of conns.splice(0)) c.close();
});

async function open(): Promise<RawConn> {
  const c = await RawConn.open(d.socket);
  conns.push(c);
  return c;
}

/** Sends one line and returns the parsed reply. */
async function roundTrip(c: RawConn, line: string): Promise<Wire> {
  const n = c.lines.length;
  c.send(line.endsWith('\n') ? line : line + '\n');
  await c.waitLines(n + 1, 20_000);
  return JSON.parse(c.lines[n]!);
}

async function stillServing(): Promise<void> {
  const c = await connect(d.socket);
  try {
    expect(await c.call('status')).toMatchObject({ pid: d.pid });
  } finally {
    await c.close();
  }
}

describe('JSON-RPC conformance', () => {
  it('parse error: -32700 with id null, and the connection stays usable', async () => {
    const c = await open();
    const r = await roundTrip(c, '{"jsonrpc":"2.0","method":"status","id":1');
    expect(r).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    expect(await roundTrip(c, req('status', {}, 2))).toMatchObject({ id: 2, result: {} });
  });

  it('an empty batch gets one -32600', async () => {
    const c = await open();
    const r = await roundTrip(c, '[]');
    expect(Array.isArray(r)).toBe(false);
    expect(r).toMatchObject({ id: null, error: { code: -32600 } });
  });

  it('a batch gets one -32600 per invalid member, beside the valid answers', async () => {
    const c = await open();
    const r = await roundTrip(
      c,
      JSON.stringify([
        { jsonrpc: '2.0', method: 'status', id: 'ok' },
        1,
        { foo: 'bar' },
        { jsonrpc: '1.0', method: 'status', id: 'old' },
        { jsonrpc: '2.0', method: 'status' }, // a notification: no answer
      ]),
    );
    expect(r).toHaveLength(4);
    expect(r[0]).toMatchObject({ id: 'ok', result: { pid: d.pid } });
    expect(r.slice(1).map((x: Wire) => [x.id, x.error.code])).toEqual([
      [null, -32600],
      [null, -32600],
      ['old', -32600],
    ]);
    const all = await roundTrip(c, '[1,2,3]');
    expect(all.map((x: Wire) => x.error.code)).toEqual([-32600, -32600, -32600]);
  });

  it('an unknown method gets -32601', async () => {
    const c = await open();
    expect(await roundTrip(c, req('no.such', {}, 7))).toMatchObject({
      id: 7,
      error: { code: -32601, message: expect.stringContaining('no.such') },
    });
  });

  it('bad params get -32602 naming the field', async () => {
    const c = await open();
    const wrongType = await roundTrip(c, req('node.get', { id: 5 }, 1));
    expect(wrongType).toMatchObject({
      id: 1,
      error: { code: -32602, data: { code: 'invalid_params', field: 'id' } },
    });
    expect(wrongType.error.message).toMatch(/^id: /);
    const unknown = await roundTrip(
      c,
      req('node.create', { kind: 'doc', title: 't', colour: 1 }, 2),
    );
    expect(unknown.error).toMatchObject({ code: -32602, data: { field: 'colour' } });
    const nested = await roundTrip(
      c,
      req('node.create', { kind: 'doc', title: 't', aliases: [''] }, 3),
    );
    expect(nested.error).toMatchObject({ code: -32602, data: { field: 'aliases.0' } });
    const positional = await roundTrip(c, req('node.get', ['x'], 4));
    expect(positional.error).toMatchObject({ code: -32602, data: { field: 'params' } });
  });

  it('an application error carries its string code in data.code', async () => {
    const c = await open();
    const r = await roundTrip(c, req('node.get', { id: '01ZZZZZZZZZZZZZZZZZZZZZZZZ' }, 'nf'));
    expect(r).toMatchObject({ id: 'nf', error: { code: -32004, data: { code: 'not_found' } } });
  });

  it('notifications get no reply, even failing ones', async () => {
    const c = await open();
    c.send(JSON.stringify({ jsonrpc: '2.0', method: 'no.such' }) + '\n');
    c.send(JSON.stringify({ jsonrpc: '2.0', method: 'node.get', params: { id: 1 } }) + '\n');
    const r = await roundTrip(c, req('status', {}, 'after'));
    expect(r.id).toBe('after');
    expect(c.lines).toHaveLength(1);
  });
});

describe('hostile input', () => {
  it('a line over 8 MiB: one too_large error, that connection closed, others answered meanwhile', async () => {
    const big = await open();
    big.send(req('status', {}, 'before'));
    await big.waitLines(1, 20_000);
    const other = await connect(d.socket);
    try {
      let answered = 0;
      const header = '{"jsonrpc":"2.0","method":"node.create","params":{"kind":"doc","title":"';
      const chunk = 'x'.repeat(256 * 1024);
      big.send(header);
      // Stream 9 MiB in pieces and interleave calls on another connection.
      for (let sent = 0; sent < 9 * 1024 * 1024 && !big.socket.destroyed; sent += chunk.length) {
        big.send(chunk);
        if (sent % (1024 * 1024) === 0) {
          await other.call('status');
          answered++;
        }
      }
      big.send('"},"id":"big"}\n');
      await big.closed;
      expect(answered).toBeGreaterThanOrEqual(8);
      const replies = big.lines.map((l) => JSON.parse(l));
      expect(replies).toHaveLength(2);
      expect(replies[0].id).toBe('before');
      expect(replies[1]).toMatchObject({
        id: null,
        error: { data: { code: 'too_large', limit: 8 * 1024 * 1024 } },
      });
      expect(await other.call('status')).toMatchObject({ pid: d.pid });
    } finally {
      await other.close();
    }
  });

  it('100,000-deep nesting gets a parse error and the connection stays usable', async () => {
    const c = await open();
    const arrays = await roundTrip(c, '['.repeat(100_000) + ']'.repeat(100_000));
    expect(arrays).toMatchObject({ id: null, error: { code: -32700 } });
    expect(arrays.error.message).toMatch(/nested deeper/);
    const objects = await roundTrip(c, '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000));
    expect(objects).toMatchObject({ id: null, error: { code: -32700 } });
    const inParams = await roundTrip(
      c,
      `{"jsonrpc":"2.0","method":"status","id":9,"params":${'['.repeat(100_000)}`,
    );
    expect(inParams.error.code).toBe(-32700);
    expect(await roundTrip(c, req('status', {}, 'ok'))).toMatchObject({ id: 'ok' });
  });

  it('random bytes: only well-formed error replies, then the same connection answers', async () => {
    let seed = 0x5eed;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const c = await open();
    c.send(Buffer.from(Array.from({ length: 300_000 }, rand)));
    c.send('\n' + req('status', {}, 'ok'));
    await until(() => c.lines.some((l) => l.includes('"id":"ok"')), 'the reply after the junk');
    for (const l of c.lines) {
      const r = JSON.parse(l);
      if (Array.isArray(r)) continue; // the junk can hold a valid batch, such as [0]
      if (r.id !== 'ok') expect([-32700, -32600]).toContain(r.error.code);
    }
    await stillServing();
  });

  it('half-written lines: nothing until the line ends; a half line at close is dropped', async () => {
    const c = await open();
    const line = req('status', {}, 'half');
    c.send(line.slice(0, 20));
    await stillServing(); // another connection's full round trip, after the half line arrived
    expect(c.lines).toHaveLength(0);
    c.send(line.slice(20, 30));
    await stillServing();
    expect(c.lines).toHaveLength(0);
    c.send(line.slice(30));
    await c.waitLines(1, 20_000);
    expect(c.json(0)).toMatchObject({ id: 'half', result: { pid: d.pid } });

    const dropped = await RawConn.open(d.socket);
    dropped.send('{"jsonrpc":"2.0","method":"node.create","params":{"kind":"doc","title":"h');
    dropped.close();
    await dropped.closed;
    await stillServing();
    const check = await connect(d.socket);
    try {
      const listed = (await check.call('node.list', { kind: 'doc' })) as { nodes: unknown[] };
      expect(listed.nodes).toHaveLength(0);
    } finally {
      await check.close();
    }
  });

  it('1,000 idle connections while another client gets answers', async () => {
    const idle: net.Socket[] = [];
    try {
      for (let batch = 0; batch < 10; batch++) {
        await Promise.all(
          Array.from(
            { length: 100 },
            () =>
              new Promise<void>((resolve, reject) => {
                const s = net.connect(d.socket, () => resolve());
                s.on('error', reject);
                idle.push(s);
              }),
          ),
        );
      }
      const c = await connect(d.socket);
      try {
        const results = await Promise.all(
          Array.from({ length: 50 }, () => c.call('status') as Promise<{ pid: number }>),
        );
        expect(results.every((r) => r.pid === d.pid)).toBe(true);
      } finally {
        await c.close();
      }
      // The daemon really holds them: each accepted connection is an open descriptor.
      const fdDir = `/proc/${d.pid}/fd`;
      if (process.platform === 'linux') {
        expect(readdirSync(fdDir).length).toBeGreaterThanOrEqual(1000);
      }
      expect(idle.every((s) => !s.destroyed)).toBe(true);
    } finally {
      for (const s of idle) s.destroy();
    }
    await stillServing();
  });
});
