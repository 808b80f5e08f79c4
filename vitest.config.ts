import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/corpus/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two test files at a time (vitest's default here is one less than the cores: one on a
    // two-core machine). Most files wait on the processes they start, so two overlap well:
    // npm test took 8 min one at a time on a quiet two-core machine.
    maxWorkers: 2,
    globalSetup: ['test/global-pg.ts'],
  },
});
