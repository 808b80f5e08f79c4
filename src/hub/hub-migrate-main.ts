// `hephd hub-migrate --from DATA_DIR --to postgres://…`: the command line (a composition root,
// like server.ts) of store/hub-migrate.ts.
// Prints progress on standard error (a line that rewrites itself on a terminal, a line per tenth
// otherwise) and the result on standard output, for people or as --json. The target URL may come
// from HEPH_HUB_STORE instead of --to, so that its password stays out of the process list.

import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HephError, isHephError } from '../core/errors.js';
import { checkPgUrl, passwordOnCommandLine, pgUrlHasPassword } from './store/postgres.js';
import { exitCodeFor } from '../protocol/error-wire.js';
import { silentLogger } from '../ports/logger.js';

export const HUB_MIGRATE_HELP = `Usage: hephd hub-migrate --from DATA_DIR --to postgres://USER@HOST/DATABASE [--json]

Copies a stopped SQLite hub into an empty PostgreSQL database, so that hub processes started
with --hub-store postgres://… serve it. Every change keeps its arrival stamp, so devices keep
their cursors and sync on without starting over; accounts and the hub's claim come along.
The copy is one transaction, verified by counting each account's changes before it commits:
it is all there or nothing is. The SQLite data directory is left as it was.

Options:
  --from DATA_DIR  the hub's data directory (the folder holding hub.db); stop that hub first
  --to URL         the PostgreSQL database (env HEPH_HUB_STORE: keeps the password out of the
                   process list); the role must not be a superuser nor have BYPASSRLS
  --json           print the result as JSON
  -h, --help       show this help`;

function progressPrinter(tty: boolean): (copied: number, total: number) => void {
  let lastTenth = -1;
  return (copied, total) => {
    if (tty) {
      process.stderr.write(`\rcopying: ${copied} of ${total} changes`);
      if (copied === total) process.stderr.write('\n');
      return;
    }
    const tenth = total === 0 ? 10 : Math.floor((copied * 10) / total);
    if (tenth !== lastTenth) {
      lastTenth = tenth;
      process.stderr.write(`copying: ${copied} of ${total} changes\n`);
    }
  };
}

export async function hubMigrateMain(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  try {
    let flags;
    try {
      flags = parseArgs({
        args: argv,
        strict: true,
        allowPositionals: false,
        options: {
          from: { type: 'string' },
          to: { type: 'string' },
          json: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
      }).values;
    } catch (e) {
      throw new HephError(
        'invalid_params',
        `${(e as Error).message}\nRun hephd hub-migrate --help for the options.`,
      );
    }
    if (flags.help) {
      process.stdout.write(HUB_MIGRATE_HELP + '\n');
      return 0;
    }
    if (flags.from === undefined || flags.from === '') {
      throw new HephError(
        'invalid_params',
        '--from DATA_DIR is required (the SQLite hub’s data directory)',
        {
          field: 'from',
        },
      );
    }
    const to = flags.to ?? env.HEPH_HUB_STORE;
    if (to === undefined || to === '') {
      throw new HephError(
        'invalid_params',
        '--to postgres://USER@HOST/DATABASE (or HEPH_HUB_STORE) is required',
        { field: 'to' },
      );
    }
    checkPgUrl(to, 'to');
    if (flags.to !== undefined && pgUrlHasPassword(flags.to)) {
      process.stderr.write(
        `hephd hub-migrate: warning: ${passwordOnCommandLine('--to', 'HEPH_HUB_STORE')}\n`,
      );
    }
    const { hubMigrate } = await import('./store/hub-migrate.js');
    const report = await hubMigrate(
      { from: resolve(flags.from), to },
      {
        clock: { now: () => Date.now() },
        logger: silentLogger,
        progress: progressPrinter(process.stderr.isTTY === true),
      },
    );
    if (flags.json) {
      process.stdout.write(JSON.stringify(report) + '\n');
    } else {
      process.stdout.write(
        `copied ${report.ops} changes of ${report.owners} owner${report.owners === 1 ? '' : 's'}` +
          `${report.claim ? ' and the hub’s claim' : ''}, ${report.devices} ` +
          `device${report.devices === 1 ? '' : 's'} with their credentials, from ${report.from} ` +
          `to ${report.to}\n` +
          `verified: every owner's change count and newest stamp match the source\n` +
          `next: start the hub processes with --hub-store (or HEPH_HUB_STORE) set to that database\n`,
      );
    }
    return 0;
  } catch (e) {
    const message = isHephError(e)
      ? e.message
      : `unexpected error: ${(e as Error).stack ?? String(e)}`;
    process.stderr.write(`hephd hub-migrate: ${message}\n`);
    return exitCodeFor(e);
  }
}
