// Why hephd last failed to start, kept where `heph doctor` finds it while no daemon runs to ask:
// $XDG_STATE_HOME/heph/hephd-start-error.json (0600). hephd writes it when its start fails
// (a damaged database, a socket in use, …) and removes it once a start succeeds. The record
// names the socket and database, so a failure of one daemon is never blamed on another; it is
// read like wire data (unknown until checked) and never holds secrets.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir, type Env } from './paths.js';

export interface StartError {
  /** ISO time of the failed start. */
  at: string;
  code: string;
  message: string;
  socket: string;
  db: string;
}

export function startErrorPath(env: Env): string {
  return join(stateDir(env), 'hephd-start-error.json');
}

export function recordStartError(env: Env, e: StartError): void {
  try {
    mkdirSync(stateDir(env), { recursive: true, mode: 0o700 });
    writeFileSync(startErrorPath(env), JSON.stringify(e) + '\n', { mode: 0o600 });
  } catch {
    // Best effort: the error is on stderr and in the log anyway.
  }
}

/** Removes the record of a failed start on this socket (another daemon's stays). */
export function clearStartError(env: Env, socket: string): void {
  if (readStartError(env)?.socket === socket) rmSync(startErrorPath(env), { force: true });
}

export function readStartError(env: Env): StartError | undefined {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(startErrorPath(env), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const keys = ['at', 'code', 'message', 'socket', 'db'] as const;
  if (!keys.every((k) => typeof r[k] === 'string')) return undefined;
  return {
    at: r.at as string,
    code: r.code as string,
    message: r.message as string,
    socket: r.socket as string,
    db: r.db as string,
  };
}
