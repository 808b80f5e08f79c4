// What the daemon offers beyond single calls, checked against real processes: change events
// across connections, a consistent online backup that becomes a new replica, and logs that
// never carry the user's notes.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { RawConn } from '../transport/helpers.js';
import { req, until, useDaemons } from './helpers.js';

const h = useDaemons();

async function daemon(logLevel = 'silent') {
  const dir = h.dir();
  const d = await h.start({ db: join(dir, 'heph.db'), socket: join(dir, 'd.sock'), logLevel });
  return { dir, d };
}

interface Status {
  replica_id: string;
  digest: string;
  ops: number;
  subscribers: number;
}

describe('events', () => {
  it('a subscriber hears changes made by another client, and nothing after unsubscribing', async () => {
    const { d } = await daemon();
    const sub = await h.client(d.socket);
    const writer = await h.client(d.socket);
    const heard: { method: string; params: unknown }[] = [];
    sub.onNotification((method, params) => heard.push({ method, params }));
    const { subscription } = (await sub.call('events.subscribe', {})) as { subscription: string };
    expect((await writer.call('status')) as Status).toMatchObject({ subscribers: 1 });

    const made = (await writer.call('node.create', { kind: 'doc', title: 'heard' })) as {
      id: string;
    };
    await until(() => heard.length > 0, 'a notification');
    expect(heard[0]).toEqual({
      method: 'node.changed',
      params: { subscription, ids: [made.id] },
    });

    expect(await sub.call('events.unsubscribe', { subscription })).toEqual({ unsubscribed: true });
    const count = heard.length;
    await writer.call('node.update', { id: made.id, title: 'unheard' });
    // A notification is written to the subscriber's connection during the writer's call, so it
    // would arrive before the reply to any call the subscriber makes afterwards.
    expect((await sub.call('status')) as Status).toMatchObject({ subscribers: 0 });
    expect(heard).toHaveLength(count);
  });

  it('topics filter what a subscriber hears; a closed connection ends its subscription', async () => {
    const { d } = await daemon();
    const conn = await RawConn.open(d.socket);
    conn.send(req('events.subscribe', { topics: ['task.changed'] }, 1));
    await conn.waitLines(1, 20_000);
    const writer = await h.client(d.socket);
    await writer.call('node.create', { kind: 'doc', title: 'a doc, not a task' });
    conn.send(req('status', {}, 2));
    await conn.waitLines(2, 20_000);
    expect(conn.json(1)).toMatchObject({ id: 2, result: { subscribers: 1 } });
    expect(conn.lines).toHaveLength(2); // no task.changed for a doc
    conn.close();
    await conn.closed;
    // The daemon notices the close on its own time: ask until it has.
    let subscribers = 1;
    const deadline = Date.now() + 20_000;
    while (subscribers !== 0 && Date.now() < deadline) {
      subscribers = ((await writer.call('status')) as Status).subscribers;
    }
    expect(subscribers).toBe(0);
  });
});

describe('backup', () => {
  it('copies a running database consistently; the copy is a new replica with the same state', async () => {
    const { dir, d } = await daemon();
    const c = await h.client(d.socket);
    for (let i = 0; i < 50; i++) {
      await c.call('node.create', { kind: 'doc', title: `doc ${i}`, body: `body ${i}` });
    }
    const before = (await c.call('status', { digest: true })) as Status;
    const path = join(dir, 'copy', 'backup.db');
    await expect(c.call('backup', { path })).rejects.toMatchObject({ code: 'io' });
    const copyDir = h.dir();
    const copy = join(copyDir, 'heph.db');
    const r = (await c.call('backup', { path: copy })) as { ops: number; bytes: number };
    expect(r.ops).toBe(before.ops);
    expect(r.bytes).toBeGreaterThan(0);
    await expect(c.call('backup', { path: copy })).rejects.toMatchObject({
      code: 'already_exists',
    });
    await expect(c.call('backup', { path: 'relative.db' })).rejects.toMatchObject({
      code: 'invalid_params',
    });

    const d2 = await h.start({ db: copy, socket: join(copyDir, 'd.sock') });
    const c2 = await h.client(d2.socket);
    const after = (await c2.call('status', { digest: true })) as Status;
    expect(after.replica_id).not.toBe(before.replica_id);
    expect(after.digest).toBe(before.digest);
    // The copy is a new replica: its first start named it (one device.name op more).
    expect(after.ops).toBe(before.ops + 1);
    expect((await c.call('status', { digest: true })) as Status).toMatchObject({
      digest: before.digest,
    });
  });

  it('a backup taken under a stream of writes is a complete database at one point in time', async ({
    annotate,
  }) => {
    const { d } = await daemon();
    const c = await h.client(d.socket);
    const writer = await h.client(d.socket);
    // Enough pages that the backup takes several steps, with writes landing between them.
    const body = 'lorem ipsum '.repeat(400);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        c.call('node.create', { kind: 'doc', title: `a${i}`, body }),
      ),
    );
    const opsBefore = ((await c.call('status')) as Status).ops;
    let writing = true;
    const writes = (async () => {
      let i = 0;
      while (writing) {
        await Promise.all(
          Array.from({ length: 20 }, () =>
            writer.call('node.create', { kind: 'doc', title: `b${i++}` }),
          ),
        );
      }
      return i;
    })();
    const copyDir = h.dir();
    const copy = join(copyDir, 'heph.db');
    const r = (await c.call('backup', { path: copy })) as { ops: number };
    writing = false;
    const written = await writes;
    const opsAfter = ((await c.call('status')) as Status).ops;
    expect(written).toBeGreaterThan(0);

    expect(existsSync(`${copy}-wal`)).toBe(false); // self-contained: one file
    const db = new Database(copy, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
    const d2 = await h.start({ db: copy, socket: join(copyDir, 'd.sock') });
    const c2 = await h.client(d2.socket);
    const s = (await c2.call('status')) as Status;
    s.ops -= 1; // the copy, a new replica, named itself at its first start
    expect(s.ops).toBeGreaterThanOrEqual(opsBefore);
    expect(s.ops).toBeLessThanOrEqual(opsAfter);
    expect(s.ops).toBe(r.ops); // the op count the daemon reported for the same moment
    await annotate(`ops: ${opsBefore} before the backup, ${s.ops} in the copy, ${opsAfter} after`);
    // Every node in the copy is whole: each b-doc that exists has its title.
    const listed = (await c2.call('node.list', { kind: 'doc', limit: 10_000 })) as {
      nodes: { title: string }[];
    };
    expect(listed.nodes.filter((n) => n.title.startsWith('a'))).toHaveLength(200);
    expect(listed.nodes.every((n) => /^[ab]\d+$/.test(n.title))).toBe(true);
  });
});

describe('logs', () => {
  it('never contain note bodies, even at the most verbose level', async () => {
    const { d } = await daemon('trace');
    const secret = 'zebra-quokka-7f3e91-private';
    const c = await h.client(d.socket);
    const made = (await c.call('node.create', {
      kind: 'doc',
      title: 'plain title',
      body: `# Notes\n\n${secret} one`,
    })) as { id: string };
    await c.call('node.update', { id: made.id, body: `${secret} two [[Nowhere]]` });
    await c.call('node.get', { id: made.id });
    await c.call('node.list', {});
    await c.call('search', { query: secret }).catch(() => undefined);
    // Failing calls and garbage that carry the body.
    await expect(
      c.call('node.create', { kind: 'nope', title: 't', body: secret }),
    ).rejects.toMatchObject({ code: 'invalid_params' });
    // (A reference that matches nothing is echoed in a debug line, which is fine for a title or
    // id; a body never reaches a message.)
    await expect(c.call('node.get', { id: 'no such title' })).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(c.call('node.update', { id: made.id, body: 7 })).rejects.toMatchObject({
      code: 'invalid_params',
    });
    const raw = await RawConn.open(d.socket);
    raw.send(`{"jsonrpc":"2.0","method":"node.create","params":{"body":"${secret}"\n`);
    raw.send(`${secret}\n`);
    raw.send(req('no.such', { body: secret }, 1));
    raw.send(`{"jsonrpc":"2.0","method":"node.create","params":{"body":"${secret}`);
    await raw.waitLines(3, 20_000);
    raw.close();
    await raw.closed;
    await c.close();
    const exit = await d.stop();
    expect(exit.code).toBe(0);
    const log = d.stderr();
    expect(log).toContain('hephd started');
    expect(log).toContain('"level":20'); // debug lines were written
    expect(log).not.toContain(secret);
  });
});
