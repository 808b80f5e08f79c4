// Which socket the CLI talks to: --socket > HEPH_SOCKET > the socket `heph daemon start --socket`
// kept > the config file's "socket" > default. The config module (and its validator) is loaded
// only when a config file exists, so the common case stays fast.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultConfigPath, defaultSocketPath, type Env } from '../config/paths.js';
import { readDaemonOptions } from './daemon-args.js';

export async function socketPath(flag: string | undefined, env: Env, cwd: string): Promise<string> {
  const given = socketGiven(flag, env, cwd);
  if (given !== undefined) return given;
  const configPath = resolve(cwd, env.HEPH_CONFIG || defaultConfigPath(env));
  if (existsSync(configPath)) {
    const { resolveSocketPath } = await import('../config/config.js');
    return resolveSocketPath(undefined, env, cwd);
  }
  return defaultSocketPath(env);
}

/** The socket heph uses when the config file cannot be read (`heph doctor` says why). */
export function socketWithoutConfig(flag: string | undefined, env: Env, cwd: string): string {
  return socketGiven(flag, env, cwd) ?? defaultSocketPath(env);
}

function socketGiven(flag: string | undefined, env: Env, cwd: string): string | undefined {
  if (flag) return resolve(cwd, flag);
  if (env.HEPH_SOCKET) return resolve(cwd, env.HEPH_SOCKET);
  return readDaemonOptions(env).socket;
}
