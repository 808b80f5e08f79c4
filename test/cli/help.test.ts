// Help that teaches, typos that get a suggestion, `heph socket-path`, and shell completion run
// in real bash, zsh and fish against the built CLI, with and without a daemon.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../src/config/config.js';
import { baseEnv, heph, HEPH, json, ok, ROOT, tempHome, useDevice } from './helpers.js';

const SHELLS_HINT = 'the completion tests run real shells: apt-get install -y zsh fish';

const device = useDevice();
/** The same home with no daemon behind its socket. */
const down = () =>
  baseEnv({ ...device.home.env, HEPH_SOCKET: join(device.home.dir, 'nobody.sock') });
const run = (args: string[], e?: Record<string, string>) => heph(args, { env: e ?? device.env });

describe('did you mean', () => {
  it('suggests the command for a typo, exit 2, nothing on stdout', async () => {
    const r = await run(['nxt']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('heph: Unknown command "nxt". Did you mean "next"?\n');
    expect(r.stdout).toBe('');
    expect((await run(['stauts'])).stderr).toMatch(/Did you mean "status"\?/);
    const none = await run(['frobnicate']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^heph: Unknown command "frobnicate"\. Run heph --help/);
  });

  it('suggests subcommands, options and choices, exit 2', async () => {
    const sub = await run(['tag', 'ad', 'x', 'y']);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toMatch(/Unknown command "tag ad"\. Did you mean "tag add"\?/);
    const opt = await run(['next', '--jsn']);
    expect(opt.code).toBe(2);
    expect(opt.stderr).toBe('heph: Unknown option "--jsn" for heph next. Did you mean "--json"?\n');
    const sopt = await run(['add', 'x', '--dryrun']);
    expect(sopt.stderr).toMatch(/Did you mean "--dry-run"\?/);
    const choice = await run(['list', '-a', 'redd']);
    expect(choice.code).toBe(2);
    expect(choice.stderr).toMatch(/"redd" is not a valid attention .* Did you mean "red"\?/);
  });
});

describe('help', () => {
  it('lists every command in groups with one line each', async () => {
    for (const args of [['--help'], ['help'], []]) {
      const r = ok(await run(args, down()));
      for (const group of ['Tasks', 'Notes', 'Organising', 'Daemon and set-up', 'Scripting']) {
        expect(r.stdout).toContain(`\n${group}\n`);
      }
      for (const cmd of ['add', 'next', 'journal', 'doctor', 'completion', 'socket-path']) {
        expect(r.stdout).toMatch(new RegExp(`\\n  ${cmd} +\\S`));
      }
      expect(r.stdout).toContain('heph help dates | quick-add | ids | sync | config');
    }
  });

  it('explains each topic, routes commands to their --help, and suggests for a typo', async () => {
    const expectations: Record<string, RegExp> = {
      dates: /yesterday[\s\S]*-2d/,
      'quick-add': /due DATE/,
      ids: /short id/,
      sync: /heph sync status/,
      config: /HEPH_SOCKET[\s\S]*hub_url/,
    };
    for (const [topic, re] of Object.entries(expectations)) {
      expect(ok(await run(['help', topic], down())).stdout).toMatch(re);
    }
    expect(ok(await run(['help', 'journal', 'add'], down())).stdout).toMatch(/heph journal add/);
    // A topic wins over the command of the same name, which has --help.
    expect(ok(await run(['help', 'sync'], down())).stdout).toMatch(/^Sync\n/);
    const missing = await run(['link', 'add', 'x'], down());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/not enough arguments: heph link add <src> <dst> <type>/);
    const bad = await run(['help', 'dtaes'], down());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Did you mean "dates"\?/);
  });
});

describe('heph socket-path', () => {
  it('prints the socket the CLI would use, with the daemon down', async () => {
    const h = tempHome();
    try {
      const e = baseEnv(h.env);
      expect(ok(await heph(['socket-path'], { env: e })).stdout).toBe(
        `${join(h.env.XDG_RUNTIME_DIR, 'heph', 'hephd.sock')}\n`,
      );
      const noRuntime = { ...e };
      delete noRuntime.XDG_RUNTIME_DIR;
      expect(ok(await heph(['socket-path'], { env: noRuntime })).stdout).toBe(
        `${join(h.env.XDG_DATA_HOME, 'heph', 'hephd.sock')}\n`,
      );
      const flagged = ok(
        await heph(['socket-path', '--socket', 'rel.sock', '--json'], { env: e, cwd: h.dir }),
      );
      expect(json(flagged)).toEqual({ socket: join(h.dir, 'rel.sock') });
    } finally {
      h.cleanup();
    }
  });
});

describe('completion', () => {
  let bin: string;
  beforeAll(() => {
    for (const shell of ['bash', 'zsh', 'fish']) {
      if (spawnSync('sh', ['-c', `command -v ${shell}`]).status !== 0) throw new Error(SHELLS_HINT);
    }
    // `heph` on PATH, as after `npm link`.
    bin = join(device.home.dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'heph'), `#!/bin/sh\nexec "${process.execPath}" "${HEPH}" "$@"\n`);
    chmodSync(join(bin, 'heph'), 0o755);
  });

  const shellEnv = (e: Record<string, string>) => ({ ...e, PATH: `${bin}:${e.PATH ?? ''}` });

  const scripts = new Map<string, Promise<string>>();
  function script(shell: string): Promise<string> {
    let p = scripts.get(shell);
    if (p === undefined) {
      const file = join(device.home.dir, `heph.${shell}`);
      p = run(['completion', shell]).then((r) => {
        writeFileSync(file, ok(r).stdout);
        return file;
      });
      scripts.set(shell, p);
    }
    return p;
  }

  /** What each shell offers for the words typed after `heph` (the last one being completed). */
  async function offered(shell: 'bash' | 'zsh' | 'fish', words: string[], e = device.env) {
    const file = await script(shell);
    const quoted = words.map((w) => `'${w}'`).join(' ');
    const code = {
      bash: `source ${file}; COMP_WORDS=(heph ${quoted}); COMP_CWORD=${words.length}; _heph; printf '%s\\n' "\${COMPREPLY[@]}"`,
      // The completion system itself needs a terminal; its two helpers are stood in for.
      zsh: `source ${file}; _describe() { print -l -- "\${(@P)2}" }; _files() { print :files }; words=(heph ${quoted}); CURRENT=${words.length + 1}; _heph`,
      fish: `source ${file}; complete -C"heph ${words.join(' ')}"`,
    }[shell];
    const r = spawnSync(shell, shell === 'zsh' ? ['-fc', code] : ['-c', code], {
      env: shellEnv(e),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status, `${shell}: ${r.stderr}`).toBe(0);
    return r.stdout.split('\n').filter(Boolean);
  }

  it('completes commands, subcommands, options and choices in bash, zsh and fish', async () => {
    for (const shell of ['bash', 'zsh', 'fish'] as const) {
      const commands = await offered(shell, ['ne']);
      expect(
        commands.some((c) => /^next\b/.test(c)),
        shell,
      ).toBe(true);
      const subs = await offered(shell, ['tag', '']);
      expect(subs.map((s) => s.split(/[:\t]/)[0]).sort(), shell).toEqual(['add', 'list', 'rm']);
      const options = await offered(shell, ['add', '--dr']);
      expect(
        options.some((o) => o.startsWith('--dry-run')),
        shell,
      ).toBe(true);
      const choices = await offered(shell, ['list', '-a', 'r']);
      expect(
        choices.map((c) => c.split(/[:\t]/)[0]),
        shell,
      ).toContain('red');
    }
  }, 60_000);

  it('completes ids with their titles from the daemon', async () => {
    const t = json(ok(await run(['add', 'Completable task', '--json']))).task;
    for (const shell of ['bash', 'zsh', 'fish'] as const) {
      const ids = await offered(shell, ['done', '']);
      const line = ids.find((l) => l.startsWith(t.short_id));
      expect(line, `${shell}: ${ids.join(' | ')}`).toBeDefined();
      if (shell !== 'bash') expect(line).toContain('Completable task');
    }
  }, 60_000);

  it('with no daemon: commands still complete, ids do not, and nothing fails', async () => {
    for (const shell of ['bash', 'zsh', 'fish'] as const) {
      expect(await offered(shell, ['done', ''], down()), shell).toEqual([]);
      expect((await offered(shell, ['sk'], down())).some((c) => c.startsWith('skip'))).toBe(true);
    }
    const raw = await run(['__complete', 'done', ''], down());
    expect(raw).toMatchObject({ code: 0, stdout: '', stderr: '' });
  }, 60_000);

  it('asks the shell for paths where a file or folder goes', async () => {
    expect(ok(await run(['__complete', 'backup', ''])).stdout).toBe(':files\n');
    expect(ok(await run(['__complete', 'export', ''])).stdout).toBe(':dirs\n');
    expect(ok(await run(['completion', 'bash', '--help'])).stdout).toMatch(
      /bash-completion\/completions\/heph/,
    );
    expect((await run(['completion', 'tcsh'])).code).toBe(2);
  });
});

describe('the config file keys', () => {
  it('are all named by heph help config and the README', async () => {
    const help = ok(await run(['help', 'config'])).stdout.replace(/\s+/g, ' ');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const key of CONFIG_KEYS) {
      expect(help, key).toMatch(new RegExp(`\\b${key}\\b`));
      expect(readme, key).toContain(`\`${key}\``);
    }
    expect(CONFIG_KEYS).toContain('hub_url');
  });
});
