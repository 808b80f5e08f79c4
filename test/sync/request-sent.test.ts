// whenSent: told once undici has written a request, before its reply; matched by method, origin
// and path; at most once; released by hand when the request settles without being written.

import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { whenSent } from '../../src/sync/request-sent.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A server that answers each request only once `release` is called for its path (before or
 *  after the request arrives). */
async function holdingServer(): Promise<{
  origin: string;
  received: string[];
  release: (path: string) => void;
}> {
  const received: string[] = [];
  // Replies held by path, and paths released before their request arrived.
  const held = new Map<string, () => void>();
  const released = new Set<string>();
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    received.push(path);
    if (released.delete(path)) res.end('ok');
    else held.set(path, () => res.end('ok'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    release: (path) => {
      const answer = held.get(path);
      held.delete(path);
      if (answer) answer();
      else released.add(path);
    },
  };
}

describe('whenSent', () => {
  it('is told when the request is written, before any reply, and only for its own path', async () => {
    const s = await holdingServer();
    const told: string[] = [];
    const cancelA = whenSent('GET', s.origin, '/a?x=1', () => told.push('a'));
    const cancelB = whenSent('GET', s.origin, '/b', () => told.push('b'));
    const a = request(`${s.origin}/a?x=1`);
    // The server holds its reply, so only the written request can have told the waiter.
    while (told.length === 0) await new Promise((r) => setImmediate(r));
    expect(told).toEqual(['a']);
    s.release('/a?x=1');
    expect(await (await a).body.text()).toBe('ok');
    cancelA();
    expect(told).toEqual(['a']);
    // Released by hand before its request is made: told then, and not again when it is written.
    cancelB();
    expect(told).toEqual(['a', 'b']);
    const b = request(`${s.origin}/b`);
    while (s.received.length < 2) await new Promise((r) => setImmediate(r));
    s.release('/b');
    await (await b).body.text();
    expect(told).toEqual(['a', 'b']);
  });

  it('tells each of two waiters for the same request line once, in order', async () => {
    const s = await holdingServer();
    const told: number[] = [];
    whenSent('GET', s.origin, '/same', () => told.push(1));
    whenSent('GET', s.origin, '/same', () => told.push(2));
    const first = request(`${s.origin}/same`);
    while (told.length < 1) await new Promise((r) => setImmediate(r));
    expect(told).toEqual([1]);
    s.release('/same');
    await (await first).body.text();
    const second = request(`${s.origin}/same`);
    while (told.length < 2) await new Promise((r) => setImmediate(r));
    expect(told).toEqual([1, 2]);
    s.release('/same');
    await (await second).body.text();
  });
});
