// The hephd options `heph daemon start` keeps, so `restart`, `status` and every other command
// use them without being told again: $XDG_STATE_HOME/heph/hephd-options.json, 0600. The file is
// read like wire data (anything unexpected in it is ignored, never trusted); it is written only
// by `heph daemon start|restart` and removed by `heph daemon uninstall`.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir, type Env } from '../config/paths.js';

/** The options kept, by their long flag name (values as hephd takes them). */
export interface DaemonOptions {
  'hub-url'?: string;
  db?: string;
  socket?: string;
  'log-level'?: string;
  'sync-interval'?: string;
  'insecure-http'?: true;
  /** The name a new replica gives itself at its first start (later starts keep theirs). */
  'device-name'?: string;
}

export const KEPT = [
  'hub-url',
  'db',
  'socket',
  'log-level',
  'sync-interval',
  'insecure-http',
  'device-name',
] as const;

export function optionsFile(env: Env): string {
  return join(stateDir(env), 'hephd-options.json');
}

export function readDaemonOptions(env: Env): DaemonOptions {
  const file = optionsFile(env);
  if (!existsSync(file)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
  const out: DaemonOptions = {};
  if (typeof raw !== 'object' || raw === null) return out;
  const r = raw as Record<string, unknown>;
  for (const k of KEPT) {
    const v = r[k];
    if (k === 'insecure-http') {
      if (v === true) out[k] = true;
    } else if (typeof v === 'string' && v !== '') out[k] = v;
  }
  return out;
}

export function writeDaemonOptions(env: Env, o: DaemonOptions): void {
  mkdirSync(stateDir(env), { recursive: true, mode: 0o700 });
  writeFileSync(optionsFile(env), JSON.stringify(o, null, 2) + '\n', { mode: 0o600 });
}

export function forgetDaemonOptions(env: Env): void {
  rmSync(optionsFile(env), { force: true });
}

/** hephd's flags for the kept options, in a stable order. */
export function asFlags(o: DaemonOptions): string[] {
  const out: string[] = [];
  for (const k of KEPT) {
    const v = o[k];
    if (v === true) out.push(`--${k}`);
    else if (typeof v === 'string') out.push(`--${k}`, v);
  }
  return out;
}
