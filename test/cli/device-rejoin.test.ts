// A revoked machine enrolled again, end to end with real processes: a signed-in hub on
// 127.0.0.1:0 (a real OpenID Provider on loopback), two real hephd daemons each with its own
// device credential, and the `heph` CLI. The laptop is revoked, edits while revoked (a new
// task, a retitle, an appended line), and is enrolled again with a fresh token: it becomes a new
// replica, its never-pushed edits are re-stamped under the new id and uploaded, and the desk
// sees each edit exactly once. The hub refuses the old replica id for good, whoever asks.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { expect, it } from 'vitest';
import { ECHO_PROTOCOL, titleOp } from '../hub/helpers.js';
import { json, ok } from './helpers.js';
import { useSignedInHub } from './signed-in-hub.js';

const fx = useSignedInHub();
/** The daemons sync when told to (`heph sync`), not on a timer. */
const SYNC_BY_HAND = ['--sync-interval', '3600'];

interface Listed {
  devices: {
    id: string;
    name: string;
    replica: string | null;
    status: string;
    pending_reported: number | null;
  }[];
}

async function pushAs(replica: string, token: string, ops: unknown[]): Promise<string> {
  const r = await request(`${fx.hub.url}/sync/push`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'heph-protocol': ECHO_PROTOCOL,
      'heph-replica': replica,
    },
    body: JSON.stringify({ replica: { id: replica }, ops }),
  });
  const text = await r.body.text();
  return `${r.statusCode} ${/"(device_revoked|forbidden)"/.exec(text)?.[1] ?? ''}`.trim();
}

it('re-enrols a revoked machine as a new replica: its edits reach the other device once', async () => {
  const laptop = await fx.enrolled('laptop', SYNC_BY_HAND);
  const desk = await fx.enrolled('desk', SYNC_BY_HAND);
  const trip = json(ok(await laptop.run(['doc', 'Trip', '--body', 'pack\n', '--json'])));
  const tripId = String(trip.id);
  const rent = json(ok(await laptop.run(['task', 'Pay rent', '--json'])));
  const rentId = String((rent.task as { id: string }).id);
  ok(await laptop.run(['sync']));
  ok(await desk.run(['sync']));
  const oldReplica = String(json(ok(await laptop.run(['sync', 'status', '--json']))).replica_id);
  const before = await fx.rpc<Listed>('device.list');
  const laptopDevice = before.devices.find((d) => d.replica === oldReplica)!;
  expect(laptopDevice.name).toBe('laptop');

  await fx.rpc('device.revoke', { id: laptopDevice.id });
  // Edits while revoked: kept here, never uploaded.
  ok(await laptop.run(['task', 'Buy milk']));
  ok(await laptop.run(['edit', rentId, '--title', 'Pay rent by Friday']));
  ok(await laptop.run(['doc', 'Trip', '--append', '-'], '- passport\n'));
  expect((await laptop.run(['sync'])).code).not.toBe(0);
  const revoked = json(ok(await laptop.run(['sync', 'status', '--json'])));
  expect(revoked).toMatchObject({ state: 'revoked', pending: { changes: 3 } });
  expect(String(revoked.verdict)).toContain('heph auth enroll');

  // Enrolled again: a new replica id, the three changes re-stamped and uploaded.
  const e = await fx.rpc<{ token: string; device: { id: string } }>('device.enroll', {
    name: 'laptop',
  });
  const again = await laptop.run(['auth', 'enroll', '--hub', fx.hub.url, '--json'], e.token);
  expect(again.code, again.stderr).toBe(0);
  const out = json(again) as {
    rejoined: { previous: string; replica: string; restamped: number };
  };
  expect(out.rejoined.previous).toBe(oldReplica);
  expect(out.rejoined.replica).toMatch(/^[0-9a-f]{16}$/);
  expect(out.rejoined.replica).not.toBe(oldReplica);
  expect(out.rejoined.restamped).toBeGreaterThan(3);
  const words = await laptop.run(['auth', 'enroll', '--hub', fx.hub.url], e.token);
  expect(words.code).not.toBe(0); // the token is used; and the device holds a live credential
  ok(await laptop.run(['sync']));
  const st = json(ok(await laptop.run(['sync', 'status', '--json'])));
  expect(st).toMatchObject({
    state: 'in_sync',
    replica_id: out.rejoined.replica,
    device_name: 'laptop',
    pending: { changes: 0, ops: 0 },
  });

  // The desk has each edit exactly once.
  ok(await desk.run(['sync']));
  const tasks = json(ok(await desk.run(['list', '--json'])));
  const titles = JSON.stringify(tasks);
  expect(titles.split('Buy milk').length - 1).toBe(1);
  expect(titles).toContain('Pay rent by Friday');
  const body = ok(await desk.run(['get', tripId, '--body'])).stdout;
  expect(body).toBe('pack\n- passport\n');
  expect(json(ok(await desk.run(['conflicts', '--json'])))).toMatchObject({ conflicts: [] });
  const history = json(ok(await desk.run(['history', rentId, '--json'])));
  expect((history.versions as { device: string }[])[0]!.device).toBe('laptop');

  // The hub: the old device stays revoked, the new one reports nothing pending.
  const after = await fx.rpc<Listed>('device.list');
  expect(after.devices.find((d) => d.id === laptopDevice.id)?.status).toBe('revoked');
  expect(after.devices.find((d) => d.id === e.device.id)).toMatchObject({
    replica: out.rejoined.replica,
    status: 'online',
    pending_reported: 0,
  });
  // The old replica id is refused for good: with the owner's login, and with the laptop's new
  // credential (bound to the new id); a positive control pushes under the new id.
  const stale = titleOp(Date.now(), 1, oldReplica);
  expect(await pushAs(oldReplica, fx.alice, [stale])).toBe('403 device_revoked');
  const kept = JSON.parse(
    readFileSync(
      join(laptop.home.env.XDG_CONFIG_HOME, 'heph', 'credentials', 'device.json'),
      'utf8',
    ),
  ) as { hubs: Record<string, { credential: string }> };
  const credential = kept.hubs[fx.hub.url]!.credential;
  expect(await pushAs(oldReplica, credential, [stale])).toMatch(/^403/);
  expect(await pushAs(out.rejoined.replica, credential, [])).toBe('200');
}, 120_000);

it('enrolled again under a new name, the machine keeps its old name on the revoked device', async () => {
  const tablet = await fx.enrolled('tablet', SYNC_BY_HAND);
  const note = json(ok(await tablet.run(['doc', 'Recipes', '--json'])));
  ok(await tablet.run(['sync']));
  const oldReplica = String(json(ok(await tablet.run(['sync', 'status', '--json']))).replica_id);
  const old = (await fx.rpc<Listed>('device.list')).devices.find((d) => d.replica === oldReplica)!;
  await fx.rpc('device.revoke', { id: old.id });
  expect((await tablet.run(['sync'])).code).not.toBe(0);

  const e = await fx.rpc<{ token: string }>('device.enroll', { name: 'kitchen tablet' });
  ok(await tablet.run(['auth', 'enroll', '--hub', fx.hub.url], e.token));
  ok(await tablet.run(['sync']));
  const st = json(ok(await tablet.run(['sync', 'status', '--json'])));
  expect(st).toMatchObject({ state: 'in_sync', device_name: 'kitchen tablet' });

  // The revoked device is still "tablet", in the registry's listing and in the history of what
  // it wrote: only the new replica took the new name.
  const listed = (await fx.rpc<Listed>('device.list')).devices;
  expect(listed.find((d) => d.id === old.id)).toMatchObject({ name: 'tablet', status: 'revoked' });
  expect(listed.find((d) => d.replica === st.replica_id)?.name).toBe('kitchen tablet');
  const history = json(ok(await tablet.run(['history', String(note.id), '--json'])));
  expect((history.versions as { device: string }[]).at(-1)!.device).toBe('tablet');
}, 120_000);
