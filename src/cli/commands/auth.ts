// `heph auth login|status|logout`: signing in to a hub. login asks the hub which identity
// provider, client and audience to use (GET /config), runs the device flow (the code and URL go
// to stderr, never into --json output), and keeps the tokens in the OS keyring, or, only when the
// user opts in with --insecure-storage (or HEPH_INSECURE_STORAGE=1) and no keyring is available,
// in a 0600 file after a warning. Results never contain a token.

import { resolveDaemonConfig } from '../../config/config.js';
import { HephError } from '../../core/errors.js';
import { systemClock, type Clock } from '../../ports/clock.js';
import type { HubConfig } from '../../protocol/sync.js';
import { HubClient } from '../../sync/hub-client.js';
import { login as deviceLogin, realSleep, type LoginOptions } from '../../auth/device-flow.js';
import { fileStore, tokensFilePath } from '../../auth/file-store.js';
import { keyringStore } from '../../auth/keyring-store.js';
import { hubKey, type TokenStore, type Tokens } from '../../auth/token-store.js';
import { checkProviderUrl, CLI_OPT_IN } from '../../auth/url-policy.js';
import { flag, optArg, type Args } from '../args.js';
import type { Cli } from '../context.js';
import type { Output } from '../output.js';
import { isRec } from '../wire.js';

/** What the auth commands use from the outside world; tests pass their own. */
export interface AuthDeps {
  keyring: TokenStore;
  file: TokenStore;
  hubConfig(hub: string, insecureHttp: boolean): Promise<HubConfig>;
  /** Runs the device flow (LoginOptions minus what the command fills in). */
  login(o: LoginOptions): Promise<Tokens>;
  clock: Clock;
  /** Extra device-flow options (tests: a loopback provider, an injected sleep). */
  loginOptions?: Partial<LoginOptions>;
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v);
}

export function authDeps(cli: Cli): AuthDeps {
  return {
    keyring: keyringStore(),
    file: fileStore({ path: tokensFilePath(cli.env), warn: (w) => cli.note(`heph: ${w}`) }),
    async hubConfig(hub, insecureHttp) {
      const client = new HubClient({ url: hub, origin: 'heph-auth', insecureHttp });
      try {
        return await client.config();
      } finally {
        await client.close();
      }
    },
    login: deviceLogin,
    clock: systemClock,
    loginOptions: { sleep: realSleep },
  };
}

/** --hub, else the hub the running daemon syncs with, else HEPH_HUB_URL or the config file's. */
async function hubOf(cli: Cli, a: Args): Promise<{ hub: string; from: string }> {
  const given = optArg(a, 'hub');
  if (given !== undefined) return { hub: hubKey(given), from: '--hub' };
  const st = await cli.ask('sync.status', {}, 2000);
  const running = isRec(st) && typeof st.hub === 'string' ? st.hub : undefined;
  if (running !== undefined) return { hub: hubKey(running), from: 'the hub hephd syncs with' };
  const configured = resolveDaemonConfig({}, cli.env, cli.cwd).hubUrl;
  if (configured !== undefined) return { hub: hubKey(configured), from: 'the configured hub' };
  throw new HephError(
    'invalid_params',
    'which hub? Pass --hub https://hub.example.org (or start hephd with --hub-url, or set hub_url in the config file)',
    { field: 'hub' },
  );
}

/** --insecure-http: plain http to the hub, and to the identity provider, off loopback. */
function insecureHttp(cli: Cli, a: Args): boolean {
  return (
    flag(a, 'insecure-http') ||
    truthy(cli.env.HEPH_INSECURE_HTTP) ||
    resolveDaemonConfig({}, cli.env, cli.cwd).insecureHttp === true
  );
}

function who(t: Tokens): string {
  return t.name ?? t.sub ?? 'an unnamed account';
}

function describeTokens(hub: string, t: Tokens, store: TokenStore, now: number) {
  return {
    hub,
    user: t.name ?? null,
    subject: t.sub ?? null,
    issuer: t.issuer,
    audience: t.audience,
    expires_at: new Date(t.expires_at).toISOString(),
    expired: t.expires_at <= now,
    renewable: t.refresh_token !== undefined,
    storage: store.kind,
    location: store.location,
  };
}

/** The store to write new tokens to: the keyring, or the file if allowed and needed. */
async function storeForLogin(deps: AuthDeps, allowFile: boolean): Promise<TokenStore> {
  const st = await deps.keyring.status();
  if (st.available) return deps.keyring;
  if (allowFile) return deps.file;
  throw new HephError(
    'unavailable',
    `no OS keyring is available to keep your sign-in: ${st.reason}. Start a Secret Service ` +
      `(for example gnome-keyring or KeePassXC) and try again, or run \`heph auth login ` +
      `--insecure-storage\` to keep the tokens in ${deps.file.location}, readable only by you`,
    { store: 'keyring' },
  );
}

export async function login(cli: Cli, a: Args, deps: AuthDeps = authDeps(cli)): Promise<Output> {
  const { hub, from } = await hubOf(cli, a);
  // Chosen for the user: say which before anything else happens.
  if (from !== '--hub') cli.note(`Signing in to ${hub} (${from})`);
  const insecure = insecureHttp(cli, a);
  const cfg = await deps.hubConfig(hub, insecure);
  if (cfg.issuer === null && cfg.client_id === null && cfg.audience === null) {
    return {
      kind: 'summary',
      heading: `${hub} does not require sign-in`,
      data: { hub, sign_in_required: false },
    };
  }
  if (cfg.issuer === null || cfg.client_id === null || cfg.audience === null) {
    throw new HephError(
      'unavailable',
      `${hub} names only part of its sign-in settings (issuer, client id, audience); ` +
        `ask its operator to set all three`,
    );
  }
  // Checked before the user is sent to a browser, so a refused provider or a missing keyring
  // is known up front.
  checkProviderUrl(cfg.issuer, { insecureHttp: insecure, optIn: CLI_OPT_IN });
  const store = await storeForLogin(
    deps,
    flag(a, 'insecure-storage') ||
      resolveDaemonConfig({}, cli.env, cli.cwd).insecureStorage === true,
  );
  const tokens = await deps.login({
    ...deps.loginOptions,
    issuer: cfg.issuer,
    clientId: cfg.client_id,
    audience: cfg.audience,
    ...(insecure && { insecureHttp: true }),
    clock: deps.clock,
    print: (line) => cli.note(line),
  });
  await store.set(hub, tokens);
  if (store.kind === 'keyring') await deps.file.delete(hub).catch(() => false);
  return {
    kind: 'summary',
    heading: `Signed in to ${hub} as ${who(tokens)}`,
    data: describeTokens(hub, tokens, store, deps.clock.now()),
  };
}

export async function status(cli: Cli, a: Args, deps: AuthDeps = authDeps(cli)): Promise<Output> {
  const { hub } = await hubOf(cli, a);
  const keyring = await deps.keyring.status();
  const keyringNote = keyring.available ? 'available' : `not available: ${keyring.reason}`;
  const stores = keyring.available ? [deps.keyring, deps.file] : [deps.file];
  for (const store of stores) {
    const t = await store.get(hub);
    if (t === undefined) continue;
    return {
      kind: 'summary',
      heading: `Signed in to ${hub} as ${who(t)}`,
      data: {
        signed_in: true,
        ...describeTokens(hub, t, store, deps.clock.now()),
        keyring: keyringNote,
      },
    };
  }
  return {
    kind: 'summary',
    heading: `Not signed in to ${hub}`,
    data: { hub, signed_in: false, keyring: keyringNote },
  };
}

export async function logout(cli: Cli, a: Args, deps: AuthDeps = authDeps(cli)): Promise<Output> {
  const { hub } = await hubOf(cli, a);
  const removed: string[] = [];
  if (await deps.keyring.available()) {
    if (await deps.keyring.delete(hub)) removed.push(deps.keyring.kind);
  }
  if (await deps.file.delete(hub)) removed.push(deps.file.kind);
  return {
    kind: 'summary',
    heading: removed.length > 0 ? `Signed out of ${hub}` : `Was not signed in to ${hub}`,
    data: { hub, removed_from: removed },
  };
}
