#!/usr/bin/env node
// CommonJS (bin/package.json) running the CLI bundled by `npm run build` (scripts/bundle-cli.mjs):
// node's ES module loader is a measurable part of a command's start-up. main.cjs holds the
// commands people run most and hands any other command line to full.cjs beside it.
const { main } = require('../dist/bundle/cli/main.cjs');

// A reader that stops early (`heph next | head`) closes the pipe: stop quietly, as git does,
// instead of an unhandled EPIPE with a stack trace.
process.stdout.on('error', (e) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit();
});

main(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  // Made by node on first access, and only some commands read them.
  get stdin() {
    return process.stdin;
  },
  stdout: process.stdout,
  get stderr() {
    return process.stderr;
  },
}).then((code) => {
  process.exitCode = code;
});
