// Devices on a signed-in SQLite hub, against a real OpenID Provider on loopback: enrolment of a
// headless machine (device.enroll, POST /auth/enroll), every credential type against every
// route with a positive control beside each refusal, revocation (at once, whatever the device
// presents, a waiting long-poll included, its replica's ops refused for good), rotation, expired
// and regenerated tokens, the rate limit, 50 concurrent exchanges of one token over real HTTP
// (with a negative control), an open hub, and no secret in hub.db or the log.

import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFailureLimiter } from '../../src/auth/rate-limit.js';
import type { HubAuthOptions } from '../../src/hub/auth.js';
import { hashSecret } from '../../src/hub/credentials.js';
import { SqliteHubStore } from '../../src/hub/store/sqlite.js';
import { ManualClock } from '../../src/ports/clock.js';
import type { Logger } from '../../src/ports/logger.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';
import { useCleanup } from '../helpers/temp.js';
import {
  enrolDevice,
  enrollAs,
  errorOf,
  opsOf,
  pullAs,
  pushAs,
  replicaId,
  revokeSelfAs,
  rotateAs,
  rpcCall,
  rpcError,
  rpcOk,
  signInWith,
  type Reply,
} from './device-helpers.js';
import { makeHub, type TestHub } from './helpers.js';

let op: OidcTestProvider;
beforeAll(async () => {
  op = await startOidcProvider({ accessTokenTtlSec: 3600 });
}, 30_000);
afterAll(async () => {
  await op?.close();
});

const cleanups = useCleanup();

interface DeviceHub extends TestHub {
  clock: ManualClock;
  lines: string[];
}

/** A signed-in hub on a clock the test moves (tokens are checked on the real one). */
async function startHub(
  auth: Partial<HubAuthOptions> = {},
  o: { listen?: boolean; keep?: boolean } = {},
): Promise<DeviceHub> {
  const clock = new ManualClock(Date.now());
  const lines: string[] = [];
  const log = (o: object, m?: string) => void lines.push(JSON.stringify(o) + ' ' + (m ?? ''));
  const logger: Logger = { debug: log, info: log, warn: log, error: log };
  const h = await makeHub({
    clock,
    logger,
    // Kept past close() (the test reads its files), removed after the test.
    ...(o.keep !== true && { dir: cleanups.dir('heph-devices-') }),
    auth: { ...signInWith(op), ...auth },
  });
  if (o.keep !== true) cleanups.defer(() => h.close());
  if (o.listen === true) await h.listen();
  return Object.assign(h, { clock, lines });
}

const R1 = replicaId(0x1111);
const R2 = replicaId(0x2222);
const R3 = replicaId(0x3333);
const R9 = replicaId(0x9999);

interface Listed {
  devices: {
    id: string;
    name: string;
    replica: string | null;
    status: string;
    platform: string | null;
    ops_pushed: number;
    cursor: string | null;
    behind: number | null;
    pending_reported: number | null;
    enrol_expires_ms: number | null;
  }[];
  head: string;
  open_hub: boolean;
}

describe('enrolment', () => {
  it('gives a headless machine its own credential for a one-time token, and lists it', async () => {
    const h = await startHub();
    const alice = await op.mintToken({ sub: 'alice' });
    const e = await rpcOk<{ token: string; expires_ms: number; device: Listed['devices'][0] }>(
      h.app,
      alice,
      'device.enroll',
      { name: 'build box' },
    );
    expect(e.token).toMatch(/^he_[A-Za-z0-9_-]{43}$/);
    expect(e.expires_ms).toBe(h.clock.now() + 3_600_000);
    expect(e.device).toMatchObject({ name: 'build box', status: 'pending', replica: null });
    let list = await rpcOk<Listed>(h.app, alice, 'device.list');
    expect(list.devices.map((d) => [d.name, d.status, d.enrol_expires_ms])).toEqual([
      ['build box', 'pending', e.expires_ms],
    ]);
    const r = await enrollAs(h.app, e.token, R1, { cpus: 4, memory_bytes: 8e9, version: '0.3.0' });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const { credential, device } = r.json<{ credential: string; device: { id: string } }>();
    expect(credential).toMatch(/^hd_[A-Za-z0-9_-]{43}$/);
    expect(device.id).toBe(e.device.id);
    // It syncs with it.
    const pushed = await pushAs(h.app, credential, R1, opsOf(R1, 2), { pending: 0 });
    expect(pushed.statusCode, pushed.body).toBe(200);
    expect(pushed.json()).toMatchObject({ accepted: 2 });
    const pulled = await pullAs(h.app, credential, R1, '?after=1');
    expect(pulled.statusCode).toBe(200);
    list = await rpcOk<Listed>(h.app, alice, 'device.list');
    expect(list.devices[0]).toMatchObject({
      id: e.device.id,
      status: 'online',
      replica: R1,
      platform: 'linux',
      ops_pushed: 2,
      cursor: '1',
      behind: 1,
      pending_reported: 0,
    });
    expect(list).toMatchObject({ head: '2', open_hub: false });
    // Two minutes without a request: idle; a day: stale.
    h.clock.advance(121_000);
    list = await rpcOk<Listed>(h.app, alice, 'device.list');
    expect(list.devices[0]!.status).toBe('idle');
    h.clock.advance(24 * 3_600_000);
    list = await rpcOk<Listed>(h.app, alice, 'device.list');
    expect(list.devices[0]!.status).toBe('stale');
    // The token was used: the same answer as a token never issued.
    const again = await enrollAs(h.app, e.token, R2);
    const never = await enrollAs(h.app, `he_${'A'.repeat(43)}`, R2);
    expect([again.statusCode, never.statusCode]).toEqual([401, 401]);
    expect(errorOf(again)).toEqual(errorOf(never));
    expect(again.headers['www-authenticate']).toBe(never.headers['www-authenticate']);
  });

  it('refuses an expired token like an unknown one; a regenerated token replaces the old', async () => {
    const h = await startHub();
    const alice = await op.mintToken({ sub: 'alice' });
    const e = await rpcOk<{ token: string; device: { id: string } }>(
      h.app,
      alice,
      'device.enroll',
      {
        name: 'pi',
        ttl: '30m',
      },
    );
    h.clock.advance(30 * 60_000);
    const expired = await enrollAs(h.app, e.token, R1);
    const unknown = await enrollAs(h.app, `he_${'B'.repeat(43)}`, R1);
    expect(expired.statusCode).toBe(401);
    expect(errorOf(expired)).toEqual(errorOf(unknown));
    expect((await rpcOk<Listed>(h.app, alice, 'device.list')).devices[0]!.status).toBe('pending');
    const again = await rpcOk<{ token: string; device: { id: string } }>(
      h.app,
      alice,
      'device.enroll',
      { regenerate: e.device.id },
    );
    expect(again.device.id).toBe(e.device.id);
    h.clock.set(h.clock.now() - 30 * 60_000); // back before the first token's expiry
    expect((await enrollAs(h.app, e.token, R1)).statusCode).toBe(401);
    const ok = await enrollAs(h.app, again.token, R1);
    expect(ok.statusCode, ok.body).toBe(200);
    // Only a pending device's token can be made again; bad TTLs and names are refused.
    expect(
      await rpcError(h.app, alice, 'device.enroll', { regenerate: e.device.id }),
    ).toMatchObject({ code: 'conflict' });
    for (const bad of [{ name: 'x', ttl: '25h' }, { name: 'x', ttl: 'soon' }, { name: '' }, {}]) {
      expect(await rpcError(h.app, alice, 'device.enroll', bad)).toMatchObject({
        code: 'invalid_params',
      });
    }
    expect((await rpcOk<Listed>(h.app, alice, 'device.list')).devices).toHaveLength(1);
  });

  it('is rate limited per address; a valid token still gets through', async () => {
    const h = await startHub({
      limiter: createFailureLimiter({ clock: new ManualClock(0), burst: 2, perMinute: 1 }),
    });
    const alice = await op.mintToken({ sub: 'alice' });
    const e = await rpcOk<{ token: string }>(h.app, alice, 'device.enroll', { name: 'pi' });
    const bad = `he_${'C'.repeat(43)}`;
    expect((await enrollAs(h.app, bad, R1)).statusCode).toBe(401);
    expect((await enrollAs(h.app, bad, R1)).statusCode).toBe(401);
    const limited = await enrollAs(h.app, bad, R1);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(errorOf(limited).code).toBe('rate_limited');
    // Bad device credentials spend the same budget.
    expect((await pullAs(h.app, `hd_${'D'.repeat(43)}`, R1)).statusCode).toBe(429);
    const ok = await enrollAs(h.app, e.token, R1);
    expect(ok.statusCode, ok.body).toBe(200);
  });
});

describe('every credential against every route', () => {
  let h: DeviceHub;
  const creds: Record<string, string | undefined> = {};
  beforeAll(async () => {
    h = await startHub({}, { keep: true });
    const alice = await op.mintToken({ sub: 'alice' });
    creds.login = alice;
    creds.device = (await enrolDevice(h.app, alice, R1)).credential;
    const revoked = await enrolDevice(h.app, alice, R2);
    await rpcOk(h.app, alice, 'device.revoke', { id: revoked.id });
    creds.revoked = revoked.credential;
    const rotated = await enrolDevice(h.app, alice, R3);
    const r = await rotateAs(h.app, rotated.credential);
    expect(r.statusCode, r.body).toBe(200);
    creds.rotated_away = rotated.credential;
    creds.enrolment = (
      await rpcOk<{ token: string }>(h.app, alice, 'device.enroll', { name: 'unused' })
    ).token;
    creds.garbage = 'not-a-token';
    creds.none = undefined;
  });
  afterAll(() => h.close());

  // [status, code] per route; the device's own replica is R1, R2 for the revoked one, R3 for the
  // rotated one.
  type Row = Record<'push' | 'pull' | 'rpc' | 'admin' | 'rotate' | 'enroll', [number, string]>;
  const OK: [number, string] = [200, 'ok'];
  const unauth: [number, string] = [401, 'unauthorized'];
  const revoked: [number, string] = [403, 'device_revoked'];
  /** A row with `cell` on every route, then the exceptions. */
  const row = (cell: [number, string], but: Partial<Row> = {}): Row => ({
    push: cell,
    pull: cell,
    rpc: cell,
    admin: cell,
    rotate: cell,
    enroll: cell,
    ...but,
  });
  const table: Record<string, { replica: string; row: Row }> = {
    none: { replica: R1, row: row(unauth) },
    garbage: { replica: R1, row: row(unauth) },
    login: { replica: R9, row: row(OK, { rotate: [403, 'forbidden'], enroll: unauth }) },
    device: { replica: R1, row: row(OK, { admin: [403, 'forbidden'], enroll: unauth }) },
    revoked: { replica: R2, row: row(revoked, { enroll: unauth }) },
    rotated_away: { replica: R3, row: row(unauth) },
    enrolment: { replica: R9, row: row(unauth, { enroll: OK }) },
  };

  const outcome = (r: Reply): [number, string] => {
    if (r.statusCode !== 200) return [r.statusCode, errorOf(r).code];
    const body = r.json<{ error?: { data: { code: string } } }>();
    return [200, body.error?.data.code ?? 'ok'];
  };

  // Rotation and enrolment change what they are given, so they run last, each once.
  for (const name of Object.keys(table)) {
    it(`${name}: ${JSON.stringify(table[name]!.row)}`, async () => {
      const { replica, row } = table[name]!;
      const t = creds[name];
      const got: Partial<Row> = {};
      got.push = outcome(await pushAs(h.app, t, replica, opsOf(replica)));
      got.pull = outcome(await pullAs(h.app, t, replica));
      got.rpc = outcome(await rpcCall(h.app, t, 'node.list'));
      got.admin = outcome(await rpcCall(h.app, t, 'device.list'));
      const rotated = await rotateAs(h.app, t);
      got.rotate = outcome(rotated);
      // The device goes on with its new credential (the admin test below uses it).
      if (name === 'device' && rotated.statusCode === 200) {
        creds.device = rotated.json<{ credential: string }>().credential;
      }
      got.enroll = outcome(await enrollAs(h.app, t ?? '', replicaId(0xe000 + name.length)));
      expect(got).toEqual(row);
    });
  }

  it('device credential with another replica in Heph-Replica: refused; with its own: served', async () => {
    const t = creds.login!;
    const d = await enrolDevice(h.app, t, replicaId(0x4444));
    const other = replicaId(0x5555);
    const refused = await pullAs(h.app, d.credential, other);
    expect([refused.statusCode, errorOf(refused).code]).toEqual([403, 'forbidden']);
    const pushRefused = await pushAs(h.app, d.credential, other, opsOf(other));
    expect(pushRefused.statusCode).toBe(403);
    const rpcRefused = await rpcCall(
      h.app,
      d.credential,
      'node.list',
      {},
      { 'heph-replica': other },
    );
    expect(rpcRefused.statusCode).toBe(403);
    expect((await pullAs(h.app, d.credential, replicaId(0x4444))).statusCode).toBe(200);
    const rpcOwn = await rpcCall(
      h.app,
      d.credential,
      'node.list',
      {},
      {
        'heph-replica': replicaId(0x4444),
      },
    );
    expect(rpcOwn.statusCode).toBe(200);
  });

  it('admin methods: each refuses a device credential, and serves the owner’s login', async () => {
    const login = creds.login!;
    const d = await enrolDevice(h.app, login, replicaId(0x6666), 'victim');
    const calls: [string, object][] = [
      ['device.list', {}],
      ['device.rename', { id: d.id, name: 'renamed' }],
      ['device.enroll', { name: 'sneaky' }],
      ['device.revoke', { id: d.id }],
    ];
    for (const [method, params] of calls) {
      const e = await rpcError(h.app, creds.device, method, params);
      expect(e, method).toMatchObject({ code: 'forbidden', status: 403 });
      expect(e.message).toMatch(
        new RegExp(`^${method} needs the admin role; this caller is an editor`),
      );
      expect(e.message).toMatch(/owner's sign-in, not a device credential/);
    }
    // Nothing changed, then the same calls with the login work.
    const list = await rpcOk<Listed>(h.app, login, 'device.list');
    expect(list.devices.find((x) => x.id === d.id)).toMatchObject({
      name: 'victim',
      status: 'online',
    });
    expect(list.devices.some((x) => x.name === 'sneaky')).toBe(false);
    for (const [method, params] of calls) await rpcOk(h.app, login, method, params);
    const after = await rpcOk<Listed>(h.app, login, 'device.list');
    expect(after.devices.find((x) => x.id === d.id)).toMatchObject({
      name: 'renamed',
      status: 'revoked',
    });
  });
});

describe('revocation', () => {
  it('refuses the device on its next request whatever it presents, ends its long-poll, and refuses its replica’s ops for good', async () => {
    const h = await startHub();
    const alice = await op.mintToken({ sub: 'alice' });
    const d = await enrolDevice(h.app, alice, R1, 'lost laptop');
    const mine = opsOf(R1, 3);
    expect((await pushAs(h.app, d.credential, R1, mine, { pending: 4 })).statusCode).toBe(200);
    // A long-poll waiting when the device is revoked.
    const waiting = pullAs(h.app, d.credential, R1, '?after=3&wait=30');
    await expect.poll(() => h.hubStore.waiting(1)).toBe(1);
    const r = await rpcOk<{
      device: { status: string };
      never_received: { after_op: string; pending_reported: number };
    }>(h.app, alice, 'device.revoke', { id: d.id });
    expect(r.device.status).toBe('revoked');
    const newest = mine.map((o) => o.id).sort()[2]!;
    expect(r.never_received).toMatchObject({ after_op: newest, pending_reported: 4 });
    // Another device's push wakes the long-poll: it answers the refusal, not the op.
    expect((await pushAs(h.app, alice, R2, opsOf(R2))).statusCode).toBe(200);
    const woke = await waiting;
    expect([woke.statusCode, errorOf(woke).code]).toEqual([403, 'device_revoked']);
    expect(errorOf(woke).message).toMatch(/lost laptop.*was revoked on the hub/);
    // Its next requests, on every route, with its replica or another.
    for (const replica of [R1, R9]) {
      for (const req of [
        pullAs(h.app, d.credential, replica),
        pushAs(h.app, d.credential, replica, opsOf(replica)),
        rpcCall(h.app, d.credential, 'node.list', {}, { 'heph-replica': replica }),
        rotateAs(h.app, d.credential),
      ]) {
        const res = await req;
        expect([res.statusCode, errorOf(res).code]).toEqual([403, 'device_revoked']);
      }
    }
    // The owner's login under its replica: refused too; under another replica, its ops are.
    const asIt = await pullAs(h.app, alice, R1);
    expect([asIt.statusCode, errorOf(asIt).code]).toEqual([403, 'device_revoked']);
    const smuggled = await pushAs(h.app, alice, R2, [...opsOf(R1), ...opsOf(R2)]);
    expect(smuggled.statusCode).toBe(200);
    expect(smuggled.json()).toMatchObject({
      accepted: 1,
      refused: [{ code: 'device_revoked', origin: R1 }],
    });
    // Enrolling that replica again is refused without spending the token.
    const e = await rpcOk<{ token: string }>(h.app, alice, 'device.enroll', { name: 'again' });
    const back = await enrollAs(h.app, e.token, R1);
    expect([back.statusCode, errorOf(back).code]).toEqual([403, 'device_revoked']);
    expect((await enrollAs(h.app, e.token, R3)).statusCode).toBe(200);
    // The positive control: the other device syncs on.
    expect((await pullAs(h.app, alice, R2)).statusCode).toBe(200);
  });

  it('rotation: the new credential works, the old one stops at once; a login cannot rotate', async () => {
    const h = await startHub();
    const alice = await op.mintToken({ sub: 'alice' });
    const d = await enrolDevice(h.app, alice, R1);
    const r = await rotateAs(h.app, d.credential);
    expect(r.statusCode, r.body).toBe(200);
    const next = r.json<{ credential: string }>().credential;
    expect(next).not.toBe(d.credential);
    expect((await pullAs(h.app, next, R1)).statusCode).toBe(200);
    const old = await pullAs(h.app, d.credential, R1);
    expect([old.statusCode, errorOf(old).code]).toEqual([401, 'unauthorized']);
    const asLogin = await rotateAs(h.app, alice);
    expect([asLogin.statusCode, errorOf(asLogin).code]).toEqual([403, 'forbidden']);
  });
});

describe('a login’s long-poll across its replica’s enrolment', () => {
  it('is answered, not refused as revoked, when the hub folds its device into the enrolled one', async () => {
    const h = await startHub();
    const alice = await op.mintToken({ sub: 'alice' });
    // The replica syncs with the login first (registered as a device of its own).
    expect((await pullAs(h.app, alice, R1)).statusCode).toBe(200);
    const waiting = pullAs(h.app, alice, R1, '?after=0&wait=30');
    await expect.poll(() => h.hubStore.waiting(1)).toBe(1);
    const d = await enrolDevice(h.app, alice, R1, 'server');
    expect((await pushAs(h.app, d.credential, R1, opsOf(R1))).statusCode).toBe(200);
    const woke = await waiting;
    expect(woke.statusCode, woke.body).toBe(200);
    // The control: revoking it does refuse the next wait.
    const again = pullAs(h.app, alice, R1, '?after=1&wait=30');
    await expect.poll(() => h.hubStore.waiting(1)).toBe(1);
    await rpcOk(h.app, alice, 'device.revoke', { id: d.id });
    expect((await pushAs(h.app, alice, R2, opsOf(R2))).statusCode).toBe(200);
    const refused = await again;
    expect([refused.statusCode, errorOf(refused).code]).toEqual([403, 'device_revoked']);
  });
});

describe('a device revoking itself (POST /auth/revoke-self)', () => {
  it('takes only a device credential, revokes that device at once, and leaves the others', async () => {
    const h = await startHub();
    const alice = await op.mintToken({ sub: 'alice' });
    const d = await enrolDevice(h.app, alice, R1);
    const other = await enrolDevice(h.app, alice, R2);
    const code = (r: Reply) => [r.statusCode, errorOf(r).code];
    expect(code(await revokeSelfAs(h.app, undefined))).toEqual([401, 'unauthorized']);
    expect(code(await revokeSelfAs(h.app, 'hd_' + 'x'.repeat(43)))).toEqual([401, 'unauthorized']);
    const asLogin = await revokeSelfAs(h.app, alice);
    expect(code(asLogin)).toEqual([403, 'forbidden']);
    expect(errorOf(asLogin).message).toMatch(/takes only one/);
    // Nothing was revoked by the refusals: the device still syncs.
    expect((await pullAs(h.app, d.credential, R1)).statusCode).toBe(200);
    const r = await revokeSelfAs(h.app, d.credential);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({ device: { id: d.id, status: 'revoked' } });
    expect(code(await pullAs(h.app, d.credential, R1))).toEqual([403, 'device_revoked']);
    expect(code(await revokeSelfAs(h.app, d.credential))).toEqual([403, 'device_revoked']);
    const list = await rpcOk<Listed>(h.app, alice, 'device.list');
    expect(list.devices.find((x) => x.id === d.id)?.status).toBe('revoked');
    // The positive control: the other device syncs on.
    expect((await pullAs(h.app, other.credential, R2)).statusCode).toBe(200);
  });

  it('is refused on an open hub', async () => {
    const h = await makeHub({ clock: new ManualClock(Date.now()) });
    cleanups.defer(() => h.close());
    const r = await revokeSelfAs(h.app, undefined);
    expect([r.statusCode, errorOf(r).code]).toEqual([403, 'forbidden']);
    expect(errorOf(r).message).toMatch(/this hub is open/);
  });
});

describe('fifty concurrent exchanges of one token', () => {
  it('over real HTTP: exactly one gets a credential, the others 401', async () => {
    const h = await startHub({}, { listen: true });
    const alice = await op.mintToken({ sub: 'alice' });
    const e = await rpcOk<{ token: string }>(h.app, alice, 'device.enroll', { name: 'race' });
    const replies = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const r = await request(`${h.url}/auth/enroll`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: e.token, replica: replicaId(0x100 + i) }),
        });
        await r.body.dump();
        return r.statusCode;
      }),
    );
    expect(replies.filter((s) => s === 200)).toHaveLength(1);
    expect(replies.filter((s) => s === 401)).toHaveLength(49);
    // One device, enrolled (so just seen) by one of the fifty.
    const list = await rpcOk<Listed>(h.app, alice, 'device.list');
    expect(list.devices.map((d) => d.status)).toEqual(['online']);
    expect(list.devices[0]!.replica).toMatch(/^0{13}1[0-3][0-9a-f]$/);
  });

  it('negative control: a read-then-write exchange on the same tables lets more than one through', async () => {
    const dir = cleanups.dir('heph-nonatomic-');
    const path = join(dir, 'hub.db');
    const now = Date.now();
    const store = SqliteHubStore.open({ path }, { clock: new ManualClock(now) });
    const tokenHash = hashSecret('he_negative-control');
    await store.createEnrolment(
      { owner: 1, id: 'd1', name: 'race', tokenHash, expiresMs: now + 3_600_000 },
      now,
    );
    await store.close();
    const db = new Database(path);
    cleanups.defer(() => void db.close());
    const read = db.prepare(
      'SELECT device FROM enrolment_tokens WHERE hash = ? AND used_ms IS NULL AND expires_ms > ?',
    );
    const write = db.prepare('UPDATE enrolment_tokens SET used_ms = ? WHERE hash = ?');
    // What an exchange without the conditional update's row count would do: check, then write.
    const wins = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const unused = read.get(tokenHash, now) !== undefined;
        await new Promise((r) => setImmediate(r));
        if (!unused) return false;
        write.run(now, tokenHash);
        return true;
      }),
    );
    expect(wins.filter(Boolean).length).toBeGreaterThan(1);
  });
});

describe('an open hub', () => {
  it('lists devices that synced; revoke and enroll explain that revocation needs sign-in', async () => {
    const clock = new ManualClock(Date.now());
    const h = await makeHub({ clock });
    cleanups.defer(() => h.close());
    expect((await pushAs(h.app, undefined, R1, opsOf(R1), { pending: 2 })).statusCode).toBe(200);
    expect((await pullAs(h.app, undefined, R2, '?after=0')).statusCode).toBe(200);
    const list = await rpcOk<Listed>(h.app, undefined, 'device.list');
    expect(list.open_hub).toBe(true);
    const seen = list.devices.map((d) => [d.replica, d.status, d.ops_pushed]);
    expect(seen.sort()).toEqual([
      [R1, 'online', 1],
      [R2, 'online', 0],
    ]);
    const id = list.devices.find((d) => d.replica === R1)!.id;
    for (const [method, params] of [
      ['device.revoke', { id }],
      ['device.enroll', { name: 'x' }],
    ] as const) {
      const e = await rpcError(h.app, undefined, method, params);
      expect(e.code).toBe('forbidden');
      expect(e.message).toMatch(/this hub is open \(no sign-in\).*--oidc-issuer/);
    }
    // Renaming works: a name is not a credential.
    expect(
      await rpcOk<{ device: { name: string } }>(h.app, undefined, 'device.rename', {
        id,
        name: 'desk',
      }),
    ).toMatchObject({ device: { name: 'desk' } });
    const enroll = await enrollAs(h.app, `he_${'E'.repeat(43)}`, R3);
    expect([enroll.statusCode, errorOf(enroll).code]).toEqual([403, 'forbidden']);
    const rotate = await rotateAs(h.app, undefined);
    expect(rotate.statusCode).toBe(403);
    // Still syncing: nothing was revoked.
    expect((await pullAs(h.app, undefined, R1)).statusCode).toBe(200);
  });
});

describe('secrets at rest', () => {
  it('keeps only hashes in hub.db (and its WAL), and no secret in the log', async () => {
    const h = await startHub();
    const alice = await op.mintToken({ sub: 'alice' });
    const d = await enrolDevice(h.app, alice, R1);
    const rotated = (await rotateAs(h.app, d.credential)).json<{ credential: string }>().credential;
    const pending = (
      await rpcOk<{ token: string }>(h.app, alice, 'device.enroll', { name: 'later' })
    ).token;
    const lines = h.lines.join('\n');
    await h.close();
    const files = [join(h.dir, 'hub.db'), join(h.dir, 'hub.db-wal')].filter(existsSync);
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    const secrets = [d.credential, rotated, d.token, pending];
    for (const s of secrets) {
      expect(bytes.includes(s)).toBe(false);
      expect(bytes.includes(s.slice(3))).toBe(false);
      expect(lines.includes(s.slice(3))).toBe(false);
    }
    // Positive control: the scan reads what the tables hold (the hashes are there).
    expect(files.length).toBeGreaterThan(0);
    expect(bytes.includes(hashSecret(rotated))).toBe(true);
    expect(bytes.includes(hashSecret(pending))).toBe(true);
    expect(lines).toMatch(/a device enrolled/);
  });
});
