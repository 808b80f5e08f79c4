// Device names as data, end to end with real processes: two hephd daemons named at first start
// (--device-name), a real hub on 127.0.0.1:0 between them, and the built `heph` CLI. A field
// written on both while apart is a conflict, and the other device shows the writer's name, not
// its replica id, in `heph conflicts` and in `heph history`; renaming the device on the hub
// (device.rename on /rpc) reaches every replica's conflicts and the device's own sync status.

import { request } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { Closers } from '../merge/helpers.js';
import {
  assertBuilt,
  baseEnv,
  heph,
  json,
  ok,
  startDaemon,
  tempHome,
  type Daemon,
  type Run,
} from './helpers.js';

const closers = new Closers();
afterEach(() => closers.run());

interface Machine {
  daemon: Daemon;
  run(args: string[]): Promise<Run>;
  /** Restarts the daemon on the same database, syncing with `url` (or with no hub). */
  restart(url?: string): Promise<void>;
}

async function machine(name: string, url: string): Promise<Machine> {
  assertBuilt();
  const home = tempHome();
  closers.add(() => home.cleanup());
  const args = (u?: string) => [...(u === undefined ? [] : ['--hub-url', u])];
  const m: Machine = {
    daemon: await startDaemon(home.dir, ['--device-name', name, ...args(url)], home.env),
    run: (a) => heph(a, { env: baseEnv({ ...home.env, HEPH_SOCKET: m.daemon.socket }) }),
    async restart(u) {
      await m.daemon.stop();
      // The name is taken at first start only: a later --device-name does not rename.
      m.daemon = await startDaemon(home.dir, ['--device-name', 'ignored', ...args(u)], home.env);
    },
  };
  closers.add(() => m.daemon.stop());
  return m;
}

async function hubRpc(url: string, method: string, params: object): Promise<unknown> {
  const r = await request(`${url}/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await r.body.json()) as { result?: unknown; error?: unknown };
  expect(body.error, JSON.stringify(body.error)).toBeUndefined();
  return body.result;
}

interface Head {
  origin: string;
  device: string;
  value: unknown;
}

it('shows the device names, not replica ids, in conflicts, history and sync status', async () => {
  const hub = await closers.hub();
  const laptop = await machine('laptop', hub.url);
  const desk = await machine('desk', hub.url);
  // Naming itself at first start is no edit of notes: there is nothing to undo.
  expect(json(ok(await desk.run(['undo', '--list', '--json'])))).toMatchObject({ changes: [] });
  const created = json(ok(await laptop.run(['task', 'Plan the trip', '--json'])));
  const id = String((created.task as { id: string }).id);
  ok(await laptop.run(['sync']));
  ok(await desk.run(['sync']));
  const laptopReplica = String(json(ok(await laptop.run(['sync', 'status', '--json']))).replica_id);
  // Apart, both retitle the task: a conflict once they meet again.
  await laptop.restart();
  await desk.restart();
  ok(await laptop.run(['edit', id, '--title', 'Plan the trip to Lyon']));
  ok(await desk.run(['edit', id, '--title', 'Plan the trip to Nice']));
  await laptop.restart(hub.url);
  await desk.restart(hub.url);
  ok(await laptop.run(['sync']));
  ok(await desk.run(['sync']));

  const listed = json(ok(await desk.run(['conflicts', '--json'])));
  const conflict = (listed.conflicts as { field: string; heads: Head[] }[]).find(
    (c) => c.field === 'title',
  )!;
  const byValue = new Map(conflict.heads.map((h) => [h.value, h]));
  expect(byValue.get('Plan the trip to Lyon')).toMatchObject({
    origin: laptopReplica,
    device: 'laptop',
  });
  expect(byValue.get('Plan the trip to Nice')?.device).toBe('this device');
  const words = ok(await desk.run(['conflicts'])).stdout;
  expect(words).toContain('from laptop at');
  expect(words).not.toContain(laptopReplica);
  // And the other way round, on the laptop.
  const there = json(ok(await laptop.run(['conflicts', '--json'])));
  const heads = (there.conflicts as { field: string; heads: Head[] }[]).find(
    (c) => c.field === 'title',
  )!.heads;
  expect(heads.map((h) => h.device).sort()).toEqual(['desk', 'this device']);

  const history = json(ok(await desk.run(['history', id, '--json'])));
  const devices = (history.versions as { device: string }[]).map((v) => v.device);
  expect(devices).toContain('laptop');
  expect(devices).toContain('this device');
  expect(devices).not.toContain(laptopReplica);

  // A rename on the hub is data: it reaches the other replica's conflicts and the device itself.
  const hubDevices = (await hubRpc(hub.url, 'device.list', {})) as {
    devices: {
      id: string;
      replica: string | null;
      platform: string | null;
      arch: string | null;
      cpus: number | null;
      memory_bytes: number | null;
      version: string | null;
      pending_reported: number | null;
    }[];
  };
  const entry = hubDevices.devices.find((d) => d.replica === laptopReplica)!;
  // Registered by syncing (no enrolment): the machine's facts came with a start of its daemon,
  // and its last push said nothing was left to send.
  expect(entry).toMatchObject({
    platform: process.platform,
    arch: process.arch,
    pending_reported: 0,
  });
  expect(entry.cpus).toBeGreaterThan(0);
  expect(entry.memory_bytes).toBeGreaterThan(0);
  expect(entry.version).toMatch(/^\d+\.\d+\.\d+/);
  await hubRpc(hub.url, 'device.rename', { id: entry.id, name: 'work laptop' });
  ok(await desk.run(['sync']));
  ok(await laptop.run(['sync']));
  const renamed = json(ok(await desk.run(['conflicts', '--json'])));
  const names = (renamed.conflicts as { heads: Head[] }[]).flatMap((c) =>
    c.heads.map((h) => h.device),
  );
  expect(names).toContain('work laptop');
  expect(names).not.toContain('laptop');
  const status = json(ok(await laptop.run(['sync', 'status', '--json'])));
  expect(status).toMatchObject({ device_name: 'work laptop', replica_id: laptopReplica });
  expect(ok(await laptop.run(['sync', 'status'])).stdout).toMatch(/device: +work laptop/);

  // A device renaming itself: once synced, the hub's list shows that name too.
  ok(await laptop.run(['device', 'name', 'travel laptop']));
  ok(await laptop.run(['sync']));
  const relisted = (await hubRpc(hub.url, 'device.list', {})) as {
    devices: { replica: string | null; name: string }[];
  };
  expect(relisted.devices.find((d) => d.replica === laptopReplica)?.name).toBe('travel laptop');

  // A change made through the hub's /rpc is named too: "hub", not the cache replica's id.
  await hubRpc(hub.url, 'task.update', { id, title: 'Plan the trip to Lyon and Nice' });
  ok(await desk.run(['sync']));
  const after = json(ok(await desk.run(['history', id, '--json'])));
  const latest = (after.versions as { device: string; title?: string }[])[0]!;
  expect(latest.device).toBe('hub');
  expect(ok(await desk.run(['show', id])).stdout).toContain('Plan the trip to Lyon and Nice');
}, 120_000);
