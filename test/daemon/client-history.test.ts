// hephd --mode client against a real hub: history, node.at and revert are answered by the hub
// (every device's versions), while undo and undo.list say that undo needs a device with its own
// replica, and change nothing.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncOnce } from '../../src/sync/sync-once.js';
import type { RpcClient } from '../../src/transport/socket-client.js';
import { openSpoke, startTestHub, type Spoke, type TestHub } from '../sync/helpers.js';
import { useDaemons } from './helpers.js';

const h = useDaemons();

describe('hephd --mode client: history and undo', () => {
  let hub: TestHub;
  let spoke: Spoke;
  let c: RpcClient;
  let id: string;
  beforeAll(async () => {
    hub = await startTestHub();
    spoke = openSpoke('laptop', hub.url);
    id = spoke.store.createNode({ kind: 'doc', title: 'Shared', body: 'one\n' }).id;
    spoke.store.updateNode(id, { body: 'one\ntwo\n' });
    await syncOnce(spoke.store, spoke.client);
    const dir = h.dir();
    const d = await h.start({
      db: join(dir, 'unused.db'),
      socket: join(dir, 'c.sock'),
      args: ['--mode', 'client', '--hub-url', hub.url],
    });
    c = await h.client(d.socket);
  });
  afterAll(async () => {
    await spoke.close();
    await hub.close();
  });

  it('lists, shows and reverts through the hub, which the device then pulls', async () => {
    const page = (await c.call('node.history', { id })) as {
      versions: { version: string; origin: string; summary: string }[];
    };
    expect(page.versions.map((v) => v.summary)).toEqual(['+1 −0 lines', 'created doc "Shared"']);
    expect(page.versions.every((v) => v.origin === spoke.store.origin)).toBe(true);
    const first = page.versions[1]!.version;
    expect(await c.call('node.at', { id, version: first })).toMatchObject({ body: 'one\n' });
    const r = (await c.call('node.revert', { id, version: first })) as { changed: string[] };
    expect(r.changed).toEqual(['body']);
    await syncOnce(spoke.store, spoke.client);
    expect(spoke.store.getNode(id).body).toBe('one\n');
  });

  it('refuses undo and undo.list: without a replica there is nothing of its own to undo', async () => {
    const ops = (await hub.view()).opCount();
    for (const [method, params] of [
      ['undo', {}],
      ['undo.list', {}],
    ] as const) {
      await expect(c.call(method, params)).rejects.toMatchObject({
        code: 'invalid_params',
        message: expect.stringContaining('undo needs a device with its own replica'),
      });
    }
    expect((await hub.view()).opCount()).toBe(ops);
  });
});
