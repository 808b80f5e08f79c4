// The `heph` command line: a thin client of hephd's socket. The commands are a table (spec.ts)
// registered with yargs here; each parses its flags, calls a function that returns data (an
// Output), and output.ts prints it for people or as --json. One catch turns any error into
// `heph: <message>` on stderr and the exit code from the error table; a mistyped command, option
// or choice gets a did-you-mean (exit 2). Start-up is kept short: command modules are loaded only
// when their command runs, nothing here reaches SQLite, the server side or the validators, and the
// common lines are parsed by fast-parse.ts from the same table, so yargs loads only for help,
// completion and mistakes.

import { packageVersion } from '../config/package-version.js';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import type YargsFactory from 'yargs/yargs';
import type { Env } from '../config/paths.js';
import { HephError } from '../core/errors.js';
import { exitCodeFor } from '../protocol/error-wire.js';
import { protectWords, type Args } from './args.js';
import { localDay, makeCli } from './context.js';
import { fastParse } from './fast-parse.js';
import { render, type Output } from './output.js';
import {
  COMMANDS,
  commandPath,
  GLOBAL_OPTIONS,
  optionNames,
  optionsAt,
  TOPICS,
  type Command,
  type Run,
} from './spec.js';
import { didYouMean } from '../core/suggest.js';

export interface MainIo {
  env: Env;
  cwd: string;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** yargs, loaded only for the lines fast-parse.ts leaves to it (help, completion, mistakes).
 *  Its ESM entry wraps the same CommonJS bundle; requiring it directly skips the wrapper. */
function loadYargs(): typeof YargsFactory {
  return createRequire(import.meta.url)('yargs/yargs') as typeof YargsFactory;
}

/** Commands `--wait` means nothing to (sync has its own). */
const NO_WAIT = new Set([
  'sync',
  'daemon',
  'auth',
  'device',
  'doctor',
  'help',
  'completion',
  '__complete',
]);

const version = packageVersion;

/** yargs reads only its own keys; `complete` is for the completion scripts. */
function yargsOptions<T extends { complete?: unknown }>(o: T): Omit<T, 'complete'> {
  const { complete: _complete, ...rest } = o;
  return rest;
}

/** Registers a command of the table (and its subcommands) on `y`. */
function register(y: Argv, c: Command, wrap: (fn: Run) => (a: Args) => Promise<void>): Argv {
  const name = c.args === undefined ? c.name : `${c.name} ${c.args}`;
  const builder = (b: Argv): Argv => {
    for (const [k, p] of Object.entries(c.positionals ?? {})) b = b.positional(k, yargsOptions(p));
    for (const [k, o] of Object.entries(c.options ?? {})) b = b.option(k, yargsOptions(o));
    for (const sub of c.sub ?? []) b = register(b, sub, wrap);
    if (c.sub !== undefined && c.run === undefined) {
      b = b.demandCommand(1, `say which: heph ${c.name} ${c.sub.map((x) => x.name).join('|')}`);
    }
    return c.epilog === undefined ? b : b.epilog(c.epilog);
  };
  return y.command(name, c.summary, builder, c.run === undefined ? undefined : wrap(c.run));
}

/** Unknown words and options, as a did-you-mean error (yargs' own message otherwise). */
function explain(msg: string, argv: readonly string[]): HephError {
  const { path } = commandPath(argv);
  const where = path.length > 0 ? `heph ${path.map((c) => c.name).join(' ')}` : 'heph';
  const unknown = /^Unknown arguments?: (.+)$/.exec(msg);
  if (unknown?.[1] !== undefined) {
    const name = unknown[1].split(', ')[0]!.trim();
    const typed = argv.find((w) => {
      const bare = w.replace(/^--?/, '').split('=')[0];
      return w.startsWith('-') && (bare === name || bare === `no-${name}`);
    });
    if (typed !== undefined) {
      const flag = typed.split('=')[0]!;
      const names = [...optionNames(optionsAt(path)), 'help', 'version'];
      const hint = didYouMean(flag.replace(/^--?/, ''), names, (n) =>
        n.length === 1 ? `-${n}` : `--${n}`,
      );
      return new HephError(
        'invalid_params',
        `Unknown option "${flag}" for ${where}.${hint || ` See ${where} --help.`}`,
        { field: flag },
      );
    }
    const last = path[path.length - 1];
    if (last?.sub !== undefined) {
      const hint = didYouMean(
        name,
        last.sub.map((s) => s.name),
        (n) => `${where} ${n}`.slice(5),
      );
      return new HephError(
        'invalid_params',
        `Unknown command "${`${where} ${name}`.slice(5)}".${hint || ` See ${where} --help.`}`,
        { field: 'command' },
      );
    }
    return new HephError(
      'invalid_params',
      `Unexpected argument "${name}" for ${where}. See ${where} --help (quote text with spaces).`,
      { field: name },
    );
  }
  const invalid = /Argument: ([\w-]+), Given: "([^"]*)", Choices: (.*)$/m.exec(msg);
  if (invalid?.[1] !== undefined && invalid[2] !== undefined && invalid[3] !== undefined) {
    const choices = [...invalid[3].matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    return new HephError(
      'invalid_params',
      `"${invalid[2]}" is not a valid ${invalid[1]} (one of ${choices.join(', ')}).` +
        didYouMean(invalid[2], choices),
      { field: invalid[1] },
    );
  }
  const last = path[path.length - 1];
  if (/^Not enough non-option arguments/.test(msg) && last?.args !== undefined) {
    return new HephError(
      'invalid_params',
      `not enough arguments: ${where} ${last.args} (see ${where} --help)`,
    );
  }
  return new HephError('invalid_params', `${msg} (see ${where} --help)`);
}

/**
 * What to do before yargs sees the words: the grouped help for `heph`, `heph --help` and
 * `heph help`; `heph help COMMAND` as `heph COMMAND --help`; an unknown first word as a
 * did-you-mean error. Returns the words for yargs, or 'overview'.
 */
function route(argv: readonly string[]): string[] | 'overview' {
  const { path, next } = commandPath(argv);
  const first = path[0];
  if (first === undefined) {
    const word = argv.slice(next).find((w) => !w.startsWith('-'));
    const stop = argv.indexOf('--');
    if (word !== undefined && (stop === -1 || argv.indexOf(word) < stop)) {
      const names = COMMANDS.map((c) => c.name);
      throw new HephError(
        'invalid_params',
        `Unknown command "${word}".${didYouMean(word, names) || ' Run heph --help for the commands.'}`,
        { field: 'command' },
      );
    }
    if (argv.includes('--version')) return [...argv];
    return 'overview';
  }
  if (first.name === 'help') {
    const rest = argv.slice(next).filter((w) => !w.startsWith('-'));
    if (rest.length === 0) return 'overview';
    // A topic wins over a command of the same name (`heph help sync`; `heph sync --help`).
    const target = commandPath(rest);
    const topic = rest.length === 1 && (TOPICS as readonly string[]).includes(rest[0]!);
    if (!topic && target.path.length > 0 && target.next === rest.length) {
      return [...rest, '--help'];
    }
  }
  return [...argv];
}

/** The yargs parser of the whole table for `words`; `wrap` turns a command's run into its handler. */
export function parser(words: string[], wrap: (fn: Run) => (a: Args) => Promise<void>): Argv {
  let y = loadYargs()(words)
    .scriptName('heph')
    .usage('Usage: heph <command> [options]')
    .version(version())
    .help()
    .alias('help', 'h')
    .strict()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg: string | null, err: Error | undefined) => {
      throw err ?? explain(msg ?? 'bad arguments', words);
    });
  for (const [name, o] of Object.entries(GLOBAL_OPTIONS)) {
    y = y.option(name, { ...yargsOptions(o), global: true });
  }
  for (const c of COMMANDS) y = register(y, c, wrap);
  return y;
}

export async function main(argv: string[], io: MainIo): Promise<number> {
  const today = localDay(new Date());
  let result: Output | undefined;
  const open: { cli?: ReturnType<typeof makeCli> } = {};
  let json = false;
  let color = false;
  try {
    const cliFor = (socketFlag: string | undefined) =>
      (open.cli = makeCli({
        env: io.env,
        cwd: io.cwd,
        today,
        color,
        socketFlag,
        hephdPath: fileURLToPath(new URL('../../../bin/hephd.js', import.meta.url)),
        // Read only when used: process.stdin and process.stderr are made on first access, and
        // making them is a measurable part of a command's start-up.
        get stdin() {
          return io.stdin;
        },
        stdout: io.stdout,
        get stderr() {
          return io.stderr;
        },
      }));
    if (argv[0] === '__complete') {
      // The completion scripts' helper: raw words, never parsed as options, never an error.
      const words = argv.slice(1);
      const s = words.indexOf('--socket');
      const cli = cliFor(s >= 0 && s < words.length - 2 ? words[s + 1] : undefined);
      io.stdout.write(await (await import('./completion.js')).complete(cli, words));
      return 0;
    }
    const words = route(protectWords(argv));
    if (words === 'overview') {
      io.stdout.write((await import('./help.js')).overview());
      return 0;
    }
    const wrap =
      (fn: Run) =>
      async (a: Args): Promise<void> => {
        json = a.json === true;
        color = !json && a.color !== false && io.stdout.isTTY === true && !io.env.NO_COLOR;
        const cli = cliFor(typeof a.socket === 'string' ? a.socket : undefined);
        result = await fn(cli, a);
        const command = Array.isArray(a._) ? String(a._[0]) : '';
        if (a.wait === true && !NO_WAIT.has(command)) {
          try {
            await (await import('./commands/admin.js')).waitForHub(cli);
          } catch (e) {
            // The change was made: show it, then say why it is not on the hub yet.
            if (result !== undefined) io.stdout.write(render(result, { json, color, today }));
            result = undefined;
            throw e;
          }
        }
      };
    const fast = fastParse(words);
    if (fast !== undefined) await wrap(fast.path[fast.path.length - 1]!.run!)(fast.args);
    else await parser(words, wrap).parseAsync();
    if (result !== undefined) {
      io.stdout.write(render(result, { json, color, today }));
      return result.exit ?? 0;
    }
    return 0;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    io.stderr.write(`heph: ${message}\n`);
    return exitCodeFor(e);
  } finally {
    open.cli?.close();
  }
}
