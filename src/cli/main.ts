// The `heph` command line: a thin client of hephd's socket. Each command parses its flags, calls
// a function that returns data (an Output), and output.ts prints it for people or as --json. One
// catch turns any error into `heph: <message>` on stderr and the exit code from the error table.
// Start-up is kept short: command modules are loaded only when their command runs, and nothing
// here reaches SQLite, the server side or the validators.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import type YargsFactory from 'yargs/yargs';
import type { Env } from '../config/paths.js';
import { HephError } from '../core/errors.js';
import { exitCodeFor } from '../protocol/error-wire.js';
import type { Args } from './args.js';
import { localDay, makeCli, type Cli } from './context.js';
import { render, type Output } from './output.js';

export interface MainIo {
  env: Env;
  cwd: string;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

// yargs' ESM entry wraps the same CommonJS bundle; requiring it directly skips the ESM wrapper's
// export scan, a measurable share of `heph next`'s start-up.
const yargs = createRequire(import.meta.url)('yargs/yargs') as typeof YargsFactory;

type Run = (cli: Cli, a: Args) => Promise<Output>;

/** Commands `--wait` means nothing to (sync has its own). */
const NO_WAIT = new Set(['sync', 'daemon', 'auth']);
const ATTENTIONS = ['white', 'orange', 'red', 'blue'];
const STATES = ['outstanding', 'done', 'dropped'];
const LINK_TYPES = ['canonical-context', 'log-of', 'in-project', 'tagged', 'parent'];
const KINDS = ['doc', 'task', 'project', 'tag', 'journal'];

function version(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
    ) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const tasks = () => import('./commands/tasks.js');
const nodes = () => import('./commands/nodes.js');
const organize = () => import('./commands/organize.js');
const admin = () => import('./commands/admin.js');

function id(y: Argv, name = 'id', describe = 'id, short id, alias or title'): Argv {
  return y.positional(name, { type: 'string', describe, demandOption: true });
}

function dateFlags(y: Argv): Argv {
  return y
    .option('do', { type: 'string', describe: 'do date: YYYY-MM-DD, today, tomorrow, fri, +3d' })
    .option('late-on', { type: 'string', describe: 'the day it becomes late (same forms)' })
    .option('attention', { alias: 'a', type: 'string', choices: ATTENTIONS })
    .option('recur', {
      type: 'string',
      describe: '"every week", "2 months", "mon,thu" or an RRULE',
    });
}

/** Registers every command on `y`; `run` wraps each command function. */
function commands(y: Argv, run: (fn: Run) => (a: Args) => Promise<void>): Argv {
  return (
    y
      // ---- everyday ----
      .command(
        'add <text..>',
        'Quick add: heph add "Pay rent tomorrow !red #Home +bills every month"',
        (b) => b.positional('text', { type: 'string', array: true }),
        run(async (c, a) => (await tasks()).add(c, a)),
      )
      .command(
        'next',
        'What to do next',
        (b) => b.option('n', { alias: 'limit', type: 'number', describe: 'at most N tasks' }),
        run(async (c, a) => (await tasks()).next(c, a)),
      )
      .command(
        'done <id>',
        'Complete a task (a recurring one rolls forward)',
        (b) => id(b),
        run(async (c, a) => (await tasks()).change(c, a, 'done')),
      )
      .command(
        'skip <id>',
        'Skip this occurrence of a recurring task',
        (b) => id(b),
        run(async (c, a) => (await tasks()).change(c, a, 'skip')),
      )
      .command(
        'drop <id>',
        'Drop a task',
        (b) => id(b),
        run(async (c, a) => (await tasks()).change(c, a, 'drop')),
      )
      .command(
        'reopen <id>',
        'Make a done or dropped task outstanding again',
        (b) => id(b),
        run(async (c, a) => (await tasks()).change(c, a, 'reopen')),
      )
      .command(
        'task <title..>',
        'Create a task with explicit fields',
        (b) =>
          dateFlags(b.positional('title', { type: 'string', array: true }))
            .option('project', { alias: 'p', type: 'string', describe: 'project id or title' })
            .option('tag', {
              alias: 't',
              type: 'string',
              array: true,
              describe: 'tag (repeatable)',
            })
            .option('body', { type: 'string', describe: 'context text' }),
        run(async (c, a) => (await tasks()).task(c, a)),
      )
      .command(
        'edit <id>',
        'Change a task or note: --title, --do, --late-on, -a, --project/--no-project, --recur, --alias',
        (b) =>
          dateFlags(id(b))
            .option('title', { type: 'string' })
            .option('project', {
              alias: 'p',
              type: 'string',
              describe: 'move to a project (--no-project: out of any)',
            })
            .option('alias', {
              type: 'string',
              array: true,
              describe: 'replace the aliases (repeatable)',
            }),
        run(async (c, a) => (await tasks()).edit(c, a)),
      )
      .command(
        'list',
        'Tasks matching filters, in rank order',
        (b) =>
          b
            .option('attention', {
              alias: 'a',
              type: 'string',
              array: true,
              choices: ATTENTIONS,
              describe: 'only these attentions',
            })
            .option('not', {
              type: 'string',
              array: true,
              choices: ATTENTIONS,
              describe: 'leave out these attentions',
            })
            .option('state', { alias: 's', type: 'string', array: true, choices: STATES })
            .option('actionable', { type: 'boolean', describe: 'only what can be done today' })
            .option('project', {
              alias: 'p',
              type: 'string',
              describe: 'in this project or its sub-projects',
            }),
        run(async (c, a) => (await tasks()).list(c, a)),
      )
      .command(
        'view [name]',
        'A named view (actionable, ondeck, overdue, all); without a name, the views',
        (b) => b.positional('name', { type: 'string' }),
        run(async (c, a) => (await tasks()).view(c, a)),
      )
      .command(
        'log <id> [text..]',
        "Append to a task's log, or show its last entries",
        (b) =>
          id(b)
            .positional('text', { type: 'string', array: true })
            .option('n', { type: 'number', describe: 'entries to show' }),
        run(async (c, a) => (await tasks()).log(c, a)),
      )
      // ---- notes ----
      .command(
        'show <id>',
        'A task or note with its links and backlinks',
        (b) => id(b),
        run(async (c, a) => (await nodes()).show(c, a)),
      )
      .command(
        'get <id>',
        'A node; --body prints the raw body exactly',
        (b) =>
          id(b).option('body', { type: 'boolean', describe: 'print only the body, byte for byte' }),
        run(async (c, a) => (await nodes()).get(c, a)),
      )
      .command(
        'doc <title..>',
        'Create a note; the body comes from stdin when it is not a terminal',
        (b) =>
          b
            .positional('title', { type: 'string', array: true })
            .option('alias', { type: 'string', array: true, describe: 'another name (repeatable)' })
            .option('body', { type: 'string', describe: 'the body (instead of stdin)' }),
        run(async (c, a) => (await nodes()).doc(c, a)),
      )
      .command(
        'edit-body <id>',
        'Edit a body in $VISUAL or $EDITOR',
        (b) => id(b),
        run(async (c, a) => (await import('./commands/edit-body.js')).editBody(c, a)),
      )
      .command(
        'journal [date]',
        "Open a day's journal (today by default)",
        (b) =>
          b.positional('date', { type: 'string', describe: 'YYYY-MM-DD, yesterday, mon, -2d …' }),
        run(async (c, a) => (await nodes()).journal(c, a)),
      )
      .command(
        'search <query..>',
        'Full-text search over titles and bodies',
        (b) =>
          b
            .positional('query', { type: 'string', array: true })
            .option('limit', { alias: 'n', type: 'number' })
            .option('kind', { alias: 'k', type: 'string', array: true, choices: KINDS }),
        run(async (c, a) => (await nodes()).search(c, a)),
      )
      .command(
        'links <id>',
        'Outgoing links, typed and [[wiki]]',
        (b) => id(b),
        run(async (c, a) => (await nodes()).links(c, a)),
      )
      .command(
        'backlinks <id>',
        'Links pointing at a node',
        (b) => id(b),
        run(async (c, a) => (await nodes()).backlinks(c, a)),
      )
      .command('link', 'Add or remove a typed link', (b) =>
        b
          .command(
            'add <src> <dst> <type>',
            'Add a typed link',
            (l) => linkArgs(l),
            run(async (c, a) => (await nodes()).link(c, a, 'add')),
          )
          .command(
            'rm <src> <dst> <type>',
            'Remove a typed link',
            (l) => linkArgs(l),
            run(async (c, a) => (await nodes()).link(c, a, 'rm')),
          )
          .demandCommand(1, 'heph link add|rm SRC DST TYPE'),
      )
      .command(
        'nodes',
        'Nodes, most recently changed first',
        (b) =>
          b
            .option('kind', { alias: 'k', type: 'string', choices: KINDS })
            .option('trash', { type: 'boolean', describe: 'only deleted nodes' })
            .option('all', { type: 'boolean', describe: 'live and deleted nodes' })
            .option('limit', { alias: 'n', type: 'number' }),
        run(async (c, a) => (await nodes()).nodes(c, a)),
      )
      .command(
        'resolve <name..>',
        'Which node a name means (id, short id, alias, title)',
        (b) => b.positional('name', { type: 'string', array: true }),
        run(async (c, a) => (await nodes()).resolve(c, a)),
      )
      .command(
        'rm <id>',
        'Move a node to the trash',
        (b) => id(b),
        run(async (c, a) => (await nodes()).rm(c, a)),
      )
      .command(
        'trash',
        'What is in the trash',
        (b) => b.option('limit', { alias: 'n', type: 'number' }),
        run(async (c, a) => (await nodes()).trash(c, a)),
      )
      .command(
        'restore <id>',
        'Bring a node back from the trash',
        (b) => id(b),
        run(async (c, a) => (await nodes()).restore(c, a)),
      )
      // ---- organising ----
      .command('tag', 'Tags: add, rm, list', (b) =>
        b
          .command(
            'add <id> <name>',
            'Tag a node',
            (t) => id(t).positional('name', { type: 'string', demandOption: true }),
            run(async (c, a) => (await organize()).tag(c, a, 'add')),
          )
          .command(
            'rm <id> <name>',
            'Remove a tag from a node',
            (t) => id(t).positional('name', { type: 'string', demandOption: true }),
            run(async (c, a) => (await organize()).tag(c, a, 'rm')),
          )
          .command(
            'list [id]',
            "All tags, or one node's",
            (t) => t.positional('id', { type: 'string' }),
            run(async (c, a) => (await organize()).tag(c, a, 'list')),
          )
          .demandCommand(1, 'heph tag add|rm|list'),
      )
      .command('project', 'Projects: add, list, show, move, rm', (b) =>
        b
          .command(
            'add <title..>',
            'Create a project',
            (p) =>
              p
                .positional('title', { type: 'string', array: true })
                .option('parent', { type: 'string', describe: 'inside this project' }),
            run(async (c, a) => (await organize()).project(c, a, 'add')),
          )
          .command(
            'list',
            'Every project as a tree',
            (p) => p,
            run(async (c, a) => (await organize()).project(c, a, 'list')),
          )
          .command(
            'show <id>',
            'A project with its task counts',
            (p) => id(p),
            run(async (c, a) => (await organize()).project(c, a, 'show')),
          )
          .command(
            'move <id> [parent]',
            'Move a project under another (--top: to the top level)',
            (p) =>
              id(p).positional('parent', { type: 'string' }).option('top', { type: 'boolean' }),
            run(async (c, a) => (await organize()).project(c, a, 'move')),
          )
          .command(
            'rm <id>',
            'Move a project to the trash',
            (p) => id(p),
            run(async (c, a) => (await organize()).project(c, a, 'rm')),
          )
          .demandCommand(1, 'heph project add|list|show|move|rm'),
      )
      // ---- sync state, files, daemon ----
      .command(
        'conflicts',
        'Fields written to different values on different devices',
        (b) =>
          b.command(
            'resolve <target> <field> <value>',
            'Keep VALUE (JSON when it parses, else text) for a conflicting field',
            (r) =>
              id(r, 'target')
                .positional('field', { type: 'string', demandOption: true })
                .positional('value', { type: 'string', demandOption: true }),
            run(async (c, a) => (await admin()).resolveConflict(c, a)),
          ),
        run(async (c) => (await admin()).conflicts(c)),
      )
      .command(
        'export <dir>',
        'Write every note and task as markdown under DIR',
        (b) => b.positional('dir', { type: 'string', demandOption: true }),
        run(async (c, a) => (await admin()).exportDir(c, a)),
      )
      .command(
        'import <dir>',
        'Import a heph export or a folder of markdown notes',
        (b) =>
          b
            .positional('dir', { type: 'string', demandOption: true })
            .option('skip-invalid', { type: 'boolean', describe: 'skip files that do not parse' }),
        run(async (c, a) => (await admin()).importDir(c, a)),
      )
      .command(
        'backup <file>',
        'Write a consistent copy of the database',
        (b) =>
          b
            .positional('file', { type: 'string', demandOption: true })
            .option('overwrite', { type: 'boolean' }),
        run(async (c, a) => (await admin()).backup(c, a)),
      )
      .command(
        'sync [action]',
        'Sync with the hub now, or show how sync stands (heph sync status)',
        (b) =>
          b
            .positional('action', { type: 'string', choices: ['now', 'status'], default: 'now' })
            .option('wait', {
              type: 'boolean',
              describe: '--no-wait: start it and return at once',
            })
            .option('details', {
              type: 'boolean',
              describe: 'with status: list each change held back and the reason',
            })
            .epilog(
              '`heph sync` succeeds only when the hub has every change made on this device. ' +
                'Otherwise it says what is not on the hub and why, and exits 4 (changes ' +
                'refused, or held back because this clock is ahead of the hub), 5 (hub ' +
                'unreachable) or 6 (sign-in needed).',
            ),
        run(async (c, a) => (await admin()).sync(c, a)),
      )
      .command(
        'repair',
        'Make bodies an earlier version doubled single again (--check: only list them)',
        (b) =>
          b
            .option('check', { type: 'boolean', describe: 'list doubled bodies, change nothing' })
            .epilog(
              'An earlier heph doubled the text of a note created on two devices before they ' +
                'first synced (a vault imported on both). Repairs are ordinary edits that sync.',
            ),
        run(async (c, a) => (await admin()).repair(c, a)),
      )
      .command(
        'status',
        "The daemon's version, files and state",
        (b) => b,
        run(async (c) => (await admin()).status(c)),
      )
      .command(
        'methods',
        'Every JSON-RPC method with its parameters',
        (b) => b,
        run(async (c) => (await admin()).methods(c)),
      )
      .command(
        'call <method> [params]',
        'Call any JSON-RPC method with JSON params (for scripts)',
        (b) =>
          b
            .positional('method', { type: 'string', demandOption: true })
            .positional('params', { type: 'string' }),
        run(async (c, a) => (await admin()).call(c, a)),
      )
      .command(
        'events [topics..]',
        'Print change notifications as JSON lines until Ctrl-C',
        (b) => b.positional('topics', { type: 'string', array: true }),
        run(async (c, a) => (await admin()).events(c, a)),
      )
      .command('auth', 'Sign in to your hub: login, status, logout', (b) =>
        b
          .option('hub', {
            type: 'string',
            describe: "the hub's URL (default: the configured hub)",
          })
          .option('insecure-http', {
            type: 'boolean',
            describe: 'allow a plain http:// hub or identity provider off loopback',
          })
          .command(
            'login',
            'Sign in with the device flow; tokens go to the OS keyring',
            (l) =>
              l.option('insecure-storage', {
                type: 'boolean',
                describe: 'without a keyring, keep tokens in a 0600 file',
              }),
            run(async (c, a) => (await import('./commands/auth.js')).login(c, a)),
          )
          .command(
            'status',
            'Whether you are signed in, and where tokens are kept',
            (l) => l,
            run(async (c, a) => (await import('./commands/auth.js')).status(c, a)),
          )
          .command(
            'logout',
            'Forget the stored tokens',
            (l) => l,
            run(async (c, a) => (await import('./commands/auth.js')).logout(c, a)),
          )
          .demandCommand(1, 'heph auth login|status|logout'),
      )
      .command(
        'daemon <action>',
        'Start, stop, restart, inspect or uninstall hephd',
        (b) =>
          b
            .positional('action', {
              type: 'string',
              choices: ['start', 'stop', 'restart', 'status', 'uninstall'],
              demandOption: true,
            })
            .option('mode', { type: 'string', choices: ['local'], describe: 'daemon mode' })
            .option('db', { type: 'string', describe: 'database file' })
            .option('manager', {
              type: 'string',
              choices: ['auto', 'systemd', 'detached'],
              default: 'auto',
              describe: 'systemd user unit or a detached process',
            }),
        run(async (c, a) => {
          const m = await import('./commands/daemon.js');
          return m.daemon(c, a, a.action as Parameters<typeof m.daemon>[2]);
        }),
      )
  );
}

function linkArgs(y: Argv): Argv {
  return id(id(y, 'src', 'from node'), 'dst', 'to node').positional('type', {
    type: 'string',
    choices: LINK_TYPES,
    demandOption: true,
  });
}

export async function main(argv: string[], io: MainIo): Promise<number> {
  const today = localDay(new Date());
  let result: Output | undefined;
  const open: { cli?: ReturnType<typeof makeCli> } = {};
  let json = false;
  let color = false;
  try {
    const run =
      (fn: Run) =>
      async (a: Args): Promise<void> => {
        json = a.json === true;
        color = !json && a.color !== false && io.stdout.isTTY === true && !io.env.NO_COLOR;
        const cli = makeCli({
          env: io.env,
          cwd: io.cwd,
          today,
          socketFlag: typeof a.socket === 'string' ? a.socket : undefined,
          hephdPath: fileURLToPath(new URL('../../../bin/hephd.js', import.meta.url)),
          stdin: io.stdin,
          stdout: io.stdout,
          stderr: io.stderr,
        });
        open.cli = cli;
        result = await fn(cli, a);
        const command = Array.isArray(a._) ? String(a._[0]) : '';
        if (a.wait === true && !NO_WAIT.has(command)) {
          try {
            await (await admin()).waitForHub(cli);
          } catch (e) {
            // The change was made: show it, then say why it is not on the hub yet.
            if (result !== undefined) io.stdout.write(render(result, { json, color, today }));
            result = undefined;
            throw e;
          }
        }
      };
    const y = yargs(argv)
      .scriptName('heph')
      .usage('Usage: heph <command> [options]\n\nNotes and tasks, from the command line.')
      .option('socket', {
        type: 'string',
        global: true,
        describe: "hephd's socket (env HEPH_SOCKET)",
      })
      .option('json', { type: 'boolean', global: true, describe: 'print one JSON document' })
      .option('color', {
        type: 'boolean',
        global: true,
        describe: 'colour on a terminal (--no-color: never)',
      })
      .option('wait', {
        type: 'boolean',
        global: true,
        describe: 'after a change, return only once the hub has it',
      })
      .version(version())
      .help()
      .alias('help', 'h')
      .strict()
      .demandCommand(1, 'say what to do, for example `heph next`')
      .wrap(Math.min(100, process.stdout.columns || 100))
      .exitProcess(false)
      .fail((msg: string | null, err: Error | undefined) => {
        throw err ?? new HephError('invalid_params', `${msg ?? 'bad arguments'} (see heph --help)`);
      });
    await commands(y, run).parseAsync();
    if (result !== undefined) io.stdout.write(render(result, { json, color, today }));
    return 0;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    io.stderr.write(`heph: ${message}\n`);
    return exitCodeFor(e);
  } finally {
    open.cli?.close();
  }
}
