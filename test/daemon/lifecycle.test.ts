// hephd as a process: one owner per database and per socket, recovery after a crash, graceful
// and hurried shutdown, file modes, and clear refusals of bad paths, flags and config files.

import {
  chmodSync,
  copyFileSync,
  lstatSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { RawConn } from '../transport/helpers.js';
import { answersStatus, req, until, useDaemons, waitServing } from './helpers.js';

const h = useDaemons();

function files(dir: string) {
  return { db: join(dir, 'heph.db'), socket: join(dir, 'd.sock') };
}

/** Which file is at a path: a replaced file differs even when the inode number is reused. */
function identity(path: string): string {
  const st = lstatSync(path, { bigint: true });
  return `${st.ino}@${st.ctimeNs}`;
}

function owner(db: string): { pid: number; socket: string } {
  return JSON.parse(readFileSync(`${db}.pid`, 'utf8'));
}

describe('one owner', () => {
  it('refuses a second daemon on the same database, naming the owner; the first keeps serving', async () => {
    const dir = h.dir();
    const first = await h.start(files(dir));
    const before = identity(first.socket);
    const other = join(dir, 'other.sock');
    const d2 = h.spawn({ db: first.db, socket: other });
    const exit = await d2.exited;
    expect(exit.code).toBe(5);
    expect(d2.stderr()).toContain(`already running (pid ${first.pid}, socket ${first.socket})`);
    expect(existsSync(other)).toBe(false);
    expect(identity(first.socket)).toBe(before);
    expect(owner(first.db).pid).toBe(first.pid);
    expect(await answersStatus(first.socket, first.pid)).toBe(true);
  });

  it('refuses a second daemon on the same socket with another database; the first keeps serving', async () => {
    const dir = h.dir();
    const first = await h.start(files(dir));
    const before = identity(first.socket);
    const otherDb = join(dir, 'other.db');
    const d2 = h.spawn({ db: otherDb, socket: first.socket });
    const exit = await d2.exited;
    expect(exit.code).toBe(5);
    expect(d2.stderr()).toContain(`already running (pid ${first.pid}, socket ${first.socket})`);
    expect(identity(first.socket)).toBe(before);
    expect(existsSync(`${otherDb}.pid`)).toBe(false);
    expect(await answersStatus(first.socket, first.pid)).toBe(true);
  });

  it('refuses client mode on a busy socket as local mode does, and names a client owner', async () => {
    const dir = h.dir();
    const first = await h.start(files(dir));
    const hub = ['--hub-url', 'http://127.0.0.1:9', '--log-level', 'silent'];
    const client = await h.run(['--mode', 'client', ...hub, '--socket', first.socket]);
    expect(client.code).toBe(5);
    expect(client.stderr).toBe(
      `hephd: already running (pid ${first.pid}, socket ${first.socket}) on ${first.db}: use ` +
        `that daemon, stop it first (heph daemon stop, or kill ${first.pid}), or give this one ` +
        'its own --socket\n',
    );
    expect(await answersStatus(first.socket, first.pid)).toBe(true);

    // A client-mode daemon holding the socket is named by its hub (it has no database).
    const socket = join(dir, 'c.sock');
    const owner = await h.start({
      db: join(dir, 'c.db'),
      socket,
      args: ['--mode', 'client', ...hub],
    });
    const [local, second] = await Promise.all([
      h.run(['--db', join(dir, 'other.db'), '--socket', socket]),
      h.run(['--mode', 'client', ...hub, '--socket', socket]),
    ]);
    const held = `already running (pid ${owner.pid}, socket ${socket}) for the hub http://127.0.0.1:9/`;
    expect(local.code).toBe(5);
    expect(local.stderr).toContain(`${held}; to run a second daemon beside it`);
    expect(second.code).toBe(5);
    expect(second.stderr).toContain(`${held}: use that daemon, stop it first`);
  });

  it('refuses a socket held by a listener that never answers, instead of hanging', async () => {
    const dir = h.dir();
    const socket = join(dir, 'd.sock');
    const mute = net.createServer(() => {}); // accepts, never replies
    await new Promise<void>((r) => mute.listen(socket, () => r()));
    try {
      const d = h.spawn({ db: join(dir, 'heph.db'), socket });
      const exit = await d.exited;
      expect(exit.code).toBe(5);
      expect(d.stderr()).toContain(`listening on ${socket}`);
      expect(existsSync(join(dir, 'heph.db.pid'))).toBe(false);
    } finally {
      mute.close();
    }
  });

  it('after kill -9, a restart removes the stale socket and serves again', async ({ annotate }) => {
    const dir = h.dir();
    const first = await h.start(files(dir));
    const c = await h.client(first.socket);
    const made = (await c.call('node.create', { kind: 'doc', title: 'survives' })) as {
      id: string;
    };
    await c.close();
    const stale = identity(first.socket);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(lstatSync(first.socket).isSocket()).toBe(true); // left behind by the crash
    expect(owner(first.db).pid).toBe(first.pid);

    const t0 = performance.now();
    const second = h.spawn(files(dir));
    await waitServing(second);
    const ms = performance.now() - t0;
    await annotate(`restart after kill -9: first answer ${ms.toFixed(0)} ms after spawn`);
    expect(identity(second.socket)).not.toBe(stale);
    expect(owner(second.db).pid).toBe(second.pid);
    const c2 = await h.client(second.socket);
    expect(await c2.call('node.get', { id: made.id })).toMatchObject({ title: 'survives' });
    expect(ms).toBeLessThan(10_000);
  });

  // Twenty node processes starting at once are CPU-bound: about 7 s on an idle 2-core machine,
  // several times that on a busy one, hence the long limits.
  it(
    'twenty simultaneous starts leave exactly one daemon serving',
    { timeout: 120_000 },
    async () => {
      const dir = h.dir();
      const all = Array.from({ length: 20 }, () => h.spawn(files(dir)));
      // Every loser exits on its own; the winner keeps running.
      await until(() => all.filter((d) => d.exit() !== null).length >= 19, '19 exits', 100_000);
      const running = all.filter((d) => d.exit() === null);
      expect(running).toHaveLength(1);
      const winner = running[0]!;
      await waitServing(winner);
      for (const d of all) {
        if (d === winner) continue;
        expect(d.exit()!.code, d.stderr()).toBe(5);
        expect(d.stderr()).toContain(
          `already running (pid ${winner.pid}, socket ${winner.socket})`,
        );
      }
      expect(owner(winner.db).pid).toBe(winner.pid);
    },
  );
});

describe('shutdown', () => {
  it('SIGTERM with 200 pipelined writes in flight: every reply complete, every ack durable, files removed, exit 0', async () => {
    const dir = h.dir();
    const d = await h.start({ ...files(dir), logLevel: 'info' });
    const conn = await RawConn.open(d.socket);
    let burst = '';
    for (let i = 0; i < 200; i++) burst += req('node.create', { kind: 'doc', title: `n${i}` }, i);
    conn.send(burst);
    await conn.waitLines(1, 20_000);
    d.child.kill('SIGTERM');
    const exit = await d.exited;
    await conn.closed;

    expect(exit).toEqual({ code: 0, signal: null });
    const replies = conn.lines.map((l) => JSON.parse(l));
    const ids = replies.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of replies) {
      expect(r.error).toBeUndefined();
      expect(r.result.title).toBe(`n${r.id}`);
    }
    expect(d.stderr()).toContain('"msg":"stopping"');
    expect(d.stderr()).toContain('"msg":"hephd stopped"'); // after store.close()
    expect(existsSync(d.socket)).toBe(false);
    expect(existsSync(`${d.db}.pid`)).toBe(false);
    expect(existsSync(`${d.db}-wal`)).toBe(false); // the last connection closed cleanly

    // What was acknowledged is exactly what was written.
    const again = await h.start(files(dir));
    const c = await h.client(again.socket);
    const listed = (await c.call('node.list', { kind: 'doc', limit: 1000 })) as {
      nodes: { title: string }[];
    };
    expect(listed.nodes.map((n) => n.title).sort()).toEqual(replies.map((r) => `n${r.id}`).sort());
  });

  it('a second signal while stopping exits at once', async () => {
    const dir = h.dir();
    const d = await h.start({ ...files(dir), logLevel: 'info' });
    // A peer that never reads keeps replies queued, so the graceful stop has to wait for it.
    // Its first reply proves the daemon has read the requests; then it stops reading, and the
    // daemon's writes back up.
    const stuck = net.connect(d.socket);
    stuck.on('error', () => {});
    await new Promise<void>((r) => stuck.once('connect', () => r()));
    const replied = new Promise<void>((r) =>
      stuck.once('data', () => {
        stuck.pause();
        r();
      }),
    );
    // 40 replies of rpc.methods (about 100 KB each) are far more than a socket's buffer holds;
    // 3,000 of them queued 300 MB in the daemon, which on a loaded machine outlasted the test.
    stuck.write(req('rpc.methods', {}, 0).repeat(40));
    try {
      await replied;
      d.child.kill('SIGTERM');
      await until(() => d.stderr().includes('"msg":"stopping"'), 'the first signal');
      expect(d.stderr()).not.toContain('hephd stopped');
      d.child.kill('SIGINT');
      const exit = await d.exited;
      expect(exit.code).toBe(130);
      expect(d.stderr()).toContain('second signal: exiting now');
      expect(d.stderr()).not.toContain('hephd stopped');
    } finally {
      stuck.destroy();
    }
  });
});

describe('idle checkpoint', () => {
  it('copies a write into the database file itself once the daemon is idle', async () => {
    const dir = h.dir();
    const d = await h.start(files(dir));
    const c = await RawConn.open(d.socket);
    try {
      c.send(req('node.create', { kind: 'doc', title: 'Checkpointed at rest' }, 1));
      await c.waitLines(1);
      expect(JSON.parse(c.lines[0]!)).toHaveProperty('result.id');
    } finally {
      c.close();
    }
    // A copy of heph.db without its WAL holds the note once the idle checkpoint ran (about a
    // second after the write; the daemon's WAL bound is far from reached by one write).
    const copy = join(dir, 'main-only.db');
    const titles = (): string[] => {
      copyFileSync(d.db, copy);
      rmSync(`${copy}-wal`, { force: true });
      try {
        const db = new Database(copy, { readonly: true });
        try {
          return db.prepare('SELECT title FROM nodes').pluck().all() as string[];
        } finally {
          db.close();
        }
      } catch {
        return []; // caught mid-checkpoint, or before the schema reached the file
      }
    };
    await until(() => titles().includes('Checkpointed at rest'), 'the idle checkpoint');
  });
});

describe('files and modes', () => {
  it('creates the socket directory 0700 and the socket 0600', async () => {
    const dir = h.dir();
    const socket = join(dir, 'run', 'heph', 'd.sock');
    const d = await h.start({ db: join(dir, 'heph.db'), socket });
    expect(statSync(join(dir, 'run', 'heph')).mode & 0o777).toBe(0o700);
    expect(lstatSync(socket).mode & 0o777).toBe(0o600);
    expect(statSync(`${d.db}.pid`).mode & 0o777).toBe(0o600);
  });

  it('refuses a socket directory other users can reach, and says how to fix it', async () => {
    const dir = h.dir();
    const shared = join(dir, 'shared');
    mkdirSync(shared, { mode: 0o755 });
    const r = await h.run(['--db', join(dir, 'heph.db'), '--socket', join(shared, 'd.sock')]);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain(`chmod 700 ${shared}`);
    expect(existsSync(join(dir, 'heph.db.pid'))).toBe(false);
  });

  it('refuses a socket path too long for a unix socket, with a clear error', async () => {
    const dir = h.dir();
    const socket = join(dir, 's'.repeat(120) + '.sock');
    const r = await h.run(['--db', join(dir, 'heph.db'), '--socket', socket]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/socket path is \d+ bytes, longer than the 107-byte limit/);
    expect(r.stderr).toContain('--socket');
    expect(existsSync(socket)).toBe(false);
    expect(existsSync(join(dir, 'heph.db.pid'))).toBe(false);
  });
});

/** Every path under `dir` with its type and mode, sorted: what a refused start must not change. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((p) => {
      const st = lstatSync(join(dir, p));
      return `${p} ${st.isDirectory() ? 'dir' : st.isSocket() ? 'socket' : 'file'} ${st.mode & 0o777}`;
    })
    .sort();
}

describe('a refused start', () => {
  it('leaves no database, -wal, -shm, owner file or folder behind, whatever refused it', async () => {
    const dir = h.dir();
    const first = await h.start(files(dir));
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o755);
    const config = join(dir, 'bad.json');
    writeFileSync(config, '{"sync_interval": "soon"}');
    const port = net.createServer();
    await new Promise<void>((r) => port.listen(0, '127.0.0.1', () => r()));
    try {
      const busyPort = `127.0.0.1:${(port.address() as net.AddressInfo).port}`;
      // Each in a folder of its own that does not exist yet: the start must not leave it either.
      const at = (name: string) => ['--db', join(dir, name, 'heph.db')];
      const server = ['--mode', 'server', '--http-addr', '127.0.0.1:0'];
      const cases: [string, string[], number, RegExp][] = [
        ['busy socket', [...at('b'), '--socket', first.socket], 5, /already running/],
        ['busy database', ['--db', first.db, '--socket', join(dir, 'c', 'c.sock')], 5, /already/],
        ['bad flag', [...at('d'), '--socket', join(dir, 'd.sock'), '--bogus'], 2, /--bogus/],
        [
          'bad config',
          [...at('e'), '--socket', join(dir, 'e.sock'), '--config', config],
          2,
          /sync/,
        ],
        [
          'bad hub URL',
          [...at('f'), '--socket', join(dir, 'f', 'f.sock'), '--hub-url', 'http://example.com'],
          2,
          /plain http/,
        ],
        ['shared socket folder', [...at('g'), '--socket', join(shared, 'g.sock')], 8, /chmod 700/],
        ['hub, busy socket', [...server, ...at('h'), '--socket', first.socket], 5, /already/],
        [
          'hub, busy port',
          [
            '--mode',
            'server',
            ...at('i'),
            '--socket',
            join(dir, 'i.sock'),
            '--http-addr',
            busyPort,
          ],
          8,
          /in use/,
        ],
      ];
      const before = tree(dir);
      for (const [what, args, code, message] of cases) {
        const r = await h.run(args);
        expect(r.code, `${what}: ${r.stderr}`).toBe(code);
        expect(r.stderr, what).toMatch(message);
        expect(tree(dir), what).toEqual(before);
      }
      expect(await answersStatus(first.socket, first.pid)).toBe(true);
    } finally {
      port.close();
    }
  });
});

describe('bad flags and config', () => {
  it('names the problem and exits non-zero', async () => {
    const dir = h.dir();
    const cfg = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const db = ['--db', join(dir, 'heph.db'), '--socket', join(dir, 'd.sock')];
    const cases: [string[], RegExp, Record<string, string>?][] = [
      [['--bogus'], /Unknown option '--bogus'[\s\S]*hephd --help/],
      [['--db'], /--db/],
      [[...db, '--log-level', 'loud'], /--log-level must be one of .*"loud"/],
      [db, /HEPH_LOG_LEVEL must be one of .*"chatty"/, { HEPH_LOG_LEVEL: 'chatty' }],
      [[...db, '--config', join(dir, 'missing.json')], /cannot read config file .*missing\.json/],
      [[...db, '--config', cfg('a.json', '{"db": ')], /config file .*a\.json is not valid JSON/],
      [[...db, '--config', cfg('b.json', '{"sockett": "x"}')], /config file .*b\.json.*sockett/],
      [[...db, '--config', cfg('c.json', '{"log_level": "loud"}')], /c\.json: "log_level"/],
    ];
    const results = await Promise.all(cases.map(([args, , env]) => h.run(args, env)));
    results.forEach((r, i) => {
      const [args, expected] = cases[i]!;
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^hephd: /);
      expect(r.stderr, args.join(' ')).toMatch(expected);
    });
    expect(existsSync(join(dir, 'heph.db'))).toBe(false);
  });
});
