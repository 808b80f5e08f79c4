// The fast parser gives exactly what yargs gives, or nothing: command lines generated from the
// command table (every runnable command, its positionals and options, good and bad values, in
// any order) are parsed by both; whenever the fast parser answers, yargs must answer the same.
// The lines people type most must be answered by the fast parser (or start-up loads yargs).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Args } from '../../src/cli/args.js';
import { protectWords } from '../../src/cli/args.js';
import { fastParse } from '../../src/cli/fast-parse.js';
import { parser } from '../../src/cli/main.js';
import { COMMANDS, optionsAt, type Command } from '../../src/cli/spec.js';

const SEED = Number(process.env.FAST_PARSE_SEED ?? 20261205);

/** yargs' arguments for `argv`, or its error. */
async function viaYargs(argv: string[]): Promise<Args | Error> {
  let got: Args | undefined;
  try {
    await parser(argv, () => (a) => {
      got = a;
      return Promise.resolve();
    }).parseAsync();
  } catch (e) {
    return e as Error;
  }
  return got ?? new Error('no command ran');
}

/** Keys with a value, as both parsers' outputs are compared. */
function defined(a: Args): Record<string, unknown> {
  return Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined));
}

function runnable(list: Command[], prefix: string[] = []): { words: string[]; c: Command[] }[] {
  return list.flatMap((c) => [
    ...(c.run === undefined ? [] : [{ words: [...prefix, c.name], c: [c] }]),
    ...runnable(c.sub ?? [], [...prefix, c.name]).map((x) => ({ ...x, c: [c, ...x.c] })),
  ]);
}

const PATHS = runnable(COMMANDS);
const VALUES = [
  'x',
  'Buy milk',
  '42',
  '-2d',
  '-',
  'tomorrow',
  'a=b',
  '',
  'true',
  'now',
  'status',
  'red',
  '--json',
  '-n',
  'üñí',
];

const line = fc
  .record({
    path: fc.constantFrom(...PATHS),
    positionals: fc.array(fc.constantFrom(...VALUES), { maxLength: 4 }),
    picks: fc.array(
      fc.record({
        at: fc.nat(),
        form: fc.constantFrom('space', 'eq', 'no', 'short', 'bare'),
        value: fc.constantFrom(...VALUES),
      }),
      { maxLength: 4 },
    ),
    mix: fc.boolean(),
  })
  .map(({ path, positionals, picks, mix }) => {
    const options = Object.entries(optionsAt(path.c));
    const opts = picks.flatMap(({ at, form, value }) => {
      const [name, o] = options[at % options.length]!;
      const alias = typeof o.alias === 'string' ? o.alias : undefined;
      if (form === 'no') return [`--no-${name}`];
      if (form === 'bare' || o.type === 'boolean') return [`--${name}`];
      if (form === 'short' && alias?.length === 1) return [`-${alias}`, value];
      if (form === 'eq') return [`--${name}=${value}`];
      return [`--${name}`, value];
    });
    const rest = mix ? [...opts, ...positionals] : [...positionals, ...opts];
    return protectWords([...path.words, ...rest]);
  });

describe('the fast parser', () => {
  it(`answers only as yargs does (seed ${SEED})`, async () => {
    let answered = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(line, async (argv) => {
        runs++;
        const fast = fastParse(argv);
        if (fast === undefined) return;
        answered++;
        const slow = await viaYargs(argv);
        if (slow instanceof Error) {
          throw new Error(`${JSON.stringify(argv)}: yargs refuses (${slow.message}), fast did not`);
        }
        expect(defined(fast.args), JSON.stringify(argv)).toEqual(defined(slow));
      }),
      { seed: SEED, numRuns: 1500 },
    );
    // Vacuous if the fast parser answered almost nothing.
    expect(answered / runs).toBeGreaterThan(0.08);
  });

  it('answers the lines people type most', async () => {
    const common = [
      ['next'],
      ['next', '-n', '5', '--json'],
      ['add', 'Pay', 'rent', 'tomorrow', '!red'],
      ['add', 'Return the books due -2d'],
      ['status'],
      ['done', 'k3j9'],
      ['show', 'Home'],
      ['search', 'milk', '--json'],
      ['sync'],
      ['sync', 'status', '--details'],
      ['journal', 'add', '-'],
      ['doc', 'Plan', '--body', '-'],
      ['next', '--socket', '/run/user/1/heph/hephd.sock', '--no-color'],
    ];
    for (const argv of common.map(protectWords)) {
      const fast = fastParse(argv);
      expect(fast, JSON.stringify(argv)).toBeDefined();
      expect(defined(fast!.args)).toEqual(defined((await viaYargs(argv)) as Args));
    }
  });

  it('leaves help, versions, mistakes and the unusual to yargs', () => {
    for (const argv of [
      [],
      ['--version'],
      ['next', '--help'],
      ['next', '-h'],
      ['help', 'next'],
      ['nxt'],
      ['next', '--lmit', '3'],
      ['next', '-n', 'three'],
      ['done'],
      ['done', 'a', 'b'],
      ['sync', 'later'],
      ['add', '--', '--json'],
      ['completion', 'bash'],
      ['--json', 'next'],
      ['next', '--json', 'true'],
      ['tag', 'add'],
    ]) {
      expect(fastParse(protectWords(argv)), JSON.stringify(argv)).toBeUndefined();
    }
  });
});
