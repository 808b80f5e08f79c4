// Bundles the `heph` command line (dist/src/cli, compiled by tsc) into two CommonJS files beside
// each other in dist/bundle/cli: main.cjs, which bin/heph.js runs, and full.cjs. Start-up is most
// of what the CLI costs, and most of that was node's ES module loader: each module is a
// resolution, a read and a compile, and each built-in imported by an ES module gets a facade of
// all its exports (node:fs's loads its streams). In a bundle, packages and built-ins are plain
// require() calls made where the module needing them is first evaluated, and modules reached by
// import() (the commands) are in the file but not evaluated until they run.
//
// full.cjs (entry cli/main.js) holds every command. main.cjs (entry cli/fast-main.js) holds only
// what the commands people run most use (FAST_COMMANDS in src/cli/fast-main.ts: the modules in
// FAST_MODULES below), since reading and compiling a file costs in proportion to its size, and a
// file over 128 KiB is read into pages of its own: 305 KB took 19 ms of CPU to read, compile and
// evaluate, 107 KB 8 ms. Any other command line is handed to full.cjs before anything runs; an
// import() of any other module from main.cjs gets a module that throws, so a fast command that
// starts to need one fails its tests instead of loading a second copy of a module.
//
// Packages that are ES modules only (jose, openid-client) must be reached by import() where
// used; the build fails on a static import of one. Runs after tsc in `npm run build`.

import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageName } from './package-name.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Packages without a CommonJS entry. */
const ES_ONLY = new Set(['jose', 'openid-client']);

/** @type {import('esbuild').Plugin} */
const esOnlyByImport = {
  name: 'es-only-by-import',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (!ES_ONLY.has(packageName(args.path))) return undefined;
      if (args.kind === 'dynamic-import') return { path: args.path, external: true };
      return {
        errors: [
          {
            text: `${args.path} is an ES module only: load it with import() where it is used, so the CLI does not load it at start`,
          },
        ],
      };
    });
  },
};

/** The modules main.cjs may import(): those of FAST_COMMANDS, and the config file's reader that
 *  finds the socket. Paths under dist/src. */
const FAST_MODULES = new Set([
  'cli/commands/tasks.js',
  'cli/commands/nodes.js',
  'cli/commands/admin.js',
  'config/config.js',
]);

/** In main.cjs, any other module reached by import() is one that throws when imported. */
const fastOnly = {
  name: 'fast-only',
  setup(b) {
    b.onResolve({ filter: /^\./ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const path = resolve(args.resolveDir, args.path);
      const under = relative(`${root}dist/src`, path).split(sep).join('/');
      if (FAST_MODULES.has(under)) return undefined;
      return { path: under, namespace: 'not-in-fast-bundle' };
    });
    b.onLoad({ filter: /.*/, namespace: 'not-in-fast-bundle' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(
        `${args.path} is not in the fast bundle of heph (scripts/bundle-cli.mjs); run the command through full.cjs`,
      )});`,
      loader: 'js',
    }));
  },
};

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  define: { 'import.meta.url': '__hephFileUrl' },
  banner: { js: "const __hephFileUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
};

rmSync(`${root}dist/bundle/cli`, { recursive: true, force: true });
// Both at the depth of dist/src/cli, so the paths main.ts and package-version.ts take relative to
// their own file (package.json, bin/hephd.js) stay right.
await build({
  ...common,
  entryPoints: [`${root}dist/src/cli/main.js`],
  outfile: `${root}dist/bundle/cli/full.cjs`,
  plugins: [esOnlyByImport],
});
await build({
  ...common,
  entryPoints: [`${root}dist/src/cli/fast-main.js`],
  outfile: `${root}dist/bundle/cli/main.cjs`,
  plugins: [esOnlyByImport, fastOnly],
  // Under 128 KiB (test/cli/bundle.test.ts); names are kept, so stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
});
