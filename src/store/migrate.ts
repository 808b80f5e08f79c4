// Schema creation and upgrade. A new database is created from schema.sql at the current
// version. An existing database is upgraded by running, in order, every migration above its
// PRAGMA user_version, all in one transaction: it ends at the current version or unchanged.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { HephError } from '../core/errors.js';
import { MIGRATIONS } from './migrations.js';

export const SCHEMA_VERSION = MIGRATIONS.length + 1;

let schemaText: string | undefined;

/** Reads schema.sql from the package root (found by walking up from this file). */
export function currentSchemaSql(): string {
  if (schemaText !== undefined) return schemaText;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'schema.sql');
    if (existsSync(candidate)) {
      schemaText = readFileSync(candidate, 'utf8');
      return schemaText;
    }
    dir = dirname(dir);
  }
  throw new HephError('internal', 'schema.sql not found next to the installed package');
}

export function migrate(db: Database.Database): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from === SCHEMA_VERSION) return { from, to: from };
  if (from > SCHEMA_VERSION) {
    throw new HephError(
      'storage',
      `this database has schema version ${from}, newer than this heph understands (${SCHEMA_VERSION}); upgrade heph`,
    );
  }
  db.transaction(() => {
    if (from === 0) {
      const hasTables = db
        .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'")
        .get() as { n: number };
      if (hasTables.n > 0)
        throw new HephError('storage', 'this file is an SQLite database, but not a heph database');
      db.exec(currentSchemaSql());
    } else {
      for (let v = from; v < SCHEMA_VERSION; v++) {
        const step = MIGRATIONS[v - 1];
        if (!step) throw new HephError('internal', `no migration from schema version ${v}`);
        step(db);
      }
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
  return { from, to: SCHEMA_VERSION };
}
