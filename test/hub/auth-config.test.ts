// The hub's sign-in settings: flags, environment and config file resolve with the usual
// precedence and clear errors, and startHub with an issuer listens beyond loopback and refuses
// callers without a token.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { resolveDaemonConfig, type DaemonConfig } from '../../src/config/config.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { startHub } from '../../src/hub/server.js';
import { useCleanup } from '../helpers/temp.js';
import { SUPPORTED_PROTOCOLS } from '../../src/protocol/sync.js';

const cleanups = useCleanup();

function dir(): string {
  return cleanups.dir('hac-');
}

describe('sign-in settings', () => {
  it('resolve flags over environment over the config file', () => {
    const d = dir();
    const file = join(d, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        oidc_issuer: 'https://file.example',
        oidc_audience: 'https://hub.file',
        allow_users: ['x', 'y'],
        trust_proxy: true,
      }),
    );
    const env = { HEPH_CONFIG: file, HEPH_OIDC_AUDIENCE: 'https://hub.env', HEPH_OWNER: 'env-o' };
    const c = resolveDaemonConfig({ oidcClientId: 'cli', owner: 'flag-o' }, env, d);
    expect(c.oidc).toEqual({
      issuer: 'https://file.example',
      issuerFrom: `oidc_issuer in ${file}`,
      audience: 'https://hub.env',
      clientId: 'cli',
      owner: 'flag-o',
      allowUsers: ['x', 'y'],
    });
    expect(c.trustProxy).toBe(true);
    expect(
      resolveDaemonConfig({}, { HOME: d, XDG_CONFIG_HOME: d, XDG_DATA_HOME: d }, d).oidc,
    ).toBeUndefined();
    expect(
      resolveDaemonConfig(
        { oidcIssuer: 'https://i.example', oidcAudience: 'a', allowUsers: '*' },
        {},
        d,
      ).oidc?.allowUsers,
    ).toBe('*');
  });

  it('--insecure-oidc-http: flag, HEPH_INSECURE_OIDC_HTTP or insecure_oidc_http, with an issuer', () => {
    const d = dir();
    const file = join(d, 'config.json');
    const base = { oidc_issuer: 'http://10.1.2.3:8080', oidc_audience: 'https://hub' };
    writeFileSync(file, JSON.stringify(base));
    const env = { HEPH_CONFIG: file };
    expect(resolveDaemonConfig({}, env, d).oidc).toEqual({
      issuer: 'http://10.1.2.3:8080',
      issuerFrom: `oidc_issuer in ${file}`,
      audience: 'https://hub',
    });
    expect(resolveDaemonConfig({ insecureOidcHttp: true }, env, d).oidc?.insecureHttp).toBe(true);
    for (const v of ['1', 'true']) {
      expect(
        resolveDaemonConfig({}, { ...env, HEPH_INSECURE_OIDC_HTTP: v }, d).oidc?.insecureHttp,
      ).toBe(true);
    }
    expect(
      resolveDaemonConfig({}, { ...env, HEPH_OIDC_ISSUER: 'http://10.9.9.9' }, d).oidc?.issuerFrom,
    ).toBe('HEPH_OIDC_ISSUER');
    expect(resolveDaemonConfig({ oidcIssuer: 'http://10.9.9.9' }, env, d).oidc?.issuerFrom).toBe(
      '--oidc-issuer',
    );
    writeFileSync(file, JSON.stringify({ ...base, insecure_oidc_http: true }));
    expect(resolveDaemonConfig({}, env, d).oidc?.insecureHttp).toBe(true);
    writeFileSync(file, JSON.stringify({ ...base, insecure_oidc_http: 'yes' }));
    expect(() => resolveDaemonConfig({}, env, d)).toThrow(/"insecure_oidc_http"/);
    writeFileSync(file, JSON.stringify({ insecure_oidc_http: true }));
    expect(() => resolveDaemonConfig({}, env, d)).toThrow(
      /--insecure-oidc-http only means something with --oidc-issuer/,
    );
  });

  it('say clearly what is missing or wrong', () => {
    const d = dir();
    const env = { HOME: d, XDG_CONFIG_HOME: d, XDG_DATA_HOME: d };
    expect(() => resolveDaemonConfig({ oidcIssuer: 'https://i.example' }, env, d)).toThrow(
      /--oidc-issuer needs --oidc-audience/,
    );
    expect(() => resolveDaemonConfig({ owner: 'bob' }, env, d)).toThrow(
      /--owner only means something with --oidc-issuer/,
    );
    expect(() =>
      resolveDaemonConfig({ oidcIssuer: 'not a url', oidcAudience: 'a' }, env, d),
    ).toThrow(/--oidc-issuer must be/);
    expect(() =>
      resolveDaemonConfig(
        { oidcIssuer: 'https://i.example', oidcAudience: 'a', allowUsers: 'a,*' },
        env,
        d,
      ),
    ).toThrow(/must stand alone/);
  });

  it('let startHub listen beyond loopback, and the hub then refuses callers without a token', async () => {
    const d = dir();
    const config: DaemonConfig = {
      mode: 'server',
      db: join(d, 'hub.db'),
      socket: join(d, 'h.sock'),
      logLevel: 'silent',
      configPath: join(d, 'config.json'),
      hubUrl: undefined,
      httpAddr: '0.0.0.0:0',
      timeZone: 'UTC',
      clockOffsetMs: 0,
    };
    const deps = {
      clock: { now: () => Date.now() },
      random: seededRandom(5),
      logger: silentLogger,
      version: 'test',
    };
    await expect(startHub(config, deps)).rejects.toThrow(/--oidc-issuer/);
    const hub = await startHub(
      { ...config, oidc: { issuer: 'https://id.invalid', audience: 'https://hub.test' } },
      deps,
    );
    cleanups.defer(() => hub.stop());
    const port = new URL(hub.url).port;
    const r = await request(`http://127.0.0.1:${port}/sync/pull`, {
      headers: { 'heph-protocol': '2', 'heph-replica': 'aaaaaaaaaaaaaaaa' },
    });
    expect(r.statusCode).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer');
    await r.body.dump();
    const c = await request(`http://127.0.0.1:${port}/config`);
    expect(await c.body.json()).toEqual({
      issuer: 'https://id.invalid',
      client_id: null,
      audience: 'https://hub.test',
      protocol: [...SUPPORTED_PROTOCOLS],
    });
  });
});
