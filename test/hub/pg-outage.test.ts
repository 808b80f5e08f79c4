// PostgreSQL out of reach while the hub runs: a TCP relay between the hub and the database is cut
// (every connection dropped, new ones refused) and restored. Meanwhile /readyz answers 503 naming
// the database, pushes and pulls answer 503 and store nothing, a device's sync fails as
// "unavailable"; once the database is back, without restarting anything, the hub is ready again,
// the device's change goes through, and a long-poll started on another hub process is woken by
// it (its listening connection came back).

import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startHub, type Hub } from '../../src/hub/server.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { syncOnce } from '../../src/sync/sync-once.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp.js';
import { openSpoke } from '../sync/helpers.js';
import { eventually, httpPull, hubConfig } from './helpers.js';

const cluster = inject('pg');

interface Relay {
  port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** 127.0.0.1:port → the cluster's unix socket, with a switch. */
async function relay(): Promise<Relay> {
  const open = new Set<Socket>();
  let up = true;
  const server: Server = createServer((client) => {
    if (!up) {
      client.destroy();
      return;
    }
    const db = createConnection(join(cluster.socketDir, `.s.PGSQL.${cluster.port}`));
    open.add(client).add(db);
    const drop = () => {
      client.destroy();
      db.destroy();
      open.delete(client);
      open.delete(db);
    };
    client.on('error', drop).on('close', drop);
    db.on('error', drop).on('close', drop);
    client.pipe(db).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    cut() {
      up = false;
      for (const s of open) s.destroy();
      open.clear();
    },
    restore() {
      up = true;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('PostgreSQL out of reach', () => {
  const closers: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
  });
  async function hub(url: string): Promise<Hub> {
    const t = tempDir('heph-pgout-');
    closers.push(() => t.cleanup());
    const running = await startHub(hubConfig(t.dir, { hubStore: url }), {
      clock: { now: () => Date.now() },
      random: seededRandom(11),
      logger: silentLogger,
      version: 'test',
    });
    closers.push(() => running.stop());
    return running;
  }

  it('answers 503 and stores nothing while it is away, and recovers without a restart', async () => {
    const db = await createTestDatabase(cluster, 'outage');
    const r = await relay();
    closers.push(() => r.close());
    const viaRelay = db.url.replace(/@localhost\//, `@127.0.0.1:${r.port}/`).replace(/\?.*$/, '');
    const near = await hub(viaRelay);
    const far = await hub(db.url); // another hub process, not behind the relay
    const spoke = openSpoke('device', near.url);
    closers.push(() => spoke.close());
    spoke.store.createNode({ kind: 'doc', title: 'before' });
    expect((await syncOnce(spoke.store, spoke.client)).pushed).toBeGreaterThan(0);
    const head = await far.hubStore.head(1);

    r.cut();
    const ready = await request(`${near.url}/readyz`);
    expect(ready.statusCode).toBe(503);
    expect(await ready.body.text()).toMatch(/PostgreSQL database does not answer/);
    spoke.store.createNode({ kind: 'doc', title: 'while away' });
    await expect(syncOnce(spoke.store, spoke.client)).rejects.toMatchObject({
      code: 'unavailable',
    });
    await expect(httpPull(near.url, {})).rejects.toThrow(/pull: 503/);
    expect(await far.hubStore.head(1)).toBe(head);
    // A long-poll on the other hub, waiting for the change.
    const woken = httpPull(far.url, { after: String(head), wait: 30 });

    r.restore();
    await eventually(async () => (await request(`${near.url}/readyz`)).statusCode === 200, 'ready');
    const after = await syncOnce(spoke.store, spoke.client);
    expect(after.pushed).toBeGreaterThan(0);
    const page = await woken;
    expect(page.ops.some((o) => o.payload.value === 'while away')).toBe(true);
    expect(await far.hubStore.head(1)).toBe(head + after.pushed);
  });
});
