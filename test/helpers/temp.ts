import { afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary directory and a function that removes it. */
export function tempDir(prefix = 'heph-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Cleanup {
  /** Runs `fn` after the test (last registered first). */
  defer(fn: () => Promise<void> | void): void;
  /** A fresh temporary directory, removed after the test. */
  dir(prefix?: string): string;
}

/** What each test of a file opened, closed after it in reverse order (call at the top level). */
export function useCleanup(): Cleanup {
  const fns: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const fn of fns.splice(0).reverse()) await fn();
  });
  return {
    defer: (fn) => void fns.push(fn),
    dir(prefix) {
      const t = tempDir(prefix);
      fns.push(() => t.cleanup());
      return t.dir;
    },
  };
}
