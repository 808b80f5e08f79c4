// hephd's entry, run by node with the node flags of hephd's mode (src/config/node-flags.ts):
// the `hephd` command beside it (bin/hephd) picks them and execs node on this file.
// CommonJS, as every file in bin/ (bin/package.json); the daemon itself is an ES module,
// bundled by scripts/bundle-daemon.mjs.
import('../dist/bundle/daemon/main.js')
  .then(({ main }) => main(process.argv.slice(2), process.env))
  .then((code) => {
    process.exitCode = code;
  });
