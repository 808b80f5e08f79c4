// A newcomer's mistakes, end to end through the built CLI and a real daemon: each is refused
// with a message that says what was wrong and what to do, and the stored data (its digest) is
// as it was before.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  baseEnv,
  heph,
  HEPHD,
  json,
  ok,
  startDaemon,
  tempHome,
  useDevice,
  waitForSocket,
} from './helpers.js';

const device = useDevice();
const run = (args: string[], input?: string | Buffer) => device.run(args, input);

async function task(id: string) {
  return json(ok(await run(['call', 'task.get', JSON.stringify({ id })])));
}

async function digest(): Promise<string> {
  return String(json(ok(await run(['status', '--digest', '--json']))).digest);
}

describe('mistakes a newcomer makes', () => {
  it('edits a task as one change: a project that does not exist changes nothing', async () => {
    const id = String(json(ok(await run(['add', 'Fix the gate', '--json']))).task.id);
    const before = await digest();
    // The same fields each time, and the project to put the task in.
    const edit = (project: string, ...more: string[]) =>
      run(['edit', id, '--late-on', '2026-12-01', '-a', 'red', '--project', project, ...more]);
    const bad = await edit('Nope');
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/^heph: project: no project has the id or title "Nope"/);
    expect(await digest()).toBe(before);
    expect(await task(id)).toMatchObject({ late_on: null, attention: 'white', project: null });

    // With a project that exists, every field lands, and one undo takes all of them back.
    ok(await run(['project', 'add', 'Yard']));
    ok(await edit('Yard', '--alias', 'gate'));
    const edited = await task(id);
    expect(edited).toMatchObject({ late_on: '2026-12-01', attention: 'red' });
    expect(edited.project).toMatch(/^[0-9A-Z]{26}$/);
    expect(json(ok(await run(['resolve', 'gate', '--json']))).id).toBe(id);
    ok(await run(['undo']));
    expect(await task(id)).toMatchObject({ late_on: null, attention: 'white', project: null });
    expect((await run(['resolve', 'gate'])).code).toBe(3);
  });

  it('refuses standard input that is not UTF-8 instead of storing U+FFFD, and keeps a BOM', async () => {
    ok(await run(['doc', 'Latin']));
    const before = await digest();
    const latin1 = Buffer.from('caf\xe9 cr\xe8me\n', 'latin1');
    for (const args of [
      ['doc', 'Latin', '--body', '-'],
      ['doc', 'Latin', '--append', '-'],
      ['doc', 'Other', '--body', '-'],
      ['journal', 'add', '-'],
    ]) {
      const r = await run(args, latin1);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe(
        'heph: standard input is not UTF-8 text (byte 3 is 0xe9); nothing was changed: ' +
          'convert it first, e.g. iconv -f latin1 -t utf-8\n',
      );
    }
    expect(await digest()).toBe(before);
    const withBom = Buffer.from('\ufeffcafé crème\n', 'utf8');
    ok(await run(['doc', 'Bom', '--body', '-'], withBom));
    expect(ok(await run(['get', 'Bom', '--body'])).out).toEqual(withBom);
  });
});

describe('a config file with a typo', () => {
  it('is named with a suggestion, and heph doctor still runs every other check', async () => {
    const home = tempHome();
    // The daemon on the default socket, so heph finds it only as a user's heph would.
    const daemon = spawn(process.execPath, [HEPHD, '--log-level', 'silent'], {
      stdio: 'ignore',
      env: baseEnv(home.env),
    });
    const exited = new Promise((r) => daemon.once('exit', r));
    try {
      await waitForSocket(join(home.env.XDG_RUNTIME_DIR, 'heph', 'hephd.sock'));
      const env = baseEnv(home.env);
      mkdirSync(join(home.env.XDG_CONFIG_HOME, 'heph'), { recursive: true });
      const config = join(home.env.XDG_CONFIG_HOME, 'heph', 'config.json');
      writeFileSync(config, JSON.stringify({ hub_ulr: 'http://127.0.0.1:1' }));
      const next = await heph(['next'], { env });
      expect(next.code).toBe(2);
      expect(next.stderr).toBe(
        `heph: config file ${config}: "hub_ulr" is not a setting. Did you mean "hub_url"?\n`,
      );
      const doctor = await heph(['doctor', '--json'], { env });
      expect(doctor.code).toBe(1);
      const checks = json(doctor).checks as { check: string; verdict: string; message: string }[];
      expect(checks.find((c) => c.check === 'daemon')).toMatchObject({ verdict: 'ok' });
      expect(checks.find((c) => c.check === 'database')).toMatchObject({ verdict: 'ok' });
      expect(checks.find((c) => c.check === 'config')).toMatchObject({
        verdict: 'fail',
        message: expect.stringContaining('Did you mean "hub_url"?'),
      });
      writeFileSync(config, JSON.stringify({ colour: true }));
      expect((await heph(['status'], { env })).stderr).toBe(
        `heph: config file ${config}: "colour" is not a setting (heph help config lists them)\n`,
      );
    } finally {
      daemon.kill('SIGTERM');
      await exited;
      home.cleanup();
    }
  });
});

/** hephd run to its end (it refuses to start): its exit code and standard error. */
function hephd(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stderr: string }>((done) => {
    const child = spawn(process.execPath, [HEPHD, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: baseEnv(env),
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => done({ code, stderr }));
  });
}

describe('a daemon that cannot start', () => {
  it('says whose socket it is, and to give a second daemon its own --socket', async () => {
    const other = join(device.home.dir, 'other.db');
    const r = await hephd(['--db', other, '--socket', device.daemon.socket], device.home.env);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(
      `hephd: already running (pid ${device.daemon.process.pid}, socket ` +
        `${device.daemon.socket}) on ${device.daemon.db}; to run a second daemon beside it ` +
        `(this one on ${other}), give it its own --socket\n`,
    );
    expect(r.stderr).not.toContain('hephd: hephd');
    ok(await run(['status']));
  });

  it('on a database another daemon owns, says so once and what to do', async () => {
    const socket = join(device.home.dir, 'second.sock');
    const r = await hephd(['--db', device.daemon.db, '--socket', socket], device.home.env);
    expect(r.code).toBe(5);
    const pid = device.daemon.process.pid;
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('hephd:'));
    expect(lines).toEqual([
      `hephd: already running (pid ${pid}, socket ${device.daemon.socket}) on ` +
        `${device.daemon.db}: use that daemon, stop it first (heph daemon stop, or kill ${pid}), ` +
        `or give this one its own --db and --socket`,
    ]);
    expect(existsSync(socket)).toBe(false);
    ok(await run(['status']));
  });

  it('names a database folder it cannot write, in every mode, and creates nothing', async () => {
    const file = join(device.home.dir, 'a-file');
    writeFileSync(file, 'not a folder\n');
    for (const mode of [[], ['--mode', 'server', '--http-addr', '127.0.0.1:0']]) {
      const r = await hephd(
        [
          ...mode,
          '--db',
          join(file, 'heph', 'heph.db'),
          '--socket',
          join(device.home.dir, 'x.sock'),
        ],
        device.home.env,
      );
      expect(r.code, r.stderr).toBe(8);
      expect(r.stderr).toContain(
        `hephd: cannot write the database folder ${join(file, 'heph')}: a part of its path is a ` +
          'file, not a folder; hephd keeps the database and its -wal file there, so make the ' +
          'folder writable or pass --db a path elsewhere\n',
      );
      expect(r.stderr).not.toMatch(/unexpected error|    at /);
      expect(existsSync(join(device.home.dir, 'x.sock'))).toBe(false);
    }
  });
});

describe('sync status of a daemon whose hub is down', () => {
  it('does not claim the device never synced: the daemon only knows since it started', async () => {
    const home = tempHome();
    const daemon = await startDaemon(home.dir, ['--hub-url', 'http://127.0.0.1:1']);
    try {
      const env = baseEnv({ ...home.env, HEPH_SOCKET: daemon.socket });
      const r = await heph(['sync', 'status'], { env });
      expect(r.stdout).toMatch(/^ {2}last success: none since hephd started$/m);
      expect(r.stdout).not.toMatch(/never/);
      const sync = await heph(['sync'], { env });
      expect(sync.code).toBe(5);
      expect(sync.stderr).toBe(
        'heph: hub at 127.0.0.1:1 is unreachable (ECONNREFUSED); what is made here is kept and ' +
          'uploads by itself once the hub is back (heph sync status shows what waits)\n',
      );
    } finally {
      await daemon.stop();
      home.cleanup();
    }
  });
});

describe('a summary with lists', () => {
  it('says none for an empty list instead of printing []', async () => {
    const vault = join(device.home.dir, 'vault');
    mkdirSync(vault);
    writeFileSync(join(vault, 'Note.md'), 'hello\n');
    const r = ok(await run(['import', vault]));
    expect(r.stdout).toMatch(/^ {2}errors: +none$/m);
    expect(r.stdout).not.toContain('[]');
  });
});

describe('heph backup onto a file that exists', () => {
  it('names the flag that replaces it', async () => {
    const file = join(device.home.dir, 'copy.db');
    ok(await run(['backup', file]));
    const again = await run(['backup', file]);
    expect(again.code).toBe(4);
    expect(again.stderr).toBe(
      `heph: ${file} already exists; to replace it, pass overwrite (heph backup FILE --overwrite)\n`,
    );
    ok(await run(['backup', file, '--overwrite']));
  });
});
