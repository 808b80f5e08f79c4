// A device with no credential waits for one instead of asking its hub again and again: a real
// hub on 127.0.0.1:0 that trusts a real OpenID Provider on loopback and limits failed
// sign-ins (its limiter's clock stands still, so it never refills: every failure counts), a real
// hephd with nothing enrolled, the real CLI. The requests the hub answered are counted at points
// the test waits for (a refusal seen, a sync that succeeded), never after a wall-clock pause.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFailureLimiter } from '../../src/auth/rate-limit.js';
import { systemClock } from '../../src/ports/clock.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';
import { signInWith } from '../hub/device-helpers.js';
import { eventually, makeHub, type TestHub } from '../hub/helpers.js';
import {
  assertBuilt,
  baseEnv,
  heph,
  json,
  ok,
  startDaemon,
  tempHome,
  type Daemon,
  type Home,
} from './helpers.js';

interface Answered {
  url: string;
  status: number;
  bearer: boolean;
}

let op: OidcTestProvider;
let hub: TestHub;
const seen: Answered[] = [];

beforeAll(async () => {
  assertBuilt();
  op = await startOidcProvider({ accessTokenTtlSec: 3600 });
  hub = await makeHub({
    clock: systemClock,
    // Three failures, then 429 for good: any retry of the daemon's would be caught.
    auth: {
      ...signInWith(op),
      limiter: createFailureLimiter({ clock: { now: () => 0 }, burst: 3, perMinute: 1e-9 }),
    },
  });
  hub.app.addHook('onResponse', async (req, reply) => {
    seen.push({
      url: req.url,
      status: reply.statusCode,
      bearer: req.headers.authorization !== undefined,
    });
  });
  await hub.listen();
}, 30_000);

afterAll(async () => {
  await hub?.close();
  await op?.close();
});

/** The daemon's own sync requests (the CLI's go to /auth and /rpc). */
const syncs = (): Answered[] => seen.filter((a) => a.url.startsWith('/sync/'));

describe('a device without a credential', () => {
  let home: Home;
  let d: Daemon;
  afterAll(async () => {
    await d?.stop();
    home?.cleanup();
  });

  it('asks the hub once, says why, and syncs as soon as it is enrolled', async () => {
    home = tempHome();
    d = await startDaemon(home.dir, ['--hub-url', hub.url], home.env);
    const run = (args: string[], input?: string) =>
      heph(args, {
        env: baseEnv({ ...home.env, HEPH_SOCKET: d.socket }),
        ...(input !== undefined && { input }),
      });
    await eventually(() => Promise.resolve(syncs().length >= 1), 'the first sync request');
    expect(syncs()[0]).toMatchObject({ status: 401, bearer: false });
    let st = json(await run(['sync', 'status', '--json']));
    expect(st.state).toBe('sign_in');
    expect(st.verdict).toMatch(/^not syncing: sign-in needed \(.+\)/);

    // An enrolment token that is no good is refused as such (401), not "too many failed
    // authentications" (429): the daemon left the hub's failure limit alone.
    const bad = await run(
      ['auth', 'enroll', '--hub', hub.url],
      `he_${randomBytes(32).toString('base64url')}`,
    );
    expect(bad.code, bad.stderr).toBe(6);
    expect(bad.stderr).toMatch(/refused the enrolment token/);
    expect(seen.filter((a) => a.status === 429)).toEqual([]);

    // `heph sync` asks the hub at once, and says what is wrong.
    const s = await run(['sync']);
    expect(s.code).toBe(6);
    expect(s.stderr).toMatch(/needs sign-in/);
    expect(syncs().map((a) => a.status)).toEqual([401, 401]);

    // Enrolled: hephd notices the credential and syncs unasked.
    const made = await rpcAsAlice<{ token: string }>('device.enroll', { name: 'laptop' });
    const enrolled = ok(await run(['auth', 'enroll', '--hub', hub.url], made.token));
    expect(enrolled.stdout).toContain('within seconds if it was waiting for a sign-in');
    await eventually(
      () => Promise.resolve(syncs().some((a) => a.status === 200 && a.bearer)),
      'a sync with the credential',
    );
    await eventually(async () => {
      st = json(await run(['sync', 'status', '--json']));
      return st.state === 'in_sync';
    }, 'in sync');
    // Two refusals in all: the start and `heph sync`; nothing on a timer.
    expect(syncs().filter((a) => a.status !== 200)).toEqual([
      { url: expect.stringMatching(/^\/sync\//), status: 401, bearer: false },
      { url: expect.stringMatching(/^\/sync\//), status: 401, bearer: false },
    ]);
  }, 60_000);
});

async function rpcAsAlice<T>(method: string, params: object): Promise<T> {
  const alice = await op.mintToken({ sub: 'alice' });
  const r = await fetch(`${hub.url}/rpc`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await r.json()) as { result?: T; error?: unknown };
  expect(body.error, JSON.stringify(body.error)).toBeUndefined();
  return body.result!;
}
