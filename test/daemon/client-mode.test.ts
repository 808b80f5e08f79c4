// hephd --mode client against a real hub: the filesystem methods (export, import, backup) work
// on this machine's files through the hub's data methods, with the same results a local daemon
// gives, and conflict.changed reaches subscribers.

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportVault } from '../../src/model/export.js';
import { seededRandom } from '../../src/ports/random.js';
import { openStore } from '../../src/store/open-store.js';
import { syncOnce } from '../../src/sync/sync-once.js';
import type { RpcClient } from '../../src/transport/socket-client.js';
import { openSpoke, startTestHub, type TestHub } from '../sync/helpers.js';
import { readTree } from '../helpers/temp.js';
import { until, useDaemons } from './helpers.js';

const h = useDaemons();

/** Every file under `dir` (relative path → content). */
function tree(dir: string): Map<string, string> {
  return new Map(Object.entries(readTree(dir)));
}

async function clientOf(hub: TestHub): Promise<{ c: RpcClient; dir: string }> {
  const dir = h.dir();
  const d = await h.start({
    db: join(dir, 'unused.db'),
    socket: join(dir, 'c.sock'),
    args: ['--mode', 'client', '--hub-url', hub.url],
  });
  return { c: await h.client(d.socket), dir };
}

describe('hephd --mode client: files', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
    // Content written on a device with a replica: docs, a task with its fields, typed links, a
    // deleted node, unicode.
    const spoke = openSpoke('seed', hub.url);
    try {
      const s = spoke.store;
      const a = s.createNode({ kind: 'doc', title: 'Alpha', body: '# Alpha\n\nsee [[Beta]] ✓\n' });
      const b = s.createNode({ kind: 'doc', title: 'Beta', aliases: ['β'], body: 'β body\n' });
      const t = s.createNode({
        kind: 'task',
        title: 'Ship it',
        state: 'outstanding',
        attention: 'red',
        do_date: '2026-11-30',
      });
      s.addLink(t.id, a.id, 'canonical-context');
      s.addLink(a.id, b.id, 'parent');
      const gone = s.createNode({ kind: 'doc', title: 'Gone' });
      s.addLink(b.id, gone.id, 'parent');
      s.deleteNode(gone.id);
      await syncOnce(s, spoke.client);
    } finally {
      await spoke.close();
    }
  });
  afterAll(async () => {
    await hub.close();
  });

  it('export writes the same files a local export of the hub writes, and again changes nothing', async () => {
    const { c, dir } = await clientOf(hub);
    const viaClient = join(dir, 'out');
    const first = await c.call('export', { dir: viaClient });
    const local = join(dir, 'local');
    const expected = exportVault(await hub.view(), local);
    expect(first).toEqual(expected);
    expect(tree(viaClient)).toEqual(tree(local));
    // The export carries what there is to lose: typed links (not to the deleted node) in the
    // sidecar, task fields in the task's front matter.
    const files = tree(viaClient);
    const side = files.get('.heph/index.json') ?? '';
    expect(side).toMatch(/"canonical-context /);
    expect(side.match(/"parent /g)).toHaveLength(1);
    expect(files.get('Tasks/Ship it.md')).toContain('attention: red');
    expect(await c.call('export', { dir: viaClient })).toEqual({
      written: 0,
      unchanged: expected.written,
      removed: 0,
      collisions: [],
    });
    await expect(c.call('export', { dir: 'relative/out' })).rejects.toMatchObject({
      code: 'invalid_params',
    });
  });

  it('export pages through more nodes than one page holds', async () => {
    const big = await startTestHub();
    try {
      const spoke = openSpoke('many', big.url);
      try {
        for (let i = 0; i < 450; i++) spoke.store.createNode({ kind: 'doc', title: `n${i}` });
        await syncOnce(spoke.store, spoke.client);
      } finally {
        await spoke.close();
      }
      const { c, dir } = await clientOf(big);
      const out = join(dir, 'out');
      expect(await c.call('export', { dir: out })).toEqual({
        written: 450,
        unchanged: 0,
        removed: 0,
        collisions: [],
      });
      expect(readdirSync(out).filter((f) => f.endsWith('.md'))).toHaveLength(450);
    } finally {
      await big.close();
    }
  });

  it('import stores a folder on the hub, idempotently; a bad file stores nothing', async () => {
    const { c, dir } = await clientOf(hub);
    const vault = join(dir, 'vault');
    mkdirSync(join(vault, 'sub'), { recursive: true });
    writeFileSync(join(vault, 'One.md'), '---\naliases: [uno]\n---\nFirst, links [[Two]].\n');
    writeFileSync(join(vault, 'sub', 'Two.md'), 'Second ✓\n');
    writeFileSync(join(vault, 'pic.png'), 'not a note');
    const before = (await hub.view()).opCount();
    expect(await c.call('import', { dir: vault })).toEqual({
      created: 2,
      updated: 0,
      unchanged: 0,
      skipped: 1,
      errors: [],
    });
    expect((await hub.view()).opCount()).toBeGreaterThan(before);
    const one = (await hub.view()).getNode('vault:One');
    expect(one.aliases).toEqual(['uno']);
    expect(one.body).toBe('---\naliases: [uno]\n---\nFirst, links [[Two]].\n');
    // Again: nothing changes, no op written.
    const ops = (await hub.view()).opCount();
    expect(await c.call('import', { dir: vault })).toMatchObject({ created: 0, unchanged: 2 });
    expect((await hub.view()).opCount()).toBe(ops);
    // A file that is not UTF-8 stops the import, naming it; nothing is stored.
    writeFileSync(join(vault, 'Three.md'), 'new note\n');
    writeFileSync(join(vault, 'bad.md'), Buffer.from([0xff, 0xfe, 0x00]));
    const digest = (await hub.view()).digest();
    await expect(c.call('import', { dir: vault })).rejects.toMatchObject({
      code: 'invalid_params',
      message: expect.stringContaining('bad.md'),
    });
    expect((await hub.view()).digest()).toBe(digest);
    expect((await hub.view()).findNode('vault:Three')).toBeUndefined();
    // skip_invalid imports the rest and reports the bad file.
    const r = (await c.call('import', { dir: vault, skip_invalid: true })) as {
      created: number;
      errors: { path: string }[];
    };
    expect(r.created).toBe(1);
    expect(r.errors.map((e) => e.path)).toEqual([join(vault, 'bad.md')]);
    await expect(c.call('import', { dir: join(dir, 'missing') })).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('an export made through the client imports back through it unchanged', async () => {
    const { c, dir } = await clientOf(hub);
    const out = join(dir, 'round');
    await c.call('export', { dir: out });
    const view = await hub.view();
    const digest = view.digest();
    // Every live node comes back unchanged (a task's note and the tags from the sidecar).
    const live = view.listNodes({ limit: 10_000 }).length;
    expect(await c.call('import', { dir: out })).toMatchObject({
      created: 0,
      updated: 0,
      unchanged: live,
    });
    expect((await hub.view()).digest()).toBe(digest);
  });

  it('backup writes a database holding every op of the hub, which opens as a new replica', async () => {
    const { c, dir } = await clientOf(hub);
    const file = join(dir, 'copy.db');
    const r = (await c.call('backup', { path: file })) as { path: string; ops: number };
    expect(r.path).toBe(file);
    expect(r.ops).toBe((await hub.view()).opCount());
    expect(readdirSync(dir).filter((f) => f.startsWith('copy.db'))).toEqual(['copy.db']);
    const copy = openStore(
      { path: file },
      { clock: { now: () => Date.now() }, random: seededRandom(7) },
    );
    try {
      expect(copy.digest()).toBe((await hub.view()).digest());
      expect(copy.opCount()).toBe((await hub.view()).opCount());
      const origin = copy.origin;
      copy.createNode({ kind: 'doc', title: 'written in the copy' });
      expect(origin).not.toBe((await hub.view()).origin);
    } finally {
      copy.close();
    }
    await expect(c.call('backup', { path: file })).rejects.toMatchObject({
      code: 'already_exists',
    });
    await expect(c.call('backup', { path: 'rel.db' })).rejects.toMatchObject({
      code: 'invalid_params',
    });
    expect(await c.call('backup', { path: file, overwrite: true })).toMatchObject({
      ops: (await hub.view()).opCount(),
    });
  });

  it('an import larger than the hub takes in one request is refused with a way out', async () => {
    const small = await startTestHub({ bodyLimit: 64 * 1024 });
    try {
      const { c, dir } = await clientOf(small);
      const vault = join(dir, 'big');
      mkdirSync(vault);
      for (let i = 0; i < 4; i++) writeFileSync(join(vault, `n${i}.md`), 'x'.repeat(30_000));
      await expect(c.call('import', { dir: vault })).rejects.toMatchObject({
        code: 'too_large',
        message: expect.stringContaining('--mode local'),
      });
      expect((await small.view()).opCount()).toBe(0);
    } finally {
      await small.close();
    }
  });
});

describe('hephd --mode client: conflict.changed', () => {
  it('tells subscribers when a conflict appears on the hub and when it is resolved', async () => {
    const hub = await startTestHub();
    const a = openSpoke('a', hub.url);
    const b = openSpoke('b', hub.url);
    try {
      const n = a.store.createNode({ kind: 'doc', title: 'shared' });
      await syncOnce(a.store, a.client);
      await syncOnce(b.store, b.client);
      const { c } = await clientOf(hub);
      const seen: string[] = [];
      c.onNotification((m) => seen.push(m));
      // Returns once the feed has reached the hub's end: every later change is seen.
      await c.call('events.subscribe', { topics: ['conflict.changed', 'node.changed'] });
      // A change that makes no conflict: node.changed only.
      a.store.updateNode(n.id, { body: 'just a body' });
      await syncOnce(a.store, a.client);
      await until(() => seen.includes('node.changed'), 'node.changed');
      expect(seen).not.toContain('conflict.changed');
      // Two devices write the title concurrently.
      a.store.updateNode(n.id, { title: 'from a' });
      b.store.updateNode(n.id, { title: 'from b' });
      await syncOnce(a.store, a.client);
      await syncOnce(b.store, b.client);
      await until(() => seen.includes('conflict.changed'), 'conflict.changed');
      expect((await hub.view()).conflicts()).toHaveLength(1);
      seen.length = 0;
      await c.call('conflicts.resolve', { target: n.id, field: 'title', value: 'agreed' });
      await until(() => seen.includes('conflict.changed'), 'conflict.changed on resolve');
      expect((await hub.view()).conflicts()).toHaveLength(0);
    } finally {
      await a.close();
      await b.close();
      await hub.close();
    }
  });
});
