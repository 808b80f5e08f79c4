// The `hephd` command (bin/hephd, the npm bin): a shell launcher that execs node on bin/hephd.js
// with the node flags of the mode hephd will run in. Run for real, through the links npm makes,
// and checked on the process itself: its command line (/proc/<pid>/cmdline: the launcher must
// leave no process of its own, so the pid it started as is node's) and hephd's own check at
// start, which warns when its flags are not its mode's.

import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hephdNodeFlags } from '../../src/config/node-flags.js';
import { cleanEnv, HEPHD, REPO, until, useDaemons } from './helpers.js';

const d = useDaemons();
const LAUNCHER = join(REPO, 'bin', 'hephd');
const children = new Set<ChildProcess>();

afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
  }
  children.clear();
});

/** A bin folder as npm makes one: `hephd` a relative link to a link to the launcher. */
function npmBin(home: string): string {
  const pkg = join(home, 'node_modules', 'heph', 'bin');
  mkdirSync(pkg, { recursive: true });
  symlinkSync(LAUNCHER, join(pkg, 'hephd'));
  const bin = join(home, 'node_modules', '.bin');
  mkdirSync(bin);
  symlinkSync('../heph/bin/hephd', join(bin, 'hephd'));
  return join(bin, 'hephd');
}

interface Launched {
  child: ChildProcess;
  /** node's command line once the launcher has exec'd it. */
  cmdline: string[];
  stderr(): string;
}

async function launch(
  command: string,
  args: string[],
  home: string,
  env: Record<string, string> = {},
): Promise<Launched> {
  const child = spawn(command, args, {
    env: { ...cleanEnv(home), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: home,
  });
  children.add(child);
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  let cmdline: string[] = [];
  await until(() => {
    if (child.exitCode !== null) throw new Error(`hephd exited ${child.exitCode}: ${err}`);
    try {
      cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    } catch {
      return false;
    }
    return cmdline.some((a) => a.endsWith('hephd.js'));
  }, 'node in place of the launcher');
  return { child, cmdline, stderr: () => err };
}

function localArgs(home: string): string[] {
  return ['--db', join(home, 'heph.db'), '--socket', join(home, 'd.sock'), '--log-level', 'info'];
}

function serverArgs(home: string): string[] {
  return [
    '--http-addr',
    '127.0.0.1:0',
    ...['--db', join(home, 'hub', 'hub.db'), '--socket', join(home, 'h.sock')],
    ...['--log-level', 'info'],
  ];
}

/** node, its flags, the entry file in the package (links followed), then hephd's arguments. */
function expectLaunched(l: Launched, flags: readonly string[], args: string[]): void {
  const entry = join(realpathSync(join(REPO, 'bin')), 'hephd.js');
  expect(l.cmdline[0]).toMatch(/(^|\/)node$/);
  expect(l.cmdline.slice(1)).toEqual([...flags, entry, ...args]);
}

const HUB = hephdNodeFlags('server');
const DEVICE = hephdNodeFlags('local');
const WARNING = /without its node flags/;

describe('the hephd command', () => {
  it('gives the hub and the device their own flags, with no process of its own', async () => {
    expect(HUB).not.toEqual(DEVICE);
    const home = d.dir();
    const bin = npmBin(home);

    const hubArgs = ['--mode', 'server', ...serverArgs(home)];
    const hub = await launch(bin, hubArgs, home);
    expectLaunched(hub, HUB, hubArgs);
    // Up and serving, and hephd itself found its mode's flags.
    await until(() => /"url":"http/.test(hub.stderr()), 'the hub listening');
    expect(hub.stderr()).not.toMatch(WARNING);

    const devArgs = localArgs(home);
    const dev = await launch(bin, devArgs, home);
    expectLaunched(dev, DEVICE, devArgs);
    await until(() => existsSync(join(home, 'd.sock')), 'the daemon serving');
    expect(dev.stderr()).not.toMatch(WARNING);
  }, 60_000);

  it('reads the mode as hephd does: --mode=, the last --mode, HEPH_MODE, the config file', async () => {
    const home = d.dir();
    const bin = npmBin(home);
    const cases: { args: string[]; env?: Record<string, string>; flags: readonly string[] }[] = [
      { args: ['--mode=server', ...serverArgs(home)], flags: HUB },
      { args: ['--mode', 'local', '--mode', 'server', ...serverArgs(home)], flags: HUB },
      { args: ['--mode', 'server', '--mode=local', ...localArgs(home)], flags: DEVICE },
      { args: serverArgs(home), env: { HEPH_MODE: 'server' }, flags: HUB },
      // A flag beats the environment; an empty flag is skipped, as hephd skips it.
      {
        args: ['--mode', 'local', ...localArgs(home)],
        env: { HEPH_MODE: 'server' },
        flags: DEVICE,
      },
      { args: ['--mode=', ...serverArgs(home)], env: { HEPH_MODE: 'server' }, flags: HUB },
      { args: localArgs(home), flags: DEVICE },
    ];
    for (const c of cases) {
      const l = await launch(bin, c.args, home, c.env);
      expectLaunched(l, c.flags, c.args);
      l.child.kill('SIGKILL');
    }

    // The config file: the default place (XDG_CONFIG_HOME), HEPH_CONFIG, --config; JSON laid out
    // over lines; the environment beats the file.
    mkdirSync(join(home, 'config', 'heph'), { recursive: true });
    writeFileSync(join(home, 'config', 'heph', 'config.json'), '{"mode":"server"}\n');
    const other = join(home, 'hub.json');
    writeFileSync(other, '{\n  "log_level": "info",\n  "mode"\n    :\t"server"\n}\n');
    const local = join(home, 'local.json');
    writeFileSync(local, '{ "mode": "local", "db": "x.db" }');
    const fromFile: { args: string[]; env?: Record<string, string>; flags: readonly string[] }[] = [
      { args: serverArgs(home), flags: HUB },
      { args: serverArgs(home), env: { HEPH_MODE: 'local' }, flags: DEVICE },
      { args: serverArgs(home), env: { HEPH_CONFIG: other, XDG_CONFIG_HOME: '' }, flags: HUB },
      { args: ['--config', local, ...localArgs(home)], flags: DEVICE },
      { args: [`--config=${other}`, ...serverArgs(home)], env: { HEPH_CONFIG: local }, flags: HUB },
    ];
    for (const c of fromFile) {
      const l = await launch(bin, c.args, home, c.env);
      expectLaunched(l, c.flags, c.args);
      l.child.kill('SIGKILL');
    }
  }, 60_000);

  it('leaves hephd to warn when started without its flags', async () => {
    const home = d.dir();
    // Started as `node bin/hephd.js` with the device's flags, a hub says so.
    const args = ['--mode', 'server', ...serverArgs(home)];
    const plain = await launch(process.execPath, [...DEVICE, HEPHD, ...args], home);
    await until(() => /"url":"http/.test(plain.stderr()), 'the hub listening');
    const warning = plain
      .stderr()
      .split('\n')
      .find((line) => WARNING.test(line));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: 40, node_flags: [...HUB] });
    // With them in NODE_OPTIONS instead, it is satisfied.
    const home2 = d.dir();
    const args2 = ['--mode', 'server', ...serverArgs(home2)];
    const viaEnv = await launch(process.execPath, [HEPHD, ...args2], home2, {
      NODE_OPTIONS: HUB.join(' '),
    });
    await until(() => /"url":"http/.test(viaEnv.stderr()), 'the hub listening');
    expect(viaEnv.stderr()).not.toMatch(WARNING);
  }, 60_000);
});
