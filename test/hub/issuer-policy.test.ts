// The hub and an identity provider that is not on loopback: a real provider listening on a
// non-loopback address (a veth pair with a network namespace, see non-loopback.ts) over plain
// http. The hub refuses such an issuer at start, saying where it was set and how to allow it, and
// fetches nothing; with --insecure-oidc-http it starts, warns on every start, and verifies
// tokens with the keys it fetched. A loopback or https issuer whose discovery document or
// redirects lead to plain http off loopback gets no keys from there either.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonConfig, OidcConfig } from '../../src/config/config.js';
import { startHub, type Hub, type HubDeps } from '../../src/hub/server.js';
import type { Logger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { useDaemons, until } from '../daemon/helpers.js';
import { nonLoopbackAddress, type NonLoopback } from '../helpers/non-loopback.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';
import { tempDir, useCleanup } from '../helpers/temp.js';
import { selfSignedCert } from '../helpers/tls.js';
import { daemonConfig } from '../sync/helpers.js';
import { SYNC_HEADERS } from './helpers.js';

let net: NonLoopback;
let far: OidcTestProvider;
beforeAll(async () => {
  net = await nonLoopbackAddress();
  far = await startOidcProvider({ host: net.address });
  process.stderr.write(`provider off loopback at ${far.issuer}: ${net.how}\n`);
}, 30_000);
afterAll(async () => {
  await far?.close();
  await net?.close();
});

const cleanups = useCleanup();

function recordingLogger(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_obj: object, msg?: string) =>
    lines.push({ level, msg: msg ?? '' });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function hubConfig(oidc: OidcConfig): DaemonConfig {
  const t = tempDir('hip-');
  cleanups.defer(() => t.cleanup());
  return daemonConfig(join(t.dir, 'hub.db'), { oidc });
}

function deps(logger: Logger, verifier?: HubDeps['verifier']): HubDeps {
  return {
    clock: { now: () => Date.now() },
    random: seededRandom(9),
    logger,
    version: 'test',
    ...(verifier !== undefined && { verifier }),
  };
}

async function started(config: DaemonConfig, d: HubDeps): Promise<Hub> {
  const hub = await startHub(config, d);
  cleanups.defer(() => hub.stop());
  return hub;
}

async function pullStatus(hub: Hub, token: string): Promise<number> {
  const r = await request(`${hub.url}/sync/pull`, {
    headers: { ...SYNC_HEADERS(), authorization: `Bearer ${token}` },
  });
  await r.body.dump();
  return r.statusCode;
}

const keyFetches = () => far.hits('/.well-known/openid-configuration') + far.hits('/jwks');

describe('a hub whose issuer is plain http off loopback', () => {
  it('refuses to start, saying where the issuer was set and how to allow it; nothing is opened or fetched', async () => {
    expect(new URL(far.issuer).hostname).toBe(net.address);
    const config = hubConfig({
      issuer: far.issuer,
      issuerFrom: 'oidc_issuer in /etc/heph/config.json',
      audience: far.audience,
    });
    const before = keyFetches();
    const e = await startHub(config, deps(recordingLogger())).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'invalid_params', details: { field: 'oidc-issuer' } });
    const msg = (e as Error).message;
    expect(msg).toContain(
      `cannot start the hub with oidc_issuer in /etc/heph/config.json "${far.issuer}": ` +
        `refusing plain http to the identity provider at ${far.issuer}: it is not on loopback`,
    );
    for (const optIn of [
      '--insecure-oidc-http',
      'HEPH_INSECURE_OIDC_HTTP=1',
      'insecure_oidc_http',
    ]) {
      expect(msg).toContain(optIn);
    }
    expect(existsSync(config.db)).toBe(false);
    expect(existsSync(config.socket)).toBe(false);
    expect(keyFetches()).toBe(before);
  });

  it('starts with --insecure-oidc-http, warns at every start, and verifies tokens with its keys', async () => {
    const config = hubConfig({
      issuer: far.issuer,
      audience: far.audience,
      clientId: far.clientId,
      insecureHttp: true,
    });
    const token = await far.mintToken({ sub: 'alice' });
    for (let start = 1; start <= 2; start++) {
      const logger = recordingLogger();
      const hub = await startHub(config, deps(logger));
      try {
        const warnings = logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
        expect(warnings).toEqual([
          expect.stringContaining(
            `--insecure-oidc-http: the identity provider's signing keys are fetched over plain ` +
              `http from ${far.issuer}, which is not on loopback`,
          ),
        ]);
        const fetched = far.hits('/jwks');
        expect(await pullStatus(hub, token)).toBe(200);
        if (start === 1) expect(far.hits('/jwks')).toBe(fetched + 1);
        expect(await pullStatus(hub, await far.mintToken({ sub: 'mallory' }))).toBe(403);
      } finally {
        await hub.stop();
      }
    }
  });

  it('--insecure-oidc-http with an https or loopback issuer says it has no effect', async () => {
    for (const issuer of ['https://id.example.org', 'http://127.0.0.1:9']) {
      const logger = recordingLogger();
      await started(
        hubConfig({ issuer, audience: far.audience, clientId: far.clientId, insecureHttp: true }),
        deps(logger),
      );
      expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
        '--insecure-oidc-http is set but the issuer is https or on loopback: it has no effect; ' +
          'drop it',
      ]);
    }
  });

  describe('hephd', () => {
    const daemons = useDaemons();

    it('exits 2 with the reason for an existing config file; HEPH_INSECURE_OIDC_HTTP=1 starts it with a warning', async () => {
      const dir = daemons.dir();
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ oidc_issuer: far.issuer, oidc_audience: far.audience }));
      const args = [
        '--mode',
        'server',
        '--config',
        file,
        '--db',
        join(dir, 'hub.db'),
        '--socket',
        join(dir, 'h.sock'),
        '--http-addr',
        '127.0.0.1:0',
      ];
      const r = await daemons.run(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `hephd: cannot start the hub with oidc_issuer in ${file} "${far.issuer}": refusing ` +
          'plain http to the identity provider',
      );
      expect(r.stderr).toMatch(/--insecure-oidc-http.*HEPH_INSECURE_OIDC_HTTP=1/);
      expect(existsSync(join(dir, 'hub.db'))).toBe(false);

      const d = daemons.spawn({
        db: join(dir, 'hub.db'),
        socket: join(dir, 'h.sock'),
        logLevel: 'info',
        args: ['--mode', 'server', '--config', file, '--http-addr', '127.0.0.1:0'],
        env: { HEPH_INSECURE_OIDC_HTTP: '1' },
      });
      await until(() => /hub listening/.test(d.stderr()) || d.exit() !== null, 'the hub to start');
      expect(d.exit()).toBeNull();
      expect(d.stderr()).toMatch(
        /"level":40.*--insecure-oidc-http: the identity provider's signing keys/,
      );
      await d.stop();
    });
  });
});

/** A stand-in issuer on loopback (or https on loopback) whose routes the test chooses. */
async function nearIssuer(
  routes: (issuer: string) => Record<string, (res: http.ServerResponse) => void>,
  tls?: { cert: Buffer; key: Buffer },
): Promise<{ issuer: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  let table: Record<string, (res: http.ServerResponse) => void> = {};
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = req.url ?? '/';
    hits.push(path);
    const route = table[path];
    if (route) route(res);
    else res.writeHead(404).end();
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  table = routes(issuer);
  return {
    issuer,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const json = (body: unknown) => (res: http.ServerResponse) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const redirectTo = (location: string) => (res: http.ServerResponse) =>
  res.writeHead(302, { location }).end();
const DISCOVERY = '/.well-known/openid-configuration';

describe("the hub's key fetches", () => {
  const cases: [string, (issuer: string) => Record<string, (res: http.ServerResponse) => void>][] =
    [
      [
        'a loopback issuer whose discovery names a jwks_uri off loopback',
        (issuer) => ({ [DISCOVERY]: json({ issuer, jwks_uri: `${far.issuer}/jwks` }) }),
      ],
      [
        'a loopback issuer whose discovery redirects off loopback',
        () => ({ [DISCOVERY]: redirectTo(`${far.issuer}${DISCOVERY}`) }),
      ],
      [
        'a loopback issuer whose key set redirects off loopback',
        (issuer) => ({
          [DISCOVERY]: json({ issuer, jwks_uri: `${issuer}/jwks` }),
          '/jwks': redirectTo(`${far.issuer}/jwks`),
        }),
      ],
    ];

  it.each(cases)('never come over plain http off loopback: %s', async (_name, routes) => {
    const near = await nearIssuer(routes);
    cleanups.defer(() => near.close());
    const logger = recordingLogger();
    const hub = await started(
      hubConfig({ issuer: near.issuer, audience: far.audience }),
      deps(logger),
    );
    const before = keyFetches();
    expect(await pullStatus(hub, await far.mintToken({ iss: near.issuer }))).toBe(503);
    expect(keyFetches()).toBe(before);
    expect(near.hits.length).toBeGreaterThan(0);
    expect(
      logger.lines.some((l) => /refusing plain http to the identity provider/.test(l.msg)),
    ).toBe(true);
  });

  it('come through redirects that stay on loopback (the positive control)', async () => {
    const near = await nearIssuer((issuer) => ({
      [DISCOVERY]: json({ issuer, jwks_uri: `${issuer}/jwks` }),
      '/jwks': redirectTo('/keys'),
      '/keys': json(far.jwks()),
    }));
    cleanups.defer(() => near.close());
    const hub = await started(
      hubConfig({ issuer: near.issuer, audience: far.audience }),
      deps(recordingLogger()),
    );
    expect(await pullStatus(hub, await far.mintToken({ iss: near.issuer }))).toBe(200);
    expect(near.hits).toEqual([DISCOVERY, '/jwks', '/keys']);
  });

  it('never follow an https issuer redirecting to plain http off loopback', async () => {
    const dir = tempDir('hip-tls-');
    cleanups.defer(() => dir.cleanup());
    const { cert, key } = selfSignedCert(dir.dir, '127.0.0.1');
    const tls = { cert: readFileSync(cert), key: readFileSync(key) };
    const good = await nearIssuer(
      (issuer) => ({
        [DISCOVERY]: json({ issuer, jwks_uri: `${issuer}/jwks` }),
        '/jwks': json(far.jwks()),
      }),
      tls,
    );
    const bad = await nearIssuer(
      (issuer) => ({
        [DISCOVERY]: json({ issuer, jwks_uri: `${issuer}/jwks` }),
        '/jwks': redirectTo(`${far.issuer}/jwks`),
      }),
      tls,
    );
    cleanups.defer(() => good.close());
    cleanups.defer(() => bad.close());
    // The test's certificate is self-signed: the hub's fetch (a testing aid) trusts it.
    const agent = new Agent({ connect: { rejectUnauthorized: false } });
    cleanups.defer(() => agent.close());
    const trusting = (url: string, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>;

    const control = await started(
      hubConfig({ issuer: good.issuer, audience: far.audience }),
      deps(recordingLogger(), { fetch: trusting }),
    );
    expect(await pullStatus(control, await far.mintToken({ iss: good.issuer }))).toBe(200);

    const hub = await started(
      hubConfig({ issuer: bad.issuer, audience: far.audience }),
      deps(recordingLogger(), { fetch: trusting }),
    );
    const before = keyFetches();
    expect(await pullStatus(hub, await far.mintToken({ iss: bad.issuer }))).toBe(503);
    expect(keyFetches()).toBe(before);
    expect(bad.hits).toEqual([DISCOVERY, '/jwks']);
  });
});
