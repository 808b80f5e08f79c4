import { z } from 'zod';
import { PROTOCOL_VERSION } from '../../protocol/sync.js';
import { defineMethod, EVERYWHERE } from '../registry.js';
import * as R from './results.js';
import type { Services } from './context.js';

export function statusMethods(s: Services) {
  return [
    defineMethod({
      name: 'status',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary:
        'What this daemon is: version, sync protocol, mode, replica id, files, op count, ' +
        'uptime; the state digest with digest: true.',
      // The digest covers every node (cached until the next change): on a large store it costs
      // far more than the rest, so it is computed only when asked for.
      params: z.strictObject({
        digest: z
          .boolean()
          .optional()
          .describe('also compute the state digest (equal on replicas that show the same)'),
      }),
      result: R.StatusResult,
      handler: (p) => ({
        version: s.version,
        protocol: PROTOCOL_VERSION,
        mode: s.config.mode,
        pid: process.pid,
        replica_id: s.store.origin,
        db: s.config.db,
        socket: s.config.socket,
        ops: s.store.opCount(),
        ...(p.digest === true && { digest: s.store.digest() }),
        conflicts: s.store.conflicts().length,
        uptime_s: Math.round((s.clock.now() - s.startedMs) / 1000),
        subscribers: s.events.count(),
      }),
    }),
  ];
}
