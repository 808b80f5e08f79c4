// hephd hub-migrate: copies a stopped SQLite hub (its data directory's hub.db) into an empty
// PostgreSQL hub store. Guarantees: the source is held under its exclusive lock throughout (a
// running hub is refused); the target must pass the hub's own checks (PostgreSQL 14+, a role that
// is neither a superuser nor BYPASSRLS), gets the hub schema, and must hold no data; the copy is
// one transaction that keeps every stamp, every account, the claim, and is verified by counts
// before it commits (postgres-import.ts). The source is left as it was.

import { join } from 'node:path';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import { importHub, type ImportReport } from './postgres-import.js';
import { PostgresHubStore, describePgUrl } from './postgres.js';
import { openHubExport } from './sqlite-export.js';
import { HUB_DB_NAME } from './sqlite-upgrade.js';

export interface HubMigrateOptions {
  /** The SQLite hub's data directory. */
  from: string;
  /** The PostgreSQL hub store's URL. */
  to: string;
}

export interface HubMigrateReport extends ImportReport {
  from: string;
  to: string;
}

export async function hubMigrate(
  o: HubMigrateOptions,
  deps: { clock: Clock; logger: Logger; progress: (copied: number, total: number) => void },
): Promise<HubMigrateReport> {
  const source = openHubExport(join(o.from, HUB_DB_NAME), deps.clock.now());
  try {
    // Opening the store checks the role and makes or upgrades the schema.
    const target = await PostgresHubStore.open({ url: o.to, poolSize: 1 }, deps);
    await target.close();
    const report = await importHub(o.to, source, deps.progress);
    return { ...report, from: join(o.from, HUB_DB_NAME), to: describePgUrl(o.to) };
  } finally {
    source.close();
  }
}
