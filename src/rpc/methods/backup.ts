import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { HephError, invalid } from '../../core/errors.js';
import { defineMethod } from '../registry.js';
import type { Services } from './context.js';

export function backupMethods(s: Services) {
  return [
    defineMethod({
      name: 'backup',
      summary: 'Writes a consistent copy of the database while the daemon runs (socket only).',
      params: z.strictObject({
        path: z.string().min(1).max(4096),
        overwrite: z.boolean().optional(),
      }),
      result: '{path, bytes, ops}',
      handler: async (p) => {
        if (!isAbsolute(p.path)) throw invalid('path', 'must be an absolute path');
        if (existsSync(p.path) && !p.overwrite) {
          throw new HephError(
            'already_exists',
            `${p.path} already exists; pass overwrite to replace it`,
            { path: p.path },
          );
        }
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
        // Mark the copy, so that a daemon that opens it takes a new replica id (two replicas must
        // never share one).
        const copy = new Database(p.path);
        try {
          copy
            .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('backup_of', ?)")
            .run(s.store.origin);
        } finally {
          copy.close();
        }
        return { path: p.path, bytes, ops: s.store.opCount() };
      },
    }),
  ];
}
