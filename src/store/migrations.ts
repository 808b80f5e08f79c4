import type Database from 'better-sqlite3';

/**
 * MIGRATIONS[i] upgrades a database from schema version i + 1 to i + 2. schema.sql always
 * describes the result of applying all of them to version 1; a test checks that it does.
 */
export const MIGRATIONS: ReadonlyArray<(db: Database.Database) => void> = [];
