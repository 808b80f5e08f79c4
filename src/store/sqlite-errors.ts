// SQLite's errors, translated once where they are caught into heph's typed errors; and the
// exclusive lock every heph database is opened under, whose failure is one of them.

import DatabaseCtor from 'better-sqlite3';
import type Database from 'better-sqlite3';
import { HephError } from '../core/errors.js';

export function translateSqliteError(e: unknown, context: string): Error {
  if (e instanceof HephError) return e;
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const detail = typeof err.message === 'string' ? err.message : String(e);
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED') {
    return new HephError(
      'unavailable',
      `${context}: the database is locked by another process; try again`,
      { sqlite: code },
    );
  }
  if (code === 'SQLITE_FULL') {
    return new HephError('storage', `${context}: the disk is full; free some space and try again`, {
      sqlite: code,
    });
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new HephError(
      'storage',
      `${context}: the file is not a heph database or is damaged (${detail})`,
      { sqlite: code },
    );
  }
  if (/directory does not exist/i.test(detail)) {
    return new HephError(
      'storage',
      `${context}: its directory does not exist; create it or choose another path`,
    );
  }
  if (code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_CANTOPEN')) {
    return new HephError(
      'storage',
      `${context}: cannot open the file; check that it and its directory are readable and writable`,
      { sqlite: code },
    );
  }
  if (
    code === 'SQLITE_READONLY' ||
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_IOERR')
  ) {
    return new HephError('storage', `${context}: ${detail}`, { sqlite: code });
  }
  if (e instanceof Error) return e;
  return new Error(String(e));
}

/**
 * Takes SQLite's exclusive lock on `db` for as long as it is open, so no other process can use
 * the file (the kernel releases it when the process dies, however it dies); `what` names the file
 * in the already_running error another process gets.
 */
export function lockExclusively(db: Database.Database, path: string, what = 'database'): void {
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('busy_timeout = 0');
  try {
    db.exec('BEGIN EXCLUSIVE; COMMIT;');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new HephError('already_running', `${what} ${path} is in use by another process`, {
        path,
      });
    }
    throw e;
  }
}

/**
 * Holds `path` (an SQLite file made for the purpose) under the exclusive lock until the returned
 * function is called: a directory one process at a time works in, with the same already_running
 * error and the same release when the process dies, however it dies.
 */
export function holdExclusively(path: string, what: string): () => void {
  let db: Database.Database | undefined;
  try {
    db = new DatabaseCtor(path);
    lockExclusively(db, path, what);
    const held = db;
    return () => held.close();
  } catch (e) {
    db?.close();
    throw translateSqliteError(e, `cannot take ${path}`);
  }
}
