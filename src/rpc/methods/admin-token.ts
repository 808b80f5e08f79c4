// `auth.hold_admin`, `auth.admin_call` and `auth.admin_token`: the daemon keeps the owner's admin
// token (a login's access token) in memory for 15 minutes after a sign-in (auth/admin-token.ts),
// so `heph device …` does not ask for a sign-in on every command. The token goes in once and
// never comes back out: the daemon itself calls the hub's /rpc with it (auth.admin_call), and
// auth.admin_token says only until when one is held, so `heph call` cannot print it. Socket only
// (never on a hub's /rpc) and admin: the local socket is its owner's, reachable only by this
// user. Served by local and client-mode daemons, beside the data methods (like doctor.check).

import { z } from 'zod';
import { ADMIN_HOLD_MS, type AdminTokens } from '../../auth/admin-token.js';
import { hubKey } from '../../auth/token-store.js';
import { HephError } from '../../core/errors.js';
import { HubClient } from '../../sync/hub-client.js';
import { defineMethod, SOCKET_ONLY } from '../registry.js';

const Hub = z
  .string()
  .min(1)
  .max(2000)
  .refine((h) => URL.canParse(h), 'must be a URL')
  .describe('the hub, as a URL');

export function adminTokenMethods(tokens: AdminTokens) {
  return [
    defineMethod({
      name: 'auth.hold_admin',
      role: 'admin',
      surfaces: SOCKET_ONLY,
      summary:
        `Keeps an owner's sign-in (its access token) in memory for ${ADMIN_HOLD_MS / 60_000} ` +
        'minutes, for hub administration (auth.admin_call); never written anywhere.',
      params: z.strictObject({
        hub: Hub,
        token: z.string().min(1).max(20_000).describe("the login's access token"),
        expires_at: z.number().int().optional().describe('when the token expires, epoch ms'),
      }),
      result: z.strictObject({ hub: z.string(), held_until: z.number().int() }),
      handler: (p) => {
        const until = tokens.hold(p.hub, p.token, p.expires_at);
        if (until === undefined) {
          throw new HephError(
            'invalid_params',
            'expires_at: this sign-in has already expired; sign in again',
            {
              field: 'expires_at',
            },
          );
        }
        return { hub: hubKey(p.hub), held_until: until };
      },
    }),
    defineMethod({
      name: 'auth.admin_call',
      role: 'admin',
      surfaces: SOCKET_ONLY,
      summary:
        "Calls a method on the hub's /rpc with the sign-in held for it; held: false (and no " +
        'call) when none is held, or when the hub no longer takes it.',
      params: z.strictObject({
        hub: Hub,
        method: z.string().min(1).max(200).describe('the hub method, e.g. device.list'),
        params: z.record(z.string(), z.unknown()).optional(),
        insecure_http: z.boolean().optional().describe('allow a plain http:// hub off loopback'),
      }),
      result: z.strictObject({
        held: z.boolean(),
        reply: z.unknown().describe("the hub's JSON-RPC response, as it came"),
      }),
      handler: async (p) => {
        const held = tokens.get(p.hub);
        if (held === undefined) return { held: false, reply: null };
        const client = new HubClient({
          url: p.hub,
          origin: 'heph-device-admin',
          insecureHttp: p.insecure_http === true,
          getToken: () => Promise.resolve(held.token),
        });
        try {
          const reply = await client.rpc({
            jsonrpc: '2.0',
            id: 1,
            method: p.method,
            params: p.params ?? {},
          });
          return { held: true, reply };
        } catch (e) {
          // Refused by the hub (signed out at the provider, another issuer): a new sign-in.
          if (e instanceof HephError && e.code === 'unauthorized') {
            tokens.forget(p.hub);
            return { held: false, reply: null };
          }
          throw e;
        } finally {
          await client.close();
        }
      },
    }),
    defineMethod({
      name: 'auth.admin_token',
      role: 'admin',
      surfaces: SOCKET_ONLY,
      summary: 'Until when a sign-in is held for a hub (never the token itself); forget: drop it.',
      params: z.strictObject({ hub: Hub, forget: z.boolean().optional().describe('drop it') }),
      result: z.strictObject({
        hub: z.string(),
        held_until: z.number().int().nullable(),
        forgot: z.boolean().optional().describe('with forget: whether one was held'),
      }),
      handler: (p) => {
        if (p.forget === true) {
          return { hub: hubKey(p.hub), held_until: null, forgot: tokens.forget(p.hub) };
        }
        return { hub: hubKey(p.hub), held_until: tokens.get(p.hub)?.until ?? null };
      },
    }),
  ];
}
