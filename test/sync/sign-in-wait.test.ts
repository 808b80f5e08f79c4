// A device's sync with no credential, against a real hub on 127.0.0.1:0 that trusts a real
// OpenID Provider on loopback and limits failed sign-ins as it does in production (10 at once,
// then 10 a minute, on the hub's injected clock): the device's loop runs on fake timers, and each
// simulated second is followed by waiting for the requests it started to be answered, so five
// minutes are counted request by request, without the wall clock.

import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { openStore } from '../../src/store/open-store.js';
import { SyncService } from '../../src/sync/sync-service.js';
import { startOidcProvider } from '../helpers/oidc-provider.js';
import { tempDir } from '../helpers/temp.js';
import { signInWith } from '../hub/device-helpers.js';
import { makeHub } from '../hub/helpers.js';

let cleanups: (() => Promise<void> | void)[] = [];
beforeEach(() => {
  cleanups = [];
});
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanups.reverse()) await c();
});

/** Real IO settles on real turns of the event loop (setImmediate is not faked). */
async function until(cond: () => boolean, what: () => string): Promise<void> {
  for (let i = 0; i < 200_000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what()}`);
}

it('a device with no credential asks its hub once in five minutes, and the hub still says why', async () => {
  let now = Date.UTC(2026, 11, 6, 3);
  const clock = { now: () => now };
  const op = await startOidcProvider();
  cleanups.push(() => op.close());
  // The hub's failure limit runs on the same simulated time (the default: 10, then 10 a minute).
  const { limiter: _none, ...auth } = signInWith(op);
  const hub = await makeHub({ clock, auth: { ...auth, clock } });
  cleanups.push(() => hub.close());
  const answered: { url: string; status: number }[] = [];
  hub.app.addHook('onResponse', async (req, reply) => {
    answered.push({ url: req.url, status: reply.statusCode });
  });
  await hub.listen();
  const t = tempDir('heph-signin-');
  cleanups.push(() => t.cleanup());
  const store = openStore({ path: join(t.dir, 'heph.db') }, { clock, random: seededRandom(3) });
  cleanups.push(() => store.close());
  const sync = new SyncService(
    { hubUrl: hub.url, longPollS: 0 },
    {
      store,
      clock,
      random: seededRandom(5),
      logger: silentLogger,
      getToken: () => Promise.resolve(undefined),
    },
  );
  cleanups.push(() => sync.stop());
  // Every exchange begins with a pull: counting them counts the requests the loop started.
  let started = 0;
  const pull = sync.client.pull.bind(sync.client);
  sync.client.pull = (...a) => {
    started++;
    return pull(...a);
  };
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  sync.start();
  const sent = (): number => answered.filter((a) => a.url.startsWith('/sync/')).length;
  for (let s = 0; s < 300; s++) {
    now += 1000;
    await vi.advanceTimersByTimeAsync(1000);
    // Every request this second started is answered, and its failure taken by the loop.
    await until(
      () => sent() >= started && sync.loop.failing >= started,
      () => `replies: ${started} started, ${sent()} answered, ${sync.loop.failing} failing`,
    );
  }
  vi.useRealTimers();
  const syncs = answered.filter((a) => a.url.startsWith('/sync/'));
  expect(syncs.map((a) => a.status)).toEqual([401]);
  expect(sync.status().verdict).toMatch(/^not syncing: sign-in needed \(.+\)/);
  // The same address, a minute on, is told the real reason for a bad enrolment token: 401.
  const r = await fetch(`${hub.url}/auth/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: `he_${'A'.repeat(43)}`, replica: store.origin }),
  });
  expect(r.status).toBe(401);
}, 120_000);
