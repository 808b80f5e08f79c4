// A device credential (`hd_…`): what this machine got from a hub by enrolling (POST /auth/enroll),
// one per hub URL. It is a machine's key, like an SSH host key: it goes to the OS keyring when one
// is reachable, else, without asking, to a 0600 file in a 0700 directory
// ($XDG_CONFIG_HOME/heph/credentials/device.json). Guarantees: an entry is `unknown` until
// parseDeviceCredential accepts it, so a damaged one is a 'storage' error naming the hub and the
// store, never its text; `heldCredential` looks in the keyring first, then the file, and a store
// that does not exist here (no Secret Service) holds nothing; describeCredential is what may be
// shown of one (never the secret).

import { join } from 'node:path';
import { z } from 'zod';
import { configDir, type Env } from '../config/paths.js';
import { fileSecretStore } from './file-store.js';
import { keyringSecretStore } from './keyring-store.js';
import { HephError } from '../core/errors.js';
import type { SecretStore } from './token-store.js';

export interface DeviceCredential {
  /** The secret, `hd_` + 43 characters. */
  credential: string;
  /** The hub's id of this device (what `heph device rename|revoke` take). */
  device_id: string;
  name: string;
  /** The replica id the credential is bound to. */
  replica: string;
  /** When it was received, ISO. */
  enrolled_at: string;
}

export type DeviceCredentialStore = SecretStore<DeviceCredential>;

export const DEVICE_CREDENTIAL_RE = /^hd_[A-Za-z0-9_-]{43}$/;

const Schema = z.object({
  credential: z.string().regex(DEVICE_CREDENTIAL_RE),
  device_id: z.string().min(1),
  name: z.string(),
  replica: z.string().regex(/^[0-9a-f]{16}$/),
  enrolled_at: z.string(),
});

function fail(hub: string, where: string, what: string): never {
  throw new HephError(
    'storage',
    `the device credential for ${hub} in ${where} is unreadable (${what}); ` +
      `run \`heph auth logout --hub ${hub}\`, then enrol this device again`,
    { hub, store: where },
  );
}

export function parseDeviceCredential(
  value: unknown,
  hub: string,
  where: string,
): DeviceCredential {
  const r = Schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : 'entry';
    fail(hub, where, `${field}: ${issue?.code ?? 'invalid'}`);
  }
  const { credential, device_id, name, replica, enrolled_at } = r.data;
  return { credential, device_id, name, replica, enrolled_at };
}

function parseText(text: string, hub: string, where: string): DeviceCredential {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    fail(hub, where, 'not JSON');
  }
  return parseDeviceCredential(json, hub, where);
}

/** $XDG_CONFIG_HOME/heph/credentials/device.json */
export function deviceCredentialPath(env: Env): string {
  return join(configDir(env), 'credentials', 'device.json');
}

export interface DeviceCredentialStores {
  keyring: DeviceCredentialStore;
  file: DeviceCredentialStore;
}

export function deviceCredentialStores(env: Env, service = 'heph-device'): DeviceCredentialStores {
  return {
    keyring: keyringSecretStore(service, parseText),
    file: fileSecretStore(
      { path: deviceCredentialPath(env) },
      { what: 'device credential', redo: 'heph auth enroll', parse: parseDeviceCredential },
    ),
  };
}

/** The store a new credential goes to: the keyring when reachable, else the file. */
export async function storeForCredential(
  s: DeviceCredentialStores,
): Promise<DeviceCredentialStore> {
  return (await s.keyring.status()).available ? s.keyring : s.file;
}

/** The credential held for a hub and where, keyring first; undefined when there is none. */
export async function heldCredential(
  s: DeviceCredentialStores,
  hub: string,
): Promise<{ held: DeviceCredential; store: DeviceCredentialStore } | undefined> {
  let firstError: Error | undefined;
  for (const store of [s.keyring, s.file]) {
    try {
      const held = await store.get(hub);
      if (held) return { held, store };
    } catch (e) {
      // No keyring on this machine holds nothing; a damaged entry is reported.
      if (!(await store.status()).available) continue;
      firstError ??= e instanceof Error ? e : new Error(String(e));
    }
  }
  if (firstError !== undefined) throw firstError;
  return undefined;
}

/** What may be shown of a held credential: everything but the secret. */
export function describeCredential(c: DeviceCredential, store: DeviceCredentialStore) {
  return {
    kind: 'device' as const,
    device_id: c.device_id,
    name: c.name,
    replica: c.replica,
    enrolled_at: c.enrolled_at,
    storage: store.kind,
    location: store.location,
  };
}
