// Hub administration of devices, as JSON-RPC methods served on the hub's /rpc only (never on a
// device's socket): device.list, device.rename, device.revoke, device.enroll. Guarantees:
// - they need the admin role, which of the hub's credentials only an owner's login holds: a device
//   credential (editor) is refused (forbidden) by dispatch before anything is read or written, so
//   a stolen device holds no power over the others; on an open hub (no sign-in, every caller
//   admin) list and rename work, and revoke and enroll refuse, explaining that revocation needs
//   sign-in (anyone who reaches an open hub syncs without a credential);
// - every call reads and writes only the caller's owner's devices;
// - device.enroll answers its one-time token once (the store keeps its hash), default 1 h, at
//   most 24 h; `regenerate` replaces the token of a device still pending (the old one stops);
// - device.rename renames the device in the registry and in its owner's data (a device.name op
//   written through the owner's cache replica), so every replica shows the new name; device.list
//   shows the name in the owner's data when it has one (a device may rename itself);
// - device.revoke says what the hub never received from the device: its ops after its last
//   acknowledged push, of which it last reported `pending_reported` unpushed.

import { z } from 'zod';
import { HephError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { DeviceRecord, HubStore, OwnerId } from '../ports/hub-store.js';
import { defineMethod, HUB_ONLY, type MethodDef } from '../rpc/registry.js';
import { newDeviceId, newSecret, parseTtl } from './credentials.js';
import type { DeviceTracker, HubPrincipal } from './devices.js';
import type { HubRpcContext } from './routes/rpc.js';

const ms = z.number().int().nullable();

export const DeviceView = z.strictObject({
  id: z.string(),
  name: z.string(),
  replica: z.string().nullable().describe('its replica id (op origin); null while pending'),
  status: z.enum(['online', 'idle', 'stale', 'pending', 'revoked']),
  platform: z.string().nullable(),
  arch: z.string().nullable(),
  cpus: z.number().int().nullable(),
  memory_bytes: z.number().int().nullable(),
  version: z.string().nullable(),
  created_ms: z.number().int(),
  first_seen_ms: ms,
  last_seen_ms: ms,
  cursor: z.string().nullable().describe('the newest pull cursor it was seen with'),
  behind: z.number().int().nullable().describe("stamps between its cursor and the hub's end"),
  ops_pushed: z.number().int(),
  last_push_ms: ms,
  last_push_op: z.string().nullable().describe('newest own op id of its last acknowledged push'),
  pending_reported: z.number().int().nullable(),
  pending_reported_ms: ms,
  revoked_ms: ms,
  enrol_expires_ms: ms.describe('pending devices: when the enrolment token expires'),
});
export type DeviceView = z.infer<typeof DeviceView>;

const DeviceId = z.string().min(1).max(100).describe('device id or replica id');

export interface DeviceMethodDeps {
  store: HubStore;
  clock: Clock;
  tracker: DeviceTracker;
  /** Writes a device's name into its owner's data (the synced register every replica shows). */
  nameInData?: (owner: OwnerId, replica: string, name: string) => Promise<void>;
  /** The names these replicas have in an owner's data (replica id → name; a device may change
   *  its own), read through the index of ops by target, not a scan of the log. */
  namesInData?: (owner: OwnerId, replicas: readonly string[]) => Promise<Map<string, string>>;
  logger?: Logger;
}

/** The caller (admin: dispatch checked the role); on an open hub, refused when the method would
 *  stop nothing there. */
function callerOf(ctx: HubRpcContext, method: string, needsSignIn: boolean): HubPrincipal {
  const c = ctx.principal;
  if (c.via === 'open_hub' && needsSignIn) {
    throw new HephError(
      'forbidden',
      `${method}: this hub is open (no sign-in), so any machine that reaches it syncs without a ` +
        'credential and revoking or enrolling a device would stop nothing; start the hub with ' +
        '--oidc-issuer to give each device its own revocable credential',
      { method, reason: 'open_hub' },
    );
  }
  return c;
}

const nul = <T>(v: T | undefined): T | null => v ?? null;

function view(d: DeviceRecord, tracker: DeviceTracker, head: number): DeviceView {
  const c = tracker.current(d);
  return {
    id: c.id,
    name: c.name,
    replica: nul(c.replica),
    status: tracker.state(c),
    platform: nul(c.platform),
    arch: nul(c.arch),
    cpus: nul(c.cpus),
    memory_bytes: nul(c.memoryBytes),
    version: nul(c.version),
    created_ms: c.createdMs,
    first_seen_ms: nul(c.firstSeenMs),
    last_seen_ms: nul(c.lastSeenMs),
    cursor: c.cursor === undefined ? null : String(c.cursor),
    behind: c.cursor === undefined ? null : Math.max(0, head - c.cursor),
    ops_pushed: c.opsPushed,
    last_push_ms: nul(c.lastPushMs),
    last_push_op: nul(c.lastPushOp),
    pending_reported: nul(c.pendingReported),
    pending_reported_ms: nul(c.pendingReportedMs),
    revoked_ms: nul(c.revokedMs),
    enrol_expires_ms: nul(c.enrolExpiresMs),
  };
}

export function deviceMethods(deps: DeviceMethodDeps): MethodDef<z.ZodType, HubRpcContext>[] {
  const { store, clock, tracker } = deps;
  const shown = async (d: DeviceRecord) => view(d, tracker, await store.head(d.owner));
  // A device's name is data (a register a device may set itself with `heph device name`): the
  // list shows it where the owner's data has one, the registry's name otherwise (and when the
  // data cannot be read now, which only costs the newest names).
  const namesOf = async (owner: OwnerId, devices: readonly DeviceRecord[]) => {
    const replicas = devices.flatMap((d) => (d.replica === undefined ? [] : [d.replica]));
    try {
      return (await deps.namesInData?.(owner, replicas)) ?? new Map<string, string>();
    } catch (e) {
      deps.logger?.warn({ err: (e as Error).message }, 'device names in the data not read');
      return new Map<string, string>();
    }
  };
  return [
    defineMethod({
      name: 'device.list',
      role: 'admin',
      surfaces: HUB_ONLY,
      summary:
        "The hub's devices of the signed-in owner: status (online, idle, stale, pending, " +
        'revoked), last seen, cursor and how far behind, what each pushed.',
      params: z.strictObject({}),
      result: z.strictObject({
        devices: z.array(DeviceView),
        head: z.string().describe("the hub's end of this owner's log (a cursor)"),
        open_hub: z.boolean().describe('the hub has no sign-in: devices cannot be revoked'),
      }),
      handler: async (_p, ctx: HubRpcContext) => {
        const c = callerOf(ctx, 'device.list', false);
        const [devices, head] = await Promise.all([
          store.listDevices(c.owner),
          store.head(c.owner),
        ]);
        const names = await namesOf(c.owner, devices);
        return {
          devices: devices.map((d) => {
            const v = view(d, tracker, head);
            const named = d.replica === undefined ? undefined : names.get(d.replica);
            return named === undefined ? v : { ...v, name: named };
          }),
          head: String(head),
          open_hub: c.via === 'open_hub',
        };
      },
    }),
    defineMethod({
      name: 'device.rename',
      role: 'admin',
      surfaces: HUB_ONLY,
      summary: 'Renames a device on the hub.',
      params: z.strictObject({ id: DeviceId, name: z.string().describe('1-100 characters') }),
      result: z.strictObject({ device: DeviceView }),
      handler: async (p, ctx: HubRpcContext) => {
        const c = callerOf(ctx, 'device.rename', false);
        const d = await store.renameDevice(c.owner, p.id, p.name);
        if (d.replica !== undefined) await deps.nameInData?.(c.owner, d.replica, d.name);
        return { device: await shown(d) };
      },
    }),
    defineMethod({
      name: 'device.revoke',
      role: 'admin',
      surfaces: HUB_ONLY,
      summary:
        "Revokes a device: its credential stops working at once, and its replica's ops are " +
        'refused for good; answers what the hub never received from it.',
      params: z.strictObject({ id: DeviceId }),
      result: z.strictObject({
        device: DeviceView,
        already: z.boolean().describe('it was revoked before this call'),
        never_received: z.strictObject({
          after_op: z
            .string()
            .nullable()
            .describe('its ops after this one (its last acknowledged push) never reached the hub'),
          last_push_ms: ms,
          pending_reported: z.number().int().nullable(),
          pending_reported_ms: ms,
        }),
      }),
      handler: async (p, ctx: HubRpcContext) => {
        const c = callerOf(ctx, 'device.revoke', true);
        const before = await store.findDevice(c.owner, p.id);
        const d = await store.revokeDevice(c.owner, p.id, clock.now());
        return {
          device: await shown(d),
          already: before?.status === 'revoked',
          never_received: {
            after_op: nul(d.lastPushOp),
            last_push_ms: nul(d.lastPushMs),
            pending_reported: nul(d.pendingReported),
            pending_reported_ms: nul(d.pendingReportedMs),
          },
        };
      },
    }),
    defineMethod({
      name: 'device.enroll',
      role: 'admin',
      surfaces: HUB_ONLY,
      summary:
        'Creates a pending device and its one-time enrolment token (shown once; default 1 h, ' +
        'at most 24 h), for a machine that signs in without a browser (heph auth enroll).',
      params: z.strictObject({
        name: z.string().optional().describe("the new device's name (not with regenerate)"),
        ttl: z.string().optional().describe('how long the token lives: 30m, 1h, … (at most 24h)'),
        regenerate: DeviceId.optional().describe('a pending device: replace its token'),
      }),
      result: z.strictObject({
        device: DeviceView,
        token: z.string().describe('the enrolment token: shown this once'),
        expires_ms: z.number().int(),
      }),
      handler: async (p, ctx: HubRpcContext) => {
        const c = callerOf(ctx, 'device.enroll', true);
        const ttl = parseTtl(p.ttl);
        const now = clock.now();
        const token = newSecret('enrolment');
        let d: DeviceRecord;
        if (p.regenerate !== undefined) {
          if (p.name !== undefined) {
            throw new HephError(
              'invalid_params',
              'name: not with regenerate (rename the device with device.rename)',
              { field: 'name' },
            );
          }
          d = await store.regenerateEnrolment(c.owner, p.regenerate, token.hash, now + ttl);
        } else {
          if (p.name === undefined) {
            throw new HephError('invalid_params', 'name: required (the new device’s name)', {
              field: 'name',
            });
          }
          d = await store.createEnrolment(
            {
              owner: c.owner,
              id: newDeviceId(),
              name: p.name,
              tokenHash: token.hash,
              expiresMs: now + ttl,
            },
            now,
          );
        }
        return { device: await shown(d), token: token.plain, expires_ms: now + ttl };
      },
    }),
  ];
}
