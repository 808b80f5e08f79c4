#!/usr/bin/env -S node --max-semi-space-size=4
// The flags above are HEPHD_NODE_FLAGS (src/config/node-flags.ts); a test keeps them equal.
// CommonJS, as every file in bin/ (bin/package.json); the daemon itself is an ES module,
// bundled by scripts/bundle-daemon.mjs.
import('../dist/bundle/daemon/main.js')
  .then(({ main }) => main(process.argv.slice(2), process.env))
  .then((code) => {
    process.exitCode = code;
  });
