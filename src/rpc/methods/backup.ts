import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { HephError, invalid } from '../../core/errors.js';
import { defineMethod, SOCKET_ONLY } from '../registry.js';
import * as R from './results.js';
import type { Services } from './context.js';

/** Refuses a relative path, and an existing file unless `overwrite`. */
export function checkBackupTarget(path: string, overwrite: boolean | undefined): void {
  if (!isAbsolute(path)) throw invalid('path', 'must be an absolute path');
  if (existsSync(path) && !overwrite) {
    throw new HephError(
      'already_exists',
      `${path} already exists; to replace it, pass overwrite (heph backup FILE --overwrite)`,
      { path },
    );
  }
}

/** Marks a copy, so that a daemon that opens it takes a new replica id (two replicas must never
 * share one). */
export function markBackup(path: string, origin: string): void {
  const copy = new Database(path);
  try {
    copy.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('backup_of', ?)").run(origin);
  } finally {
    copy.close();
  }
}

export const BackupParams = z.strictObject({
  path: z.string().min(1).max(4096),
  overwrite: z.boolean().optional(),
});

export function backupMethods(s: Services) {
  return [
    defineMethod({
      name: 'backup',
      role: 'admin',
      surfaces: SOCKET_ONLY,
      summary: 'Writes a consistent copy of the database while the daemon runs (socket only).',
      params: BackupParams,
      result: R.BackupResult,
      handler: async (p) => {
        checkBackupTarget(p.path, p.overwrite);
        let bytes: number;
        try {
          const r = await s.store.connection.backup(p.path);
          bytes =
            r.totalPages * (s.store.connection.pragma('page_size', { simple: true }) as number);
        } catch (e) {
          throw new HephError('io', `cannot write backup to ${p.path}: ${(e as Error).message}`, {
            path: p.path,
          });
        }
        markBackup(p.path, s.store.origin);
        return { path: p.path, bytes, ops: s.store.opCount() };
      },
    }),
  ];
}
