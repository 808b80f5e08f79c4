// Lint with type information. The rules that matter most for a daemon: no floating promises
// (a dropped promise is a silent hang), no `any` in src/, no focused or skipped tests.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'bin/**',
      'coverage/**',
      'eslint.config.js',
      'scripts/**',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'CallExpression[callee.object.name=/^(it|test|describe)$/][callee.property.name=/^(only|skip|todo)$/]',
          message: 'No focused, skipped or todo tests.',
        },
      ],
    },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  // The hub store is the hub's (ports/hub-store.ts): nothing else in src/ uses it, and inside
  // the hub only the composition roots (server.ts, and hub-migrate-main.ts which copies one
  // backend into the other) know which backend they run on.
  {
    files: ['src/**'],
    ignores: ['src/core/**', 'src/hub/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/ports/hub-store.js', '**/hub/store/*'],
              message: 'The hub store is used by src/hub/ only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/hub/**'],
    ignores: ['src/hub/server.ts', 'src/hub/hub-migrate-main.ts', 'src/hub/store/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['better-sqlite3', 'pg', './store/*'],
              message:
                'The hub sees the HubStore port; only server.ts picks its backend (see ports/hub-store.ts).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/core/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'better-sqlite3', 'yjs', 'undici', 'fastify'],
              message: 'core/ is pure: IO lives in adapters.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'core/ takes time from an injected Clock.' },
        {
          object: 'Math',
          property: 'random',
          message: 'core/ takes randomness from an injected source.',
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'console', 'process'],
    },
  },
);
