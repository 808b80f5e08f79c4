// Bundles hephd (dist/src/daemon/main.js, compiled by tsc) into dist/bundle/daemon/, which
// bin/hephd.js runs. The daemon runs all day, so what it holds matters more than how fast it
// starts: V8 keeps the source text of every loaded module, and the packages it always loads
// (zod, yjs and lib0, rrule, ulid, json-rpc-2.0) are shipped with comments, long names and
// whole locale and format tables. Bundled and minified, with server, client-mode and sign-in
// code split into chunks loaded only by import() when used, an idle daemon holds several MB
// less (BENCHMARKS.md, daemon_rss_mb_idle). Packages that are native (better-sqlite3), log
// through their own worker machinery (pino), or serve only the hub or sign-in stay external and
// load from node_modules. Identifiers are kept, so stack traces in logs still name functions, and
// source maps are written beside the chunks: NODE_OPTIONS=--enable-source-maps gives traces that
// name the compiled files under dist/src.
// Runs after tsc in `npm run build`.

import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { packageName } from './package-name.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Packages bundled into the daemon; every other package is loaded from node_modules. */
const BUNDLED = new Set(['zod', 'yjs', 'lib0', 'rrule', 'ulid', 'json-rpc-2.0']);

/** @type {import('esbuild').Plugin} */
const onlyListedPackages = {
  name: 'only-listed-packages',
  setup(b) {
    // lib0's WebCrypto module, with small random draws served from a pool (the module says why).
    b.onResolve({ filter: /^lib0\/webcrypto$/ }, () => ({
      path: `${root}dist/src/ports/lib0-webcrypto.js`,
    }));
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:') || BUNDLED.has(packageName(args.path))) return undefined;
      return { path: args.path, external: true };
    });
  },
};

const outdir = `${root}dist/bundle/daemon`;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [`${root}dist/src/daemon/main.js`],
  // Same depth as dist/src/daemon, so paths taken relative to a module's own file (package.json,
  // schema.sql) stay right.
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  // Source maps beside the chunks (not loaded unless node runs with --enable-source-maps).
  sourcemap: true,
  // Bundled CommonJS packages call require(); an ES module has none unless given one.
  banner: {
    js: "import { createRequire as __hephCreateRequire } from 'node:module'; const require = __hephCreateRequire(import.meta.url);",
  },
  plugins: [onlyListedPackages],
  logLevel: 'warning',
});
