// Which stores a session reads: a keyring that does not exist on this machine is not an error
// (an open hub needs no token), a store that exists but fails is.

import { describe, expect, it } from 'vitest';
import { createSession } from '../../src/auth/session.js';
import type { TokenStore } from '../../src/auth/token-store.js';
import { HephError } from '../../src/core/errors.js';

function failingStore(available: boolean): TokenStore {
  const fail = () =>
    Promise.reject(new HephError('storage', 'cannot read: no Secret Service is running'));
  return {
    kind: 'keyring',
    location: 'the OS keyring',
    get: fail,
    set: fail,
    delete: fail,
    available: () => Promise.resolve(available),
    status: () =>
      Promise.resolve(
        available ? { available: true } : { available: false, reason: 'no Secret Service' },
      ),
  };
}

const empty: TokenStore = {
  kind: 'file',
  location: 'a file',
  get: () => Promise.resolve(undefined),
  set: () => Promise.resolve(),
  delete: () => Promise.resolve(false),
  available: () => Promise.resolve(true),
  status: () => Promise.resolve({ available: true }),
};

describe('session token stores', () => {
  it('treats a keyring that does not exist here as holding no tokens', async () => {
    const s = createSession({ hub: 'http://127.0.0.1:8787', stores: [failingStore(false), empty] });
    await expect(s.getToken()).resolves.toBeUndefined();
  });

  it('reports a keyring that exists but fails', async () => {
    const s = createSession({ hub: 'http://127.0.0.1:8787', stores: [failingStore(true), empty] });
    await expect(s.getToken()).rejects.toThrow(/no Secret Service is running/);
  });
});
