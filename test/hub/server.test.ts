// startHub in-process, and hephd --mode server as a real process (the built daemon), including
// the crash failpoint.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import type { DaemonConfig } from '../../src/config/config.js';
import { isLoopbackHost as isLoopback } from '../../src/auth/url-policy.js';
import { parseHttpAddr, startHub, type Hub } from '../../src/hub/server.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { connect } from '../../src/transport/socket-client.js';
import { tempDir, useCleanup } from '../helpers/temp.js';
import { selfSignedCert } from '../helpers/tls.js';
import { useDaemons, until } from '../daemon/helpers.js';
import { ORIGIN_A, httpPull, httpPush, pushBody, SYNC_HEADERS, titleOp } from './helpers.js';
import { SUPPORTED_PROTOCOLS } from '../../src/protocol/sync.js';

const cleanups = useCleanup();

function config(over: Partial<DaemonConfig> = {}): DaemonConfig {
  const t = tempDir('hh-');
  cleanups.defer(() => t.cleanup());
  return {
    mode: 'server',
    db: join(t.dir, 'hub.db'),
    socket: join(t.dir, 'h.sock'),
    logLevel: 'silent',
    configPath: join(t.dir, 'config.json'),
    hubUrl: undefined,
    httpAddr: '127.0.0.1:0',
    timeZone: 'UTC',
    clockOffsetMs: 0,
    ...over,
  };
}

const deps = {
  clock: { now: () => Date.now() },
  random: seededRandom(5),
  logger: silentLogger,
  version: 'test',
};

async function started(c: DaemonConfig): Promise<Hub> {
  const hub = await startHub(c, deps);
  cleanups.defer(() => hub.stop());
  return hub;
}

describe('addresses', () => {
  it('parses HOST:PORT forms and knows loopback', () => {
    expect(parseHttpAddr('127.0.0.1:8787')).toEqual({ host: '127.0.0.1', port: 8787 });
    expect(parseHttpAddr('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseHttpAddr(':9000')).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(parseHttpAddr('hub.example:443')).toEqual({ host: 'hub.example', port: 443 });
    for (const bad of ['127.0.0.1', '1.2.3.4:99999', '::1:80', '[nope]:80', 'a b:1']) {
      expect(() => parseHttpAddr(bad), bad).toThrow(/--http-addr/);
    }
    for (const h of ['127.0.0.1', '127.3.2.1', '::1', 'localhost', '::ffff:127.0.0.1'])
      expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.2', 'hub.example', '128.0.0.1'])
      expect(isLoopback(h), h).toBe(false);
  });
});

describe('startHub', () => {
  it('serves HTTP and the owner socket on one store, and stops idempotently', async () => {
    const c = config();
    const hub = await started(c);
    expect(hub.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await httpPush(hub.url, [titleOp(Date.now(), 0, ORIGIN_A)]);
    const client = await connect(c.socket);
    try {
      const s = (await client.call('status')) as { mode: string; ops: number };
      expect(s).toMatchObject({ mode: 'server', ops: 1 });
      await client.call('node.create', { kind: 'doc', title: 'from the socket' });
    } finally {
      await client.close();
    }
    // The push, the doc's kind and title, and the cache replica naming itself 'hub' with its
    // first change.
    const kinds = (await httpPull(hub.url, {})).ops.map((o) => (o as { kind: string }).kind);
    expect(kinds.sort()).toEqual(['device.name', 'node.set', 'node.set', 'node.set']);
    await expect(startHub(c, deps)).rejects.toThrow(/already running/);
    await hub.stop();
    await hub.stop();
    expect(existsSync(c.socket)).toBe(false);
  });

  it('refuses a non-loopback address without --insecure-open, before touching the database', async () => {
    const c = config({ httpAddr: '0.0.0.0:0' });
    await expect(startHub(c, deps)).rejects.toThrow(/--insecure-open/);
    expect(existsSync(c.db)).toBe(false);
    const open = await started(config({ httpAddr: '0.0.0.0:0', insecureOpen: true }));
    expect(open.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
  });

  it('says clearly what is wrong with TLS settings', async () => {
    const c = config();
    await expect(startHub({ ...c, tlsCert: '/x.pem' }, deps)).rejects.toThrow(
      /--tls-cert and --tls-key must be given together/,
    );
    await expect(
      startHub({ ...c, tlsCert: '/nonexistent/cert.pem', tlsKey: '/nonexistent/key.pem' }, deps),
    ).rejects.toThrow(/cannot read --tls-cert \/nonexistent\/cert\.pem/);
    const junk = join(c.db, '..', 'junk.pem');
    writeFileSync(junk, 'not a certificate');
    await expect(startHub({ ...c, tlsCert: junk, tlsKey: junk }, deps)).rejects.toThrow(
      /not a usable PEM certificate and key/,
    );
    expect(existsSync(c.socket)).toBe(false);
  });

  it('serves HTTPS with --tls-cert and --tls-key', async () => {
    const c = config();
    const dir = join(c.db, '..');
    const { cert, key } = selfSignedCert(dir);
    const hub = await started({ ...c, tlsCert: cert, tlsKey: key });
    expect(hub.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
    cleanups.defer(() => dispatcher.close());
    const r = await request(`${hub.url}/config`, { dispatcher });
    expect(await r.body.json()).toMatchObject({ protocol: [...SUPPORTED_PROTOCOLS] });
  });
});

describe('hephd --mode server', () => {
  const daemons = useDaemons();

  function urlFrom(stderr: string): string | undefined {
    return /"url":"(https?:\/\/[^"]+)"/.exec(stderr)?.[1];
  }

  async function startServer(dir: string, env: Record<string, string> = {}) {
    const d = await daemons.start({
      db: join(dir, 'hub.db'),
      socket: join(dir, 'h.sock'),
      logLevel: 'info',
      args: ['--mode', 'server', '--http-addr', '127.0.0.1:0'],
      env,
    });
    await until(() => urlFrom(d.stderr()) !== undefined, 'the hub to log its URL');
    return { d, url: urlFrom(d.stderr())! };
  }

  it('refuses 0.0.0.0 without --insecure-open', async () => {
    const dir = daemons.dir();
    const r = await daemons.run([
      '--mode',
      'server',
      '--db',
      join(dir, 'hub.db'),
      '--socket',
      join(dir, 'h.sock'),
      '--http-addr',
      '0.0.0.0:0',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0:0.*--insecure-open/s);
  });

  it('killed by the failpoint in the middle of a push keeps none of that batch', async () => {
    const dir = daemons.dir();
    const first = await startServer(dir, { HEPH_FAILPOINT: 'hub.push.mid_batch' });
    expect(first.d.stderr()).toMatch(/failpoint armed/);
    const ops = Array.from({ length: 1000 }, (_, i) => titleOp(Date.now(), i, ORIGIN_A));
    const push = request(`${first.url}/sync/push`, {
      method: 'POST',
      headers: SYNC_HEADERS(),
      body: pushBody(ops),
    });
    await expect(push).rejects.toThrow();
    const exit = await first.d.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(first.d.stderr()).toMatch(/failpoint: killing the hub in the middle of a push/);

    const second = await startServer(dir);
    expect(await httpPull(second.url, {})).toEqual({
      ops: [],
      cursor: '0',
      more: false,
      remaining: 0,
    });
    expect(await httpPush(second.url, ops)).toEqual({ accepted: 1000, duplicates: 0, refused: [] });
    await second.d.stop();
  });
});
