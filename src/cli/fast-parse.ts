// The parser for the command lines people type most: a command of the table (spec.ts) followed
// by its positionals and plain options. It reads the same table yargs is given and produces the
// same arguments yargs would (test/cli/fast-parse.test.ts compares the two on generated command
// lines), so `heph next` or `heph add …` never loads yargs, most of the CLI's start-up. Anything
// it is not sure of (help, --version, `--`, arrays, bundled short flags, a value that looks like
// an option, a mistake of any kind) returns undefined, and yargs parses the line instead, with
// its help and its errors.

import type { Args } from './args.js';
import { commandPath, findOption, optionsAt, type Command, type Opt } from './spec.js';

export interface FastParse {
  path: Command[];
  args: Args;
}

interface Slot {
  name: string;
  required: boolean;
  variadic: boolean;
}

/** '<id> [text..]' as slots. */
function slots(spec: string | undefined): Slot[] {
  if (spec === undefined) return [];
  return spec.split(/\s+/).map((w) => ({
    name: w.replace(/^[<[]|\.{2}|[>\]]$/g, '').replace(/\.\.$/, ''),
    required: w.startsWith('<'),
    variadic: w.includes('..'),
  }));
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The key under which yargs keeps an option: its name, its aliases and their camelCase. */
function keysOf(name: string, o: Opt): string[] {
  const a: unknown = o.alias;
  const aliases = (Array.isArray(a) ? (a as unknown[]) : [a]).filter(
    (x): x is string => typeof x === 'string',
  );
  const names = [name, ...aliases];
  return [...new Set([...names, ...names.map(camel)])];
}

/** The option a word names: `--name`, `--no-name` (booleans) or `-x` (one-letter alias). */
function lookup(
  options: Record<string, Opt>,
  word: string,
): { name: string; opt: Opt; negated: boolean } | undefined {
  const bare = word.startsWith('--') ? word.slice(2) : word.slice(1);
  if (!word.startsWith('--') && bare.length !== 1) return undefined;
  if (bare.includes('.') || bare === '') return undefined;
  const found = (n: string) => {
    if (options[n] !== undefined) return n;
    const o = findOption(options, n);
    return o === undefined ? undefined : Object.keys(options).find((k) => options[k] === o);
  };
  const direct = found(bare);
  if (direct !== undefined) return { name: direct, opt: options[direct]!, negated: false };
  if (word.startsWith('--no-')) {
    const n = found(bare.slice(3));
    if (n !== undefined && options[n]!.type === 'boolean') {
      return { name: n, opt: options[n]!, negated: true };
    }
  }
  return undefined;
}

function checkValue(o: Opt, raw: string): string | number | undefined {
  if (o.choices !== undefined && !(o.choices as unknown[]).includes(raw)) return undefined;
  if (o.type === 'number') return /^\d{1,9}$/.test(raw) ? Number(raw) : undefined;
  return o.type === 'string' ? raw : undefined;
}

/** Arguments as yargs would give them for `argv`, or undefined to let yargs decide. */
export function fastParse(argv: readonly string[]): FastParse | undefined {
  const { path } = commandPath(argv);
  const last = path[path.length - 1];
  const next = path.length;
  // Command words first, options after them; a runnable command.
  if (last?.run === undefined || path.some((c, i) => argv[i] !== c.name)) return undefined;
  if (path.some((c) => c.name === 'help' || c.name === 'completion')) return undefined;
  const options = optionsAt(path);
  const out: Record<string, unknown> = {};
  const given = new Set<string>();
  const words: string[] = [];
  for (let i = next; i < argv.length; i++) {
    const w = argv[i]!;
    if (!w.startsWith('-') || w === '-') {
      words.push(w);
      continue;
    }
    if (w === '--') return undefined;
    const eq = w.indexOf('=');
    const found = lookup(options, eq === -1 ? w : w.slice(0, eq));
    if (found === undefined || found.name === 'help' || found.name === 'version') return undefined;
    const { name, opt, negated } = found;
    if (given.has(name) || opt.array === true || opt.count === true) return undefined;
    given.add(name);
    let value: unknown;
    if (opt.type === 'boolean') {
      const after = argv[i + 1];
      if (eq !== -1 || after === 'true' || after === 'false') return undefined;
      value = !negated;
    } else {
      if (negated) return undefined;
      let raw: string | undefined;
      if (eq !== -1) raw = w.slice(eq + 1);
      else raw = argv[++i];
      if (raw === undefined || (eq === -1 && raw.startsWith('-'))) return undefined;
      value = checkValue(opt, raw);
      if (value === undefined) return undefined;
    }
    for (const k of keysOf(name, opt)) out[k] = value;
  }
  for (const [name, opt] of Object.entries(options)) {
    if (!given.has(name) && opt.default !== undefined) {
      for (const k of keysOf(name, opt)) out[k] = opt.default;
    }
  }
  // Positionals in order; a variadic one takes the rest.
  if (last.sub !== undefined && words.length > 0) return undefined;
  const want = slots(last.args);
  let w = 0;
  for (const s of want) {
    const p = last.positionals?.[s.name];
    if (p === undefined || p.type !== 'string') return undefined;
    let value: unknown;
    if (s.variadic) {
      value = words.slice(w);
      w = words.length;
      if (s.required && (value as string[]).length === 0) return undefined;
    } else if (w < words.length) {
      value = words[w++];
      if (p.choices !== undefined && !(p.choices as unknown[]).includes(value)) return undefined;
    } else if (s.required) {
      return undefined;
    } else {
      value = p.default;
    }
    if (value !== undefined) for (const k of new Set([s.name, camel(s.name)])) out[k] = value;
  }
  if (w < words.length) return undefined;
  return { path, args: { ...out, _: path.map((c) => c.name), $0: 'heph' } };
}
