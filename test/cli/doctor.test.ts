// `heph doctor` against real daemons, hubs and files, one failure at a time: a stopped daemon, a
// socket directory others can read, a damaged database (one hephd cannot open, and one whose
// damage only quick_check finds), a hub that is down, an expired sign-in, a clock ten minutes
// ahead of the hub's (the daemon's injected clock), and a hub config that would refuse to start.
// Each beside a healthy control, with --json and the exit code.

import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, openSync, closeSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../src/protocol/sync.js';
import { connect } from '../../src/transport/socket-client.js';
import { startTestHub, type TestHub } from '../sync/helpers.js';
import {
  assertBuilt,
  baseEnv,
  heph,
  HEPHD,
  json,
  startDaemon,
  tempHome,
  type Daemon,
  type Home,
} from './helpers.js';

interface Check {
  check: string;
  verdict: 'ok' | 'warn' | 'fail';
  message: string;
  fix?: string;
}

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function home(): Home {
  assertBuilt();
  const h = tempHome();
  cleanups.push(() => h.cleanup());
  return h;
}

async function daemon(h: Home, args: string[] = [], env: Record<string, string> = {}) {
  // The daemon sees the same XDG directories as the CLI (as it does when heph starts it).
  const d: Daemon = await startDaemon(h.dir, args, { ...h.env, ...env });
  cleanups.push(() => d.stop());
  return d;
}

async function hub(): Promise<TestHub> {
  const hb = await startTestHub();
  cleanups.push(() => hb.close());
  return hb;
}

/** `heph doctor --json` (and, asked for, the same for people: same checks, same exit code). */
async function doctor(h: Home, socket: string, o: { human?: boolean } = {}) {
  const env = baseEnv({ ...h.env, HEPH_SOCKET: socket });
  const [machine, human] = await Promise.all([
    heph(['doctor', '--json'], { env }),
    o.human === true ? heph(['doctor'], { env }) : undefined,
  ]);
  if (human !== undefined) expect(human.code).toBe(machine.code);
  const data = json(machine) as { ok: boolean; failed: number; checks: Check[] };
  const line = (name: string): Check => {
    const c = data.checks.find((x) => x.check === name);
    if (c === undefined) throw new Error(`no "${name}" line in ${machine.stdout}`);
    return c;
  };
  return { human: human?.stdout ?? '', code: machine.code, data, line };
}

/** A loopback URL where nothing listens. */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

describe('heph doctor', () => {
  it('passes on a healthy daemon; no hub is a warning by design, not a failure', async () => {
    const h = home();
    const d = await daemon(h);
    const r = await doctor(h, d.socket, { human: true });
    expect(r.code, r.human).toBe(0);
    expect(r.data.ok).toBe(true);
    for (const name of ['daemon', 'socket directory', 'database', 'disk space', 'config']) {
      expect(r.line(name).verdict, name).toBe('ok');
    }
    expect(r.line('database').message).toMatch(/integrity ok, schema version \d+/);
    expect(r.line('hub')).toMatchObject({ verdict: 'warn', message: /no hub/ });
    expect(r.line('hub').fix).toMatch(/--hub-url/);
    expect(r.human).toMatch(/^ok +daemon +hephd .* is running/m);
    expect(r.human).toMatch(/^warn +hub .*\n +fix: /m);
    expect(r.human).toMatch(/No failures; 1 warning\n$/);
  });

  it("on a hub's own socket says it is the hub, with no advice meant for a device", async () => {
    const h = home();
    const d = await daemon(h, ['--mode', 'server', '--http-addr', '127.0.0.1:0']);
    const r = await doctor(h, d.socket, { human: true });
    expect(r.code, r.human).toBe(0);
    expect(r.line('daemon').message).toMatch(/mode server/);
    expect(r.line('database')).toMatchObject({ verdict: 'ok', message: /hub\.db/ });
    expect(r.line('hub')).toMatchObject({ verdict: 'ok', message: /this is the hub/ });
    expect(r.human).not.toMatch(/older than heph|keeps its notes to itself/);
  });

  it('fails, exit 1, when the daemon is stopped, and says how to start it', async () => {
    const h = home();
    const r = await doctor(h, join(h.env.XDG_RUNTIME_DIR, 'heph', 'hephd.sock'), { human: true });
    expect(r.code).toBe(1);
    expect(r.line('daemon')).toMatchObject({ verdict: 'fail', fix: /heph daemon start/ });
    expect(r.human).toMatch(/^FAIL +daemon +hephd is not running/m);
    expect(r.human).toMatch(/1 check failed/);
  });

  it('fails when others can reach the socket directory', async () => {
    const h = home();
    const d = await daemon(h);
    const dir = join(h.dir, 'd');
    expect((await doctor(h, d.socket)).line('socket directory').verdict).toBe('ok');
    chmodSync(dir, 0o755);
    cleanups.push(() => chmodSync(dir, 0o700));
    const r = await doctor(h, d.socket);
    expect(r.code).toBe(1);
    expect(r.line('socket directory')).toMatchObject({
      verdict: 'fail',
      message: /mode 0755/,
      fix: `chmod 700 ${dir}`,
    });
  });

  it("reports hephd's own start error when it cannot open a damaged database", async () => {
    const h = home();
    const run = join(h.dir, 'd');
    mkdirSync(run, { mode: 0o700 });
    const db = join(h.dir, 'heph.db');
    writeFileSync(db, Buffer.alloc(8192, 0x5a)); // not SQLite at all
    const socket = join(run, 'hephd.sock');
    const child = spawn(process.execPath, [HEPHD, '--db', db, '--socket', socket], {
      env: baseEnv({ ...h.env, HOME: h.dir }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // 'close': the exit code and all of stderr.
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code).not.toBe(0);
    const own = stderr
      .split('\n')
      .find((l) => l.startsWith('hephd: '))
      ?.slice('hephd: '.length);
    expect(own).toMatch(/not a heph database or is damaged/);
    const r = await doctor(h, socket);
    expect(r.code).toBe(1);
    const line = r.line('daemon');
    expect(line.verdict).toBe('fail');
    expect(line.message).toMatch(/^hephd is not running; its last start \(.+\) failed: /);
    expect(line.message).toContain(own!);
    // A good start on that socket clears it.
    writeFileSync(db, '');
    const d = await daemon(h, []);
    expect((await doctor(h, d.socket)).line('daemon').verdict).toBe('ok');
  });

  it('finds damage quick_check sees in a database hephd still opens', async () => {
    const h = home();
    let d = await daemon(h);
    const c = await connect(d.socket);
    for (let i = 0; i < 40; i++) {
      await c.call('node.create', {
        kind: 'doc',
        title: `Note ${i}`,
        body: `${'lorem ipsum '.repeat(200)} ${i}`,
      });
    }
    await c.close();
    await d.stop();
    const conn = new Database(d.db);
    const page = conn
      .prepare(
        "SELECT pageno FROM dbstat WHERE name = 'bodies' AND pagetype = 'leaf' ORDER BY pageno DESC LIMIT 1",
      )
      .pluck()
      .get() as number;
    const size = conn.pragma('page_size', { simple: true }) as number;
    conn.close();
    const fd = openSync(d.db, 'r+');
    writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, (page - 1) * size);
    closeSync(fd);
    d = await startDaemon(h.dir, [], h.env); // same files again
    cleanups.push(() => d.stop());
    const r = await doctor(h, d.socket);
    expect(r.code).toBe(1);
    expect(r.line('database')).toMatchObject({
      verdict: 'fail',
      message: /is damaged: /,
      fix: /heph backup/,
    });
  });

  it('fails when the hub is down', async () => {
    const h = home();
    const url = await deadUrl();
    const d = await daemon(h, ['--hub-url', url]);
    const r = await doctor(h, d.socket);
    expect(r.code).toBe(1);
    expect(r.line('hub')).toMatchObject({ verdict: 'fail', message: /unreachable/ });
    expect(r.line('hub').message).toContain(url);
  });

  it('with a reachable hub: protocol and clock ok; ten minutes ahead fails the clock', async () => {
    const hb = await hub();
    const good = home();
    const fine = await doctor(good, (await daemon(good, ['--hub-url', hb.url])).socket);
    expect(fine.line('hub')).toMatchObject({
      verdict: 'ok',
      message: new RegExp(`speaks protocol ${PROTOCOL_VERSION}$`),
    });
    expect(fine.line('clock').verdict).toBe('ok');
    expect(fine.line('sign-in')).toMatchObject({ verdict: 'ok', message: /open: no sign-in/ });

    const h = home();
    const d = await daemon(h, ['--hub-url', hb.url], { HEPH_CLOCK_OFFSET_MS: String(10 * 60_000) });
    const r = await doctor(h, d.socket);
    expect(r.code).toBe(1);
    expect(r.line('clock')).toMatchObject({
      verdict: 'fail',
      message: /10 min ahead of the hub's/,
      fix: /set the clock right/,
    });
  });

  it('fails on an expired sign-in that cannot be renewed; file storage is a warning', async () => {
    const hb = await hub();
    const h = home();
    const creds = join(h.env.XDG_CONFIG_HOME, 'heph', 'credentials');
    mkdirSync(creds, { recursive: true, mode: 0o700 });
    const tokens = (expires_at: number) => ({
      version: 1,
      hubs: {
        [hb.url]: {
          access_token: 'not-a-real-token',
          expires_at,
          token_type: 'Bearer',
          issuer: 'https://id.example.org',
          client_id: 'heph-cli',
          audience: hb.url,
          name: 'ann',
        },
      },
    });
    const file = join(creds, 'tokens.json');
    writeFileSync(file, JSON.stringify(tokens(Date.now() + 86_400_000)), { mode: 0o600 });
    const d = await daemon(h, ['--hub-url', hb.url]);
    const valid = await doctor(h, d.socket);
    expect(valid.line('sign-in')).toMatchObject({ verdict: 'ok', message: /as ann until/ });
    expect(valid.line('token storage')).toMatchObject({ verdict: 'warn', message: /plain file/ });

    writeFileSync(file, JSON.stringify(tokens(Date.now() - 60_000)), { mode: 0o600 });
    const r = await doctor(h, d.socket);
    expect(r.code).toBe(1);
    expect(r.line('sign-in')).toMatchObject({
      verdict: 'fail',
      message: /expired .* cannot be renewed/,
      fix: `heph auth login --hub ${hb.url}`,
    });
    expect(r.human).not.toContain('not-a-real-token');
    expect(r.data.checks.map((c) => c.check)).toContain('keyring');
  });

  it('fails a config file whose hub would refuse its plain-http identity provider', async () => {
    const h = home();
    const dir = join(h.env.XDG_CONFIG_HOME, 'heph');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'config.json');
    const socket = join(h.dir, 'nobody.sock');
    const hubConfig = {
      mode: 'server',
      oidc_issuer: 'http://id.example.org/realms/home',
      oidc_audience: 'https://hub.example.org',
    };
    writeFileSync(file, JSON.stringify(hubConfig));
    const r = await doctor(h, socket);
    expect(r.line('hub sign-in')).toMatchObject({
      verdict: 'fail',
      message: /will refuse to start/,
      fix: /"insecure_oidc_http": true/,
    });
    expect(r.line('config').verdict).toBe('ok');
    writeFileSync(file, JSON.stringify({ ...hubConfig, insecure_oidc_http: true }));
    expect((await doctor(h, socket)).line('hub sign-in').verdict).toBe('warn');
    writeFileSync(file, JSON.stringify({ ...hubConfig, oidc_issuer: 'http://127.0.0.1:9000' }));
    const loopback = await doctor(h, socket);
    expect(loopback.data.checks.map((c) => c.check)).not.toContain('hub sign-in');
    writeFileSync(file, JSON.stringify({ hub_ur: 'https://hub.example.org' }));
    expect((await doctor(h, socket)).line('config')).toMatchObject({
      verdict: 'fail',
      message: /hub_ur/,
    });
  });
});
