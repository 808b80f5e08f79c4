// Token store in the OS keyring through @napi-rs/keyring: service 'heph', account = the hub's
// URL, the secret = the Tokens as JSON. On Linux the entry is pinned to the Secret Service
// (gnome-keyring, KeePassXC, KWallet's bridge): the library would otherwise fall back to the
// kernel keyring, which forgets everything at logout, and a sign-in that vanishes is worse
// than a clear "no keyring here". Keyring failures become HephError('storage'|'unavailable')
// here; the library's messages name the bus or store, never the secret.

import { AsyncEntry, type EntryOptions } from '@napi-rs/keyring';
import { HephError } from '../core/errors.js';
import {
  hubKey,
  parseTokensText,
  type SecretStore,
  type StoreStatus,
  type TokenStore,
} from './token-store.js';

export interface KeyringStoreOptions {
  /** Keyring service name (default 'heph'); tests use their own. */
  service?: string;
  /** Platform, for choosing entry options (default process.platform). */
  platform?: NodeJS.Platform;
}

/** Parses an entry's stored text; throws HephError('storage') naming the hub and `where`. */
export type ParseText<T> = (text: string, hub: string, where: string) => T;

const PROBE_ACCOUNT = 'heph-availability-probe';

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The reason a keyring error gives, in words a person can act on. */
function reason(e: unknown): string {
  const m = message(e);
  if (
    /DBUS_SESSION_BUS_ADDRESS|autolaunch|Failed to connect to socket|ServiceUnknown|not provided by any \.service/i.test(
      m,
    )
  ) {
    return `no Secret Service is running on the session bus (${m})`;
  }
  return m;
}

export function keyringStore(o: KeyringStoreOptions = {}): TokenStore {
  return keyringSecretStore(o.service ?? 'heph', parseTokensText, o.platform);
}

/** Entries of one keyring service, one per hub URL, parsed by `parse`. */
export function keyringSecretStore<T>(
  service: string,
  parse: ParseText<T>,
  platformGiven?: NodeJS.Platform,
): SecretStore<T> {
  const platform = platformGiven ?? process.platform;
  const options: EntryOptions | undefined =
    platform === 'linux' ? { linux: { store: 'secret-service' } } : undefined;
  const location =
    platform === 'linux'
      ? 'the OS keyring (Secret Service)'
      : platform === 'darwin'
        ? 'the macOS Keychain'
        : platform === 'win32'
          ? 'the Windows Credential Manager'
          : 'the OS keyring';

  // The constructor itself connects to the store (and throws when there is none).
  function entry(account: string): AsyncEntry {
    try {
      return new AsyncEntry(service, account, options);
    } catch (e) {
      throw new HephError('unavailable', `${location} is not available: ${reason(e)}`, {
        store: 'keyring',
      });
    }
  }

  function failed(what: string, e: unknown): HephError {
    if (e instanceof HephError) return e;
    return new HephError('storage', `could not ${what} ${location}: ${reason(e)}`, {
      store: 'keyring',
    });
  }

  async function status(): Promise<StoreStatus> {
    try {
      await entry(PROBE_ACCOUNT).getPassword();
      return { available: true };
    } catch (e) {
      const r = e instanceof HephError ? e.message : `${location} is not available: ${reason(e)}`;
      return { available: false, reason: r };
    }
  }

  return {
    kind: 'keyring',
    location,
    async get(hub: string): Promise<T | undefined> {
      const key = hubKey(hub);
      let text: string | null;
      try {
        text = await entry(key).getPassword();
      } catch (e) {
        throw failed('read from', e);
      }
      return text === null ? undefined : parse(text, key, location);
    },
    async set(hub: string, value: T): Promise<void> {
      const key = hubKey(hub);
      try {
        await entry(key).setPassword(JSON.stringify(value));
      } catch (e) {
        throw failed('write to', e);
      }
    },
    async delete(hub: string): Promise<boolean> {
      const key = hubKey(hub);
      try {
        return await entry(key).deleteCredential();
      } catch (e) {
        throw failed('remove from', e);
      }
    },
    async available(): Promise<boolean> {
      return (await status()).available;
    },
    status,
  };
}
