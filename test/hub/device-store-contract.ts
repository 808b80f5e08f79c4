// The device registry's part of the hub store contract (ports/hub-store.ts), run by
// runHubStoreContract against every implementation: enrolment tokens consumed once, expired,
// regenerated; credentials found, rotated, revoked; a revoked replica's ops refused by append;
// the push counters moved in the push's transaction; owners kept apart.

import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { encodeHlc } from '../../src/core/hlc.js';
import type { ManualClock } from '../../src/ports/clock.js';
import { HUB_OWNER, type HubStore, type OwnerId } from '../../src/ports/hub-store.js';

export const T0 = Date.UTC(2026, 10, 22, 12);
const R1 = '1111111111111111';
const R2 = '2222222222222222';
const HOUR = 3_600_000;

export const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

let n = 0;
/** A fresh secret and its hash. */
export function secret(prefix: string): { plain: string; hash: string } {
  const plain = `${prefix}_${process.pid}_${++n}_${Math.random().toString(36).slice(2)}`;
  return { plain, hash: sha(plain) };
}

function op(counter: number, origin: string) {
  return {
    id: encodeHlc({ wall: T0, counter, origin }),
    kind: 'node.set',
    target: '01JAAAAAAAAAAAAAAAAAAAAAAA',
    payload: { field: 'title', value: `t${counter}`, prev: [] },
  };
}

export interface DeviceContractEnv {
  fresh(): Promise<HubStore>;
  clock(): ManualClock;
  reopen(): Promise<HubStore>;
}

/** Enrols and exchanges a device for `replica`; returns its id and credential hash. */
export async function enrolled(
  s: HubStore,
  now: number,
  replica: string,
  owner: OwnerId = HUB_OWNER,
  name = `laptop ${replica.slice(0, 2)}`,
) {
  const token = secret('he');
  const id = `dev${++n}`;
  await s.createEnrolment({ owner, id, name, tokenHash: token.hash, expiresMs: now + HOUR }, now);
  const credential = secret('hd');
  const d = await s.exchangeEnrolment(
    {
      tokenHash: token.hash,
      replica,
      facts: { platform: 'linux' },
      credentialHash: credential.hash,
    },
    now,
  );
  expect(d).toMatchObject({ id, status: 'active', replica });
  return { id, credential: credential.hash };
}

export function deviceContract(env: DeviceContractEnv): void {
  it('devices: an enrolment token is exchanged once for an active device with a credential', async () => {
    const s = await env.fresh();
    const now = env.clock().now();
    const token = secret('he');
    const pending = await s.createEnrolment(
      {
        owner: HUB_OWNER,
        id: 'd1',
        name: ' build box ',
        tokenHash: token.hash,
        expiresMs: now + HOUR,
      },
      now,
    );
    expect(pending).toMatchObject({
      id: 'd1',
      name: 'build box',
      status: 'pending',
      replica: undefined,
      enrolExpiresMs: now + HOUR,
      opsPushed: 0,
    });
    const cred = secret('hd');
    const facts = { platform: 'linux', arch: 'x64', cpus: 8, memoryBytes: 16e9, version: '0.2.0' };
    const x = { tokenHash: token.hash, replica: R1, facts, credentialHash: cred.hash };
    const active = await s.exchangeEnrolment(x, now + 1);
    expect(active).toMatchObject({
      id: 'd1',
      status: 'active',
      replica: R1,
      ...facts,
      firstSeenMs: now + 1,
      enrolExpiresMs: undefined,
    });
    // Used: the same token again gives nothing, and changes nothing.
    const again = secret('hd');
    expect(
      await s.exchangeEnrolment({ ...x, credentialHash: again.hash }, now + 2),
    ).toBeUndefined();
    expect(await s.deviceByCredential(again.hash)).toBeUndefined();
    expect(await s.deviceByCredential(cred.hash)).toMatchObject({ id: 'd1', owner: HUB_OWNER });
    expect(
      await s.exchangeEnrolment({ ...x, tokenHash: sha('never issued') }, now),
    ).toBeUndefined();
    expect((await s.listDevices(HUB_OWNER)).map((d) => [d.id, d.status])).toEqual([
      ['d1', 'active'],
    ]);
    expect(await s.findDevice(HUB_OWNER, R1)).toMatchObject({ id: 'd1' });
    expect(await s.findDevice(HUB_OWNER, 'd1')).toMatchObject({ replica: R1 });
  });

  it('devices: an expired token is refused and its device stays pending; a regenerated one replaces it', async () => {
    const s = await env.fresh();
    const now = env.clock().now();
    const first = secret('he');
    await s.createEnrolment(
      { owner: HUB_OWNER, id: 'd1', name: 'pi', tokenHash: first.hash, expiresMs: now + HOUR },
      now,
    );
    const x = (tokenHash: string) => ({
      tokenHash,
      replica: R1,
      facts: {},
      credentialHash: secret('hd').hash,
    });
    expect(await s.exchangeEnrolment(x(first.hash), now + HOUR)).toBeUndefined();
    expect(await s.findDevice(HUB_OWNER, 'd1')).toMatchObject({ status: 'pending' });
    const second = secret('he');
    env.clock().advance(2 * HOUR);
    const later = env.clock().now();
    const d = await s.regenerateEnrolment(HUB_OWNER, 'd1', second.hash, later + HOUR);
    expect(d).toMatchObject({ status: 'pending', enrolExpiresMs: later + HOUR });
    // The old token stays dead even before its expiry would have passed.
    expect(await s.exchangeEnrolment(x(first.hash), now)).toBeUndefined();
    expect(await s.exchangeEnrolment(x(second.hash), later)).toMatchObject({ status: 'active' });
    await expect(
      s.regenerateEnrolment(HUB_OWNER, 'd1', secret('he').hash, later + HOUR),
    ).rejects.toMatchObject({ code: 'conflict' });
    await expect(
      s.regenerateEnrolment(HUB_OWNER, 'nope', secret('he').hash, later + HOUR),
    ).rejects.toMatchObject({ code: 'not_found' });
  });

  it('devices: of 50 concurrent exchanges of one token exactly one succeeds', async () => {
    const s = await env.fresh();
    const now = env.clock().now();
    const token = secret('he');
    await s.createEnrolment(
      { owner: HUB_OWNER, id: 'd1', name: 'x', tokenHash: token.hash, expiresMs: now + HOUR },
      now,
    );
    const creds = Array.from({ length: 50 }, () => secret('hd'));
    const results = await Promise.all(
      creds.map((c, i) =>
        s.exchangeEnrolment(
          {
            tokenHash: token.hash,
            replica: (i + 1).toString(16).padStart(16, '0'),
            facts: {},
            credentialHash: c.hash,
          },
          now,
        ),
      ),
    );
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    const found = await Promise.all(creds.map((c) => s.deviceByCredential(c.hash)));
    expect(found.filter((d) => d !== undefined)).toHaveLength(1);
  });

  it('devices: a revoked device’s credential finds it revoked, and its replica’s ops are refused', async () => {
    const s = await env.fresh();
    const now = env.clock().now();
    const a = await enrolled(s, now, R1);
    await enrolled(s, now, R2);
    const before = await s.append([{ owner: HUB_OWNER, ops: [op(1, R1)], replica: R1 }]);
    expect(before[0]!.accepted).toHaveLength(1);
    const revoked = await s.revokeDevice(HUB_OWNER, a.id, now + 5);
    expect(revoked).toMatchObject({ status: 'revoked', revokedMs: now + 5, opsPushed: 1 });
    expect(await s.deviceByCredential(a.credential)).toMatchObject({ status: 'revoked' });
    // Again: nothing changes.
    expect(await s.revokeDevice(HUB_OWNER, R1, now + 9)).toMatchObject({ revokedMs: now + 5 });
    const [r] = await s.append([
      { owner: HUB_OWNER, ops: [op(2, R1), op(3, R2)], replica: R2, maxDriftMs: 300_000 },
    ]);
    expect(r!.accepted).toEqual([op(3, R2).id]);
    expect(r!.refused).toMatchObject([{ id: op(2, R1).id, code: 'device_revoked', origin: R1 }]);
    // Whoever pushes it: another owner's log is not affected by this owner's revocation.
    const bob = await s.ownerOf({ iss: 'https://id.test', sub: 'bob' });
    const [b] = await s.append([{ owner: bob, ops: [op(2, R1)] }]);
    expect(b!.accepted).toHaveLength(1);
    // A credential cannot be rotated once its device is revoked.
    expect(await s.rotateCredential(a.credential, secret('hd').hash, now)).toBe(false);
    // A revoked pending device's token no longer enrols.
    const t = secret('he');
    await s.createEnrolment(
      { owner: HUB_OWNER, id: 'p1', name: 'p', tokenHash: t.hash, expiresMs: now + HOUR },
      now,
    );
    await s.revokeDevice(HUB_OWNER, 'p1', now);
    expect(
      await s.exchangeEnrolment(
        {
          tokenHash: t.hash,
          replica: 'cccccccccccccccc',
          facts: {},
          credentialHash: secret('hd').hash,
        },
        now,
      ),
    ).toBeUndefined();
  });

  it('devices: a credential issued on a login keeps the replica’s device and drops its older ones', async () => {
    const s = await env.fresh();
    const now = env.clock().now();
    const issue = (replica: string, name: string, owner: OwnerId = HUB_OWNER) => {
      const c = secret('hd');
      return s
        .issueCredential(
          {
            owner,
            replica,
            fresh: { id: `dev${replica}${name.length}`, name },
            facts: { platform: 'linux', cpus: 4 },
            credentialHash: c.hash,
          },
          now,
        )
        .then((d) => ({ d, hash: c.hash }));
    };
    // A replica that synced with the login: registered under its replica id as its name.
    const before = await s.registerDevice(HUB_OWNER, R1, { id: 'seen1', name: R1, facts: {} }, now);
    const first = await issue(R1, 'laptop');
    expect(first.d).toMatchObject({ id: before.id, name: 'laptop', status: 'active', cpus: 4 });
    expect(await s.deviceByCredential(first.hash)).toMatchObject({ id: before.id, replica: R1 });
    const second = await issue(R1, 'ignored');
    expect(second.d).toMatchObject({ id: before.id, name: 'laptop' });
    expect(await s.deviceByCredential(first.hash)).toBeUndefined();
    expect(await s.deviceByCredential(second.hash)).toMatchObject({ id: before.id });
    // An enrolled device's credential is replaced the same way.
    const e = await enrolled(s, now, R2);
    const third = await issue(R2, 'x');
    expect(third.d.id).toBe(e.id);
    expect(await s.deviceByCredential(e.credential)).toBeUndefined();
    // Another owner's replica of the same id is another device.
    const bob = await s.ownerOf({ iss: 'https://id.test', sub: 'bob' });
    const theirs = await issue(R1, 'bob box', bob);
    expect(theirs.d.id).not.toBe(before.id);
    expect(await s.deviceByCredential(second.hash)).toMatchObject({ id: before.id });
    // A revoked replica is refused and keeps its state.
    await s.revokeDevice(HUB_OWNER, R1, now + 1);
    await expect(issue(R1, 'again')).rejects.toMatchObject({ code: 'device_revoked' });
    expect(await s.findDevice(HUB_OWNER, R1)).toMatchObject({ status: 'revoked', name: 'laptop' });
    expect(await s.deviceByCredential(second.hash)).toMatchObject({ status: 'revoked' });
  });

  it('devices: a rotation replaces the credential; the old one stops working', async () => {
    const s = await env.fresh();
    const now = env.clock().now();
    const a = await enrolled(s, now, R1);
    const next = secret('hd');
    expect(await s.rotateCredential(a.credential, next.hash, now + 1)).toBe(true);
    expect(await s.deviceByCredential(a.credential)).toBeUndefined();
    expect(await s.deviceByCredential(next.hash)).toMatchObject({ id: a.id, replica: R1 });
    expect(await s.rotateCredential(a.credential, secret('hd').hash, now + 2)).toBe(false);
  });

  it('devices: a replica registered by syncing is folded into its enrolment; a revoked one is refused', async () => {
    const s = await env.fresh();
    const now = env.clock().now();
    const reg = await s.registerDevice(
      HUB_OWNER,
      R1,
      { id: 'auto1', name: R1, facts: { version: '0.1.0' } },
      now,
    );
    expect(reg).toMatchObject({
      id: 'auto1',
      status: 'active',
      firstSeenMs: now,
      version: '0.1.0',
    });
    // Registering again finds it.
    expect(
      await s.registerDevice(HUB_OWNER, R1, { id: 'auto2', name: 'x', facts: {} }, now + 1),
    ).toMatchObject({ id: 'auto1' });
    await s.append([
      { owner: HUB_OWNER, ops: [op(1, R1), op(2, R1)], replica: R1, pendingReported: 3 },
    ]);
    const t = secret('he');
    await s.createEnrolment(
      { owner: HUB_OWNER, id: 'd1', name: 'laptop', tokenHash: t.hash, expiresMs: now + HOUR },
      now,
    );
    const cred = secret('hd');
    const d = await s.exchangeEnrolment(
      { tokenHash: t.hash, replica: R1, facts: {}, credentialHash: cred.hash },
      now + 10,
    );
    expect(d).toMatchObject({
      id: 'd1',
      name: 'laptop',
      replica: R1,
      firstSeenMs: now,
      opsPushed: 2,
      lastPushOp: op(2, R1).id,
      pendingReported: 3,
    });
    expect((await s.listDevices(HUB_OWNER)).map((x) => x.id)).toEqual(['d1']);
    // A revoked replica: refused, and the token is left for another replica.
    await s.registerDevice(HUB_OWNER, R2, { id: 'auto3', name: R2, facts: {} }, now);
    await s.revokeDevice(HUB_OWNER, 'auto3', now);
    const t2 = secret('he');
    await s.createEnrolment(
      { owner: HUB_OWNER, id: 'd2', name: 'other', tokenHash: t2.hash, expiresMs: now + HOUR },
      now,
    );
    const x2 = { tokenHash: t2.hash, replica: R2, facts: {}, credentialHash: secret('hd').hash };
    await expect(s.exchangeEnrolment(x2, now)).rejects.toMatchObject({ code: 'device_revoked' });
    expect(await s.exchangeEnrolment({ ...x2, replica: 'cccccccccccccccc' }, now)).toMatchObject({
      id: 'd2',
      status: 'active',
    });
  });

  it('devices: counters move with pushes, last seen never goes back, owners are kept apart', async () => {
    const s = await env.fresh();
    const now = env.clock().now();
    const a = await enrolled(s, now, R1);
    await s.append([
      { owner: HUB_OWNER, ops: [op(2, R1), op(1, R1)], replica: R1, pendingReported: 7 },
    ]);
    await s.append([{ owner: HUB_OWNER, ops: [op(1, R1)], replica: R1 }]);
    let d = (await s.findDevice(HUB_OWNER, a.id))!;
    expect(d).toMatchObject({
      opsPushed: 2,
      lastPushOp: op(2, R1).id,
      lastPushMs: now,
      pendingReported: 7,
      pendingReportedMs: now,
    });
    await s.touchDevice({ owner: HUB_OWNER, id: a.id, seenMs: now + 60_000, cursor: 2 });
    await s.touchDevice({ owner: HUB_OWNER, id: a.id, seenMs: now + 30_000 });
    d = (await s.findDevice(HUB_OWNER, a.id))!;
    expect(d).toMatchObject({ lastSeenMs: now + 60_000, cursor: 2 });
    expect(await s.renameDevice(HUB_OWNER, a.id, 'work laptop')).toMatchObject({
      name: 'work laptop',
    });
    await expect(s.renameDevice(HUB_OWNER, a.id, ' \u0007 ')).rejects.toMatchObject({
      code: 'invalid_params',
    });
    await expect(s.renameDevice(HUB_OWNER, a.id, 'x'.repeat(101))).rejects.toMatchObject({
      code: 'invalid_params',
    });
    expect((await s.findDevice(HUB_OWNER, a.id))!.name).toBe('work laptop');
    const bob = await s.ownerOf({ iss: 'https://id.test', sub: 'bob' });
    expect(await s.findDevice(bob, a.id)).toBeUndefined();
    expect(await s.listDevices(bob)).toEqual([]);
    await expect(s.renameDevice(bob, a.id, 'mine')).rejects.toMatchObject({ code: 'not_found' });
    await expect(s.revokeDevice(bob, a.id, now)).rejects.toMatchObject({ code: 'not_found' });
    expect((await s.findDevice(HUB_OWNER, a.id))!.status).toBe('active');
    // Bob may have a device with the same replica id: his own.
    await enrolled(s, now, R1, bob);
    expect((await s.listDevices(bob)).map((x) => x.replica)).toEqual([R1]);
  });

  it('devices: facts a device reports at a start replace those given, keep the others', async () => {
    let s = await env.fresh();
    const now = env.clock().now();
    const a = await enrolled(s, now, R1);
    const before = (await s.findDevice(HUB_OWNER, a.id))!;
    await s.touchDevice({
      owner: HUB_OWNER,
      id: a.id,
      seenMs: now + 1000,
      facts: { version: '9.9.9', cpus: 64, memoryBytes: 2 ** 40, arch: 'arm64' },
    });
    let d = (await s.findDevice(HUB_OWNER, a.id))!;
    expect(d).toMatchObject({
      version: '9.9.9',
      cpus: 64,
      memoryBytes: 2 ** 40,
      arch: 'arm64',
      platform: before.platform,
      lastSeenMs: now + 1000,
    });
    // A touch without facts, or with values out of range, changes none of them.
    await s.touchDevice({ owner: HUB_OWNER, id: a.id, seenMs: now + 2000 });
    await s.touchDevice({
      owner: HUB_OWNER,
      id: a.id,
      seenMs: now + 3000,
      facts: { cpus: -1, memoryBytes: 1.5, version: '' },
    });
    d = (await s.findDevice(HUB_OWNER, a.id))!;
    expect(d).toMatchObject({ version: '9.9.9', cpus: 64, memoryBytes: 2 ** 40 });
    s = await env.reopen();
    expect(await s.findDevice(HUB_OWNER, a.id)).toMatchObject({ version: '9.9.9', arch: 'arm64' });
  });

  it('devices: are kept across a reopen', async () => {
    let s = await env.fresh();
    const now = env.clock().now();
    const a = await enrolled(s, now, R1);
    await s.revokeDevice(HUB_OWNER, a.id, now);
    s = await env.reopen();
    expect(await s.deviceByCredential(a.credential)).toMatchObject({ status: 'revoked' });
    const [r] = await s.append([{ owner: HUB_OWNER, ops: [op(1, R1)] }]);
    expect(r!.refused).toMatchObject([{ code: 'device_revoked' }]);
  });
}
