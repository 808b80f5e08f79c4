// `doctor.check`: what only the daemon can see for `heph doctor`. The database file's integrity
// (quick_check on a copy, in a worker: store/quick-check.ts) and schema version, and the hub as
// this daemon reaches it: reachable, the protocol versions it speaks, whether it asks for
// sign-in, and this daemon's clock against the hub's (the clock that stamps changes, so an
// injected offset shows). Local daemons only: a hub or client-mode daemon does not serve it.

import { z } from 'zod';
import { PROTOCOL_VERSION } from '../../protocol/sync.js';
import { SCHEMA_VERSION } from '../../store/migrate.js';
import { quickCheck, type QuickCheck } from '../../store/quick-check.js';
import { defineMethod, SOCKET_ONLY } from '../registry.js';
import * as R from './results.js';
import type { Services } from './context.js';

const HUB_TIMEOUT_MS = 5000;

async function hubCheck(s: Services) {
  const client = s.sync?.client;
  if (client === undefined) return null;
  const url = client.url.href;
  const signal = AbortSignal.timeout(HUB_TIMEOUT_MS);
  try {
    const t0 = s.clock.now();
    const health = await client.health(signal);
    const t1 = s.clock.now();
    const config = await client.config(signal);
    return {
      url,
      reachable: true,
      error: null,
      protocols: config.protocol,
      protocol: PROTOCOL_VERSION,
      sign_in_required: config.issuer !== null,
      // Positive: this daemon's clock is ahead of the hub's (the round trip split evenly).
      offset_ms: Math.round((t0 + t1) / 2 - health.time_ms),
    };
  } catch (e) {
    const message = signal.aborted
      ? `no answer within ${HUB_TIMEOUT_MS / 1000} s`
      : e instanceof Error
        ? e.message
        : String(e);
    return { url, reachable: false, error: message, protocol: PROTOCOL_VERSION };
  }
}

export function doctorMethods(s: Services) {
  let checking: Promise<QuickCheck> | undefined;
  return [
    defineMethod({
      name: 'doctor.check',
      role: 'viewer',
      surfaces: SOCKET_ONLY,
      summary:
        "For heph doctor: the database's integrity and schema, and the hub as seen from here.",
      params: z.strictObject({}),
      result: R.DoctorResult,
      handler: async () => {
        checking ??= quickCheck(s.store, s.config.db)
          .catch((e: unknown) => ({
            result: [`the check could not run: ${e instanceof Error ? e.message : String(e)}`],
            schemaVersion: null,
          }))
          .finally(() => (checking = undefined));
        const [db, hub] = await Promise.all([checking, hubCheck(s)]);
        return {
          database: {
            path: s.config.db,
            result: db.result,
            schema_version: db.schemaVersion,
            expected_schema_version: SCHEMA_VERSION,
          },
          hub,
        };
      },
    }),
  ];
}
