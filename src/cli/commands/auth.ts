// `heph auth login|enroll|rotate|status|logout`: signing in to a hub, and this device's own
// credential. login asks the hub which identity provider, client and audience to use (GET
// /config), runs the device flow (the code and URL go to stderr, never into --json output), then
// asks the hub (POST /auth/device, with that login) for this device's credential, bound to the
// running daemon's replica id, and keeps it as enroll does; the login's tokens are not kept
// (one kept by an earlier version is removed) but handed to hephd, which holds them in memory
// for 15 minutes for hub administration. `login --admin` keeps them too: in the OS keyring, or,
// only when the user opts in with --insecure-storage (or HEPH_INSECURE_STORAGE=1) and no
// keyring is available, in a 0600 file after a warning. enroll exchanges a one-time enrolment
// token (read from --token-file, a pipe or a hidden prompt, never from the command line) at
// POST /auth/enroll for this device's credential, and keeps it in the keyring or, where none is
// reachable, in a 0600 file without asking (a machine's key, like an SSH host key); hephd uses it
// from its next request. rotate replaces it (POST /auth/rotate). logout revokes it on the hub
// (POST /auth/revoke-self) before forgetting it. Results never contain a token or credential.

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { arch, availableParallelism, hostname, platform, totalmem } from 'node:os';
import { z } from 'zod';
import {
  describeCredential,
  DEVICE_CREDENTIAL_RE,
  deviceCredentialStores,
  heldCredential,
  storeForCredential,
  type DeviceCredential,
  type DeviceCredentialStore,
  type DeviceCredentialStores,
} from '../../auth/device-credential.js';
import { resolveDaemonConfig } from '../../config/config.js';
import { packageVersion } from '../../config/package-version.js';
import { HephError, isHephError } from '../../core/errors.js';
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
  device: DeviceCredentialStores;
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
    device: deviceCredentialStores(cli.env),
  };
}

/** --hub, else the hub the running daemon syncs with, else HEPH_HUB_URL or the config file's. */
export async function hubOf(cli: Cli, a: Args): Promise<{ hub: string; from: string }> {
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
export function insecureHttp(cli: Cli, a: Args): boolean {
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

/** The hub's sign-in settings; undefined for an open hub (no sign-in). */
export async function signInSettings(
  hub: string,
  insecure: boolean,
  deps: AuthDeps,
): Promise<{ issuer: string; client_id: string; audience: string } | undefined> {
  const cfg = await deps.hubConfig(hub, insecure);
  if (cfg.issuer === null && cfg.client_id === null && cfg.audience === null) return undefined;
  if (cfg.issuer === null || cfg.client_id === null || cfg.audience === null) {
    throw new HephError(
      'unavailable',
      `${hub} names only part of its sign-in settings (issuer, client id, audience); ` +
        `ask its operator to set all three`,
    );
  }
  // Checked before the user is sent to a browser.
  checkProviderUrl(cfg.issuer, { insecureHttp: insecure, optIn: CLI_OPT_IN });
  return { issuer: cfg.issuer, client_id: cfg.client_id, audience: cfg.audience };
}

/** The owner's device-code sign-in (the code and URL go to stderr); its tokens. */
export function signIn(
  cli: Cli,
  cfg: { issuer: string; client_id: string; audience: string },
  insecure: boolean,
  deps: AuthDeps,
): Promise<Tokens> {
  return deps.login({
    ...deps.loginOptions,
    issuer: cfg.issuer,
    clientId: cfg.client_id,
    audience: cfg.audience,
    ...(insecure && { insecureHttp: true }),
    clock: deps.clock,
    print: (line) => cli.note(line),
  });
}

/** Hands a fresh sign-in to hephd, which holds it in memory for hub administration. */
export async function holdAdmin(cli: Cli, hub: string, t: Tokens): Promise<number | undefined> {
  const r = await cli.ask(
    'auth.hold_admin',
    { hub, token: t.access_token, expires_at: t.expires_at },
    2000,
  );
  return isRec(r) && typeof r.held_until === 'number' ? r.held_until : undefined;
}

/** The running daemon's replica id (a device credential is bound to it), or a clear error. */
async function daemonReplica(cli: Cli, hub: string, what: string): Promise<string> {
  const replica = await runningReplica(cli);
  if (replica === undefined) {
    throw new HephError(
      'unavailable',
      `hephd is not running here (or runs in client mode): start it first, for example ` +
        `\`heph daemon start --hub-url ${hub}\`, then ${what}; the device credential is bound ` +
        'to its replica id',
    );
  }
  return replica;
}

/** The name the running daemon gave this device (`--device-name`, else the host name), which
 *  every device already shows for its changes; the host name if it says none. */
async function runningDeviceName(cli: Cli): Promise<string> {
  const st = await cli.ask('sync.status', {}, 5000);
  return isRec(st) && typeof st.device_name === 'string' && st.device_name !== ''
    ? st.device_name
    : hostname();
}

/** The running daemon's replica id, if a local-mode hephd answers. */
export async function runningReplica(cli: Cli): Promise<string | undefined> {
  const st = await cli.ask('sync.status', {}, 5000);
  return isRec(st) && typeof st.replica_id === 'string' ? st.replica_id : undefined;
}

/** Asks the hub, with the owner's fresh login, for this replica's credential, and keeps it. */
async function deviceCredential(
  hub: string,
  device: { replica: string; name: string },
  insecure: boolean,
  tokens: Tokens,
  deps: AuthDeps,
) {
  const { replica, name } = device;
  const client = new HubClient({
    url: hub,
    origin: replica,
    insecureHttp: insecure,
    getToken: () => Promise.resolve(tokens.access_token),
  });
  let reply: unknown;
  try {
    reply = await client.post('/auth/device', { replica, name, ...machineFacts() });
  } finally {
    await client.close();
  }
  const { record, store } = await keepReply(deps, hub, replica, reply, '/auth/device');
  return describeCredential(record, store);
}

/** Keeps the credential of a reply to POST /auth/device or /auth/enroll; what was kept where. */
async function keepReply(
  deps: AuthDeps,
  hub: string,
  replica: string,
  reply: unknown,
  route: string,
): Promise<{ record: DeviceCredential; store: DeviceCredentialStore }> {
  const parsed = EnrollReply.safeParse(reply);
  if (!parsed.success) {
    throw new HephError('protocol_mismatch', `${hub} sent a malformed reply to POST ${route}`);
  }
  const { credential, device } = parsed.data;
  const record = {
    credential,
    device_id: device.id,
    name: device.name,
    replica,
    enrolled_at: new Date(deps.clock.now()).toISOString(),
  };
  return { record, store: await keepCredential(deps, hub, record) };
}

/** What this machine tells the hub about itself when it gets a credential. */
function machineFacts() {
  return {
    platform: platform(),
    arch: arch(),
    cpus: availableParallelism(),
    memory_bytes: totalmem(),
    version: packageVersion(),
  };
}

/** Keeps a new device credential for `hub` (keyring, else the 0600 file) and drops a copy in
 *  the other store, so one credential per hub is held. */
async function keepCredential(
  deps: AuthDeps,
  hub: string,
  record: DeviceCredential,
): Promise<DeviceCredentialStore> {
  const store = await storeForCredential(deps.device);
  await store.set(hub, record);
  if (store.kind === 'keyring') await deps.device.file.delete(hub).catch(() => false);
  return store;
}

export async function login(cli: Cli, a: Args, deps: AuthDeps = authDeps(cli)): Promise<Output> {
  const { hub, from } = await hubOf(cli, a);
  // Chosen for the user: say which before anything else happens.
  if (from !== '--hub') cli.note(`Signing in to ${hub} (${from})`);
  const insecure = insecureHttp(cli, a);
  const cfg = await signInSettings(hub, insecure, deps);
  if (cfg === undefined) {
    return {
      kind: 'summary',
      heading: `${hub} does not require sign-in`,
      data: { hub, sign_in_required: false },
    };
  }
  const admin = flag(a, 'admin');
  // Known before the user is sent to a browser: a missing keyring for --admin, a daemon that
  // is not running.
  const loginStore = admin
    ? await storeForLogin(
        deps,
        flag(a, 'insecure-storage') ||
          resolveDaemonConfig({}, cli.env, cli.cwd).insecureStorage === true,
      )
    : undefined;
  // --admin alone (an administrator's machine without hephd) keeps the login and enrols
  // nothing; otherwise hephd must run, for the replica id the credential is bound to.
  const replica = admin
    ? await runningReplica(cli)
    : await daemonReplica(
        cli,
        hub,
        'sign in (a client-mode hephd keeps no replica: it syncs with a login kept by ' +
          '`heph auth login --admin`)',
      );
  const tokens = await signIn(cli, cfg, insecure, deps);
  const lines = [`Signed in to ${hub} as ${who(tokens)}`];
  let device: ReturnType<typeof describeCredential> | null = null;
  if (replica !== undefined) {
    const name = await runningDeviceName(cli);
    const got = await deviceCredential(hub, { replica, name }, insecure, tokens, deps);
    device = got;
    lines.push(
      `This device is "${got.name}" (${got.device_id}); its own credential is kept in ` +
        got.location,
    );
  } else {
    lines.push(
      'hephd is not running, so this device got no credential of its own: start it and ' +
        `run \`heph auth login --hub ${hub}\` to enrol it`,
    );
  }
  const held = await holdAdmin(cli, hub, tokens);
  let login: ReturnType<typeof describeTokens> | null = null;
  if (loginStore !== undefined) {
    await loginStore.set(hub, tokens);
    if (loginStore.kind === 'keyring') await deps.file.delete(hub).catch(() => false);
    login = describeTokens(hub, tokens, loginStore, deps.clock.now());
    lines.push(`Your login is kept too, in ${loginStore.location}, for hub administration`);
  } else {
    // A login kept by an earlier version (or an earlier --admin) is dropped: the device now
    // syncs with its own credential, and a stolen laptop holds no standing admin power.
    const fromKeyring = (await deps.keyring.available()) && (await deps.keyring.delete(hub));
    const dropped = (await deps.file.delete(hub)) || fromKeyring;
    lines.push(
      (dropped ? 'The login kept here before was removed; ' : '') +
        (held !== undefined
          ? `hephd holds your sign-in in memory for ${Math.round((held - Date.now()) / 60_000)} ` +
            `minutes (until ${new Date(held).toISOString()}) for \`heph device …\``
          : '`heph device …` asks you to sign in again (your login is not kept)'),
    );
  }
  return {
    kind: 'summary',
    heading: lines.join('\n'),
    data: {
      hub,
      user: tokens.name ?? null,
      subject: tokens.sub ?? null,
      device,
      login,
      admin_held_until: held === undefined ? null : new Date(held).toISOString(),
    },
  };
}

export async function status(cli: Cli, a: Args, deps: AuthDeps = authDeps(cli)): Promise<Output> {
  const { hub } = await hubOf(cli, a);
  const keyring = await deps.keyring.status();
  const keyringNote = keyring.available ? 'available' : `not available: ${keyring.reason}`;
  const held = await heldCredential(deps.device, hub);
  const device = held === undefined ? null : describeCredential(held.held, held.store);
  const deviceLine =
    device === null
      ? `This device holds no device credential for ${hub}`
      : `This device holds its own credential for ${hub}: device "${device.name}" ` +
        `(${device.device_id}), kept in ${device.location}`;
  const stores = keyring.available ? [deps.keyring, deps.file] : [deps.file];
  for (const store of stores) {
    const t = await store.get(hub);
    if (t === undefined) continue;
    // A login kept without a credential: an earlier version's sign-in, which still syncs.
    const upgrade =
      device === null
        ? `\nThis device syncs with your login: run \`heph auth login --hub ${hub}\` to give ` +
          'it its own credential (your login is then no longer kept here)'
        : '';
    return {
      kind: 'summary',
      heading: `Signed in to ${hub} as ${who(t)}\n${deviceLine}${upgrade}`,
      data: {
        signed_in: true,
        ...describeTokens(hub, t, store, deps.clock.now()),
        keyring: keyringNote,
        device,
      },
    };
  }
  // No login kept: say whether hephd holds a recent sign-in for `heph device …` (never the
  // token itself).
  const admin = await cli.ask('auth.admin_token', { hub }, 2000);
  const until = isRec(admin) && typeof admin.held_until === 'number' ? admin.held_until : null;
  const adminLine =
    until === null
      ? 'No login is kept here: `heph device …` asks you to sign in'
      : `No login is kept here; hephd holds your sign-in in memory until ` +
        `${new Date(until).toISOString()} for \`heph device …\``;
  return {
    kind: 'summary',
    heading:
      device === null ? `Not signed in to ${hub}\n${deviceLine}` : `${deviceLine}\n${adminLine}`,
    data: {
      hub,
      signed_in: false,
      keyring: keyringNote,
      device,
      admin_held_until: until === null ? null : new Date(until).toISOString(),
    },
  };
}

/**
 * An unreadable device credential cannot revoke itself on the hub: logout removes it here (so
 * the device can enrol again) and says how to revoke it; an entry it cannot even remove is named.
 */
async function forgetDamagedCredential(
  cli: Cli,
  deps: AuthDeps,
  hub: string,
  removed: string[],
): Promise<void> {
  const stuck: string[] = [];
  for (const store of [deps.device.keyring, deps.device.file]) {
    try {
      if (await store.delete(hub)) removed.push(`unreadable device credential (${store.kind})`);
    } catch {
      if ((await store.status()).available) stuck.push(store.location);
    }
  }
  cli.note(
    `The device credential for ${hub} here was unreadable, so it was not revoked on the hub: ` +
      'revoke this device from a signed-in machine (`heph device list`, then `heph device ' +
      'revoke ID`).' +
      (stuck.length > 0 ? ` Remove by hand what could not be read: ${stuck.join(', ')}.` : ''),
  );
}

export async function logout(cli: Cli, a: Args, deps: AuthDeps = authDeps(cli)): Promise<Output> {
  const { hub } = await hubOf(cli, a);
  const removed: string[] = [];
  // The device credential is revoked on the hub first: forgetting it here alone would leave a
  // live credential in any copy of this machine's files.
  const held = await heldCredential(deps.device, hub).catch(async (e: unknown) => {
    if (!(e instanceof HephError && e.code === 'storage')) throw e;
    await forgetDamagedCredential(cli, deps, hub, removed);
    return undefined;
  });
  let revoked: { device_id: string; name: string } | null = null;
  if (held !== undefined) {
    const { held: c, store } = held;
    const client = new HubClient({
      url: hub,
      origin: c.replica,
      insecureHttp: insecureHttp(cli, a),
      getToken: () => Promise.resolve(c.credential),
    });
    try {
      await client.post('/auth/revoke-self');
    } catch (e) {
      const gone =
        e instanceof HephError &&
        (e.details.hub_code === 'device_revoked' || e.code === 'unauthorized');
      if (!gone) {
        throw new HephError(
          isHephError(e) ? e.code : 'unavailable',
          `could not revoke this device's credential on ${hub}, so it is kept here: ` +
            `${e instanceof Error ? e.message : String(e)}. Try again, or revoke it from a ` +
            `signed-in machine with \`heph device revoke ${c.device_id}\``,
          { hub, device_id: c.device_id },
        );
      }
      // Already revoked (or unknown to the hub): nothing left to revoke there.
    } finally {
      await client.close();
    }
    await store.delete(hub);
    revoked = { device_id: c.device_id, name: c.name };
    removed.push(`device credential (${store.kind})`);
  }
  if (await deps.keyring.available()) {
    if (await deps.keyring.delete(hub)) removed.push(deps.keyring.kind);
  }
  const forgot = await cli.ask('auth.admin_token', { hub, forget: true }, 2000);
  if (isRec(forgot) && forgot.forgot === true) removed.push('hephd memory');
  if (await deps.file.delete(hub)) removed.push(deps.file.kind);
  const heading =
    revoked !== null
      ? `Revoked this device ("${revoked.name}", ${revoked.device_id}) on ${hub} and signed out`
      : removed.length > 0
        ? `Signed out of ${hub}`
        : `Was not signed in to ${hub}`;
  return { kind: 'summary', heading, data: { hub, removed_from: removed, revoked } };
}

const ENROLMENT_TOKEN_RE = /^he_[A-Za-z0-9_-]{43}$/;

const EnrollReply = z.object({
  credential: z.string().regex(DEVICE_CREDENTIAL_RE),
  device: z.object({ id: z.string().min(1), name: z.string(), replica: z.string() }),
});

/** The enrolment token, from --token-file, a pipe, or a prompt that does not echo. */
async function readEnrolmentToken(cli: Cli, a: Args): Promise<string> {
  const file = optArg(a, 'token-file');
  let text: string;
  if (file !== undefined) {
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      throw new HephError(
        'io',
        `could not read --token-file ${file}: ${typeof code === 'string' ? code : 'error'}`,
        { path: file },
      );
    }
  } else if (!cli.stdinIsTTY) {
    text = await cli.readStdin();
  } else {
    text = await cli
      .readSecret('Enrolment token (he_…, not shown as you type or paste): ')
      .catch(() => '');
  }
  const token = text.trim();
  if (token === '') {
    throw new HephError(
      'invalid_params',
      'no enrolment token given: pipe it in (`heph auth enroll --hub URL < token.txt`), ' +
        'pass --token-file PATH, or type it at the prompt',
      { field: 'token' },
    );
  }
  if (!ENROLMENT_TOKEN_RE.test(token)) {
    throw new HephError(
      'invalid_params',
      'that is not an enrolment token: one is `he_` and 43 letters, digits, `-` or `_`, ' +
        'as `heph device enroll` printed it',
      { field: 'token' },
    );
  }
  return token;
}

interface Rejoined {
  previous: string;
  replica: string;
  restamped: number;
}

/** Has hephd take the replica id a new credential is bound to (this device was revoked). */
async function rejoin(cli: Cli, replica: string): Promise<Rejoined> {
  const r = await cli.call('sync.rejoin', { replica });
  if (
    !isRec(r) ||
    typeof r.previous !== 'string' ||
    typeof r.replica !== 'string' ||
    typeof r.restamped !== 'number'
  ) {
    throw new HephError('protocol_mismatch', 'hephd sent a malformed reply to sync.rejoin');
  }
  return { previous: r.previous, replica: r.replica, restamped: r.restamped };
}

function rejoined(
  hub: string,
  held: { device_id: string; name: string },
  r: Rejoined,
  location?: string,
): Output {
  const lines = [
    `Enrolled this device again with ${hub} as "${held.name}" (${held.device_id})`,
    `It was revoked there, so it is a new replica now (${r.replica}; was ${r.previous})`,
    r.restamped === 0
      ? 'Nothing was waiting to upload'
      : `${r.restamped} change${r.restamped === 1 ? '' : 's'} the hub never received ` +
        `${r.restamped === 1 ? 'was' : 'were'} re-stamped under the new id and ` +
        `${r.restamped === 1 ? 'is' : 'are'} being uploaded`,
    ...(location !== undefined ? [`Its credential is kept in ${location}`] : []),
  ];
  return {
    kind: 'summary',
    heading: lines.join('\n'),
    data: { hub, enrolled: true, rejoined: r, device_id: held.device_id, name: held.name },
  };
}

export async function enroll(cli: Cli, a: Args, deps: AuthDeps = authDeps(cli)): Promise<Output> {
  const { hub, from } = await hubOf(cli, a);
  if (from !== '--hub') cli.note(`Enrolling this device with ${hub} (${from})`);
  const st = await cli.ask('sync.status', {}, 5000);
  const replica = await daemonReplica(cli, hub, 'enrol');
  const daemonHub = isRec(st) && typeof st.hub === 'string' ? hubKey(st.hub) : undefined;
  // A device the hub revoked enrols again as a new replica (the hub refuses its old id for
  // good): its credential is bound to a new id, which hephd then takes (sync.rejoin).
  const revoked = daemonHub === hub && isRec(st) && st.state === 'revoked';
  const already = await heldCredential(deps.device, hub);
  if (already !== undefined && revoked && already.held.replica !== replica) {
    // Enrolled as a new replica before, but hephd did not take it: finish that.
    return rejoined(hub, already.held, await rejoin(cli, already.held.replica));
  }
  if (already !== undefined && !revoked) {
    throw new HephError(
      'conflict',
      `this device already holds a credential for ${hub} (device "${already.held.name}", ` +
        `${already.held.device_id}); \`heph auth logout --hub ${hub}\` revokes it first`,
      { hub },
    );
  }
  const token = await readEnrolmentToken(cli, a);
  const asReplica = revoked ? randomBytes(8).toString('hex') : replica;
  const client = new HubClient({
    url: hub,
    origin: asReplica,
    insecureHttp: insecureHttp(cli, a),
  });
  let reply: unknown;
  try {
    reply = await client.post('/auth/enroll', { token, replica: asReplica, ...machineFacts() });
  } catch (e) {
    if (e instanceof HephError && e.code === 'unauthorized') {
      throw new HephError(
        'unauthorized',
        `${hub} refused the enrolment token: it is mistyped, already used or expired. ` +
          'Make a new one on a signed-in machine: `heph device enroll --regenerate ID`',
        { hub },
      );
    }
    throw e;
  } finally {
    await client.close();
  }
  const { record, store } = await keepReply(deps, hub, asReplica, reply, '/auth/enroll');
  // The name the owner gave at `heph device enroll` is this device's name everywhere. A revoked
  // device takes its new replica id first: named before, the revoked replica (whose changes the
  // others show under its old name) would be renamed instead.
  const again = revoked ? await rejoin(cli, asReplica) : undefined;
  await cli.ask('device.name', { name: record.name }, 5000);
  if (again !== undefined) return rejoined(hub, record, again, store.location);
  const lines = [
    `Enrolled this device with ${hub} as "${record.name}" (${record.device_id})`,
    `Its credential is kept in ${store.location}`,
    daemonHub === hub
      ? 'hephd syncs with it from its next request, within seconds if it was waiting for a sign-in (`heph sync` to sync now)'
      : `hephd syncs with ${daemonHub ?? 'no hub'}: it uses this credential once it syncs with ${hub}`,
  ];
  return {
    kind: 'summary',
    heading: lines.join('\n'),
    data: { hub, enrolled: true, ...describeCredential(record, store) },
  };
}

const RotateReply = z.object({
  credential: z.string().regex(DEVICE_CREDENTIAL_RE),
  device: z.object({ id: z.string().min(1) }),
});

/** `heph auth rotate`: a new device credential in place of the held one, without enrolling
 *  again; the hub stops taking the old one in the same transaction. */
export async function rotate(cli: Cli, a: Args, deps: AuthDeps = authDeps(cli)): Promise<Output> {
  const { hub } = await hubOf(cli, a);
  const found = await heldCredential(deps.device, hub);
  if (found === undefined) {
    throw new HephError(
      'not_found',
      `this device holds no credential for ${hub}: \`heph auth login --hub ${hub}\` (or ` +
        '`heph auth enroll`) gives it one',
      { hub },
    );
  }
  const { held, store } = found;
  const client = new HubClient({
    url: hub,
    origin: held.replica,
    insecureHttp: insecureHttp(cli, a),
    getToken: () => Promise.resolve(held.credential),
  });
  let reply: unknown;
  try {
    reply = await client.post('/auth/rotate');
  } finally {
    await client.close();
  }
  const parsed = RotateReply.safeParse(reply);
  if (!parsed.success || parsed.data.device.id !== held.device_id) {
    throw new HephError('protocol_mismatch', `${hub} sent a malformed reply to POST /auth/rotate`);
  }
  const record = { ...held, credential: parsed.data.credential };
  try {
    await store.set(hub, record);
  } catch (e) {
    throw new HephError(
      isHephError(e) ? e.code : 'io',
      `${hub} replaced this device's credential, but the new one could not be kept in ` +
        `${store.location}: ${e instanceof Error ? e.message : String(e)}. Run ` +
        `\`heph auth login --hub ${hub}\` to give this device a credential again`,
      { hub },
    );
  }
  return {
    kind: 'summary',
    heading:
      `Replaced this device's credential for ${hub} ("${held.name}", ${held.device_id}); ` +
      `the old one no longer works. The new one is kept in ${store.location}`,
    data: { hub, rotated: true, ...describeCredential(record, store) },
  };
}
