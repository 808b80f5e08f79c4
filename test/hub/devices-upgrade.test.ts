// A hub store of schema version 1 (before devices), committed as that version left it
// (test/fixtures/hub-store-v1.*, made by make-hub-store-v1.ts), upgraded in place on both
// backends: the device tables appear, every owner's ops keep their stamps, the accounts, the
// claim and the store id stay, and a device then enrols and pushes on the upgraded store.

import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, inject, it } from 'vitest';
import { encodeHlc } from '../../src/core/hlc.js';
import { hashSecret, newSecret } from '../../src/hub/credentials.js';
import { PG_SCHEMA_VERSION } from '../../src/hub/store/postgres-schema.js';
import { PostgresHubStore } from '../../src/hub/store/postgres.js';
import { HUB_SCHEMA_VERSION } from '../../src/hub/store/sqlite-schema.js';
import { SqliteHubStore } from '../../src/hub/store/sqlite.js';
import { ManualClock } from '../../src/ports/clock.js';
import { HUB_OWNER, type HubStore } from '../../src/ports/hub-store.js';
import { createTestDatabase, pgBinDir, sql } from '../helpers/postgres.js';
import { useCleanup } from '../helpers/temp.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const facts = JSON.parse(readFileSync(join(FIXTURES, 'hub-store-v1.json'), 'utf8')) as {
  sqlite_store_id: string;
  claim: { iss: string; sub: string };
  owner: { ids: string[]; head: number };
  bob: { identity: { iss: string; sub: string }; owner: number; ids: string[]; head: number };
};
const cleanups = useCleanup();
const clock = new ManualClock(Date.UTC(2026, 6, 1));
const R = 'c3c3c3c3c3c3c3c3';

const idsOf = async (s: HubStore, owner: number) =>
  (await s.read(owner, { after: 0, limit: 1000, maxChars: Infinity })).ops.map(
    (t) => (JSON.parse(t) as { id: string }).id,
  );

/** What the upgrade must keep, then a device enrolled and pushing on the upgraded store. */
async function checkUpgraded(s: HubStore): Promise<void> {
  expect(await s.claim()).toEqual(facts.claim);
  expect(await idsOf(s, HUB_OWNER)).toEqual(facts.owner.ids);
  expect(await s.head(HUB_OWNER)).toBe(facts.owner.head);
  expect(await s.findOwner(facts.bob.identity)).toBe(facts.bob.owner);
  expect(await idsOf(s, facts.bob.owner)).toEqual(facts.bob.ids);
  expect(await s.listDevices(HUB_OWNER)).toEqual([]);
  const now = clock.now();
  const token = newSecret('enrolment');
  await s.createEnrolment(
    {
      owner: HUB_OWNER,
      id: 'newbox',
      name: 'new box',
      tokenHash: token.hash,
      expiresMs: now + 1e6,
    },
    now,
  );
  const credential = newSecret('device');
  const d = await s.exchangeEnrolment(
    { tokenHash: hashSecret(token.plain), replica: R, facts: {}, credentialHash: credential.hash },
    now,
  );
  expect(d).toMatchObject({ id: 'newbox', status: 'active' });
  const op = {
    id: encodeHlc({ wall: now, counter: 0, origin: R }),
    kind: 'node.set',
    target: '01JAAAAAAAAAAAAAAAAAAAAAAA',
    payload: { field: 'title', value: 'after the upgrade', prev: [] },
  };
  const [r] = await s.append([{ owner: HUB_OWNER, ops: [op], replica: R }]);
  expect(r!.accepted).toEqual([op.id]);
  expect(await s.head(HUB_OWNER)).toBe(facts.owner.head + 1);
  expect(await s.deviceByCredential(credential.hash)).toMatchObject({ opsPushed: 1 });
}

describe('upgrading a hub store of schema version 1 in place', () => {
  it('SQLite: hub.db gains the device tables and keeps everything', async () => {
    const dir = cleanups.dir('heph-hubstore-v1-');
    const path = join(dir, 'hub.db');
    copyFileSync(join(FIXTURES, 'hub-store-v1.sqlite'), path);
    const before = new Database(path, { readonly: true });
    expect(before.pragma('user_version', { simple: true })).toBe(1);
    before.close();
    const s = SqliteHubStore.open({ path }, { clock });
    try {
      expect(await s.storeId()).toBe(facts.sqlite_store_id);
      await checkUpgraded(s);
    } finally {
      await s.close();
    }
    const after = new Database(path, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(HUB_SCHEMA_VERSION);
    expect(HUB_SCHEMA_VERSION).toBe(2);
    after.close();
  });

  it('PostgreSQL: the schema gains the device tables and keeps everything', async () => {
    const db = await createTestDatabase(inject('pg'), 'upgrade');
    // The fixture loads as the hub's own role, as its database's owner would restore it.
    execFileSync(
      join(pgBinDir(), 'psql'),
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', join(FIXTURES, 'hub-store-v1.pg.sql'), db.url],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    expect(await sql(db.url, 'SELECT version FROM heph.schema_version')).toEqual([{ version: 1 }]);
    const s = await PostgresHubStore.open({ url: db.url }, { clock });
    try {
      await checkUpgraded(s);
    } finally {
      await s.close();
    }
    expect(await sql(db.url, 'SELECT version FROM heph.schema_version')).toEqual([
      { version: PG_SCHEMA_VERSION },
    ]);
    expect(PG_SCHEMA_VERSION).toBe(2);
  });
});
