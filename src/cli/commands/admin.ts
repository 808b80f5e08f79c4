// Conflicts, files in and out, daemon status, raw calls and the event stream.

import { resolve } from 'node:path';
import { HephError } from '../../core/errors.js';
import { arg, flag, many, optArg, type Args } from '../args.js';
import type { Cli } from '../context.js';
import type { Output } from '../output.js';
import { isRec } from '../wire.js';

export async function conflicts(cli: Cli): Promise<Output> {
  return { kind: 'conflicts', data: await cli.call('conflicts.list', {}) };
}

/** VALUE is JSON when it parses as JSON, else the string as typed. */
export function parseValue(v: string): unknown {
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/**
 * A resolve's VALUE: a body is text as typed ("42" stays text), and so is the project to keep
 * (a project may be titled "2027"; null is none); any other field's is JSON when it parses.
 */
function valueOf(field: string, raw: string): unknown {
  if (field === 'body') return raw;
  if (field === 'project' || field === 'parent') return raw === 'null' ? null : raw;
  return parseValue(raw);
}

export async function resolveConflict(cli: Cli, a: Args): Promise<Output> {
  const field = arg(a, 'field');
  const raw = arg(a, 'value');
  // `-` reads a body from standard input, so a merged version can come from a file or an editor.
  const value = raw === '-' ? await cli.readStdin() : valueOf(field, raw);
  const data = await cli.call('conflicts.resolve', {
    target: arg(a, 'target'),
    field,
    value,
    ...(flag(a, 'keep-links') && { update_links: false }),
  });
  (await import('./nodes.js')).linksNote(cli, data);
  return { kind: 'node', data, verb: 'Resolved' };
}

export async function exportDir(cli: Cli, a: Args): Promise<Output> {
  const dir = resolve(cli.cwd, arg(a, 'dir'));
  const data = await cli.call('export', { dir });
  // Names two items share: said on stderr, so a person sees them under --json too.
  const collisions = isRec(data) && Array.isArray(data.collisions) ? data.collisions : [];
  for (const c of collisions) {
    if (isRec(c)) {
      cli.note(
        `heph: "${String(c.title)}" was written as ${String(c.path)}: another item has its name`,
      );
    }
  }
  return { kind: 'summary', heading: `Exported to ${dir}`, data };
}

export async function importDir(cli: Cli, a: Args): Promise<Output> {
  const dir = resolve(cli.cwd, arg(a, 'dir'));
  const data = await cli.call('import', {
    dir,
    ...(flag(a, 'skip-invalid') && { skip_invalid: true }),
  });
  return { kind: 'summary', heading: `Imported from ${dir}`, data };
}

export async function backup(cli: Cli, a: Args): Promise<Output> {
  const path = resolve(cli.cwd, arg(a, 'file'));
  const data = await cli.call('backup', { path, ...(flag(a, 'overwrite') && { overwrite: true }) });
  return { kind: 'summary', heading: 'Backup written', data };
}

export async function repair(cli: Cli, a: Args): Promise<Output> {
  const check = flag(a, 'check');
  const data = await cli.call(check ? 'repair.check' : 'repair.run', {});
  return { kind: 'repair', data, check };
}

export async function status(cli: Cli, a: Args): Promise<Output> {
  const data = await cli.call('status', flag(a, 'digest') ? { digest: true } : {});
  return { kind: 'summary', heading: 'hephd is running', data };
}

export async function methods(cli: Cli): Promise<Output> {
  return { kind: 'methods', data: await cli.call('rpc.methods', {}) };
}

export async function call(cli: Cli, a: Args): Promise<Output> {
  const method = arg(a, 'method');
  const raw = optArg(a, 'params');
  let params: unknown;
  if (raw !== undefined) {
    try {
      params = JSON.parse(raw) as unknown;
    } catch (e) {
      throw new HephError('invalid_params', `params are not JSON: ${(e as Error).message}`, {
        field: 'params',
      });
    }
    if (!isRec(params))
      throw new HephError('invalid_params', 'params must be a JSON object', { field: 'params' });
  }
  return { kind: 'json', data: await cli.call(method, isRec(params) ? params : undefined) };
}

/** Prints notifications as JSON lines until Ctrl-C (or the daemon goes away). */
export async function events(cli: Cli, a: Args): Promise<Output> {
  const topics = many(a, 'topics');
  const conn = await cli.connection();
  conn.onNotification((method, params) => cli.write(JSON.stringify({ method, params }) + '\n'));
  const sub = await conn.call('events.subscribe', topics.length ? { topics } : {});
  const subscription = isRec(sub) ? sub.subscription : undefined;
  cli.note(`listening for ${topics.length ? topics.join(', ') : 'all events'}; Ctrl-C to stop`);
  const stopped = await new Promise<'signal' | 'closed'>((done) => {
    const onSignal = () => done('signal');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    conn.onDisconnect(() => done('closed'));
  });
  if (stopped === 'closed') throw new HephError('unavailable', 'the connection to hephd was lost');
  if (typeof subscription === 'string') {
    await conn.call('events.unsubscribe', { subscription }).catch(() => undefined);
  }
  return { kind: 'none' };
}

export async function sync(cli: Cli, a: Args): Promise<Output> {
  if (optArg(a, 'action') === 'status') {
    const data = await cli.call('sync.status', {});
    return { kind: 'sync-status', data, details: flag(a, 'details') };
  }
  // On a terminal, a line that follows the pages as they move.
  const progress = cli.stderrIsTTY && a.json !== true && a.wait !== false;
  if (progress) {
    (await cli.connection()).onNotification((method, p) => {
      if (method === 'sync.progress' && isRec(p)) cli.status(progressLine(p));
    });
  }
  try {
    if (a.wait === false) {
      return {
        kind: 'summary',
        heading: 'Sync started',
        data: await cli.call('sync.now', { wait: false }),
      };
    }
    // It succeeds only when the hub has every change made here; otherwise it fails saying what
    // is not on the hub and why, with the exit code of that reason.
    const data = await cli.call('sync.now', progress ? { progress: true } : {}).catch(offline);
    return { kind: 'synced', data };
  } finally {
    if (progress) cli.status('');
  }
}

/** An unreachable hub is normal for a device: what is made here waits, and goes by itself. */
function offline(e: unknown): never {
  if (e instanceof HephError && e.details.offline === true) {
    throw new HephError(
      e.code,
      `${e.message}; what is made here is kept and uploads by itself once the hub is back ` +
        '(heph sync status shows what waits)',
      e.details,
    );
  }
  throw e;
}

/** `pulling: 3,000 updates, 97,000 to go` */
export function progressLine(p: Record<string, unknown>): string {
  const n = (v: unknown): string => (typeof v === 'number' ? v.toLocaleString('en-US') : '?');
  const verb = p.phase === 'push' ? 'pushing' : 'pulling';
  const left = typeof p.remaining === 'number' ? `, ${n(p.remaining)} to go` : '';
  return `${verb}: ${n(p.done)} updates${left}`;
}

/**
 * `--wait` after a change: returns once the hub has every change made here so far, or throws
 * saying why not, with the exit code of that reason (the change itself is kept here either way
 * and uploads later).
 */
export async function waitForHub(cli: Cli): Promise<void> {
  const before = await cli.call('sync.status', {});
  if (!isRec(before)) return;
  if (before.mode === 'client') return; // every call already went to the hub
  if (before.hub === null) {
    throw new HephError(
      'unavailable',
      'saved here, but --wait needs a hub and this daemon has none (start hephd with --hub-url URL)',
      { reason: 'no_hub' },
    );
  }
  try {
    // sync.now settles as success only when the hub has everything this device holds.
    await cli.call('sync.now', {});
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    const code = e instanceof HephError ? e.code : 'unavailable';
    throw new HephError(code, `saved here, but not on the hub yet: ${why}`, { reason: 'sync' });
  }
}
