// Opt-in token store in a plain JSON file, for machines without an OS keyring. Guarantees: the
// file is mode 0600 inside a directory of mode 0700 (an existing looser file or directory is
// tightened before use, and a file owned by another user is refused); writes go to a 0600 temp
// file that is renamed over the old one, so a crash never leaves half a file; `warn` is called
// once, before the first write, so the user hears about the risk before a token touches disk.
// The caller decides whether the user opted in; this module only keeps the file safe.

import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { configDir, type Env } from '../config/paths.js';
import { HephError } from '../core/errors.js';
import {
  hubKey,
  parseTokens,
  type SecretStore,
  type StoreStatus,
  type TokenStore,
} from './token-store.js';

export interface FileStoreOptions {
  /** The tokens file (see tokensFilePath). */
  path: string;
  /** Told once, before the first write. */
  warn?: (message: string) => void;
}

/** What a secrets file holds, for its messages, and how it parses an entry. */
export interface SecretFileKind<T> {
  /** "sign-in tokens", "device credential" */
  what: string;
  /** The command that makes a new entry, for "delete it and run …". */
  redo: string;
  parse(value: unknown, hub: string, where: string): T;
}

const TOKENS_FILE: SecretFileKind<ReturnType<typeof parseTokens>> = {
  what: 'sign-in tokens',
  redo: 'heph auth login',
  parse: parseTokens,
};

/** Where the opt-in tokens file lives: $XDG_CONFIG_HOME/heph/credentials/tokens.json. */
export function tokensFilePath(env: Env): string {
  return join(configDir(env), 'credentials', 'tokens.json');
}

const FileSchema = z.object({ version: z.literal(1), hubs: z.record(z.string(), z.unknown()) });
type FileData = { version: 1; hubs: Record<string, unknown> };

function errno(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

function ioError(what: string, path: string, e: unknown): HephError {
  if (e instanceof HephError) return e;
  return new HephError('io', `could not ${what} ${path}: ${errno(e) ?? (e as Error).message}`, {
    path,
  });
}

export function insecureStorageWarning(path: string): string {
  return (
    `warning: no OS keyring is in use, so your sign-in tokens will be kept in a plain file, ` +
    `${path}, readable only by you. Anyone who can read your files (or a backup of them) can use ` +
    `them to reach your hub until they expire or you run \`heph auth logout\`.`
  );
}

export function fileStore(o: FileStoreOptions): TokenStore {
  return fileSecretStore(o, TOKENS_FILE);
}

/** A 0600 JSON file of entries per hub URL, in a 0700 directory. */
export function fileSecretStore<T>(o: FileStoreOptions, k: SecretFileKind<T>): SecretStore<T> {
  const path = o.path;
  const dir = dirname(path);
  let warned = false;

  function assertOwned(uid: number, what: string, p: string): void {
    const me = process.getuid?.();
    if (me !== undefined && uid !== me) {
      throw new HephError(
        'storage',
        `${what} ${p} belongs to another user; refusing to keep ${k.what} there`,
        { path: p },
      );
    }
  }

  /** The directory exists, is ours and is 0700. */
  async function ensureDir(): Promise<void> {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const st = await lstat(dir);
      if (!st.isDirectory()) {
        throw new HephError('storage', `${dir} is not a directory`, { path: dir });
      }
      assertOwned(st.uid, 'the directory', dir);
      if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700);
    } catch (e) {
      throw ioError('prepare the directory', dir, e);
    }
  }

  /** The file's data, or an empty file's worth when there is none. Tightens a loose file. */
  async function load(): Promise<FileData> {
    let text: string;
    try {
      const st = await lstat(path);
      if (!st.isFile()) throw new HephError('storage', `${path} is not a regular file`, { path });
      assertOwned(st.uid, 'the file', path);
      await ensureDir();
      if ((st.mode & 0o077) !== 0) await chmod(path, 0o600);
      text = await readFile(path, 'utf8');
    } catch (e) {
      if (errno(e) === 'ENOENT') return { version: 1, hubs: {} };
      throw ioError('read', path, e);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const r = FileSchema.safeParse(json);
    if (!r.success) {
      throw new HephError(
        'storage',
        `the ${k.what} file ${path} is unreadable (not a heph ${k.what} file); ` +
          `delete it and run \`${k.redo}\` again`,
        { path },
      );
    }
    return { version: 1, hubs: { ...r.data.hubs } };
  }

  async function save(data: FileData): Promise<void> {
    await ensureDir();
    const tmp = join(dir, `.tokens.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(JSON.stringify(data, null, 2) + '\n', 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw ioError('write', path, e);
    }
  }

  /** Usable unless something already at the path forbids it; creates nothing. */
  async function status(): Promise<StoreStatus> {
    try {
      const st = await lstat(dir);
      if (!st.isDirectory()) return { available: false, reason: `${dir} is not a directory` };
      assertOwned(st.uid, 'the directory', dir);
      return { available: true };
    } catch (e) {
      if (errno(e) === 'ENOENT') return { available: true };
      return { available: false, reason: e instanceof Error ? e.message : String(e) };
    }
  }

  return {
    kind: 'file',
    location: path,
    async get(hub: string): Promise<T | undefined> {
      const key = hubKey(hub);
      const data = await load();
      if (!Object.hasOwn(data.hubs, key)) return undefined;
      return k.parse(data.hubs[key], key, path);
    },
    async set(hub: string, tokens: T): Promise<void> {
      const key = hubKey(hub);
      const data = await load();
      if (!warned) {
        warned = true;
        o.warn?.(insecureStorageWarning(path));
      }
      data.hubs[key] = tokens;
      await save(data);
    },
    async delete(hub: string): Promise<boolean> {
      const key = hubKey(hub);
      const data = await load();
      if (!Object.hasOwn(data.hubs, key)) return false;
      delete data.hubs[key];
      await save(data);
      return true;
    },
    async available(): Promise<boolean> {
      return (await status()).available;
    },
    status,
  };
}
