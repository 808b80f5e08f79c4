// The commands the docs show are commands the CLI takes: every `heph …` line in the code blocks
// of README.md and docs/cli.md, and every example of a `--help` page, is parsed by the CLI's own
// parser (the command table main.ts runs, strict about commands, options, choices and
// positionals), and README names every command of the table. The documented typos must fail.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { protectWords, type Args } from '../../src/cli/args.js';
import { parser } from '../../src/cli/main.js';
import { COMMANDS, commandPath, optionNames, optionsAt, type Command } from '../../src/cli/spec.js';
import { assertBuilt, baseEnv, heph, ROOT } from './helpers.js';

/** Mistakes docs/cli.md shows on purpose, with the did-you-mean they get (checked below). */
const SHOWN_MISTAKES = ['nxt', 'next --jsn'];

/** A line cut where the shell would cut it: outside quotes and `$(…)`, at `sep`. */
function cut(line: string, sep: (c: string, i: number) => 'split' | 'stop' | undefined): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (line.startsWith('$(', i)) depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0) {
      const what = sep(c, i);
      if (what === 'stop') break;
      if (what === 'split') {
        out.push(cur);
        cur = '';
        continue;
      }
    }
    cur += c;
  }
  out.push(cur);
  return out;
}

/** The words the shell would pass: quotes removed, redirections and their files dropped. */
function shellWords(command: string): string[] {
  const words = cut(command, (c) => (/\s/.test(c) ? 'split' : undefined))
    .filter((w) => w !== '')
    .map((w) => w.replace(/"([^"]*)"|'([^']*)'/g, (_, a: string, b: string) => a ?? b));
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (/^\d?[<>]$/.test(words[i]!)) i++;
    else if (!/^\d?[<>]/.test(words[i]!)) out.push(words[i]!);
  }
  return out;
}

/** Every `heph …` command (the words after heph) in the shell and console blocks of a doc. */
function documented(file: string): { line: string; words: string[] }[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: { line: string; words: string[] }[] = [];
  for (const [, lang, body] of text.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)) {
    if (!['', 'sh', 'console'].includes(lang!)) continue;
    for (const raw of body!.replace(/\\\n\s*/g, ' ').split('\n')) {
      if (lang === 'console' && !raw.startsWith('$ ')) continue; // output, not a command
      const line = raw.replace(/^\$ /, '');
      const uncommented = cut(line, (c, i) =>
        c === '#' && (i === 0 || /\s/.test(line[i - 1]!)) ? 'stop' : undefined,
      )[0]!;
      for (let part of cut(uncommented, (c) => (/[;|&]/.test(c) ? 'split' : undefined))) {
        part = part.trim();
        part = /\$\((heph [^)]*)\)/.exec(part)?.[1] ?? part; // "$(heph socket-path)"
        if (!/^heph(\s|$)/.test(part)) continue;
        // `heph done <id>`: a placeholder, not a redirection.
        out.push({ line: raw.trim(), words: shellWords(part.replace(/<(\w+)>/g, '$1')).slice(1) });
      }
    }
  }
  return out;
}

/** The arguments the CLI would run the line with, or the error it would refuse it with. */
async function parse(words: string[]): Promise<Args> {
  let ran: Args | undefined;
  await parser(protectWords(words), () => (a) => {
    ran = a;
    return Promise.resolve();
  }).parseAsync();
  if (ran === undefined) throw new Error('no command ran');
  return ran;
}

function eachCommand(f: (c: Command, path: string[]) => void, list = COMMANDS, pre: string[] = []) {
  for (const c of list) {
    f(c, [...pre, c.name]);
    eachCommand(f, c.sub ?? [], [...pre, c.name]);
  }
}

describe('the commands the docs show', () => {
  for (const file of ['README.md', 'docs/cli.md']) {
    it(`${file}: every heph line parses`, async () => {
      const lines = documented(file).filter((l) => !SHOWN_MISTAKES.includes(l.words.join(' ')));
      expect(lines.length).toBeGreaterThan(30);
      const refused: string[] = [];
      for (const { line, words } of lines) {
        await parse(words).catch((e: unknown) =>
          refused.push(`${line}\n    heph: ${e instanceof Error ? e.message : String(e)}`),
        );
      }
      expect(refused).toEqual([]);
    });
  }

  it('docs/cli.md shows its mistakes with what the real heph answers', async () => {
    assertBuilt();
    const text = readFileSync(join(ROOT, 'docs/cli.md'), 'utf8');
    for (const mistake of SHOWN_MISTAKES) {
      const shown = new RegExp(`^\\$ heph ${mistake}\n(heph: .*)$`, 'm').exec(text)?.[1];
      expect(shown, mistake).toBeDefined();
      const r = await heph(mistake.split(' '), { env: baseEnv({ HEPH_SOCKET: '/nonexistent' }) });
      expect([r.code, r.stderr]).toEqual([2, `${shown}\n`]);
    }
  });

  it('every example of a --help page parses', async () => {
    const refused: string[] = [];
    let n = 0;
    const examples: string[] = [];
    eachCommand((c) => {
      for (const l of (c.epilog ?? '').split('\n')) {
        // "  heph add "…"   (a note)": the command, then its note in parentheses.
        const m = /^\s*(heph .*?)(\s{2,}\(.*\))?$/.exec(l);
        if (m) examples.push(m[1]!);
      }
    });
    for (const example of examples) {
      n++;
      const words = shellWords(cut(example, (ch) => (/[;|]/.test(ch) ? 'stop' : undefined))[0]!);
      await parse(words.slice(1)).catch((e: unknown) => refused.push(`${example}: ${String(e)}`));
    }
    expect(n).toBeGreaterThan(10);
    expect(refused).toEqual([]);
  });

  it("docs/cli.md's headings name commands and options the CLI has", () => {
    const text = readFileSync(join(ROOT, 'docs/cli.md'), 'utf8');
    const wrong: string[] = [];
    let n = 0;
    for (const [, heading] of text.matchAll(/^### (.*)$/gm)) {
      for (const [, synopsis] of heading!.matchAll(/`(heph [^`]*)`/g)) {
        // `heph auth login|rotate|status|logout [--hub URL]`: the first of each choice.
        const words = synopsis!.split(' ').map((w) => w.split('|')[0]!);
        const { path } = commandPath(words.slice(1));
        if (words[1] === 'COMMAND') continue; // `heph COMMAND --help`
        n++;
        if (path.length === 0) wrong.push(`${synopsis}: no such command`);
        const names = [...optionNames(optionsAt(path)), 'help', 'version'];
        for (const [, flag] of synopsis!.matchAll(/(?:^|[\s[|])--?([a-z][a-z-]*)/g)) {
          if (!names.includes(flag!)) wrong.push(`${synopsis}: no option ${flag}`);
        }
      }
    }
    expect(n).toBeGreaterThan(30);
    expect(wrong).toEqual([]);
  });

  it('README names every command', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const missing: string[] = [];
    eachCommand((c, path) => {
      if (c.name.startsWith('__')) return; // the completion scripts' helper
      const name = `heph ${path.join(' ')}`;
      if (!new RegExp(`${name.replace(/[-]/g, '\\-')}(?![\\w-])`).test(readme)) missing.push(name);
    });
    expect(missing).toEqual([]);
  });
});
