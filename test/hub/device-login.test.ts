// POST /auth/device, what `heph auth login` calls after the owner signed in: on a signed-in
// SQLite hub with a real OpenID Provider on loopback. An owner's login gets a credential for the
// replica it names; the replica's device (registered when it synced with the login) keeps its id
// and history; signing in again replaces the credential (the old one is refused at once); a
// device credential, an enrolment token, a revoked replica, bad bodies and an open hub are each
// refused, with a positive control beside.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/ports/clock.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';
import { useCleanup } from '../helpers/temp.js';
import {
  deviceAs,
  enrolDevice,
  errorOf,
  opsOf,
  pullAs,
  pushAs,
  replicaId,
  rpcOk,
  signInWith,
} from './device-helpers.js';
import { makeHub, type TestHub } from './helpers.js';

let op: OidcTestProvider;
let h: TestHub;
let alice: string;
const cleanups = useCleanup();

beforeAll(async () => {
  op = await startOidcProvider({ accessTokenTtlSec: 3600 });
  h = await makeHub({
    clock: systemClock,
    dir: cleanups.dir('heph-device-login-'),
    auth: signInWith(op),
  });
  alice = await op.mintToken({ sub: 'alice' });
}, 30_000);
afterAll(async () => {
  await h?.close();
  await op?.close();
});

interface Listed {
  devices: {
    id: string;
    name: string;
    replica: string | null;
    status: string;
    ops_pushed: number;
    cpus: number | null;
  }[];
}
type Issued = { credential: string; device: { id: string; name: string; replica: string } };

const R1 = replicaId(0x4001);
const R2 = replicaId(0x4002);

describe('POST /auth/device', () => {
  it('gives the replica a credential on its owner’s login, keeping its device; a new login replaces it', async () => {
    // The replica synced with the login before (an earlier version): it is a device already.
    expect((await pushAs(h.app, alice, R1, opsOf(R1, 3))).statusCode).toBe(200);
    const before = (await rpcOk<Listed>(h.app, alice, 'device.list')).devices.find(
      (d) => d.replica === R1,
    )!;
    expect(before).toMatchObject({ name: R1, ops_pushed: 3 });

    const r = await deviceAs(h.app, alice, R1, { name: 'laptop', cpus: 8 });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const first = r.json<Issued>();
    expect(first.credential).toMatch(/^hd_[A-Za-z0-9_-]{43}$/);
    // One device: its id and history kept, named now (it was named by its replica id).
    expect(first.device).toEqual({ id: before.id, name: 'laptop', replica: R1 });
    let list = (await rpcOk<Listed>(h.app, alice, 'device.list')).devices;
    expect(list.filter((d) => d.replica === R1)).toMatchObject([
      { id: before.id, name: 'laptop', ops_pushed: 3, cpus: 8, status: 'online' },
    ]);
    // It syncs with the credential.
    expect((await pushAs(h.app, first.credential, R1, opsOf(R1))).statusCode).toBe(200);

    // Signing in again on that device: a new credential, the old one refused at once, the
    // name the owner gave kept.
    const again = await deviceAs(h.app, alice, R1, { name: 'other name' });
    expect(again.statusCode, again.body).toBe(200);
    const second = again.json<Issued>();
    expect(second.device).toEqual({ id: before.id, name: 'laptop', replica: R1 });
    expect(second.credential).not.toBe(first.credential);
    const old = await pullAs(h.app, first.credential, R1);
    expect([old.statusCode, errorOf(old).code]).toEqual([401, 'unauthorized']);
    expect((await pullAs(h.app, second.credential, R1)).statusCode).toBe(200);

    // A replica never seen: registered now, with the name asked for.
    const fresh = await deviceAs(h.app, alice, R2, { name: 'desk' });
    expect(fresh.statusCode, fresh.body).toBe(200);
    list = (await rpcOk<Listed>(h.app, alice, 'device.list')).devices;
    expect(list.find((d) => d.replica === R2)).toMatchObject({ name: 'desk', status: 'online' });
  });

  it('takes only an owner’s login: a device credential and an enrolment token are refused', async () => {
    const R = replicaId(0x4003);
    const d = await enrolDevice(h.app, alice, R);
    const asDevice = await deviceAs(h.app, d.credential, R);
    expect([asDevice.statusCode, errorOf(asDevice).code]).toEqual([403, 'forbidden']);
    expect(errorOf(asDevice).message).toMatch(/admin/);
    const e = await rpcOk<{ token: string }>(h.app, alice, 'device.enroll', { name: 'x' });
    const asToken = await deviceAs(h.app, e.token, R);
    expect(asToken.statusCode).toBe(401);
    const none = await deviceAs(h.app, undefined, R);
    expect(none.statusCode).toBe(401);
    // Positive control: the owner's login, for the same replica.
    expect((await deviceAs(h.app, alice, R)).statusCode).toBe(200);
    // The device's earlier credential (from its enrolment) no longer works.
    expect((await pullAs(h.app, d.credential, R)).statusCode).toBe(401);
  });

  it('refuses a revoked replica, and bad bodies, changing nothing', async () => {
    const R = replicaId(0x4004);
    const d = await enrolDevice(h.app, alice, R);
    await rpcOk(h.app, alice, 'device.revoke', { id: d.id });
    const r = await deviceAs(h.app, alice, R);
    expect([r.statusCode, errorOf(r).code]).toEqual([403, 'device_revoked']);
    const list = (await rpcOk<Listed>(h.app, alice, 'device.list')).devices;
    expect(list.find((x) => x.id === d.id)?.status).toBe('revoked');
    for (const [body, field] of [
      [{ replica: 'nothex' }, 'replica'],
      [{ replica: R2, name: '' }, 'name'],
      [{ replica: R2, cpus: -1 }, 'cpus'],
      [{ replica: R2, token: 'x' }, 'token'],
    ] as const) {
      const bad = await deviceAs(h.app, alice, R2, body);
      expect(bad.statusCode, JSON.stringify(body)).toBe(400);
      expect(errorOf(bad).message).toContain(field);
    }
  });

  it('is refused on an open hub (nobody there has a credential to get)', async () => {
    const open = await makeHub({ clock: systemClock, dir: cleanups.dir('heph-open-') });
    cleanups.defer(() => open.close());
    const r = await deviceAs(open.app, undefined, R1);
    expect([r.statusCode, errorOf(r).code]).toEqual([403, 'forbidden']);
    expect(errorOf(r).message).toMatch(/open \(no sign-in\)/);
  });
});
