// `heph device list|rename|revoke|enroll`: the hub's device registry, administered from the
// command line. They call the hub's /rpc directly (--hub, else the daemon's hub, else the
// configured one) with a recent owner login, never a device credential (the hub refuses one for
// these methods): the one hephd holds in memory for 15 minutes after a sign-in (like sudo), else
// a login kept by `heph auth login --admin`, else a device-code sign-in run now and handed to
// hephd. Guarantees: an enrolment token is
// printed once, on stdout, and nothing else secret is ever printed; revoking the device this
// command runs on asks for --yes; a JSON-RPC error from the hub becomes a HephError with the
// hub's code and message.

import { heldCredential } from '../../auth/device-credential.js';
import { createSession } from '../../auth/session.js';
import { HephError } from '../../core/errors.js';
import { fromWireError } from '../../protocol/error-wire.js';
import { HubClient } from '../../sync/hub-client.js';
import { arg, flag, optArg, type Args } from '../args.js';
import type { Cli } from '../context.js';
import type { Output } from '../output.js';
import { isRec, type Rec } from '../wire.js';
import {
  authDeps,
  holdAdmin,
  hubOf,
  insecureHttp,
  runningReplica,
  signIn,
  signInSettings,
  type AuthDeps,
} from './auth.js';

/** The hub's JSON-RPC response as a result, or its error as a HephError. */
function resultOf(hub: string, reply: unknown): Rec {
  if (!isRec(reply)) throw new HephError('protocol_mismatch', `${hub} sent a malformed reply`);
  if (isRec(reply.error)) {
    const e = fromWireError(reply.error);
    throw new HephError(e.code, `${hub}: ${e.message}`, { ...e.details, hub });
  }
  if (!isRec(reply.result)) throw new HephError('protocol_mismatch', `${hub} sent no result`);
  return { ...reply.result, hub };
}

/**
 * Calls one admin method on the hub as its owner: through hephd with the sign-in it holds from
 * the last 15 minutes (the token never comes back out of hephd), else with a login kept by
 * `heph auth login --admin` (renewed when stale), else after a device-code sign-in now, handed
 * to hephd for the next 15 minutes. With no token at all on an open hub.
 */
async function hubCall(
  cli: Cli,
  a: Args,
  method: string,
  params: Rec,
  deps: AuthDeps,
): Promise<Rec> {
  const { hub } = await hubOf(cli, a);
  const insecure = insecureHttp(cli, a);
  const held = await cli.ask('auth.admin_token', { hub }, 2000);
  if (isRec(held) && typeof held.held_until === 'number') {
    const r = await cli.call('auth.admin_call', {
      hub,
      method,
      params,
      ...(insecure && { insecure_http: true }),
    });
    if (isRec(r) && r.held === true) return resultOf(hub, r.reply);
  }
  const token = await ownerToken(cli, hub, insecure, deps);
  const client = new HubClient({
    url: hub,
    origin: 'heph-device-admin',
    insecureHttp: insecure,
    getToken: () => Promise.resolve(token),
  });
  try {
    return resultOf(hub, await client.rpc({ jsonrpc: '2.0', id: 1, method, params }));
  } finally {
    await client.close();
  }
}

/** A kept --admin login, else a sign-in now (handed to hephd); undefined on an open hub. */
async function ownerToken(
  cli: Cli,
  hub: string,
  insecure: boolean,
  deps: AuthDeps,
): Promise<string | undefined> {
  const session = createSession({
    hub,
    stores: [deps.keyring, deps.file],
    clock: deps.clock,
    ...(insecure && { insecureHttp: true }),
  });
  try {
    const kept = await session.getToken();
    if (kept !== undefined) return kept;
  } catch (e) {
    // A kept login that can no longer be renewed: a fresh sign-in below.
    if (!(e instanceof HephError && e.code === 'unauthorized')) throw e;
  }
  const cfg = await signInSettings(hub, insecure, deps);
  if (cfg === undefined) return undefined;
  cli.note(
    `Administering ${hub} needs a recent sign-in as its owner; hephd keeps it in memory ` +
      'for 15 minutes.',
  );
  const tokens = await signIn(cli, cfg, insecure, deps);
  await holdAdmin(cli, hub, tokens);
  return tokens.access_token;
}

/** "2 minutes ago", "just now", "3 days ago", "never"; a time to come: "in 29 minutes". */
export function ago(ms: unknown, now: number): string {
  if (typeof ms !== 'number') return 'never';
  const ahead = ms - now >= 45_000;
  const s = Math.round(Math.abs(now - ms) / 1000);
  if (s < 45) return 'just now';
  const units: [number, string][] = [
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [size, unit] of units) {
    const n = Math.floor(s / size);
    if (n < 1) continue;
    const span = `${n} ${unit}${n === 1 ? '' : 's'}`;
    return ahead ? `in ${span}` : `${span} ago`;
  }
  return 'just now';
}

/** A device of the hub's registry for people: each `…_ms` time as `ago` words it, the rest as
 *  it is, nothing for fields the hub left empty. */
function deviceLines(d: Rec, now: number): string[] {
  const rows = Object.entries(d)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]): [string, string] =>
      k.endsWith('_ms') && typeof v === 'number'
        ? [k.slice(0, -3).replace(/_/g, ' '), ago(v, now)]
        : [k.replace(/_/g, ' '), str(v)],
    );
  const w = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${`${k}:`.padEnd(w + 1)} ${v}`);
}

function str(v: unknown, dash = '-'): string {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : dash;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The replica id of the daemon this command runs beside, when one answers. */
export async function list(cli: Cli, a: Args, deps: AuthDeps = authDeps(cli)): Promise<Output> {
  const r = await hubCall(cli, a, 'device.list', {}, deps);
  const devices = Array.isArray(r.devices) ? r.devices.filter(isRec) : [];
  const now = Date.now();
  const mine = await runningReplica(cli);
  const rows = [['NAME', 'ID', 'STATUS', 'LAST SEEN', 'PLATFORM', 'PUSHED', 'PENDING']];
  for (const d of devices) {
    rows.push([
      `${str(d.name)}${mine !== undefined && d.replica === mine ? ' (this device)' : ''}`,
      str(d.id),
      str(d.status),
      d.status === 'pending' ? 'not enrolled yet' : ago(d.last_seen_ms, now),
      [d.platform, d.arch].filter((x) => typeof x === 'string').join('/') || '-',
      str(d.ops_pushed, '0'),
      str(d.pending_reported),
    ]);
  }
  const lines = [devices.length === 0 ? `No devices on ${str(r.hub)} yet` : table(rows)];
  if (r.open_hub === true) {
    lines.push(
      'This hub is open (no sign-in): devices sync without a credential and cannot be revoked.',
    );
  }
  return { kind: 'raw', text: lines.join('\n') + '\n', data: r };
}

export async function rename(cli: Cli, a: Args, deps: AuthDeps = authDeps(cli)): Promise<Output> {
  const r = await hubCall(
    cli,
    a,
    'device.rename',
    { id: arg(a, 'id'), name: arg(a, 'name') },
    deps,
  );
  const d = isRec(r.device) ? r.device : {};
  const lines = [`Renamed device ${str(d.id)} to "${str(d.name)}"`, ...deviceLines(d, Date.now())];
  return { kind: 'raw', text: lines.join('\n') + '\n', data: r };
}

/** `heph device name [NAME]`: this device's own name, through its daemon (no hub needed). */
export async function name(cli: Cli, a: Args): Promise<Output> {
  const given = optArg(a, 'name');
  const r = await cli.call('device.name', given === undefined ? {} : { name: given });
  const n = isRec(r) && typeof r.name === 'string' ? r.name : undefined;
  const heading =
    given !== undefined
      ? `This device is now named "${str(n)}"`
      : n === undefined
        ? 'This device has no name yet'
        : `This device is named "${n}"`;
  return { kind: 'summary', heading, data: isRec(r) ? r : {} };
}

export async function revoke(cli: Cli, a: Args, deps: AuthDeps = authDeps(cli)): Promise<Output> {
  const id = arg(a, 'id');
  if (!flag(a, 'yes')) {
    // By its replica id (hephd's, when it answers) or by the device id of the credential held
    // here (found even when hephd is not running).
    const mine = await runningReplica(cli);
    const { hub } = await hubOf(cli, a);
    const held = await heldCredential(deps.device, hub).catch(() => undefined);
    if ((mine !== undefined && id === mine) || held?.held.device_id === id) {
      throw new HephError(
        'invalid_params',
        `device ${id} is this device: revoking it stops its sync for good (its notes stay ` +
          'here). Pass --yes to revoke it anyway',
        { field: 'yes' },
      );
    }
  }
  const r = await hubCall(cli, a, 'device.revoke', { id }, deps);
  const d = isRec(r.device) ? r.device : {};
  const n = isRec(r.never_received) ? r.never_received : {};
  const lines = [
    r.already === true
      ? `Device "${str(d.name)}" (${str(d.id)}) was already revoked`
      : `Revoked device "${str(d.name)}" (${str(d.id)}): its next request is refused`,
    typeof n.after_op === 'string'
      ? `The hub never received what it wrote after op ${n.after_op} ` +
        `(its last acknowledged push, ${ago(n.last_push_ms, Date.now())})`
      : 'The hub never received a push from it',
    typeof n.pending_reported === 'number'
      ? `It last reported ${n.pending_reported} change${n.pending_reported === 1 ? '' : 's'} ` +
        `not yet pushed${typeof n.pending_reported_ms === 'number' ? ` (${ago(n.pending_reported_ms, Date.now())})` : ''}`
      : 'It never reported how many changes it had not pushed',
  ];
  return { kind: 'raw', text: lines.join('\n') + '\n', data: r };
}

export async function enroll(cli: Cli, a: Args, deps: AuthDeps = authDeps(cli)): Promise<Output> {
  const regenerate = optArg(a, 'regenerate');
  const name = optArg(a, 'name');
  if ((regenerate === undefined) === (name === undefined)) {
    throw new HephError(
      'invalid_params',
      'pass --name NAME to enrol a new device, or --regenerate ID for a new token for a ' +
        'device still pending',
      { field: 'name' },
    );
  }
  const ttl = optArg(a, 'ttl');
  const r = await hubCall(
    cli,
    a,
    'device.enroll',
    {
      ...(name !== undefined && { name }),
      ...(regenerate !== undefined && { regenerate }),
      ...(ttl !== undefined && { ttl }),
    },
    deps,
  );
  const d = isRec(r.device) ? r.device : {};
  const expires = typeof r.expires_ms === 'number' ? new Date(r.expires_ms).toISOString() : '?';
  // The token goes to stdout once (so it can be piped or redirected); the guidance to stderr.
  cli.note(
    `Enrolment token for "${str(d.name)}" (${str(d.id)}), valid once until ${expires}. ` +
      'It is shown only now: carry it to the new machine by a safe route (a password ' +
      'manager, an SSH session), and there, with hephd running, run:\n' +
      `  heph auth enroll --hub ${str(r.hub)} < token.txt   (or --token-file, or paste it ` +
      'at the prompt)\nNever put it on a command line.',
  );
  return { kind: 'raw', text: `${str(r.token)}\n`, data: r };
}
