// A private, real Secret Service for keyring tests: a dbus-daemon on a socket in a temp dir (no
// service activation, so nothing else can start on it) and a gnome-keyring-daemon unlocked with
// a known password, its files under the same temp dir. While it runs, this process's
// DBUS_SESSION_BUS_ADDRESS points at it; stop() restores the old value, ends both daemons and
// removes the directory. The user's own keyring is never reachable from a test.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { keyringStore } from '../../src/auth/keyring-store.js';

export interface SecretService {
  address: string;
  stop(): Promise<void>;
}

const PROGRAMS = ['dbus-daemon', 'gnome-keyring-daemon'];
export const INSTALL_HINT =
  'the keyring tests need a real Secret Service: install the Debian packages gnome-keyring, dbus ' +
  'and dbus-x11 (apt-get install -y gnome-keyring dbus dbus-x11)';

function onPath(program: string): boolean {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(d, program), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((done) => p.once('exit', () => done()));
}

async function end(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.pid === undefined) return;
  const gone = exited(p);
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(timer);
}

export async function startSecretService(): Promise<SecretService> {
  const missing = PROGRAMS.filter((p) => !onPath(p));
  if (missing.length > 0) throw new Error(`${missing.join(' and ')} not found: ${INSTALL_HINT}`);

  const dir = mkdtempSync(join(tmpdir(), 'heph-keyring-'));
  const home = join(dir, 'home');
  const run = join(dir, 'run');
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(run, { mode: 0o700 });
  const socket = join(dir, 'bus');
  const conf = join(dir, 'bus.conf');
  writeFileSync(
    conf,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );

  let bus: ChildProcess | undefined;
  let keyring: ChildProcess | undefined;
  const previous = process.env.DBUS_SESSION_BUS_ADDRESS;
  const stop = async () => {
    await end(keyring);
    await end(bus);
    if (previous === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
    else process.env.DBUS_SESSION_BUS_ADDRESS = previous;
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    bus = spawn(
      'dbus-daemon',
      ['--config-file', conf, '--nofork', '--nopidfile', '--print-address=1'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      bus!.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n') && line) resolve(line.trim());
      });
      bus!.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      bus!.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code}): ${err}`)));
      bus!.once('error', reject);
    });

    const env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      XDG_DATA_HOME: join(home, '.local', 'share'),
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_CACHE_HOME: join(home, '.cache'),
      XDG_RUNTIME_DIR: run,
      DBUS_SESSION_BUS_ADDRESS: address,
    };
    keyring = spawn('gnome-keyring-daemon', ['--unlock', '--components=secrets', '--foreground'], {
      env,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let keyringErr = '';
    keyring.stderr!.on('data', (c: Buffer) => (keyringErr += c.toString()));
    keyring.stdin!.end('heph-test-password');

    process.env.DBUS_SESSION_BUS_ADDRESS = address;
    const probe = keyringStore({ service: 'heph-test-probe' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const s = await probe.status();
      if (s.available) break;
      if (keyring.exitCode !== null || Date.now() > deadline) {
        throw new Error(`gnome-keyring-daemon did not come up: ${s.reason} ${keyringErr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return { address, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
