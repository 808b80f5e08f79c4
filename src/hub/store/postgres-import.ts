// Loading a whole hub store (read by sqlite-export.ts) into an empty PostgreSQL hub store, for
// `hephd hub-migrate`. Guarantees: it runs in one transaction with the control-plane tables
// locked, so a hub process on the target can neither write meanwhile nor see half of it, and it
// ends with everything copied or nothing; a target that holds any op, account or claim is refused
// before anything is written; every op keeps its stamp and each owner's head is the source's (so
// devices keep their cursors); before committing it counts every owner's ops and compares them
// and the heads with the source, and rolls back on any difference.

import pg from 'pg';
import { HephError } from '../../core/errors.js';
import { originOf } from '../../core/hlc.js';
import { HUB_OWNER } from '../../ports/hub-store.js';
import { DEVICE_TABLES, type HubExport } from './sqlite-export.js';
import { translatePgError } from './postgres-errors.js';
import { OWNER_SETTING } from './postgres-schema.js';

const BATCH = 5000;

export interface ImportReport {
  owners: number;
  ops: number;
  claim: boolean;
  /** Devices copied (with their credentials and enrolment tokens). */
  devices: number;
  /** Per owner, ops and newest stamp, as counted in the target before the commit. */
  verified: { owner: number; ops: number; head: number }[];
}

async function refuseNonEmpty(c: pg.Client): Promise<void> {
  const r = await c.query<{ owners: string; written: string; claims: string; devices: string }>(
    `SELECT (SELECT count(*) FROM heph.owners WHERE id <> ${HUB_OWNER}) AS owners,
            (SELECT count(*) FROM heph.heads WHERE stamp > 0) AS written,
            (SELECT count(*) FROM heph.claim) AS claims,
            (SELECT count(*) FROM heph.devices) AS devices`,
  );
  const row = r.rows[0]!;
  const held = Number(row.owners) + Number(row.written) + Number(row.claims) + Number(row.devices);
  if (held > 0) {
    throw new HephError(
      'conflict',
      `the target database already holds a hub's data (${row.owners} accounts, ${row.written} ` +
        `logs with ops, ${row.claims} claim, ${row.devices} devices): hub-migrate copies only ` +
        'into an empty hub store; give it a new database',
    );
  }
}

/** Copies `source` into the hub store at `url` (its schema already made by the store). */
export async function importHub(
  url: string,
  source: HubExport,
  progress: (copied: number, total: number) => void,
): Promise<ImportReport> {
  const c = new pg.Client({ connectionString: url, application_name: 'hephd-hub-migrate' });
  try {
    await c.connect();
  } catch (e) {
    throw translatePgError(e, 'cannot connect to the target database');
  }
  try {
    await c.query('BEGIN ISOLATION LEVEL READ COMMITTED');
    await c.query('LOCK TABLE heph.owners, heph.heads, heph.claim, heph.devices IN EXCLUSIVE MODE');
    await refuseNonEmpty(c);
    for (const o of source.owners) {
      if (o.id === HUB_OWNER) {
        await c.query('UPDATE heph.owners SET created_ms = $1 WHERE id = $2', [o.createdMs, o.id]);
      } else {
        await c.query(
          'INSERT INTO heph.owners (id, iss, sub, created_ms) VALUES ($1, $2, $3, $4)',
          [o.id, o.identity?.iss, o.identity?.sub, o.createdMs],
        );
        await c.query('INSERT INTO heph.heads (owner, stamp) VALUES ($1, 0)', [o.id]);
      }
    }
    await c.query(
      `SELECT setval(pg_get_serial_sequence('heph.owners', 'id'),
                     greatest((SELECT max(id) FROM heph.owners), 2))`,
    );
    if (source.claim !== undefined) {
      await c.query('INSERT INTO heph.claim (one, iss, sub, claimed_ms) VALUES (1, $1, $2, $3)', [
        source.claim.iss,
        source.claim.sub,
        source.claim.claimedMs,
      ]);
    }
    for (const table of DEVICE_TABLES) {
      for (const row of source.deviceRows[table]) {
        const cols = Object.keys(row);
        await c.query(
          `INSERT INTO heph.${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
          cols.map((k) => row[k]),
        );
      }
      const n = await c.query<{ n: string }>(`SELECT count(*) AS n FROM heph.${table}`);
      if (Number(n.rows[0]!.n) !== source.deviceRows[table].length) {
        throw new HephError('storage', `verification failed for ${table}; nothing was kept`);
      }
    }
    let copied = 0;
    progress(0, source.totalOps);
    const verified: ImportReport['verified'] = [];
    for (const o of source.owners) {
      await c.query(`SELECT set_config('${OWNER_SETTING}', $1, true)`, [String(o.id)]);
      for (const batch of source.ops(o.id, BATCH)) {
        await c.query(
          `INSERT INTO heph.ops (owner, stamp, id, origin, op)
           SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[])`,
          [
            o.id,
            batch.map((x) => x.stamp),
            batch.map((x) => x.id),
            batch.map((x) => originOf(x.id)),
            batch.map((x) => x.text),
          ],
        );
        copied += batch.length;
        progress(copied, source.totalOps);
      }
      if (o.gaps.length > 0) {
        await c.query(
          'INSERT INTO heph.stamp_gaps (owner, stamp) SELECT $1, unnest($2::bigint[])',
          [o.id, o.gaps],
        );
      }
      await c.query('UPDATE heph.heads SET stamp = $1 WHERE owner = $2', [o.head, o.id]);
      const r = await c.query<{ n: string; head: string }>(
        `SELECT (SELECT count(*) FROM heph.ops WHERE owner = $1) AS n,
                (SELECT stamp FROM heph.heads WHERE owner = $1) AS head`,
        [o.id],
      );
      const n = Number(r.rows[0]!.n);
      const head = Number(r.rows[0]!.head);
      if (n !== o.ops || head !== o.head) {
        throw new HephError(
          'storage',
          `verification failed for owner ${o.id}: the source holds ${o.ops} ops up to stamp ` +
            `${o.head}, the copy ${n} up to ${head}; nothing was kept`,
        );
      }
      verified.push({ owner: o.id, ops: n, head });
    }
    await c.query('COMMIT');
    return {
      owners: source.owners.length,
      ops: copied,
      claim: source.claim !== undefined,
      devices: source.deviceRows.devices.length,
      verified,
    };
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw translatePgError(e, 'copying into the target database failed');
  } finally {
    await c.end().catch(() => undefined);
  }
}
