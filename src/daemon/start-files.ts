// What a hephd start created on disk, so a refused start can take it back and leave the
// filesystem as it was. Guarantees: only paths that did not exist when the start began are
// removed; folders only when empty; the database's files (the database, its -wal and -shm, the
// owner file, a cache folder) only once this process has held the database's exclusive lock, so
// a start refused because another process holds the database never removes that process's files
// (two starts on one new database race to create it: the loser did not make what it finds).

import { existsSync, rmdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

export interface StartFiles {
  /**
   * Removes what the start made. `owned`: the database's lock was held, so the database's files
   * that are new are this start's own and go too.
   */
  undo(opts: { owned: boolean }): void;
}

/**
 * Notes which of `files` (removed whole: a file, or a folder with what is in it) and of `dirs`
 * and their ancestors (removed only when empty) do not exist yet.
 */
export function watchStartFiles(files: readonly string[], dirs: readonly string[]): StartFiles {
  const newFiles = files.filter((f) => !existsSync(f));
  const newDirs = new Set<string>();
  for (const d of dirs) {
    for (let p = d; !existsSync(p) && dirname(p) !== p; p = dirname(p)) newDirs.add(p);
  }
  return {
    undo({ owned }) {
      if (owned) for (const f of newFiles) rmSync(f, { recursive: true, force: true });
      // Deepest first, so a parent made for a child is empty once the child is gone.
      for (const d of [...newDirs].sort((a, b) => b.length - a.length)) {
        try {
          rmdirSync(d);
        } catch {
          // Not empty (something else now lives there) or already gone: left as it is.
        }
      }
    },
  };
}

/** The files SQLite keeps for a database, and its owner file (`<db>.pid`). */
export function databaseFiles(db: string): string[] {
  return [db, `${db}-wal`, `${db}-shm`, `${db}.pid`];
}
