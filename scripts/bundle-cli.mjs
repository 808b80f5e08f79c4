// Bundles the `heph` command line (dist/src/cli/main.js, compiled by tsc) into one CommonJS file,
// dist/bundle/cli/main.cjs, which bin/heph.js runs. Start-up is most of what the CLI costs, and
// most of that was node's ES module loader: each module is a resolution, a read and a compile,
// and each built-in imported by an ES module gets a facade of all its exports (node:fs's loads
// its streams). In the bundle, packages and built-ins are plain require() calls made where the
// module needing them is first evaluated, and modules reached by import() (the commands) are in
// the file but not evaluated until they run: `heph next` never evaluates sign-in, doctor or
// daemon management, nor loads their packages. Packages that are ES modules only (jose,
// openid-client) must be reached by import() where used; the build fails on a static import of
// one. Runs after tsc in `npm run build`.

import { build } from 'esbuild';
import { rmSync } from 'node:fs';
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

rmSync(`${root}dist/bundle/cli`, { recursive: true, force: true });
await build({
  entryPoints: [`${root}dist/src/cli/main.js`],
  // Same depth as dist/src/cli, so the paths main.ts and package-version.ts take relative to
  // their own file (package.json, bin/hephd.js) stay right.
  outfile: `${root}dist/bundle/cli/main.cjs`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  define: { 'import.meta.url': '__hephFileUrl' },
  banner: { js: "const __hephFileUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [esOnlyByImport],
  logLevel: 'warning',
});
