import { z } from 'zod';
import { HephError } from '../../core/errors.js';
import { unsyncedStatus } from '../../sync/sync-status.js';
import { defineMethod, EVERYWHERE, SOCKET_ONLY } from '../registry.js';
import * as R from './results.js';
import type { Services } from './context.js';

function noHub(mode: string): HephError {
  return new HephError(
    'unavailable',
    mode === 'server'
      ? 'this is the hub: it holds every change the devices pushed, so it has nothing to sync ' +
          'with; run heph sync on a device'
      : 'this daemon has no hub to sync with: start hephd with --hub-url URL ' +
          '(or set HEPH_HUB_URL, or hub_url in the config file)',
    { reason: 'no_hub' },
  );
}

export function syncMethods(s: Services) {
  return [
    defineMethod({
      name: 'sync.status',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary:
        'How this replica stands with its hub: a state, a one-line verdict and the counts ' +
        'behind them.',
      params: z.strictObject({}),
      result: R.SyncStatusResult,
      handler: () => {
        if (s.sync) return s.sync.status();
        return {
          ...unsyncedStatus(s.config.mode, s.store.origin, s.store.deviceName(s.store.origin)),
          conflicts: s.store.conflicts().length,
        };
      },
    }),
    defineMethod({
      name: 'sync.rejoin',
      role: 'admin',
      surfaces: SOCKET_ONLY,
      summary:
        'After this device was revoked and enrolled again: makes it the new replica its new ' +
        'credential is bound to, re-stamping the changes the hub never received, and syncs again.',
      params: z.strictObject({
        replica: z.string().describe('the new replica id (16 hex digits)'),
      }),
      result: z.strictObject({
        previous: z.string().describe('the replica id this device had'),
        replica: z.string(),
        restamped: z.number().describe('own ops re-stamped under the new id, to be sent'),
      }),
      handler: (p) => {
        if (!s.sync) throw noHub(s.config.mode);
        return s.sync.rejoin(p.replica);
      },
    }),
    defineMethod({
      name: 'sync.now',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary:
        'Syncs with the hub now; succeeds only when the hub has every change this device holds.',
      params: z.strictObject({
        wait: z.boolean().optional().describe('false: start it and return at once'),
        progress: z
          .boolean()
          .optional()
          .describe('send sync.progress notifications {phase, done, remaining} on this connection'),
      }),
      result: R.SyncNowResult,
      handler: async (p, ctx) => {
        const sync = s.sync;
        if (!sync) throw noHub(s.config.mode);
        if (p.wait === false) {
          sync.now().catch(() => undefined);
          return { started: true };
        }
        return await sync.now(
          p.progress === true
            ? (pr) => {
                ctx.notify('sync.progress', { ...pr });
              }
            : undefined,
        );
      },
    }),
  ];
}
