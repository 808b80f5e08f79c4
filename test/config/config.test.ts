import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveDaemonConfig, resolveSocketPath } from '../../src/config/config.js';
import { HephError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/temp.js';

/** The HephError `fn` throws (fails the test when it throws none or another kind). */
function refusal(fn: () => unknown, what: string): HephError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, what).toBeInstanceOf(HephError);
  return err as HephError;
}

describe('daemon configuration', () => {
  let t: { dir: string; cleanup(): void };
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  const env = (extra: Record<string, string> = {}) => ({ HOME: t.dir, ...extra });

  it('uses XDG defaults under the home directory', () => {
    const c = resolveDaemonConfig({}, env(), '/');
    expect(c).toMatchObject({
      mode: 'local',
      db: join(t.dir, '.local/share/heph/heph.db'),
      socket: join(t.dir, '.local/share/heph/hephd.sock'),
      logLevel: 'info',
      httpAddr: '127.0.0.1:8787',
      clockOffsetMs: 0,
    });
    const r = resolveDaemonConfig(
      {},
      env({ XDG_RUNTIME_DIR: '/run/user/1', XDG_DATA_HOME: '/data' }),
      '/',
    );
    expect(r.socket).toBe('/run/user/1/heph/hephd.sock');
    expect(r.db).toBe('/data/heph/heph.db');
  });

  it('takes flags over environment over the config file', () => {
    const file = join(t.dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({ db: '/file.db', socket: '/file.sock', log_level: 'debug', mode: 'local' }),
    );
    const fromFile = resolveDaemonConfig({ config: file }, env(), '/');
    expect(fromFile).toMatchObject({ db: '/file.db', socket: '/file.sock', logLevel: 'debug' });
    const fromEnv = resolveDaemonConfig(
      { config: file },
      env({ HEPH_DB: '/env.db', HEPH_LOG_LEVEL: 'warn' }),
      '/',
    );
    expect(fromEnv).toMatchObject({ db: '/env.db', socket: '/file.sock', logLevel: 'warn' });
    const fromFlags = resolveDaemonConfig(
      { config: file, db: 'rel.db', logLevel: 'error' },
      env({ HEPH_DB: '/env.db' }),
      '/work',
    );
    expect(fromFlags).toMatchObject({ db: '/work/rel.db', logLevel: 'error' });
  });

  it('reads the hub cache settings from flags, environment and the file, refusing bad numbers', () => {
    const file = join(t.dir, 'config.json');
    writeFileSync(file, JSON.stringify({ cache_dir: 'c', cache_max_owners: 4, cache_max_mb: 64 }));
    expect(resolveDaemonConfig({ config: file }, env(), '/srv')).toMatchObject({
      cacheDir: '/srv/c',
      cacheMaxOwners: 4,
      cacheMaxMb: 64,
    });
    const over = resolveDaemonConfig(
      { config: file, cacheMaxOwners: '9' },
      env({ HEPH_CACHE_DIR: '/env/cache', HEPH_CACHE_MAX_MB: '128' }),
      '/',
    );
    expect(over).toMatchObject({ cacheDir: '/env/cache', cacheMaxOwners: 9, cacheMaxMb: 128 });
    expect(resolveDaemonConfig({}, env(), '/').cacheDir).toBeUndefined();
    for (const [flags, field] of [
      [{ cacheMaxOwners: '0' }, 'cache-max-owners'],
      [{ cacheMaxOwners: 'lots' }, 'cache-max-owners'],
      [{ cacheMaxMb: '-5' }, 'cache-max-mb'],
    ] as const) {
      const err = refusal(() => resolveDaemonConfig(flags, env(), '/'), JSON.stringify(flags));
      expect(err.details.field).toBe(field);
      expect(err.message).toMatch(new RegExp(`^--${field} must be a whole number`));
    }
  });

  it('reads the hub store from flags, environment and the file, never echoing a bad URL', () => {
    const file = join(t.dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({ hub_store: 'postgres://heph@db/file', hub_store_pool: 4 }),
    );
    expect(resolveDaemonConfig({ config: file }, env(), '/')).toMatchObject({
      hubStore: 'postgres://heph@db/file',
      hubStoreFrom: 'file',
      hubStorePool: 4,
    });
    expect(
      resolveDaemonConfig(
        { config: file, hubStorePool: '20' },
        env({ HEPH_HUB_STORE: 'postgresql://heph@db/env' }),
        '/',
      ),
    ).toMatchObject({
      hubStore: 'postgresql://heph@db/env',
      hubStoreFrom: 'env',
      hubStorePool: 20,
    });
    expect(
      resolveDaemonConfig(
        { hubStore: 'postgres://heph:pw@db/flag' },
        env({ HEPH_HUB_STORE: 'postgres://heph@db/env' }),
        '/',
      ),
    ).toMatchObject({ hubStore: 'postgres://heph:pw@db/flag', hubStoreFrom: 'flag' });
    // sqlite is the default, said or not.
    for (const flags of [{}, { hubStore: 'sqlite' }]) {
      const c = resolveDaemonConfig(flags, env(), '/');
      expect(c.hubStore).toBeUndefined();
      expect(c.hubStoreFrom).toBeUndefined();
    }
    for (const [flags, field, message] of [
      [
        { hubStore: 'mysql://root:hunter2@db/x' },
        'hub-store',
        /must be sqlite .* or a PostgreSQL URL/,
      ],
      [{ hubStore: 'hunter2' }, 'hub-store', /must be sqlite/],
      [{ hubStorePool: '5' }, 'hub-store-pool', /only means something with a PostgreSQL/],
      [{ hubStore: 'postgres://h/d', hubStorePool: '0' }, 'hub-store-pool', /whole number from 1/],
    ] as const) {
      const err = refusal(() => resolveDaemonConfig(flags, env(), '/'), JSON.stringify(flags));
      expect(err.details.field).toBe(field);
      expect(err.message).toMatch(message);
      expect(err.message).not.toMatch(/hunter2/);
    }
  });

  it('resolves the socket for the CLI the same way', () => {
    expect(resolveSocketPath('/flag.sock', env({ HEPH_SOCKET: '/env.sock' }), '/')).toBe(
      '/flag.sock',
    );
    expect(resolveSocketPath(undefined, env({ HEPH_SOCKET: '/env.sock' }), '/')).toBe('/env.sock');
    expect(resolveSocketPath(undefined, env({ XDG_RUNTIME_DIR: '/run/user/7' }), '/')).toBe(
      '/run/user/7/heph/hephd.sock',
    );
  });

  const bad: [string, () => unknown, RegExp][] = [
    [
      'unknown mode',
      () => resolveDaemonConfig({ mode: 'cluster' }, env(), '/'),
      /--mode must be one of local, server, client/,
    ],
    [
      'unknown log level',
      () => resolveDaemonConfig({ logLevel: 'loud' }, env(), '/'),
      /--log-level/,
    ],
    [
      'bad clock offset',
      () => resolveDaemonConfig({}, env({ HEPH_CLOCK_OFFSET_MS: '5m' }), '/'),
      /HEPH_CLOCK_OFFSET_MS/,
    ],
    [
      'missing explicit config',
      () => resolveDaemonConfig({ config: '/nope/config.json' }, env(), '/'),
      /cannot read config file \/nope\/config.json/,
    ],
  ];
  it.each(bad)('refuses %s with a message naming it', (_label, fn, message) => {
    expect(fn).toThrow(HephError);
    expect(fn).toThrow(message);
  });

  it('refuses a bad config file, naming the file and the key', () => {
    const file = join(t.dir, 'config.json');
    writeFileSync(file, '{ not json');
    expect(() => resolveDaemonConfig({ config: file }, env(), '/')).toThrow(/not valid JSON/);
    writeFileSync(file, JSON.stringify({ db: 5 }));
    expect(() => resolveDaemonConfig({ config: file }, env(), '/')).toThrow(
      new RegExp(`${file}: "db"`),
    );
    writeFileSync(file, JSON.stringify({ colour: 'blue' }));
    expect(() => resolveDaemonConfig({ config: file }, env(), '/')).toThrow(/colour/);
    writeFileSync(file, JSON.stringify({ mode: 'cluster' }));
    expect(() => resolveDaemonConfig({ config: file }, env(), '/')).toThrow(/mode/);
  });

  it('opts into file token storage from the config file or the environment', () => {
    const file = join(t.dir, 'config.json');
    writeFileSync(file, JSON.stringify({ insecure_storage: true }));
    expect(resolveDaemonConfig({ config: file }, env(), '/').insecureStorage).toBe(true);
    expect(resolveDaemonConfig({}, env({ HEPH_INSECURE_STORAGE: '1' }), '/').insecureStorage).toBe(
      true,
    );
    expect(resolveDaemonConfig({}, env(), '/').insecureStorage).toBeUndefined();
    writeFileSync(file, JSON.stringify({ insecure_storage: 'yes' }));
    expect(() => resolveDaemonConfig({ config: file }, env(), '/')).toThrow(/insecure_storage/);
  });

  it('takes the sync interval from a flag, the environment or the file, in whole seconds', () => {
    const file = join(t.dir, 'config.json');
    writeFileSync(file, JSON.stringify({ sync_interval: 120 }));
    expect(resolveDaemonConfig({ config: file }, env(), '/').syncIntervalS).toBe(120);
    expect(
      resolveDaemonConfig({ config: file }, env({ HEPH_SYNC_INTERVAL: '60' }), '/').syncIntervalS,
    ).toBe(60);
    expect(resolveDaemonConfig({ config: file, syncInterval: '5' }, env(), '/').syncIntervalS).toBe(
      5,
    );
    expect(resolveDaemonConfig({}, env(), '/').syncIntervalS).toBeUndefined();
    for (const bad of ['0', '-5', '1.5', '30s', '86401']) {
      expect(() => resolveDaemonConfig({ syncInterval: bad }, env(), '/')).toThrow(
        /--sync-interval must be a whole number of seconds from 1 to 86400/,
      );
    }
    writeFileSync(file, JSON.stringify({ sync_interval: '30' }));
    expect(() => resolveDaemonConfig({ config: file }, env(), '/')).toThrow(/sync_interval/);
  });

  it('checks the time zone from the environment or the file before anything is opened', () => {
    const file = join(t.dir, 'config.json');
    writeFileSync(file, JSON.stringify({ time_zone: 'Asia/Tokyo' }));
    expect(resolveDaemonConfig({ config: file }, env(), '/').timeZone).toBe('Asia/Tokyo');
    expect(
      resolveDaemonConfig({ config: file }, env({ HEPH_TIME_ZONE: 'Europe/Paris' }), '/').timeZone,
    ).toBe('Europe/Paris');
    expect(resolveDaemonConfig({}, env(), '/').timeZone).toBeUndefined();
    const e = refusal(
      () => resolveDaemonConfig({}, env({ HEPH_TIME_ZONE: 'Mars/Olympus' }), '/'),
      'a zone nobody has',
    );
    expect(e.message).toBe(
      'HEPH_TIME_ZONE "Mars/Olympus" is not an IANA time zone (such as Europe/Paris)',
    );
    writeFileSync(file, JSON.stringify({ time_zone: 'Europe/Pariss' }));
    expect(() => resolveDaemonConfig({ config: file }, env(), '/')).toThrow(
      /^time_zone in the config file "Europe\/Pariss" is not an IANA time zone/,
    );
  });

  it('ignores a missing default config file', () => {
    expect(resolveDaemonConfig({}, env({ XDG_CONFIG_HOME: join(t.dir, 'absent') }), '/').mode).toBe(
      'local',
    );
  });
});
