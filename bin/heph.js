#!/usr/bin/env node
// CommonJS (bin/package.json) running the CLI bundled by `npm run build` (scripts/bundle-cli.mjs):
// node's ES module loader is a measurable part of a command's start-up. main.cjs holds the
// commands people run most and hands any other command line to full.cjs beside it. A command
// line that names none of those commands cannot be one of them, so it goes to full.cjs directly,
// without reading and compiling main.cjs first (about 9 ms of CPU for help, sign-in, and the
// completion that runs on every TAB). FAST_WORDS is FAST_COMMANDS of src/cli/fast-main.ts
// (checked by test/cli/bundle.test.ts); a line that names one goes to main.cjs, which decides.
const FAST_WORDS = ['next', 'add', 'status', 'done', 'skip', 'drop', 'reopen'];
const fast = process.argv.slice(2).some((w) => FAST_WORDS.includes(w));
const { main } = require(fast ? '../dist/bundle/cli/main.cjs' : '../dist/bundle/cli/full.cjs');

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
