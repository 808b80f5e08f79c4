// `heph doctor`: one line per check with a verdict (ok, warn, fail) and, for every line that is
// not ok, what to do. What the CLI can see itself (the socket directory, disk space, the config
// file, stored sign-in tokens, the keyring) it checks here; what only the daemon sees comes from
// it: `doctor.check` (database integrity and schema, the hub as the daemon reaches it, the
// daemon's clock against the hub's) and `sync.status` (refused changes, open conflicts, the last
// sync error), read as the daemon reports them. With the daemon down, its last start error is
// shown (config/start-error.ts). Choices made on purpose (no hub, tokens in a file) are
// warnings, never failures; the command exits 1 when any check fails.

import { existsSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isPlainHttpOffLoopback } from '../../auth/url-policy.js';
import { defaultConfigPath, defaultDbPath } from '../../config/paths.js';
import { readStartError } from '../../config/start-error.js';
import { HephError } from '../../core/errors.js';
import type { Cli } from '../context.js';
import { readDaemonOptions } from '../daemon-args.js';
import type { Output } from '../output.js';
import { isRec, type Rec } from '../wire.js';

export type Verdict = 'ok' | 'warn' | 'fail';

export interface Check {
  check: string;
  verdict: Verdict;
  message: string;
  fix?: string;
}

const MIB = 1024 * 1024;
const MINUTE = 60_000;
/** The hub refuses changes stamped further ahead of its clock than this (its default). */
const HUB_MAX_DRIFT_MS = 5 * MINUTE;

const ok = (check: string, message: string): Check => ({ check, verdict: 'ok', message });
const warn = (check: string, message: string, fix: string): Check => ({
  check,
  verdict: 'warn',
  message,
  fix,
});
const fail = (check: string, message: string, fix: string): Check => ({
  check,
  verdict: 'fail',
  message,
  fix,
});

function str(r: Rec | undefined, key: string): string | undefined {
  const v = r?.[key];
  return typeof v === 'string' ? v : undefined;
}

function num(r: Rec | undefined, key: string): number | undefined {
  const v = r?.[key];
  return typeof v === 'number' ? v : undefined;
}

function duration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m >= 120) return `${Math.floor(m / 60)} h ${m % 60} min`;
  return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---- what the CLI sees ---------------------------------------------------------------------

function socketDir(socket: string): Check {
  const dir = dirname(socket);
  let st;
  try {
    st = statSync(dir);
  } catch {
    return ok('socket directory', `${dir} does not exist yet (hephd creates it, private)`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    return fail(
      'socket directory',
      `${dir} belongs to uid ${st.uid}, not to you: whoever owns it can reach your notes`,
      'choose a socket in a directory you own: --socket PATH or HEPH_SOCKET',
    );
  }
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    return fail(
      'socket directory',
      `${dir} has mode ${mode}: other users can reach the socket, which is full access to your notes`,
      `chmod 700 ${dir}`,
    );
  }
  return ok('socket directory', `${dir} is private to you`);
}

function diskSpace(db: string): Check {
  let dir = dirname(db);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  let free: number;
  let total: number;
  try {
    const st = statfsSync(dir);
    free = st.bavail * st.bsize;
    total = st.blocks * st.bsize;
  } catch (e) {
    return warn(
      'disk space',
      `cannot read the free space of ${dir}: ${errText(e)}`,
      'check with df',
    );
  }
  const shown =
    free >= 1024 * MIB ? `${(free / 1024 / MIB).toFixed(1)} GiB` : `${Math.floor(free / MIB)} MiB`;
  if (free < 100 * MIB) {
    return fail(
      'disk space',
      `${shown} free where the database lives (${dir}): writes will start to fail`,
      'free some space on that disk, or move the database (--db) to another one',
    );
  }
  if (free < 1024 * MIB || free < total * 0.05) {
    return warn(
      'disk space',
      `${shown} free where the database lives (${dir})`,
      'free some space on that disk',
    );
  }
  return ok('disk space', `${shown} free where the database lives`);
}

interface ConfigRead {
  checks: Check[];
  /** Settings as the daemon would read them (undefined when the file is invalid). */
  db?: string;
  hub?: string;
}

async function config(cli: Cli): Promise<ConfigRead> {
  const path = resolve(cli.cwd, cli.env.HEPH_CONFIG || defaultConfigPath(cli.env));
  const { resolveDaemonConfig } = await import('../../config/config.js');
  const checks: Check[] = [];
  let read: ConfigRead = { checks };
  try {
    const c = resolveDaemonConfig({}, cli.env, cli.cwd);
    read = { checks, db: c.db, ...(c.hubUrl !== undefined && { hub: c.hubUrl }) };
    checks.push(
      existsSync(path)
        ? ok('config', `${path} is valid`)
        : ok('config', `no config file at ${path}; the defaults apply`),
    );
  } catch (e) {
    checks.push(fail('config', errText(e), `fix the setting it names (heph help config)`));
  }
  const hub = hubConfigCheck(path);
  if (hub !== undefined) checks.push(hub);
  return read;
}

/** A hub set up in the config file with a plain-http identity provider off loopback. */
function hubConfigCheck(path: string): Check | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined; // missing, or reported by the config check
  }
  if (!isRec(raw) || raw.mode !== 'server' || typeof raw.oidc_issuer !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(raw.oidc_issuer);
  } catch {
    return undefined; // the config check names it
  }
  if (!isPlainHttpOffLoopback(url)) return undefined;
  if (raw.insecure_oidc_http === true) {
    return warn(
      'hub sign-in',
      `the hub's identity provider ${url.origin} is plain http:// (allowed by insecure_oidc_http)`,
      'use the provider over https:// when you can',
    );
  }
  return fail(
    'hub sign-in',
    `${path} sets up a hub (mode server) whose oidc_issuer ${url.origin} is plain http:// on a ` +
      'host that is not loopback: the hub will refuse to start, because the keys that verify ' +
      'sign-in tokens would cross the network unencrypted',
    `use the provider's https:// issuer URL, or set "insecure_oidc_http": true in ${path} if you trust that network`,
  );
}

async function signIn(cli: Cli, hub: string, required: boolean | undefined): Promise<Check[]> {
  const [{ keyringStore }, { fileStore, tokensFilePath }, { hubKey }] = await Promise.all([
    import('../../auth/keyring-store.js'),
    import('../../auth/file-store.js'),
    import('../../auth/token-store.js'),
  ]);
  const key = hubKey(hub);
  const keyring = keyringStore();
  const file = fileStore({ path: tokensFilePath(cli.env) });
  const checks: Check[] = [];
  const ks = await keyring.status();
  checks.push(
    ks.available
      ? ok('keyring', `reachable (${keyring.location})`)
      : warn(
          'keyring',
          ks.reason,
          'start a Secret Service (gnome-keyring, KeePassXC), or sign in with --insecure-storage',
        ),
  );
  let found;
  try {
    for (const store of ks.available ? [keyring, file] : [file]) {
      const t = await store.get(key);
      if (t !== undefined) {
        found = { t, store };
        break;
      }
    }
  } catch (e) {
    checks.push(
      fail(
        'sign-in',
        errText(e),
        `heph auth logout --hub ${key}, then heph auth login --hub ${key}`,
      ),
    );
    return checks;
  }
  if (found === undefined) {
    if (required === false) checks.push(ok('sign-in', `${key} is open: no sign-in needed`));
    else if (required === true) {
      checks.push(
        fail(
          'sign-in',
          `not signed in to ${key}, which asks for sign-in`,
          `heph auth login --hub ${key}`,
        ),
      );
    } else {
      checks.push(
        warn(
          'sign-in',
          `not signed in to ${key} (the hub could not be asked whether it needs it)`,
          `heph auth login --hub ${key}`,
        ),
      );
    }
    return checks;
  }
  const { t, store } = found;
  const who = t.name ?? t.sub ?? 'an unnamed account';
  const left = t.expires_at - Date.now();
  const until = new Date(t.expires_at).toISOString();
  if (t.refresh_token !== undefined) {
    checks.push(
      ok(
        'sign-in',
        `signed in to ${key} as ${who}; the token ${left <= 0 ? 'expired and' : 'expires ' + until + ' and'} is renewed when needed`,
      ),
    );
  } else if (left <= 0) {
    checks.push(
      fail(
        'sign-in',
        `the sign-in to ${key} as ${who} expired at ${until} and cannot be renewed (no refresh token)`,
        `heph auth login --hub ${key}`,
      ),
    );
  } else if (left < 60 * MINUTE) {
    checks.push(
      warn(
        'sign-in',
        `the sign-in to ${key} as ${who} expires in ${duration(left)} and cannot be renewed`,
        `heph auth login --hub ${key}`,
      ),
    );
  } else checks.push(ok('sign-in', `signed in to ${key} as ${who} until ${until}`));
  checks.push(
    store.kind === 'file'
      ? warn(
          'token storage',
          `the tokens are in a plain file, ${store.location} (chosen with --insecure-storage)`,
          'with an OS keyring running: heph auth logout, then heph auth login',
        )
      : ok('token storage', `the tokens are in ${store.location}`),
  );
  return checks;
}

// ---- what the daemon sees ------------------------------------------------------------------

function database(r: Rec | undefined, why: string | undefined): Check {
  const db = isRec(r?.database) ? r.database : undefined;
  if (db === undefined) {
    return warn(
      'database',
      `not checked: ${why ?? 'no answer'}`,
      'upgrade hephd to the version of heph',
    );
  }
  const path = str(db, 'path') ?? 'the database';
  const result = Array.isArray(db.result) ? db.result.map(String) : [];
  const version = num(db, 'schema_version');
  const expected = num(db, 'expected_schema_version');
  if (result.length !== 1 || result[0] !== 'ok') {
    return fail(
      'database',
      `${path} is damaged: ${result.slice(0, 3).join('; ')}${result.length > 3 ? ` (and ${result.length - 3} more)` : ''}`,
      'stop hephd, move the file aside and restore your latest `heph backup` copy in its place; ' +
        'changes other devices hold come back with the next sync',
    );
  }
  if (version !== expected) {
    return fail(
      'database',
      `${path} has schema version ${version ?? '?'}, expected ${expected ?? '?'}`,
      'restart hephd (heph daemon restart) so it migrates the file',
    );
  }
  return ok('database', `${path}: integrity ok, schema version ${version}`);
}

function hubChecks(hub: Rec): Check[] {
  const url = str(hub, 'url') ?? 'the hub';
  if (hub.reachable !== true) {
    return [
      fail(
        'hub',
        `${url} is unreachable: ${str(hub, 'error') ?? 'no answer'}`,
        'check that the hub runs and that the URL is right (heph daemon status shows it)',
      ),
    ];
  }
  const out: Check[] = [];
  const ours = num(hub, 'protocol');
  const theirs = Array.isArray(hub.protocols)
    ? hub.protocols.filter((p) => typeof p === 'number')
    : [];
  out.push(
    ours !== undefined && theirs.includes(ours)
      ? ok('hub', `${url} is reachable and speaks protocol ${ours}`)
      : fail(
          'hub',
          `${url} speaks protocol ${theirs.join(', ') || '?'}, this heph ${ours ?? '?'}`,
          'upgrade whichever side is older, hub or device',
        ),
  );
  const off = num(hub, 'offset_ms');
  if (off !== undefined) {
    const side = off > 0 ? 'ahead of' : 'behind';
    if (off >= HUB_MAX_DRIFT_MS) {
      out.push(
        fail(
          'clock',
          `this device's clock is ${duration(off)} ahead of the hub's: the hub refuses changes stamped more than ${duration(HUB_MAX_DRIFT_MS)} ahead`,
          'set the clock right (turn on NTP: timedatectl set-ntp true); refused changes are sent again then',
        ),
      );
    } else if (Math.abs(off) >= MINUTE) {
      out.push(
        warn(
          'clock',
          `this device's clock is ${duration(off)} ${side} the hub's`,
          'set the clock right (turn on NTP: timedatectl set-ntp true)',
        ),
      );
    } else out.push(ok('clock', `within ${duration(off)} of the hub's`));
  }
  return out;
}

const SYNC_FIX: Record<string, string> = {
  offline: 'check that the hub runs and is reachable from here; changes wait here meanwhile',
  auth: 'heph auth login',
  'clock-drift': "set this device's clock right; the refused changes are sent again then",
  protocol: 'upgrade whichever side is older, hub or device',
  'hub-error': "see heph sync status and the hub's log",
};

function count(v: unknown, key: string): number {
  // Counts are {changes, ops} (or a plain number from an older daemon).
  if (typeof v === 'number') return v;
  return isRec(v) && typeof v[key] === 'number' ? v[key] : 0;
}

function syncChecks(s: Rec): Check[] {
  const out: Check[] = [];
  const err = isRec(s.last_error) ? s.last_error : undefined;
  const verdict = str(s, 'verdict') ?? '';
  if (s.hub !== null && s.hub !== undefined) {
    if (err !== undefined) {
      // The verdict carries the error's message, except an unreachable hub's.
      const message =
        str(err, 'kind') === 'offline' ? `${verdict} (${str(err, 'message') ?? ''})` : verdict;
      out.push(fail('sync', message, SYNC_FIX[str(err, 'kind') ?? ''] ?? 'see heph sync status'));
    } else if (s.state === 'not_synced' || (s.state === undefined && s.last_success === null)) {
      out.push(warn('sync', 'not synced yet', 'heph sync'));
    } else out.push(ok('sync', verdict));
  }
  const held = (Array.isArray(s.quarantined) ? s.quarantined.filter(isRec) : []).filter(
    (q) => q.code === 'clock_drift',
  );
  const refused = count(s.refused, 'changes');
  if (held.length > 0) {
    out.push(
      fail(
        'held changes',
        `${held.length} change${held.length === 1 ? '' : 's'} held back: ${str(held[0], 'message') ?? ''}`,
        "set this device's clock right; they are sent again then",
      ),
    );
  }
  out.push(
    refused === 0
      ? ok('refused changes', 'none')
      : fail(
          'refused changes',
          `${refused} change${refused === 1 ? '' : 's'} refused by the hub, kept here and not sent again`,
          'heph sync status --details says which and why',
        ),
  );
  const conflicts = num(s, 'conflicts') ?? 0;
  out.push(
    conflicts === 0
      ? ok('conflicts', 'none open')
      : warn(
          'conflicts',
          `${conflicts} field${conflicts === 1 ? '' : 's'} changed to different values on two devices`,
          'heph conflicts, then heph conflicts resolve ID FIELD VALUE',
        ),
  );
  return out;
}

// ---- the command ---------------------------------------------------------------------------

/** Whether hephd answers on the socket, and its status when it can give one. */
async function daemon(
  cli: Cli,
  socket: string,
): Promise<{ check: Check; reachable: boolean; status?: Rec }> {
  try {
    await cli.connection();
  } catch (e) {
    const last = readStartError(cli.env);
    if (last !== undefined && last.socket === socket) {
      return {
        reachable: false,
        check: fail(
          'daemon',
          `hephd is not running; its last start (${last.at}) failed: ${last.message}`,
          'fix what the error names, then heph daemon start',
        ),
      };
    }
    return {
      reachable: false,
      check: fail(
        'daemon',
        e instanceof HephError && e.code === 'forbidden'
          ? errText(e)
          : `hephd is not running (nothing answers on ${socket})`,
        'heph daemon start (then run heph doctor again for the checks that need it)',
      ),
    };
  }
  try {
    const st = await cli.call('status', {});
    const status = isRec(st) ? st : {};
    const what = `hephd ${str(status, 'version') ?? ''} is running (pid ${num(status, 'pid') ?? '?'}, mode ${str(status, 'mode') ?? '?'})`;
    return { reachable: true, status, check: ok('daemon', `${what} on ${socket}`) };
  } catch (e) {
    return {
      reachable: true,
      check: fail(
        'daemon',
        `hephd answers on ${socket} but fails: ${errText(e)}`,
        "see hephd's log (heph daemon status says where)",
      ),
    };
  }
}

export async function doctor(cli: Cli): Promise<Output> {
  const checks: Check[] = [];
  const socket = await cli.socketPath({ despiteConfig: true });
  const kept = readDaemonOptions(cli.env);
  const conf = await config(cli);
  const d = await daemon(cli, socket);
  checks.push(d.check);
  const running = d.status;
  checks.push(socketDir(socket));
  const mode = str(running, 'mode');
  let sync: Rec | undefined;
  let deep: Rec | undefined;
  // A hub's own socket serves its owner's data from a cache replica: the hub's store, its
  // health and its sign-in are the hub's (GET /readyz), and a device's advice does not apply.
  const isHub = mode === 'server';
  if (d.reachable && mode !== 'client' && !isHub) {
    cli.status('checking the database and the hub…');
    let why: string | undefined;
    try {
      const [d, s] = await Promise.all([
        cli.call('doctor.check', {}),
        cli.ask('sync.status', {}, 5000),
      ]);
      deep = isRec(d) ? d : undefined;
      sync = isRec(s) ? s : undefined;
    } catch (e) {
      why =
        e instanceof HephError && e.code === 'protocol_mismatch'
          ? 'this hephd is older than heph'
          : errText(e);
    } finally {
      cli.status('');
    }
    checks.push(database(deep, why));
  } else if (mode === 'client') {
    checks.push(ok('database', 'none here: in client mode every call goes to the hub'));
  } else if (isHub) {
    checks.push(
      ok(
        'database',
        "the hub's store (hub.db beside --db, or its PostgreSQL database): GET /readyz " +
          'answers 200 while the hub can query it',
      ),
    );
  }
  checks.push(diskSpace(str(running, 'db') ?? kept.db ?? conf.db ?? defaultDbPath(cli.env)));
  checks.push(...conf.checks);
  const hubInfo = isRec(deep?.hub) ? deep.hub : undefined;
  const hub = str(hubInfo, 'url') ?? str(sync, 'hub') ?? kept['hub-url'] ?? conf.hub;
  if (isHub) {
    checks.push(
      ok('hub', "this is the hub (hephd --mode server); this socket serves its owner's data"),
    );
  } else if (hub === undefined) {
    checks.push(
      warn(
        'hub',
        'no hub: this device keeps its notes to itself and does not sync',
        'to sync: heph daemon start --hub-url https://hub.example.org (fine as it is with one device)',
      ),
    );
  } else {
    if (hubInfo !== undefined) checks.push(...hubChecks(hubInfo));
    const required = hubInfo?.sign_in_required;
    checks.push(...(await signIn(cli, hub, typeof required === 'boolean' ? required : undefined)));
  }
  if (sync !== undefined) checks.push(...syncChecks(sync));
  const failed = checks.filter((c) => c.verdict === 'fail').length;
  const warnings = checks.filter((c) => c.verdict === 'warn').length;
  return {
    kind: 'doctor',
    data: { ok: failed === 0, failed, warnings, checks },
    exit: failed === 0 ? 0 : 1,
  };
}
