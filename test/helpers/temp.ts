import { afterEach } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

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

/** Every file under `dir` (dot folders included), by path relative to it, with its text. */
export function readTree(dir: string): Record<string, string> {
  const res: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else res[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return res;
}
