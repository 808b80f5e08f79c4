// Default file locations (XDG base directories), computed from an environment passed in.

import { homedir } from 'node:os';
import { join } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

function home(env: Env): string {
  return env.HOME && env.HOME !== '' ? env.HOME : homedir();
}

export function dataDir(env: Env): string {
  return join(env.XDG_DATA_HOME || join(home(env), '.local', 'share'), 'heph');
}

export function configDir(env: Env): string {
  return join(env.XDG_CONFIG_HOME || join(home(env), '.config'), 'heph');
}

export function stateDir(env: Env): string {
  return join(env.XDG_STATE_HOME || join(home(env), '.local', 'state'), 'heph');
}

export function defaultDbPath(env: Env): string {
  return join(dataDir(env), 'heph.db');
}

export function defaultSocketPath(env: Env): string {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'heph', 'hephd.sock');
  return join(dataDir(env), 'hephd.sock');
}

export function defaultConfigPath(env: Env): string {
  return join(configDir(env), 'config.json');
}
