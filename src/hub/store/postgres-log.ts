// The op-log statements of the PostgreSQL hub store (postgres.ts): stamping a push's new ops
// after the owner's locked head, and reading a page after a cursor. Every statement names its
// owner, and runs in a transaction whose owner is set first (row-level security's wall).
// Guarantees: insertOps, run after the owner's counter row is locked, sees every op committed
// before it (a new statement at READ COMMITTED) and stamps the new ones head + 1, head + 2, … in
// order; readPage reads the head and the page in one statement (one snapshot), and counts what
// remains only among stamps at or below that head, which never change.

import type pg from 'pg';
import { HephError, invalid } from '../../core/errors.js';
import { isHlcString, isOrigin } from '../../core/hlc.js';
import type { AppendResult, LogPage, OwnerId, ReadQuery } from '../../ports/hub-store.js';
import { OWNER_SETTING } from './postgres-schema.js';
import { cursorAhead, reusedId, type CheckedOp } from './rules.js';

/** Largest page a read may ask for. */
const MAX_READ_LIMIT = 100_000;

export function ownerLiteral(owner: OwnerId): string {
  if (!Number.isSafeInteger(owner) || owner < 1) {
    throw new HephError('not_found', `the hub store has no owner ${String(owner)}`, {
      owner: String(owner),
    });
  }
  return String(owner);
}

/** The simple-protocol text that starts a transaction for `owner`'s statements. */
export function beginFor(owner: OwnerId): string {
  return `BEGIN ISOLATION LEVEL READ COMMITTED; SELECT set_config('${OWNER_SETTING}', '${ownerLiteral(owner)}', true);`;
}

export function noOwner(owner: OwnerId): HephError {
  return new HephError('not_found', `the hub store has no owner ${owner}`, {
    owner: String(owner),
  });
}

/** A push's ops with those repeated inside it sorted out: the first text of an id wins. */
export function dedupe(ok: readonly CheckedOp[], result: AppendResult): CheckedOp[] {
  const seen = new Map<string, string>();
  const out: CheckedOp[] = [];
  for (const op of ok) {
    const text = seen.get(op.id);
    if (text === undefined) {
      seen.set(op.id, op.text);
      out.push(op);
    } else if (text === op.text) result.duplicates++;
    else result.refused.push(reusedId(op.id, op.origin));
  }
  return out;
}

/** The rows of the last statement of a simple-protocol query of several statements. */
export function lastRows<T>(r: pg.QueryResult | pg.QueryResult[]): T[] {
  const all = Array.isArray(r) ? r : [r];
  return all[all.length - 1]!.rows as T[];
}

/** Stores new ops after `head` and moves the head; returns the stored (id, op) among them. */
const INSERT = `
WITH input AS (
  SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t (id, origin, op, n)
), existing AS (
  SELECT o.id, o.op FROM heph.ops o WHERE o.owner = $1 AND o.id IN (SELECT id FROM input)
), fresh AS (
  SELECT i.*, row_number() OVER (ORDER BY i.n) AS k
  FROM input i WHERE i.id NOT IN (SELECT id FROM existing)
), ins AS (
  INSERT INTO heph.ops (owner, stamp, id, origin, op)
  SELECT $1, $5::bigint + k, id, origin, op FROM fresh
), upd AS (
  UPDATE heph.heads SET stamp = $5::bigint + (SELECT count(*) FROM fresh) WHERE owner = $1
)
SELECT id, op FROM existing`;

export async function insertOps(
  c: pg.PoolClient,
  owner: OwnerId,
  head: number,
  ops: readonly CheckedOp[],
): Promise<Map<string, string>> {
  if (ops.length === 0) return new Map();
  const r = await c.query<{ id: string; op: string }>(INSERT, [
    owner,
    ops.map((o) => o.id),
    ops.map((o) => o.origin),
    ops.map((o) => o.text),
    head,
  ]);
  return new Map(r.rows.map((x) => [x.id, x.op]));
}

export function readPage(owner: OwnerId, q: ReadQuery): (c: pg.PoolClient) => Promise<LogPage> {
  if (!Number.isSafeInteger(q.after) || q.after < 0) {
    throw invalid('after', 'must be a whole number');
  }
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_READ_LIMIT) {
    throw invalid('limit', `must be 1-${MAX_READ_LIMIT}`);
  }
  const skip = q.skip;
  if (
    skip !== undefined &&
    (!isOrigin(skip.origin) || !(isHlcString(skip.upTo) || skip.upTo === '~'))
  ) {
    throw invalid('skip', 'must be a replica id and one of its op ids');
  }
  const o = ownerLiteral(owner);
  const skipping =
    skip === undefined ? '' : ` AND NOT (x.origin = '${skip.origin}' AND x.id <= '${skip.upTo}')`;
  // One statement (one snapshot): the head and the page after the cursor.
  const page =
    `SELECT h.stamp AS head, p.stamp, p.op FROM heph.heads h LEFT JOIN LATERAL (` +
    `SELECT x.stamp, x.op FROM heph.ops x WHERE x.owner = ${o} AND x.stamp > ${q.after}` +
    `${skipping} ORDER BY x.stamp LIMIT ${q.limit + 1}) p ON true WHERE h.owner = ${o}`;
  // Each query is one round trip: its statements run as one implicit transaction, the first
  // setting its owner.
  const asOwner = `SELECT set_config('${OWNER_SETTING}', '${o}', true); `;
  return async (c) => {
    const rows = lastRows<{ head: string; stamp: string | null; op: string | null }>(
      await c.query(asOwner + page),
    );
    if (rows.length === 0) throw noOwner(owner);
    const head = Number(rows[0]!.head);
    if (q.after > head) throw cursorAhead(q.after, head);
    const found = rows[0]!.stamp === null ? 0 : rows.length;
    let take = Math.min(found, q.limit);
    let chars = 0;
    for (let i = 0; i < take; i++) {
      chars += rows[i]!.op!.length;
      if (chars > q.maxChars && i > 0) take = i;
    }
    const more = found > take;
    const ops = rows.slice(0, take).map((x) => x.op!);
    if (!more) return { ops, cursor: Math.max(q.after, head), more, remaining: 0 };
    const cursor = Number(rows[take - 1]!.stamp);
    // Stamps up to the head are dense but for recorded gaps, and stay as they are: what
    // follows the cursor is a subtraction, less the caller's own ops that will be skipped.
    const counted = lastRows<{ gaps: string; own: string }>(
      await c.query(
        asOwner +
          `SELECT (SELECT count(*) FROM heph.stamp_gaps x WHERE x.owner = ${o} AND x.stamp > ${cursor}
                 AND x.stamp <= ${head}) AS gaps,
              ${
                skip === undefined
                  ? '0'
                  : `(SELECT count(*) FROM heph.ops x WHERE x.owner = ${o} AND x.stamp > ${cursor}
                       AND x.stamp <= ${head}${skipping.replace(' AND NOT', ' AND')})`
              } AS own`,
      ),
    );
    const row = counted[0]!;
    const remaining = head - cursor - Number(row.gaps) - Number(row.own);
    return { ops, cursor, more, remaining };
  };
}
