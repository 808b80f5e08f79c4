// The entry of the fast bundle, dist/bundle/cli/main.cjs, which bin/heph.js runs. Start-up is most
// of what `heph next`, `heph add` and `heph status` cost, and reading and compiling a file grows
// with its size (a file over 128 KiB is also read into pages of its own), so the commands people
// run most are in a bundle holding only what they use: the table of commands, the parser, the
// printer, the socket client and the modules of these commands. Every other command line (help,
// completion, sign-in, doctor, daemon management, …) runs in the full bundle, full.cjs, loaded
// here before anything is done: one bundle runs a command, never both, so no module has two
// copies in one process. scripts/bundle-cli.mjs keeps any other command's module out of this
// bundle (importing one throws), and test/cli/bundle.test.ts runs the fast commands through it.

import { createRequire } from 'node:module';
import { main as mainHere, type MainIo } from './main.js';
import { commandPath } from './spec.js';

/** The commands this bundle runs itself: their modules (commands/tasks, nodes and admin, and the
 *  config file's reader) are in it. Kept equal to FAST_MODULES in scripts/bundle-cli.mjs. */
export const FAST_COMMANDS: ReadonlySet<string> = new Set([
  'next',
  'add',
  'status',
  'done',
  'skip',
  'drop',
  'reopen',
]);

/** The bundle beside this one that holds every command. */
const FULL_BUNDLE = './full.cjs';

export function main(argv: string[], io: MainIo): Promise<number> {
  const first = commandPath(argv).path[0];
  if (first !== undefined && FAST_COMMANDS.has(first.name)) return mainHere(argv, io);
  const full = createRequire(import.meta.url)(FULL_BUNDLE) as { main: typeof mainHere };
  return full.main(argv, io);
}
