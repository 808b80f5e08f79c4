// Every `heph` command as data: its words, positionals, options, subcommands, the group it is
// listed under and the function that runs it. main.ts registers this table with yargs; the
// grouped `heph --help`, did-you-mean and shell completion read the same table, so a command
// added here is parsed, listed, suggested and completed alike. Command modules are imported only
// when their command runs, to keep start-up short.

import type { Options, PositionalOptions } from 'yargs';
import type { Args } from './args.js';
import type { Cli } from './context.js';
import type { Output } from './output.js';

export type Run = (cli: Cli, a: Args) => Promise<Output>;

/** What a shell should offer for a value: nodes from the daemon, date words, files, … */
export type Complete =
  | 'node'
  | 'task'
  | 'project'
  | 'trashed'
  | 'version'
  | 'change'
  | 'date'
  | 'file'
  | 'dir'
  | 'method'
  | 'topic';

export type Positional = PositionalOptions & { complete?: Complete };
export type Opt = Options & { complete?: Complete };

export interface Command {
  /** The word that runs it. */
  name: string;
  /** Positionals in yargs' syntax: '<id>', '[date]', '<text..>'. */
  args?: string;
  summary: string;
  positionals?: Record<string, Positional>;
  options?: Record<string, Opt>;
  sub?: Command[];
  /** Runs without a subcommand; absent when a subcommand is required. */
  run?: Run;
  /** More text under the command's --help. */
  epilog?: string;
}

export interface Group {
  title: string;
  commands: Command[];
}

const ATTENTIONS = ['white', 'orange', 'red', 'blue'];
const STATES = ['outstanding', 'done', 'dropped'];
const LINK_TYPES = ['canonical-context', 'log-of', 'in-project', 'tagged', 'parent'];
const KINDS = ['doc', 'task', 'project', 'tag', 'journal'];
export const TOPICS = ['dates', 'quick-add', 'ids', 'sync', 'config'] as const;

const tasks = () => import('./commands/tasks.js');
const nodes = () => import('./commands/nodes.js');
const organize = () => import('./commands/organize.js');
const admin = () => import('./commands/admin.js');
const auth = () => import('./commands/auth.js');
const device = () => import('./commands/device.js');
const history = () => import('./commands/history.js');

const node = (describe = 'id, short id, alias or title'): Positional => ({
  type: 'string',
  describe,
  demandOption: true,
  complete: 'node',
});
const task = (): Positional => ({
  ...node('task: id, short id, alias or title'),
  complete: 'task',
});
const words = (describe: string): Positional => ({ type: 'string', array: true, describe });
// nargs 1: a value such as -2d is the option's value, not another option.
const date = (describe: string): Opt => ({ type: 'string', nargs: 1, describe, complete: 'date' });

/** Which hub `heph auth` and `heph device` talk to. */
const HUB_OPTIONS: Record<string, Opt> = {
  hub: {
    type: 'string',
    describe: "the hub's URL (default: the daemon's hub, then the config file's)",
  },
  'insecure-http': {
    type: 'boolean',
    describe: 'allow a plain http:// hub or identity provider off loopback',
  },
};

/** A new title rewrites the links naming the old one unless this is given. */
const KEEP_LINKS: Opt = {
  type: 'boolean',
  describe: 'leave [[links]] naming the old title as they are (they are rewritten by default)',
};

const DATE_FLAGS: Record<string, Opt> = {
  do: date(
    'do date: YYYY-MM-DD, today, tomorrow, yesterday, fri, +3d, -2d, in 3 days (heph help dates)',
  ),
  'late-on': date('the day it becomes late (same forms)'),
  attention: { alias: 'a', type: 'string', choices: ATTENTIONS, describe: 'attention' },
  recur: { type: 'string', describe: '"every week", "2 months", "mon,thu" or an RRULE' },
};

const QUICK_ADD_EPILOG = `Syntax (heph help quick-add for all of it):
  !red !orange !white !blue     attention, anywhere in the line
  #Project  #"Home Office"       the project, anywhere; created if it does not exist
  +tag                           a tag, anywhere; repeat for more
  at the end of the line:
    tomorrow, fri, +3d, in 3 days, 2026-03-14, on DATE  the do date (heph help dates)
    due DATE                                            the late-on day
    every day|week|month|year, every 3 days, every mon,thu, every weekday
  "quoted words"                 always title, never a date or a marker

Words after every, on or due that do not parse stay in the title, and heph says so on
stderr; --strict refuses the line instead. --dry-run shows what would be added.

Examples:
  heph add "Pay rent tomorrow !red #Home +bills every month"
  heph add "Renew passport !orange #Admin due 2026-06-01"
  heph add "Water the plants every 3 days"
  heph add "Return the books due -2d"     (late two days ago: first in heph next)
  heph add "Paint the fence in 2 weeks"
  heph add '"Call Monday" monday'         (quotes keep words in the title)`;

export const GROUPS: Group[] = [
  {
    title: 'Tasks',
    commands: [
      {
        name: 'add',
        args: '<text..>',
        summary: 'Quick add: heph add "Pay rent tomorrow !red #Home +bills every month"',
        positionals: { text: words('the line: title, markers, dates') },
        options: {
          strict: { type: 'boolean', describe: 'refuse a line with unread every/on/due words' },
          'dry-run': { type: 'boolean', describe: 'show what would be added; add nothing' },
        },
        epilog: QUICK_ADD_EPILOG,
        run: async (c, a) => (await tasks()).add(c, a),
      },
      {
        name: 'next',
        summary: 'What to do next (and, when nothing is, what is coming)',
        options: { n: { alias: 'limit', type: 'number', describe: 'at most N tasks' } },
        run: async (c, a) => (await tasks()).next(c, a),
      },
      {
        name: 'done',
        args: '<id>',
        summary: 'Complete a task (a recurring one rolls forward)',
        positionals: { id: task() },
        run: async (c, a) => (await tasks()).change(c, a, 'done'),
      },
      {
        name: 'skip',
        args: '<id>',
        summary: 'Skip this occurrence of a recurring task',
        positionals: { id: task() },
        run: async (c, a) => (await tasks()).change(c, a, 'skip'),
      },
      {
        name: 'drop',
        args: '<id>',
        summary: 'Drop a task',
        positionals: { id: task() },
        run: async (c, a) => (await tasks()).change(c, a, 'drop'),
      },
      {
        name: 'reopen',
        args: '<id>',
        summary: 'Make a done or dropped task outstanding again',
        positionals: { id: task() },
        run: async (c, a) => (await tasks()).change(c, a, 'reopen'),
      },
      {
        name: 'task',
        args: '<title..>',
        summary: 'Create a task with explicit fields (no quick-add parsing)',
        positionals: { title: words('the title') },
        options: {
          ...DATE_FLAGS,
          project: {
            alias: 'p',
            type: 'string',
            describe: 'project id or title',
            complete: 'project',
          },
          tag: { alias: 't', type: 'string', array: true, describe: 'tag (repeatable)' },
          body: { type: 'string', describe: 'context text' },
        },
        run: async (c, a) => (await tasks()).task(c, a),
      },
      {
        name: 'edit',
        args: '<id>',
        summary: 'Change a task or note: --title, --do, --late-on, -a, --project, --recur, --alias',
        positionals: { id: node() },
        options: {
          ...DATE_FLAGS,
          title: { type: 'string' },
          project: {
            alias: 'p',
            type: 'string',
            describe: 'move to a project (--no-project: out of any)',
            complete: 'project',
          },
          alias: { type: 'string', array: true, describe: 'replace the aliases (repeatable)' },
          'keep-links': KEEP_LINKS,
        },
        epilog: `Everything given is written as one change (heph undo takes it all back); a bad
value, or a project that does not exist, changes nothing.

Examples:
  heph edit 4kz9tq --do fri --late-on 2026-12-01   (do it Friday, late from the 1st)
  heph edit 4kz9tq -a red --project Work            (the project must exist: heph project add)
  heph edit 4kz9tq --do none --recur none           (no do date, not recurring)
  heph edit "Trip ideas" --title "Trip plan"        ([[Trip ideas]] links follow the rename)
  heph edit "Trip plan" --alias trip --alias ferry`,
        run: async (c, a) => (await tasks()).edit(c, a),
      },
      {
        name: 'list',
        summary: 'Tasks matching filters, in rank order',
        options: {
          attention: {
            alias: 'a',
            type: 'string',
            array: true,
            choices: ATTENTIONS,
            describe: 'only these attentions',
          },
          not: { type: 'string', array: true, choices: ATTENTIONS, describe: 'leave these out' },
          state: { alias: 's', type: 'string', array: true, choices: STATES },
          actionable: { type: 'boolean', describe: 'only what can be done today' },
          project: {
            alias: 'p',
            type: 'string',
            describe: 'in this project or its sub-projects',
            complete: 'project',
          },
        },
        run: async (c, a) => (await tasks()).list(c, a),
      },
      {
        name: 'view',
        args: '[name]',
        summary: 'A named view (actionable, ondeck, overdue, all); without a name, the views',
        positionals: {
          name: { type: 'string', choices: ['actionable', 'ondeck', 'overdue', 'all'] },
        },
        run: async (c, a) => (await tasks()).view(c, a),
      },
      {
        name: 'log',
        args: '<id> [text..]',
        summary: "Append to a task's log, or show its last entries",
        positionals: { id: task(), text: words('the entry') },
        options: { n: { type: 'number', describe: 'entries to show' } },
        run: async (c, a) => (await tasks()).log(c, a),
      },
    ],
  },
  {
    title: 'Notes',
    commands: [
      {
        name: 'doc',
        args: '<title..>',
        summary: 'Create a note, or add to one (--append TEXT, or - for stdin)',
        positionals: { title: words('the title (with --append: the note to add to)') },
        options: {
          alias: { type: 'string', array: true, describe: 'another name (repeatable)' },
          body: { type: 'string', describe: 'the body; - reads it from stdin' },
          append: { type: 'string', describe: 'add TEXT to the end of the note; - reads stdin' },
        },
        epilog: `Examples:
  heph doc "Trip ideas"                              (an empty note)
  heph doc "Trip ideas" --alias trip --body - < ideas.md
  heph doc trip --append "ferry at 9?"              (a line at the end of the note)
  make test 2>&1 | tail -5 | heph doc "Build log" --append -

Standard input is read only when you give -, must be UTF-8 text, and an empty one changes
nothing. heph get NOTE --body prints the body back exactly.`,
        run: async (c, a) => (await nodes()).doc(c, a),
      },
      {
        name: 'show',
        args: '<id>',
        summary: 'A task or note with its links and backlinks (--at VERSION: as it was then)',
        positionals: { id: node() },
        options: {
          body: { type: 'boolean', describe: "print only the body (a task's note), byte for byte" },
          at: {
            type: 'string',
            nargs: 1,
            describe: 'as it was at this version (heph history ID lists them)',
            complete: 'version',
          },
        },
        run: async (c, a) => (await nodes()).show(c, a),
      },
      {
        name: 'get',
        args: '<id>',
        summary: 'A node; --body prints the raw body exactly',
        positionals: { id: node() },
        options: { body: { type: 'boolean', describe: 'print only the body, byte for byte' } },
        run: async (c, a) => (await nodes()).get(c, a),
      },
      {
        name: 'edit-body',
        args: '<id>',
        summary: 'Edit a body in $VISUAL or $EDITOR',
        positionals: { id: node() },
        run: async (c, a) => (await import('./commands/edit-body.js')).editBody(c, a),
      },
      {
        name: 'journal',
        args: '[date]',
        summary: "A day's journal (today by default); journal add TEXT adds a line",
        positionals: {
          date: { type: 'string', describe: 'YYYY-MM-DD, yesterday, mon, -2d …', complete: 'date' },
        },
        run: async (c, a) => (await nodes()).journal(c, a),
        sub: [
          {
            name: 'add',
            args: '<text..>',
            summary: "Add a line to today's journal (- reads the lines from stdin)",
            positionals: { text: words('the text, or - for stdin') },
            options: { date: date("that day's journal instead of today's") },
            epilog: `Examples:
  heph journal add "met Anna about the garden"
  heph journal add --date yesterday "forgot: called the bank"
  pbpaste | heph journal add -`,
            run: async (c, a) => (await nodes()).journalAdd(c, a),
          },
        ],
      },
      {
        name: 'search',
        args: '<query..>',
        summary: 'Full-text search over titles and bodies',
        positionals: { query: words('words to find') },
        options: {
          limit: { alias: 'n', type: 'number' },
          kind: { alias: 'k', type: 'string', array: true, choices: KINDS },
        },
        epilog: `Every word must match, in the title or the body. Examples:
  heph search ferry timetable
  heph search ferry -k doc -n 5                      (notes only, at most 5)`,
        run: async (c, a) => (await nodes()).search(c, a),
      },
      {
        name: 'links',
        args: '<id>',
        summary: 'Outgoing links, typed and [[wiki]]',
        positionals: { id: node() },
        run: async (c, a) => (await nodes()).links(c, a),
      },
      {
        name: 'backlinks',
        args: '<id>',
        summary: 'Links pointing at a node',
        positionals: { id: node() },
        run: async (c, a) => (await nodes()).backlinks(c, a),
      },
      {
        name: 'link',
        summary: 'Typed links: add, rm',
        sub: (['add', 'rm'] as const).map((verb) => ({
          name: verb,
          args: '<src> <dst> <type>',
          summary: verb === 'add' ? 'Add a typed link' : 'Remove a typed link',
          positionals: {
            src: node('from node'),
            dst: node('to node'),
            type: { type: 'string', choices: LINK_TYPES, demandOption: true },
          },
          run: async (c: Cli, a: Args) => (await nodes()).link(c, a, verb),
        })),
      },
      {
        name: 'nodes',
        summary: 'Nodes, most recently changed first',
        options: {
          kind: { alias: 'k', type: 'string', choices: KINDS },
          trash: { type: 'boolean', describe: 'only deleted nodes' },
          all: { type: 'boolean', describe: 'live and deleted nodes' },
          limit: { alias: 'n', type: 'number' },
        },
        run: async (c, a) => (await nodes()).nodes(c, a),
      },
      {
        name: 'resolve',
        args: '<name..>',
        summary: 'Which node a name means (id, short id, alias, title)',
        positionals: { name: { ...words('a name'), complete: 'node' } },
        run: async (c, a) => (await nodes()).resolve(c, a),
      },
      {
        name: 'rm',
        args: '<id>',
        summary: 'Move a node to the trash',
        positionals: { id: node() },
        run: async (c, a) => (await nodes()).rm(c, a),
      },
      {
        name: 'trash',
        summary: 'What is in the trash',
        options: { limit: { alias: 'n', type: 'number' } },
        run: async (c, a) => (await nodes()).trash(c, a),
      },
      {
        name: 'restore',
        args: '<name..>',
        summary: 'Bring a node back from the trash (by id, or a title or alias in the trash)',
        positionals: { name: { ...words('id, short id, title or alias'), complete: 'trashed' } },
        epilog:
          'A title or alias means a node in the trash before a live one, so `heph rm Home; ' +
          'heph restore Home` brings Home back; when a live node has the name too, heph says so.',
        run: async (c, a) => (await nodes()).restore(c, a),
      },
    ],
  },
  {
    title: 'History and undo',
    commands: [
      {
        name: 'history',
        args: '<id>',
        summary: "A node's versions, newest first: when, which device, what changed",
        positionals: { id: node() },
        options: {
          limit: { alias: 'n', type: 'number', describe: 'at most N versions (default 20)' },
          before: {
            type: 'string',
            nargs: 1,
            describe: 'versions older than this one (the next page)',
            complete: 'version',
          },
        },
        epilog:
          'Every change to a node is kept, on every device. heph show ID --at VERSION shows ' +
          'the node as it was; heph revert ID VERSION writes that back as a new change. A ' +
          'version is typed as heph history shows it (a few hex digits) or in full (--json).',
        run: async (c, a) => (await history()).history(c, a),
      },
      {
        name: 'revert',
        // The second positional is not called `version`: yargs keeps that word for --version.
        args: '<id> <to>',
        summary: 'Write a node back as it was at a version, as a new change that syncs',
        positionals: {
          id: node(),
          to: {
            type: 'string',
            demandOption: true,
            describe: 'the version to go back to, from heph history ID',
            complete: 'version',
          },
        },
        epilog:
          'Title, fields, typed links and body go back to what they were at that version; the body ' +
          'is written as an edit of the text now, so it merges with edits made elsewhere. ' +
          'Later versions stay in the history, and heph undo takes the revert back.',
        run: async (c, a) => (await history()).revert(c, a),
      },
      {
        name: 'undo',
        args: '[change]',
        summary: "Take back this device's last change (again: the one before); --list shows them",
        positionals: {
          change: {
            type: 'string',
            describe: 'a change from heph undo --list',
            complete: 'change',
          },
        },
        options: {
          list: { type: 'boolean', describe: 'the changes undo can take back, next first' },
          limit: { alias: 'n', type: 'number', describe: 'with --list: at most N (default 10)' },
        },
        epilog:
          'An undo is a new change that syncs like any other. Whatever another device changed ' +
          'since is left alone and named, never overwritten; heph add is undone by moving the ' +
          'task and its context doc to the trash. Undo needs a device with its own database ' +
          '(not hephd --mode client).',
        run: async (c, a) => (await history()).undo(c, a),
      },
    ],
  },
  {
    title: 'Organising',
    commands: [
      {
        name: 'tag',
        summary: 'Tags: add, rm, list',
        sub: [
          {
            name: 'add',
            args: '<id> <name>',
            summary: 'Tag a node',
            positionals: { id: node(), name: { type: 'string', demandOption: true } },
            run: async (c, a) => (await organize()).tag(c, a, 'add'),
          },
          {
            name: 'rm',
            args: '<id> <name>',
            summary: 'Remove a tag from a node',
            positionals: { id: node(), name: { type: 'string', demandOption: true } },
            run: async (c, a) => (await organize()).tag(c, a, 'rm'),
          },
          {
            name: 'list',
            args: '[id]',
            summary: "All tags, or one node's",
            positionals: { id: { type: 'string', complete: 'node' } },
            run: async (c, a) => (await organize()).tag(c, a, 'list'),
          },
        ],
      },
      {
        name: 'project',
        summary: 'Projects: add, list, show, move, rm',
        sub: [
          {
            name: 'add',
            args: '<title..>',
            summary: 'Create a project',
            positionals: { title: words('the title') },
            options: {
              parent: { type: 'string', describe: 'inside this project', complete: 'project' },
            },
            run: async (c, a) => (await organize()).project(c, a, 'add'),
          },
          {
            name: 'list',
            summary: 'Every project as a tree',
            run: async (c, a) => (await organize()).project(c, a, 'list'),
          },
          {
            name: 'show',
            args: '<id>',
            summary: 'A project with its task counts',
            positionals: { id: { ...node(), complete: 'project' } },
            run: async (c, a) => (await organize()).project(c, a, 'show'),
          },
          {
            name: 'move',
            args: '<id> [parent]',
            summary: 'Move a project under another (--top: to the top level)',
            positionals: {
              id: { ...node(), complete: 'project' },
              parent: { type: 'string', complete: 'project' },
            },
            options: { top: { type: 'boolean' } },
            run: async (c, a) => (await organize()).project(c, a, 'move'),
          },
          {
            name: 'rm',
            args: '<id>',
            summary: 'Move a project to the trash',
            positionals: { id: { ...node(), complete: 'project' } },
            run: async (c, a) => (await organize()).project(c, a, 'rm'),
          },
        ],
      },
    ],
  },
  {
    title: 'Sync, conflicts and files',
    commands: [
      {
        name: 'sync',
        args: '[action]',
        summary: 'Sync with the hub now, or show how sync stands (heph sync status)',
        positionals: {
          action: { type: 'string', choices: ['now', 'status'], default: 'now' },
        },
        options: {
          wait: { type: 'boolean', describe: '--no-wait: start it and return at once' },
          details: {
            type: 'boolean',
            describe: 'with status: list each change held back and the reason',
          },
        },
        epilog:
          '`heph sync` succeeds only when the hub has every change made on this device. ' +
          'Otherwise it says what is not on the hub and why, and exits 4 (changes ' +
          'refused, or held back because this clock is ahead of the hub), 5 (hub ' +
          'unreachable) or 6 (sign-in needed).',
        run: async (c, a) => (await admin()).sync(c, a),
      },
      {
        name: 'repair',
        summary: 'Make bodies an earlier version doubled single again (--check: only list them)',
        options: {
          check: { type: 'boolean', describe: 'list doubled bodies, change nothing' },
        },
        epilog:
          'An earlier heph doubled the text of a note created on two devices before they ' +
          'first synced (a vault imported on both). Repairs are ordinary edits that sync.',
        run: async (c, a) => (await admin()).repair(c, a),
      },
      {
        name: 'conflicts',
        summary: 'Fields written to different values on different devices',
        run: async (c) => (await admin()).conflicts(c),
        sub: [
          {
            name: 'resolve',
            args: '<target> <field> <value>',
            summary:
              'Keep VALUE for a conflicting field: JSON when it parses, else text; for body the ' +
              'text as typed, or - to read it from standard input',
            positionals: {
              target: node(),
              field: { type: 'string', demandOption: true },
              value: { type: 'string', demandOption: true },
            },
            options: { 'keep-links': KEEP_LINKS },
            epilog:
              'For project and parent, VALUE is the project to keep (a title or an id), or null: ' +
              'none, the top level. Projects put under each other on two devices (a loop) each ' +
              'have a parent conflict, and resolving one ends them all: null moves it to the top; ' +
              'its parent in the loop keeps it there and moves the one under it to the top.',
            run: async (c, a) => (await admin()).resolveConflict(c, a),
          },
        ],
      },
      {
        name: 'export',
        args: '<dir>',
        summary: "Write everything under DIR as a vault (heph's ids and fields in DIR/.heph)",
        positionals: { dir: { type: 'string', demandOption: true, complete: 'dir' } },
        epilog:
          'Imported notes go back to their paths exactly as they came in; tasks go under ' +
          'Tasks/, projects under Projects/, journals under Journal/. A file in the way that ' +
          'no export wrote is never overwritten.',
        run: async (c, a) => (await admin()).exportDir(c, a),
      },
      {
        name: 'import',
        args: '<dir>',
        summary: 'Import a heph export or a folder of markdown notes',
        positionals: { dir: { type: 'string', demandOption: true, complete: 'dir' } },
        options: {
          'skip-invalid': { type: 'boolean', describe: 'skip files that do not parse' },
        },
        run: async (c, a) => (await admin()).importDir(c, a),
      },
      {
        name: 'backup',
        args: '<file>',
        summary: 'Write a consistent copy of the database',
        positionals: { file: { type: 'string', demandOption: true, complete: 'file' } },
        options: { overwrite: { type: 'boolean', describe: 'replace FILE if it exists' } },
        epilog: `While the daemon runs. A daemon started on a restored copy takes a new replica id,
so the copy and the original can both keep syncing. Example:
  heph backup ~/backups/heph-$(date +%F).db`,
        run: async (c, a) => (await admin()).backup(c, a),
      },
    ],
  },
  {
    title: 'Daemon and set-up',
    commands: [
      {
        name: 'daemon',
        args: '<action>',
        summary: 'Start, stop, restart, inspect or uninstall hephd',
        positionals: {
          action: {
            type: 'string',
            choices: ['start', 'stop', 'restart', 'status', 'uninstall'],
            demandOption: true,
          },
        },
        options: {
          mode: { type: 'string', choices: ['local'], describe: 'daemon mode' },
          db: { type: 'string', describe: 'database file', complete: 'file' },
          'hub-url': { type: 'string', describe: 'the hub to sync with' },
          'log-level': {
            type: 'string',
            choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
          },
          'sync-interval': { type: 'string', describe: 'seconds between background syncs' },
          'insecure-http': {
            type: 'boolean',
            describe: 'allow a plain http:// hub off loopback',
          },
          'device-name': {
            type: 'string',
            describe: 'the name this device takes at its first start (default: the host name)',
          },
          manager: {
            type: 'string',
            choices: ['auto', 'systemd', 'detached'],
            default: 'auto',
            describe: 'systemd user unit or a detached process',
          },
        },
        epilog:
          'start keeps --hub-url, --db, --socket, --log-level, --sync-interval, ' +
          '--insecure-http and --device-name (in the systemd unit, or with the detached launcher), so restart and ' +
          'status use them; options given again replace the kept ones, and uninstall forgets them. ' +
          'status exits 0 when hephd is running and 5 when it is not (--json reports either way). ' +
          'stop stops the daemon on the socket however it was started: under systemd the unit, ' +
          'then a hephd started by hand that still answers there (and says so).',
        run: async (c, a) => {
          const m = await import('./commands/daemon.js');
          return m.daemon(c, a, a.action as Parameters<typeof m.daemon>[2]);
        },
      },
      {
        name: 'auth',
        summary: 'Sign in to your hub and give this device its own credential',
        options: HUB_OPTIONS,
        sub: [
          {
            name: 'login',
            summary: 'Sign in as the hub’s owner and enrol this device (its own credential)',
            options: {
              admin: {
                type: 'boolean',
                describe: 'also keep your login, for `heph device …` without signing in again',
              },
              'insecure-storage': {
                type: 'boolean',
                describe: 'with --admin and no keyring: keep the login in a 0600 file',
              },
            },
            epilog:
              'You sign in in a browser (the device flow: a URL and a code on this terminal, ' +
              'usable from any other device). The hub then gives this device its own ' +
              'credential (hd_…), bound to the running hephd’s replica: it is kept in the OS ' +
              'keyring, or where none is reachable in a file only you can read, and hephd ' +
              'syncs with it; it can be revoked alone (`heph device revoke`). Your login is ' +
              'not kept: hephd holds it in memory for 15 minutes for `heph device …`, which ' +
              'asks you to sign in again after that. With --admin the login is kept too (in ' +
              'the keyring, or with --insecure-storage in a 0600 file), and `heph device …` ' +
              'uses it. hephd must be running: start it with `heph daemon start --hub-url URL`.',
            run: async (c, a) => (await auth()).login(c, a),
          },
          {
            name: 'enroll',
            summary: 'Enrol this machine with a one-time token, without a browser',
            options: {
              'token-file': {
                type: 'string',
                describe: 'read the enrolment token from this file (else a pipe, else a prompt)',
                complete: 'file',
              },
            },
            epilog:
              'On a signed-in machine, `heph device enroll --name NAME` prints a one-time ' +
              'token (he_…). On this machine, with hephd running, give it to ' +
              '`heph auth enroll --hub URL` by a pipe (`< token.txt`), --token-file, or at the ' +
              'prompt; never on the command line, where other users can read it. The hub ' +
              'answers this device its own credential (hd_…), bound to this replica: it is kept ' +
              'in the OS keyring, or where none is reachable in a file only you can read ' +
              '($XDG_CONFIG_HOME/heph/credentials/device.json), and hephd syncs with it from its ' +
              'next request. `heph auth logout` revokes it on the hub.',
            run: async (c, a) => (await auth()).enroll(c, a),
          },
          {
            name: 'rotate',
            summary: "Replace this device's credential with a new one (the old stops working)",
            epilog:
              'The hub answers a new credential and refuses the old one from then on; this ' +
              'device keeps its id, name and history, and hephd syncs with the new one from ' +
              'its next request. Do it when a copy of this machine’s files may have leaked.',
            run: async (c, a) => (await auth()).rotate(c, a),
          },
          {
            name: 'status',
            summary: 'Which sign-in and device credential this device holds, and where',
            run: async (c, a) => (await auth()).status(c, a),
          },
          {
            name: 'logout',
            summary: 'Revoke this device on the hub (for good); forget stored tokens',
            run: async (c, a) => (await auth()).logout(c, a),
          },
        ],
      },
      {
        name: 'device',
        summary: "Your hub's devices: list, rename, revoke, enroll (needs a recent sign-in)",
        options: HUB_OPTIONS,
        epilog:
          'These call the hub as its owner, never with a device’s own credential (the hub ' +
          'refuses one for them, so a stolen laptop cannot revoke the others). Like sudo, ' +
          'they need a recent sign-in: hephd holds your sign-in in memory for 15 minutes after ' +
          '`heph auth login` or after the sign-in these commands ask for (a URL and a code, ' +
          'as in `heph auth login`); a login kept with `heph auth login --admin` is used ' +
          'instead when there is one.',
        sub: [
          {
            name: 'list',
            summary: 'Every device: status, last seen, what it pushed and has not',
            run: async (c, a) => (await device()).list(c, a),
          },
          {
            name: 'rename',
            args: '<id> <name>',
            summary: 'Give a device another name',
            positionals: {
              id: { type: 'string', describe: 'device id or replica id', demandOption: true },
              name: {
                type: 'string',
                describe: 'its new name (1 to 100 characters)',
                demandOption: true,
              },
            },
            run: async (c, a) => (await device()).rename(c, a),
          },
          {
            name: 'name',
            args: '[name]',
            summary: "Show or set this device's name, which every device shows for its changes",
            positionals: {
              name: { type: 'string', describe: 'its new name (1 to 100 characters)' },
            },
            epilog:
              'Needs no sign-in: the name is synced data, like a note. `heph device rename` on ' +
              "a signed-in machine renames a device there and in the hub's list.",
            run: async (c, a) => (await device()).name(c, a),
          },
          {
            name: 'revoke',
            args: '<id>',
            summary: 'Revoke a device at once (a lost laptop); says what the hub never received',
            positionals: {
              id: { type: 'string', describe: 'device id or replica id', demandOption: true },
            },
            options: {
              yes: { type: 'boolean', describe: 'revoke even when it is this device' },
            },
            epilog:
              "The device's next request is refused, whatever it presents, and its ops are " +
              'refused for good. Nothing on the device is erased, and your login is not revoked.',
            run: async (c, a) => (await device()).revoke(c, a),
          },
          {
            name: 'enroll',
            summary: 'Make a one-time token that enrols a machine without a browser',
            options: {
              name: { type: 'string', describe: 'the new device’s name' },
              ttl: {
                type: 'string',
                describe: 'how long the token works: 30m, 1h (default), at most 24h',
              },
              regenerate: {
                type: 'string',
                describe: 'a new token for this device, still pending (the old one stops working)',
              },
            },
            epilog:
              'The token is printed once, on standard output (redirect it to a file only you ' +
              'can read); the new machine runs `heph auth enroll --hub URL < token.txt`.',
            run: async (c, a) => (await device()).enroll(c, a),
          },
        ],
      },
      {
        name: 'status',
        summary: "The daemon's version, files and state",
        options: {
          digest: {
            type: 'boolean',
            describe:
              'also compute the state digest: two replicas that show the same notes and tasks ' +
              'have the same digest (takes a moment on a large store)',
          },
        },
        run: async (c, a) => (await admin()).status(c, a),
      },
      {
        name: 'doctor',
        summary: 'Check the set-up: daemon, database, hub, clock, sign-in, config',
        run: async (c) => (await import('./commands/doctor.js')).doctor(c),
      },
      {
        name: 'socket-path',
        summary: 'The socket path heph uses (works with the daemon down)',
        run: async (c) => ({
          kind: 'raw',
          text: (await c.socketPath()) + '\n',
          data: { socket: await c.socketPath() },
        }),
      },
      {
        name: 'completion',
        args: '<shell>',
        summary: 'A shell completion script: bash, zsh or fish',
        positionals: {
          shell: { type: 'string', choices: ['bash', 'zsh', 'fish'], demandOption: true },
        },
        epilog: `Install:
  bash  mkdir -p ~/.local/share/bash-completion/completions
        heph completion bash > ~/.local/share/bash-completion/completions/heph
  zsh   heph completion zsh > "\${fpath[1]}/_heph"   (or: source <(heph completion zsh) in ~/.zshrc)
  fish  heph completion fish > ~/.config/fish/completions/heph.fish
Commands and options complete everywhere; ids and titles come from the daemon when it runs.`,
        run: async (c, a) => (await import('./completion.js')).script(c, a),
      },
    ],
  },
  {
    title: 'Scripting',
    commands: [
      {
        name: 'methods',
        summary: 'Every JSON-RPC method with its parameters',
        run: async (c) => (await admin()).methods(c),
      },
      {
        name: 'call',
        args: '<method> [params]',
        summary: 'Call any JSON-RPC method with JSON params (for scripts)',
        positionals: {
          method: { type: 'string', demandOption: true, complete: 'method' },
          params: { type: 'string' },
        },
        run: async (c, a) => (await admin()).call(c, a),
      },
      {
        name: 'events',
        args: '[topics..]',
        summary: 'Print change notifications as JSON lines until Ctrl-C',
        positionals: { topics: words('node.changed, task.changed, link.changed, …') },
        run: async (c, a) => (await admin()).events(c, a),
      },
    ],
  },
  {
    title: 'Help',
    commands: [
      {
        name: 'help',
        args: '[topic..]',
        summary: `This list; a command's help; or a topic: ${TOPICS.join(', ')}`,
        positionals: { topic: { ...words('a command or a topic'), complete: 'topic' } },
        run: async (c, a) => (await import('./help.js')).help(c, a),
      },
    ],
  },
];

export const COMMANDS: Command[] = GROUPS.flatMap((g) => g.commands);

/** Options every command takes. */
export const GLOBAL_OPTIONS: Record<string, Opt> = {
  socket: { type: 'string', describe: "hephd's socket (env HEPH_SOCKET)", complete: 'file' },
  json: { type: 'boolean', describe: 'print one JSON document' },
  color: { type: 'boolean', describe: 'colour on a terminal (--no-color: never)' },
  wait: { type: 'boolean', describe: 'after a change, return only once the hub has it' },
};

/** Every name an option answers to, with and without --no- for booleans. */
export function optionNames(options: Record<string, Opt>): string[] {
  const out: string[] = [];
  for (const [name, o] of Object.entries(options)) {
    out.push(name);
    if (o.type === 'boolean') out.push(`no-${name}`);
    out.push(...aliases(o));
  }
  return out;
}

/** The option `name` (a long name or an alias) stands for, if any. */
export function findOption(options: Record<string, Opt>, name: string): Opt | undefined {
  return options[name] ?? Object.values(options).find((x) => aliases(x).includes(name));
}

function aliases(o: Opt): string[] {
  const a: unknown = o.alias;
  return (Array.isArray(a) ? (a as unknown[]) : [a]).filter(
    (x): x is string => typeof x === 'string',
  );
}

/**
 * The command path `words` select (['tag', 'add'] for `heph tag add x y`), with the index of the
 * first word after it. Options are skipped; the option values the table knows are skipped too.
 */
export function commandPath(words: readonly string[]): { path: Command[]; next: number } {
  const path: Command[] = [];
  let list = COMMANDS;
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    if (w === '--') break;
    if (w.startsWith('-') && w.length > 1) {
      i += takesValue(w, path) ? 2 : 1;
      continue;
    }
    const c = list.find((x) => x.name === w);
    if (c === undefined) break;
    path.push(c);
    list = c.sub ?? [];
    i++;
  }
  return { path, next: i };
}

/** The options valid after `path`: its own, its parents' and the global ones. */
export function optionsAt(path: readonly Command[]): Record<string, Opt> {
  return Object.assign({}, GLOBAL_OPTIONS, ...path.map((c) => c.options ?? {})) as Record<
    string,
    Opt
  >;
}

function takesValue(word: string, path: readonly Command[]): boolean {
  if (word.includes('=')) return false;
  const name = word.replace(/^--?/, '');
  const options = optionsAt(path);
  const o =
    options[name] ??
    Object.values(options).find(
      (x) => x.alias === name || (Array.isArray(x.alias) && x.alias.includes(name)),
    );
  return o !== undefined && o.type !== 'boolean';
}
