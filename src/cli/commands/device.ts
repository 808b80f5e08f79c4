// `heph device list|rename|revoke|enroll`: the hub's device registry, administered from the
// command line. They call the hub's /rpc directly (--hub, else the daemon's hub, else the
// configured one) with the owner's login from `heph auth login` (renewed when stale), never a
// device credential (the hub refuses one for these methods). Guarantees: an enrolment token is
// printed once, on stdout, and nothing else secret is ever printed; revoking the device this
// command runs on asks for --yes; a JSON-RPC error from the hub becomes a HephError with the
// hub's code and message.

import { heldCredential, deviceCredentialStores } from '../../auth/device-credential.js';
import { fileStore, tokensFilePath } from '../../auth/file-store.js';
import { keyringStore } from '../../auth/keyring-store.js';
import { createSession } from '../../auth/session.js';
import { HephError } from '../../core/errors.js';
import { isErrorCode } from '../../protocol/error-wire.js';
import { HubClient } from '../../sync/hub-client.js';
import { arg, flag, optArg, type Args } from '../args.js';
import type { Cli } from '../context.js';
import type { Output } from '../output.js';
import { isRec, type Rec } from '../wire.js';
import { hubOf, insecureHttp } from './auth.js';

/** Calls one admin method on the hub with the owner's login; its result. */
async function hubCall(cli: Cli, a: Args, method: string, params: Rec): Promise<Rec> {
  const { hub } = await hubOf(cli, a);
  const insecure = insecureHttp(cli, a);
  const session = createSession({
    hub,
    stores: [keyringStore(), fileStore({ path: tokensFilePath(cli.env) })],
    ...(insecure && { insecureHttp: true }),
  });
  const token = await session.getToken();
  const client = new HubClient({
    url: hub,
    origin: 'heph-device-admin',
    insecureHttp: insecure,
    getToken: () => Promise.resolve(token),
  });
  let reply: unknown;
  try {
    reply = await client.rpc({ jsonrpc: '2.0', id: 1, method, params });
  } catch (e) {
    if (e instanceof HephError && e.code === 'unauthorized' && token === undefined) {
      throw new HephError(
        'unauthorized',
        `not signed in to ${hub}: run \`heph auth login --hub ${hub}\` (as the hub's owner)`,
        { hub },
      );
    }
    throw e;
  } finally {
    await client.close();
  }
  if (!isRec(reply)) throw new HephError('protocol_mismatch', `${hub} sent a malformed reply`);
  if (isRec(reply.error)) {
    const data = isRec(reply.error.data) ? reply.error.data : {};
    const code = isErrorCode(data.code) ? data.code : 'internal';
    const message = typeof reply.error.message === 'string' ? reply.error.message : 'failed';
    throw new HephError(code, `${hub}: ${message}`, { hub });
  }
  if (!isRec(reply.result)) throw new HephError('protocol_mismatch', `${hub} sent no result`);
  return { ...reply.result, hub };
}

/** "2 minutes ago", "just now", "3 days ago", "never". */
export function ago(ms: unknown, now: number): string {
  if (typeof ms !== 'number') return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 45) return 'just now';
  const units: [number, string][] = [
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, unit] of units) {
    const n = Math.floor(s / size);
    if (n >= 1) return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
  }
  return `${s} seconds ago`;
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
async function ownReplica(cli: Cli): Promise<string | undefined> {
  const st = await cli.ask('sync.status', {}, 2000);
  return isRec(st) && typeof st.replica_id === 'string' ? st.replica_id : undefined;
}

export async function list(cli: Cli, a: Args): Promise<Output> {
  const r = await hubCall(cli, a, 'device.list', {});
  const devices = Array.isArray(r.devices) ? r.devices.filter(isRec) : [];
  const now = Date.now();
  const mine = await ownReplica(cli);
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

export async function rename(cli: Cli, a: Args): Promise<Output> {
  const r = await hubCall(cli, a, 'device.rename', { id: arg(a, 'id'), name: arg(a, 'name') });
  const d = isRec(r.device) ? r.device : {};
  return { kind: 'summary', heading: `Renamed device ${str(d.id)} to "${str(d.name)}"`, data: r };
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

export async function revoke(cli: Cli, a: Args): Promise<Output> {
  const id = arg(a, 'id');
  const mine = await ownReplica(cli);
  if (mine !== undefined && !flag(a, 'yes')) {
    const { hub } = await hubOf(cli, a);
    const held = await heldCredential(deviceCredentialStores(cli.env), hub).catch(() => undefined);
    if (id === mine || held?.held.device_id === id) {
      throw new HephError(
        'invalid_params',
        `device ${id} is this device: revoking it stops its sync for good (its notes stay ` +
          'here). Pass --yes to revoke it anyway',
        { field: 'yes' },
      );
    }
  }
  const r = await hubCall(cli, a, 'device.revoke', { id });
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
      ? `It last reported ${n.pending_reported} change(s) not yet pushed`
      : 'It never reported how many changes it had not pushed',
  ];
  return { kind: 'raw', text: lines.join('\n') + '\n', data: r };
}

export async function enroll(cli: Cli, a: Args): Promise<Output> {
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
  const r = await hubCall(cli, a, 'device.enroll', {
    ...(name !== undefined && { name }),
    ...(regenerate !== undefined && { regenerate }),
    ...(ttl !== undefined && { ttl }),
  });
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
