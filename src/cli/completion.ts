// Shell completion. `heph completion bash|zsh|fish` prints a script; the script runs
// `heph __complete WORD…` (the words typed after `heph`, the last one being completed) and
// offers what it prints: one candidate a line, `value<TAB>description`, or a first line `:files`
// / `:dirs` asking the shell for its own path completion. Commands, subcommands, options and
// choices come from the command table (spec.ts); ids, titles and method names come from the
// daemon within DAEMON_TIMEOUT_MS, and nothing at all when it is down or slow: completion never
// prints an error and always exits 0.

import { basename, dirname, join } from 'node:path';
import { HephError } from '../core/errors.js';
import { arg, type Args } from './args.js';
import type { Cli } from './context.js';
import type { Output } from './output.js';
import {
  commandPath,
  findOption,
  COMMANDS,
  optionsAt,
  TOPICS,
  type Command,
  type Complete,
  type Opt,
} from './spec.js';
import { isRec } from './wire.js';

const DAEMON_TIMEOUT_MS = 300;

type Candidate = [value: string, description: string];

const DATE_WORDS: Candidate[] = [
  ['today', ''],
  ['tomorrow', ''],
  ['yesterday', ''],
  ...['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d): Candidate => [d, 'the next one']),
  ['+1d', 'in a day'],
  ['+1w', 'in a week'],
  ['+1m', 'in a month'],
  ['-1d', 'a day ago'],
];

function recsOf(v: unknown, key: string): Record<string, unknown>[] {
  const list = isRec(v) ? v[key] : undefined;
  return Array.isArray(list) ? list.filter(isRec) : [];
}

async function fromDaemon(cli: Cli, kind: Complete, node?: string): Promise<Candidate[]> {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  if (kind === 'method') {
    const r = await cli.ask('rpc.methods', {}, DAEMON_TIMEOUT_MS);
    return recsOf(r, 'methods').map((m) => [str(m.name), str(m.summary)]);
  }
  if (kind === 'version') {
    // The versions of the node named before (heph revert ID <TAB>, heph show ID --at <TAB>).
    if (node === undefined) return [];
    const r = await cli.ask('node.history', { id: node, limit: 50 }, DAEMON_TIMEOUT_MS);
    return recsOf(r, 'versions').map((v) => [str(v.short_version), str(v.summary)]);
  }
  if (kind === 'change') {
    const r = await cli.ask('undo.list', { limit: 20 }, DAEMON_TIMEOUT_MS);
    return recsOf(r, 'changes').map((c) => [str(c.short_change), str(c.summary)]);
  }
  if (kind === 'trashed') {
    const r = await cli.ask('trash', { limit: 200 }, DAEMON_TIMEOUT_MS);
    return recsOf(r, 'nodes').map((n) => [
      str(n.short_id) || str(n.id),
      `${str(n.title)} (in the trash)`,
    ]);
  }
  const r = await cli.ask(
    'node.list',
    {
      limit: 200,
      ...(kind === 'task' && { kind: 'task' }),
      ...(kind === 'project' && { kind: 'project' }),
    },
    DAEMON_TIMEOUT_MS,
  );
  const nodes = recsOf(r, 'nodes');
  // A project is named by its title (--project Home); other nodes by short id, title beside it.
  if (kind === 'project') return nodes.map((n) => [str(n.title), 'project']);
  return nodes.map((n) => [str(n.short_id) || str(n.id), str(n.title)]);
}

function optionCandidates(path: readonly Command[]): Candidate[] {
  const out: Candidate[] = [];
  for (const [name, o] of Object.entries(optionsAt(path))) {
    out.push([name.length === 1 ? `-${name}` : `--${name}`, String(o.describe ?? '')]);
  }
  out.push(['--help', 'help for this command']);
  return out;
}

async function valueCandidates(
  cli: Cli,
  spec: Opt,
  /** The first positional typed after the command (the node a version belongs to). */
  node?: string,
): Promise<Candidate[] | ':files' | ':dirs'> {
  if (Array.isArray(spec.choices)) return spec.choices.map((c): Candidate => [String(c), '']);
  switch (spec.complete) {
    case undefined:
      return [];
    case 'file':
      return ':files';
    case 'dir':
      return ':dirs';
    case 'date':
      return DATE_WORDS;
    case 'topic':
      return [
        ...TOPICS.map((t): Candidate => [t, 'help topic']),
        ...COMMANDS.map((c): Candidate => [c.name, c.summary]),
      ];
    default:
      return fromDaemon(cli, spec.complete, node);
  }
}

/** What to offer for the last of `words` (the words typed after `heph`). */
export async function candidates(
  cli: Cli,
  words: readonly string[],
): Promise<Candidate[] | ':files' | ':dirs'> {
  const current = words[words.length - 1] ?? '';
  const prior = words.slice(0, -1);
  const { path, next } = commandPath(prior);
  const last = path[path.length - 1];
  const prev = prior[prior.length - 1];
  // Positionals typed so far after the command path (options and their values left out).
  const given: string[] = [];
  for (let i = next; i < prior.length; i++) {
    const w = prior[i]!;
    if (w.startsWith('-')) {
      const o = findOption(optionsAt(path), w.replace(/^--?/, ''));
      if (o !== undefined && o.type !== 'boolean' && !w.includes('=')) i++;
    } else given.push(w);
  }
  if (prev !== undefined && prev.startsWith('-') && !prev.includes('=')) {
    const o = findOption(optionsAt(path), prev.replace(/^--?/, ''));
    if (o !== undefined && o.type !== 'boolean') return valueCandidates(cli, o, given[0]);
  }
  if (current.startsWith('-')) return optionCandidates(path);
  if (last === undefined) {
    return COMMANDS.map((c) => [c.name, c.summary]);
  }
  const out: Candidate[] = [];
  if (given.length === 0 && last.sub !== undefined)
    out.push(...last.sub.map((s): Candidate => [s.name, s.summary]));
  if (last.sub !== undefined && last.run === undefined) return out;
  const positionals = Object.values(last.positionals ?? {});
  const slot = positionals[Math.min(given.length, positionals.length - 1)];
  if (slot === undefined || (given.length >= positionals.length && slot.array !== true)) return out;
  const values = await valueCandidates(cli, slot, given[0]);
  if (typeof values === 'string') return out.length > 0 ? out : values;
  return [...out, ...values];
}

/** `heph __complete WORD…`: never fails, prints candidates one a line. */
export async function complete(cli: Cli, words: readonly string[]): Promise<string> {
  try {
    const c = await candidates(cli, words);
    if (typeof c === 'string') return `${c}\n`;
    const clean = (s: string) => s.replace(/[\t\n]+/g, ' ');
    const seen = new Set<string>();
    return c
      .filter(([v]) => v !== '' && !seen.has(v) && seen.add(v))
      .map(([v, d]) => (d ? `${clean(v)}\t${clean(d)}` : clean(v)) + '\n')
      .join('');
  } catch {
    return '';
  }
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs heph from PATH, else the node and heph.js this script was made with. */
function runner(cli: Cli, fn: string): string {
  const heph = join(dirname(cli.hephdPath), 'heph.js');
  return [
    `${fn}() {`,
    `  if command -v heph >/dev/null 2>&1; then command heph "$@"`,
    `  else ${quote(process.execPath)} ${quote(heph)} "$@"; fi`,
    '}',
  ].join('\n');
}

function bash(cli: Cli): string {
  return `# heph completion for bash: heph completion bash > ~/.local/share/bash-completion/completions/heph
${runner(cli, '__heph_run')}
_heph() {
  local cur=\${COMP_WORDS[COMP_CWORD]} out IFS=$'\\n'
  out=$(__heph_run __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
  case "$out" in
    :files*) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
    :dirs*) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")); return 0 ;;
  esac
  COMPREPLY=($(compgen -W "$(printf '%s\\n' "$out" | cut -f1)" -- "$cur"))
}
complete -F _heph heph
`;
}

function zsh(cli: Cli): string {
  return `#compdef heph
# heph completion for zsh: heph completion zsh > "\${fpath[1]}/_heph" (or source <(heph completion zsh))
${runner(cli, '__heph_run')}
_heph() {
  local -a lines items
  local line
  lines=("\${(@f)$(__heph_run __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  case "\${lines[1]}" in
    :files) _files; return ;;
    :dirs) _files -/; return ;;
  esac
  for line in "\${lines[@]}"; do
    [[ -z $line ]] && continue
    if [[ $line == *$'\\t'* ]]; then
      items+=("\${\${line%%$'\\t'*}//:/\\\\:}:\${line#*$'\\t'}")
    else
      items+=("\${line//:/\\\\:}")
    fi
  done
  _describe 'heph' items
}
if (( $+functions[compdef] )); then compdef _heph heph; fi
`;
}

function fish(cli: Cli): string {
  const heph = join(dirname(cli.hephdPath), 'heph.js');
  return `# heph completion for fish: heph completion fish > ~/.config/fish/completions/heph.fish
function __heph_run
    if command -q heph
        command heph $argv
    else
        ${quote(process.execPath)} ${quote(heph)} $argv
    end
end
function __heph_complete
    set -l tokens (commandline -opc) (commandline -ct)
    set -e tokens[1]
    set -l out (__heph_run __complete $tokens 2>/dev/null)
    switch "$out[1]"
        case :files
            __fish_complete_path (commandline -ct)
        case :dirs
            __fish_complete_directories (commandline -ct)
        case '*'
            printf '%s\\n' $out
    end
end
complete -c heph -f -a '(__heph_complete)'
`;
}

export function script(cli: Cli, a: Args): Promise<Output> {
  const shell = arg(a, 'shell');
  const make = { bash, zsh, fish }[shell as 'bash' | 'zsh' | 'fish'];
  if (make === undefined) {
    throw new HephError(
      'invalid_params',
      `no completion for ${basename(shell)}: bash, zsh or fish`,
      {
        field: 'shell',
      },
    );
  }
  const text = make(cli);
  return Promise.resolve({ kind: 'raw', text, data: { shell, script: text } });
}
