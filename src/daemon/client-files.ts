// The filesystem methods of a client-mode daemon (`export`, `import`, `backup`). The hub never
// touches this machine's files, so the client daemon does the file work here and moves the data
// with the hub's data methods:
// - export: pages of `export.nodes`, written by the same ExportWriter as a local export (same
//   files, same manifest, same idempotence);
// - import: the folder is read and checked here by the same reader as a local import, then sent
//   in one `import.notes` call, which the hub stores in one transaction (all or nothing, as
//   locally). A folder larger than the hub takes in one request is refused with a way out;
// - backup: a fresh heph database at a temporary name beside the target pulls every op from the
//   hub's /sync/pull (the same sync a new device runs), is marked as a copy (so a daemon that
//   opens it takes a new replica id) and is renamed into place only when complete.
// Replies from the hub are checked before anything is written from them.

import { rmSync, renameSync, statSync } from 'node:fs';
import { z } from 'zod';
import { HephError } from '../core/errors.js';
import { NODE_KINDS } from '../core/ids.js';
import { ExportWriter, type ExportReport } from '../model/export.js';
import {
  readVault,
  refuseProblems,
  type ImportOptions,
  type ImportReport,
} from '../model/vault-import.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { Random } from '../ports/random.js';
import type { NodeView } from '../ports/store.js';
import { checkBackupTarget, markBackup } from '../rpc/methods/backup.js';
import { absolute } from '../rpc/methods/content.js';
import { openStore } from '../store/open-store.js';
import type { SyncTransport } from '../sync/hub-client.js';
import { syncOnce } from '../sync/sync-once.js';

/** Calls one of the hub's JSON-RPC methods as this daemon's owner. */
export type Forward = (method: string, params: Record<string, unknown>) => Promise<unknown>;

const EXPORT_PAGE = 200;

const ExportNodes = z.object({
  nodes: z.array(
    z.looseObject({
      id: z.string().min(1),
      kind: z.enum(NODE_KINDS),
      title: z.string(),
      aliases: z.array(z.string()),
      body: z.string(),
      extra: z.record(z.string(), z.json()),
      links: z.array(z.object({ type: z.string(), dst: z.string() })),
      note: z
        .object({
          id: z.string().min(1),
          aliases: z.array(z.string()),
          links: z.array(z.object({ type: z.string(), dst: z.string() })).optional(),
        })
        .optional(),
      own_body: z.string().optional(),
    }),
  ),
  next: z.string().nullable(),
});

const ImportReply = z.object({
  created: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })),
});

function fromHub<T>(schema: z.ZodType<T>, reply: unknown, method: string): T {
  const r = schema.safeParse(reply);
  if (!r.success) {
    throw new HephError(
      'protocol_mismatch',
      `the hub's ${method} reply is not what this version expects (${r.error.issues[0]?.message ?? 'malformed'}); is the hub the same heph version?`,
      { method },
    );
  }
  return r.data;
}

/** `export {dir}` in client mode. */
export async function exportViaHub(forward: Forward, dir: string): Promise<ExportReport> {
  const writer = new ExportWriter(absolute(dir));
  let after: string | undefined;
  for (;;) {
    const page = fromHub(
      ExportNodes,
      await forward('export.nodes', { limit: EXPORT_PAGE, ...(after && { after }) }),
      'export.nodes',
    );
    for (const { links, note, own_body, ...node } of page.nodes) {
      writer.add({ node: node as unknown as NodeView, links, note, own_body });
    }
    if (page.next === null) return writer.finish();
    if (after !== undefined && page.next <= after) {
      throw new HephError('protocol_mismatch', 'the hub sent export pages out of order');
    }
    after = page.next;
  }
}

/** `import {dir, skip_invalid}` in client mode. */
export async function importViaHub(
  forward: Forward,
  dir: string,
  options: ImportOptions,
): Promise<ImportReport> {
  const read = readVault(absolute(dir));
  refuseProblems(read, options);
  let reply: unknown;
  try {
    reply = await forward('import.notes', {
      notes: read.notes,
      ...(options.skipInvalid && { skip_invalid: true }),
    });
  } catch (e) {
    if (e instanceof HephError && e.code === 'too_large') {
      throw new HephError(
        'too_large',
        `the ${read.notes.length} notes in ${dir} are more than the hub takes in one request ` +
          `(${e.message}); import them on a device that keeps a replica (hephd --mode local ` +
          '--hub-url …), which syncs them in batches, or import the folder in parts',
        { path: dir, notes: read.notes.length },
      );
    }
    throw e;
  }
  const r = fromHub(ImportReply, reply, 'import.notes');
  return {
    created: r.created,
    updated: r.updated,
    unchanged: r.unchanged,
    skipped: read.skipped,
    errors: [...read.problems.map(({ path, message }) => ({ path, message })), ...r.errors],
  };
}

export interface BackupDeps {
  clock: Clock;
  random: Random;
  logger: Logger;
  signal?: AbortSignal;
}

/** `backup {path, overwrite}` in client mode: a heph database holding every op of the hub. */
export async function backupFromHub(
  hub: SyncTransport,
  path: string,
  overwrite: boolean | undefined,
  deps: BackupDeps,
): Promise<{ path: string; bytes: number; ops: number }> {
  checkBackupTarget(path, overwrite);
  const partial = `${path}.partial-${process.pid}`;
  const removePartial = (): void => {
    for (const f of [partial, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true });
  };
  removePartial();
  let ops: number;
  let origin: string;
  try {
    const store = openStore({ path: partial }, deps);
    try {
      await syncOnce(store, hub, { ...(deps.signal && { signal: deps.signal }) });
      ops = store.opCount();
      // One self-contained file: no -wal beside it.
      store.connection.pragma('journal_mode = DELETE');
      origin = store.origin;
    } finally {
      store.close();
    }
    markBackup(partial, origin);
    renameSync(partial, path);
  } catch (e) {
    removePartial();
    if (e instanceof HephError) throw e;
    throw new HephError('io', `cannot write backup to ${path}: ${(e as Error).message}`, { path });
  }
  return { path, bytes: statSync(path).size, ops };
}
