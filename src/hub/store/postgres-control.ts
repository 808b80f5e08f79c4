// The control plane of the PostgreSQL hub store (postgres.ts): accounts, the hub's claim and
// the store's id. These tables carry no row-level security; every statement names what it reads
// or writes. Guarantees: an account and its counter row are created together, and two processes
// creating one account at once end with one; the first claim wins across processes, and a claim
// replaces another only when told which.

import type pg from 'pg';
import { HephError, invalid } from '../../core/errors.js';
import type { OwnerId, OwnerIdentity } from '../../ports/hub-store.js';

export function checkIdentity(identity: OwnerIdentity): void {
  for (const k of ['iss', 'sub'] as const) {
    const v: unknown = identity[k];
    if (typeof v !== 'string' || v === '' || v.length > 1024) {
      throw invalid(k, 'must be a non-empty string of at most 1024 characters');
    }
  }
}

export async function findOwnerIn(
  c: pg.PoolClient,
  identity: OwnerIdentity,
): Promise<OwnerId | undefined> {
  const r = await c.query<{ id: string }>(
    'SELECT id FROM heph.owners WHERE iss = $1 AND sub = $2',
    [identity.iss, identity.sub],
  );
  return r.rows.length === 0 ? undefined : Number(r.rows[0]!.id);
}

export async function ownerIn(
  c: pg.PoolClient,
  identity: OwnerIdentity,
  now: number,
): Promise<OwnerId> {
  const found = await findOwnerIn(c, identity);
  if (found !== undefined) return found;
  // A new account and its counter row together; a concurrent insert of the same account waits
  // for the other and then finds it.
  await c.query(
    `WITH new AS (
       INSERT INTO heph.owners (iss, sub, created_ms) VALUES ($1, $2, $3)
       ON CONFLICT (iss, sub) DO NOTHING RETURNING id
     ) INSERT INTO heph.heads (owner, stamp) SELECT id, 0 FROM new`,
    [identity.iss, identity.sub, now],
  );
  const id = await findOwnerIn(c, identity);
  if (id === undefined) throw new HephError('storage', 'recording an owner failed');
  return id;
}

export async function readClaim(c: pg.PoolClient): Promise<OwnerIdentity | undefined> {
  const r = await c.query<OwnerIdentity>('SELECT iss, sub FROM heph.claim WHERE one = 1');
  const row = r.rows[0];
  return row === undefined ? undefined : { iss: row.iss, sub: row.sub };
}

export async function setClaimIn(
  c: pg.PoolClient,
  identity: OwnerIdentity,
  expected: OwnerIdentity | undefined,
  now: number,
): Promise<OwnerIdentity> {
  if (expected === undefined) {
    await c.query(
      `INSERT INTO heph.claim (one, iss, sub, claimed_ms) VALUES (1, $1, $2, $3)
       ON CONFLICT (one) DO NOTHING`,
      [identity.iss, identity.sub, now],
    );
  } else {
    await c.query(
      `UPDATE heph.claim SET iss = $1, sub = $2, claimed_ms = $3
       WHERE one = 1 AND iss = $4 AND sub = $5`,
      [identity.iss, identity.sub, now, expected.iss, expected.sub],
    );
  }
  return (await readClaim(c)) ?? identity;
}

export async function readStoreId(c: pg.PoolClient): Promise<string> {
  const r = await c.query<{ value: string }>("SELECT value FROM heph.meta WHERE key = 'store_id'");
  return r.rows[0]!.value;
}
