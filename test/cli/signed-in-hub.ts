// The fixture the CLI's device tests share: a signed-in hub on 127.0.0.1:0 that trusts a real
// OpenID Provider on loopback, started once per file, with alice's access token, her `/rpc`, the
// requests the hub answered, and machines (a temp home with its own hephd syncing with the hub),
// each stopped and removed after the file's last test.

import { request } from 'undici';
import { afterAll, beforeAll, expect } from 'vitest';
import { fileStore, tokensFilePath } from '../../src/auth/file-store.js';
import { systemClock } from '../../src/ports/clock.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';
import { signInWith } from '../hub/device-helpers.js';
import { makeHub, type TestHub } from '../hub/helpers.js';
import {
  assertBuilt,
  baseEnv,
  heph,
  ok,
  startDaemon,
  tempHome,
  type Daemon,
  type Home,
  type Run,
} from './helpers.js';

/** One request the hub answered: its path, status, and the first characters of the bearer. */
export interface Answered {
  url: string;
  status: number;
  auth: string;
}

/** A device: a temp home, its hephd (syncing with the hub) and the built CLI pointed at it. */
export interface Machine {
  home: Home;
  d: Daemon;
  env: Record<string, string>;
  run(args: string[], input?: string): Promise<Run>;
}

export interface SignedInHub {
  readonly op: OidcTestProvider;
  readonly hub: TestHub;
  /** alice's access token (the hub's owner: the first to sign in). */
  readonly alice: string;
  /** Every request the hub answered, in order. */
  readonly seen: Answered[];
  /** A JSON-RPC call on the hub's /rpc as alice; fails the test on an error reply. */
  rpc<T = Record<string, unknown>>(method: string, params?: object): Promise<T>;
  /** A new machine whose hephd syncs with the hub (`daemonArgs` added to its command line);
   *  its daemon is stopped and its home removed after the file's last test. */
  machine(daemonArgs?: readonly string[]): Promise<Machine>;
  /** A new machine enrolled as the device `name` with a token alice made (`heph auth enroll`). */
  enrolled(name: string, daemonArgs?: readonly string[]): Promise<Machine>;
  /** Keeps a sign-in as alice in the machine's 0600 tokens file (as `heph auth login
   *  --insecure-storage`, or an earlier version, leaves it): `token`, alice's by default. */
  keepLogin(m: Machine, token?: string): Promise<void>;
}

/** Starts the provider and the hub before the file's tests and stops them after. */
export function useSignedInHub(): SignedInHub {
  let op: OidcTestProvider | undefined;
  let hub: TestHub | undefined;
  let alice: string | undefined;
  const seen: Answered[] = [];
  const machines: Machine[] = [];
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the signed-in hub starts in beforeAll');
    return v;
  };

  beforeAll(async () => {
    assertBuilt();
    op = await startOidcProvider({ accessTokenTtlSec: 3600 });
    hub = await makeHub({ clock: systemClock, auth: signInWith(op) });
    hub.app.addHook('onResponse', async (req, reply) => {
      const a = req.headers.authorization ?? '';
      seen.push({ url: req.url, status: reply.statusCode, auth: a.slice(7, 10) });
    });
    await hub.listen();
    alice = await op.mintToken({ sub: 'alice' });
  }, 30_000);

  afterAll(async () => {
    for (const m of machines) {
      await m.d.stop();
      m.home.cleanup();
    }
    await hub?.close();
    await op?.close();
  });

  const fixture: SignedInHub = {
    get op() {
      return started(op);
    },
    get hub() {
      return started(hub);
    },
    get alice() {
      return started(alice);
    },
    seen,
    async rpc<T = Record<string, unknown>>(method: string, params: object = {}): Promise<T> {
      const r = await request(`${fixture.hub.url}/rpc`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fixture.alice}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      });
      const body = (await r.body.json()) as { result?: T; error?: unknown };
      expect(body.error, JSON.stringify(body.error)).toBeUndefined();
      return body.result!;
    },
    async machine(daemonArgs = []) {
      const home = tempHome();
      const d = await startDaemon(
        home.dir,
        ['--hub-url', fixture.hub.url, ...daemonArgs],
        home.env,
      );
      const env = baseEnv({ ...home.env, HEPH_SOCKET: d.socket });
      const m: Machine = {
        home,
        d,
        env,
        run: (args, input) => heph(args, { env, ...(input !== undefined && { input }) }),
      };
      machines.push(m);
      return m;
    },
    async enrolled(name, daemonArgs = []) {
      const m = await fixture.machine(daemonArgs);
      const e = await fixture.rpc<{ token: string }>('device.enroll', { name });
      ok(await m.run(['auth', 'enroll', '--hub', fixture.hub.url], e.token));
      return m;
    },
    async keepLogin(m, token = fixture.alice) {
      const { op: provider, hub: h } = fixture;
      await fileStore({ path: tokensFilePath(m.home.env) }).set(h.url, {
        access_token: token,
        expires_at: Date.now() + 3_600_000,
        token_type: 'Bearer',
        issuer: provider.issuer,
        client_id: provider.clientId,
        audience: provider.audience,
        sub: 'alice',
      });
    },
  };
  return fixture;
}
