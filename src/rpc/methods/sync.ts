import { z } from 'zod';
import { HephError } from '../../core/errors.js';
import { syncServiceFor, unsyncedStatus } from '../../sync/sync-service.js';
import { defineMethod } from '../registry.js';
import type { Services } from './context.js';

export function syncMethods(s: Services) {
  return [
    defineMethod({
      name: 'sync.status',
      summary:
        'How this replica stands with its hub: last attempt and success, the last error, ' +
        'changes waiting either way, refused changes and a one-line verdict.',
      params: z.strictObject({}),
      result:
        '{mode, hub, replica_id, last_attempt, last_success, last_error: {kind, message, since} | null, ' +
        'pending, unpulled, conflicts, quarantined: [{id, code, message}], verdict}',
      handler: () => {
        const sync = syncServiceFor(s.store);
        if (sync) return sync.status();
        return { ...unsyncedStatus(s.config.mode), replica_id: s.store.origin };
      },
    }),
    defineMethod({
      name: 'sync.now',
      summary:
        'Syncs with the hub now (after any sync in progress). With wait false, starts it and ' +
        'returns at once; with progress, reports each page as it goes.',
      params: z.strictObject({
        wait: z.boolean().optional(),
        progress: z
          .boolean()
          .optional()
          .describe('send sync.progress notifications {phase, done, remaining} on this connection'),
      }),
      result: '{pulled, applied, pushed} (or {started: true} with wait false)',
      handler: async (p, ctx) => {
        const sync = syncServiceFor(s.store);
        if (!sync) {
          throw new HephError(
            'unavailable',
            'this daemon has no hub to sync with: start hephd with --hub-url URL ' +
              '(or set HEPH_HUB_URL, or hub_url in the config file)',
            { reason: 'no_hub' },
          );
        }
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
