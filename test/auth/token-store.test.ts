// The token store contract, run against both adapters: the file store in a temp dir and the
// keyring store against a private, real Secret Service (see keyring-service.ts). Then what only
// the file store promises: modes, tightening, the warning, corrupt files.

import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileStore, tokensFilePath } from '../../src/auth/file-store.js';
import { keyringStore } from '../../src/auth/keyring-store.js';
import { hubKey, parseTokens, type TokenStore, type Tokens } from '../../src/auth/token-store.js';
import { HephError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/temp.js';
import { startSecretService, type SecretService } from './keyring-service.js';

const HUB = 'https://hub.example.org';

function tokens(over: Partial<Tokens> = {}): Tokens {
  return {
    access_token: 'at-secret-value',
    refresh_token: 'rt-secret-value',
    expires_at: Date.UTC(2026, 0, 1, 1),
    token_type: 'Bearer',
    scope: 'openid offline_access',
    issuer: 'https://id.example.org',
    client_id: 'heph-cli',
    audience: 'https://hub.example.org',
    sub: 'user-1',
    name: 'ada',
    ...over,
  };
}

/** What every TokenStore promises. `fresh` gives a store with nothing in it. */
function contract(name: string, fresh: () => TokenStore): void {
  describe(`${name}: TokenStore contract`, () => {
    it('is available', async () => {
      const s = fresh();
      expect(await s.available()).toBe(true);
      expect(await s.status()).toEqual({ available: true });
    });

    it('get of an unknown hub is undefined; delete of it is false', async () => {
      const s = fresh();
      expect(await s.get('https://nowhere.example.org')).toBeUndefined();
      expect(await s.delete('https://nowhere.example.org')).toBe(false);
    });

    it('round-trips tokens per hub, and a second set replaces the first', async () => {
      const s = fresh();
      await s.set(HUB, tokens());
      await s.set('https://other.example.org:8443/base', tokens({ sub: 'user-2' }));
      expect(await s.get(HUB)).toEqual(tokens());
      expect((await s.get('https://other.example.org:8443/base'))?.sub).toBe('user-2');
      await s.set(HUB, tokens({ access_token: 'newer' }));
      expect((await s.get(HUB))?.access_token).toBe('newer');
      expect((await s.get('https://other.example.org:8443/base'))?.sub).toBe('user-2');
    });

    it('keeps optional fields absent rather than undefined', async () => {
      const s = fresh();
      const minimal: Tokens = {
        access_token: 'a',
        expires_at: 1,
        token_type: 'Bearer',
        issuer: 'https://id.example.org',
        client_id: 'c',
        audience: 'aud',
      };
      await s.set(HUB, minimal);
      const got = await s.get(HUB);
      expect(got).toEqual(minimal);
      expect(Object.keys(got ?? {}).sort()).toEqual(Object.keys(minimal).sort());
    });

    it('treats spellings of one hub URL as one entry', async () => {
      const s = fresh();
      await s.set('https://HUB.example.org/', tokens());
      expect(await s.get(HUB)).toEqual(tokens());
      expect(await s.delete('https://hub.example.org//')).toBe(true);
      expect(await s.get(HUB)).toBeUndefined();
    });

    it('delete removes only that hub', async () => {
      const s = fresh();
      await s.set(HUB, tokens());
      await s.set('https://other.example.org', tokens());
      expect(await s.delete(HUB)).toBe(true);
      expect(await s.get(HUB)).toBeUndefined();
      expect(await s.get('https://other.example.org')).toEqual(tokens());
      expect(await s.delete(HUB)).toBe(false);
    });

    it('rejects a hub that is not a URL', async () => {
      await expect(fresh().get('not a url')).rejects.toMatchObject({ code: 'invalid_params' });
    });
  });
}

// ---- file store --------------------------------------------------------------------------

const tmp = tempDir('heph-tokens-');
afterAll(() => tmp.cleanup());
let n = 0;
const filePath = () => join(tmp.dir, `case-${++n}`, 'credentials', 'tokens.json');

contract('file store', () => fileStore({ path: filePath() }));

// ---- keyring store, against a real Secret Service ---------------------------------------

let service: SecretService | undefined;
let serviceError: unknown;
beforeAll(async () => {
  try {
    service = await startSecretService();
  } catch (e) {
    serviceError = e;
  }
}, 30_000);
afterAll(async () => {
  await service?.stop();
});

let m = 0;
contract('keyring store', () => {
  // Fails (never skips) where the Secret Service could not be started, with the reason.
  if (serviceError !== undefined) throw serviceError as Error;
  return keyringStore({ service: `heph-test-${process.pid}-${++m}` });
});

describe('keyring store', () => {
  it('reports a corrupt entry as a storage error that names the hub, not the value', async () => {
    if (serviceError !== undefined) throw serviceError as Error;
    const { AsyncEntry } = await import('@napi-rs/keyring');
    const svc = `heph-test-${process.pid}-corrupt`;
    await new AsyncEntry(svc, hubKey(HUB), { linux: { store: 'secret-service' } }).setPassword(
      '{"access_token":"leaky-secret",',
    );
    const err = await keyringStore({ service: svc })
      .get(HUB)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HephError);
    expect((err as HephError).code).toBe('storage');
    expect((err as HephError).message).toContain(HUB);
    expect((err as HephError).message).toContain('heph auth login');
    expect((err as HephError).message).not.toContain('leaky-secret');
  });
});

// ---- file store specifics ----------------------------------------------------------------

describe('file store', () => {
  const mode = (p: string) => statSync(p).mode & 0o777;

  it('lives under $XDG_CONFIG_HOME/heph', () => {
    expect(tokensFilePath({ XDG_CONFIG_HOME: '/x/conf', HOME: '/h' })).toBe(
      '/x/conf/heph/credentials/tokens.json',
    );
    expect(tokensFilePath({ HOME: '/h' })).toBe('/h/.config/heph/credentials/tokens.json');
  });

  it('writes a 0600 file in a 0700 directory, warning once before the first write', async () => {
    const path = filePath();
    const warnings: string[] = [];
    const s = fileStore({
      path,
      warn: (w) => {
        warnings.push(w);
        // The warning comes before anything is written.
        expect(() => statSync(path)).toThrow();
      },
    });
    await s.set(HUB, tokens());
    await s.set('https://other.example.org', tokens());
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(path);
    expect(mode(path)).toBe(0o600);
    expect(mode(join(path, '..'))).toBe(0o700);
  });

  it('tightens an existing looser file and directory', async () => {
    const path = filePath();
    const dir = join(path, '..');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(path, JSON.stringify({ version: 1, hubs: { [HUB]: tokens() } }), { mode: 0o644 });
    chmodSync(path, 0o644);
    expect(await fileStore({ path }).get(HUB)).toEqual(tokens());
    expect(mode(path)).toBe(0o600);
    expect(mode(dir)).toBe(0o700);
  });

  it('reports a corrupt file or entry clearly, without quoting it', async () => {
    const path = filePath();
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
    writeFileSync(path, '{"version":1,"hubs":{"x": "leaky-secret"', { mode: 0o600 });
    const e1 = await fileStore({ path })
      .get(HUB)
      .catch((e: unknown) => e);
    expect(e1).toMatchObject({ code: 'storage' });
    expect((e1 as Error).message).toContain(path);
    expect((e1 as Error).message).not.toContain('leaky-secret');

    writeFileSync(
      path,
      JSON.stringify({ version: 1, hubs: { [HUB]: { ...tokens(), expires_at: 'soon' } } }),
    );
    const e2 = await fileStore({ path })
      .get(HUB)
      .catch((e: unknown) => e);
    expect(e2).toMatchObject({ code: 'storage' });
    expect((e2 as Error).message).toMatch(/expires_at/);
    expect((e2 as Error).message).not.toContain('at-secret-value');
    // Another hub's good entry is still readable.
    writeFileSync(
      path,
      JSON.stringify({ version: 1, hubs: { [HUB]: 42, 'https://ok.example.org': tokens() } }),
    );
    expect(await fileStore({ path }).get('https://ok.example.org')).toEqual(tokens());
  });

  it('never leaves a temp file behind', async () => {
    const path = filePath();
    const s = fileStore({ path });
    await s.set(HUB, tokens());
    await s.delete(HUB);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(join(path, '..'))).toEqual(['tokens.json']);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ version: 1, hubs: {} });
  });
});

describe('parseTokens', () => {
  it('accepts a stored object and drops unknown keys', () => {
    expect(parseTokens({ ...tokens(), extra: 1 }, HUB, 'here')).toEqual(tokens());
  });
  it('names the bad field', () => {
    expect(() => parseTokens({ ...tokens(), access_token: '' }, HUB, 'here')).toThrow(
      /access_token/,
    );
    expect(() => parseTokens(null, HUB, 'here')).toThrow(/unreadable/);
  });
});
