// What command functions get: a lazily opened connection to hephd, the user's local day, the
// environment and standard input. Built once per run by main.ts, closed by it.

import { fstatSync } from 'node:fs';
import type { Env } from '../config/paths.js';
import { HephError } from '../core/errors.js';
import { connect, type RpcClient } from '../transport/socket-client.js';
import { socketPath, socketWithoutConfig } from './socket-path.js';

export interface Cli {
  readonly env: Env;
  readonly cwd: string;
  /** The user's local calendar day, sent as `today` to every method that takes it. */
  readonly today: string;
  /** Output to people is coloured (a terminal, no NO_COLOR or --no-color, no --json). */
  readonly color: boolean;
  /** Absolute path of bin/hephd.js, for `heph daemon`. */
  readonly hephdPath: string;
  readonly socketFlag: string | undefined;
  /** The daemon's socket; `despiteConfig`: when the config file is invalid, the one heph uses
   *  without it (for `heph doctor`, which reports the config file's problem itself). */
  socketPath(opts?: { despiteConfig?: boolean }): Promise<string>;
  call(method: string, params?: Record<string, unknown>): Promise<unknown>;
  /** A call that gives up quietly: undefined when the daemon is down, refuses, or takes longer
   *  than `ms` (for completion, doctor and other questions that have a fallback). */
  ask(method: string, params: Record<string, unknown>, ms: number): Promise<unknown>;
  connection(): Promise<RpcClient>;
  /** All of standard input. Commands call it only when the user asked with `-`: a CLI spawned
   *  with an open pipe must never wait for input it was not told to read. */
  readStdin(): Promise<string>;
  /** Standard input is a non-empty regular file (`< notes.md`): reading it cannot block. */
  stdinIsFile(): boolean;
  /** Standard input is a terminal (a person types), not a pipe or a file. */
  readonly stdinIsTTY: boolean;
  /** Asks on the terminal (prompt on stderr) and reads one line without echoing it. */
  readSecret(prompt: string): Promise<string>;
  /** Writes to stdout at once (streams such as `heph events`). */
  write(text: string): void;
  /** A line on stderr for people (progress, notes); never part of --json output. */
  note(text: string): void;
  /**
   * A status line that rewrites itself on a terminal's stderr (progress of long work); nothing
   * when stderr is not a terminal. Empty text clears it.
   */
  status(text: string): void;
  readonly stderrIsTTY: boolean;
}

/** The local calendar day of an instant, in the process's time zone. */
export function localDay(d: Date): string {
  const y = String(d.getFullYear()).padStart(4, '0');
  const m = String(d.getMonth() + 1).padStart(2, '0');
  const day = String(d.getDate()).padStart(2, '0');
  return `${y}-${m}-${day}`;
}

export interface CliOptions {
  env: Env;
  cwd: string;
  today: string;
  color?: boolean;
  socketFlag: string | undefined;
  hephdPath: string;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export function makeCli(o: CliOptions): Cli & { close(): void } {
  let conn: Promise<RpcClient> | undefined;
  let path: Promise<string> | undefined;
  const cli = {
    env: o.env,
    cwd: o.cwd,
    today: o.today,
    color: o.color === true,
    hephdPath: o.hephdPath,
    socketFlag: o.socketFlag,
    socketPath(opts?: { despiteConfig?: boolean }) {
      path ??= socketPath(o.socketFlag, o.env, o.cwd);
      if (opts?.despiteConfig === true)
        path = path.catch(() => socketWithoutConfig(o.socketFlag, o.env, o.cwd));
      return path;
    },
    connection() {
      conn ??= cli.socketPath().then((p) => connect(p));
      return conn;
    },
    async call(method: string, params?: Record<string, unknown>) {
      return (await cli.connection()).call(method, params);
    },
    async ask(method: string, params: Record<string, unknown>, ms: number) {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          cli.call(method, params),
          new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms))),
        ]);
      } catch {
        return undefined;
      } finally {
        clearTimeout(timer);
      }
    },
    stdinIsFile() {
      const fd = (o.stdin as { fd?: unknown }).fd;
      if (typeof fd !== 'number') return false;
      try {
        const st = fstatSync(fd);
        return st.isFile() && st.size > 0;
      } catch {
        return false;
      }
    },
    get stdinIsTTY() {
      return o.stdin.isTTY === true;
    },
    async readSecret(prompt: string) {
      const { createInterface } = await import('node:readline');
      const rl = createInterface({ input: o.stdin, output: o.stderr, terminal: true });
      // What is typed is not echoed: the secret never reaches the screen or a scrollback. The
      // prompt comes only now, with the terminal already in raw mode: typed after a prompt shown
      // earlier, the secret would be echoed by the terminal itself.
      (rl as unknown as { _writeToOutput(s: string): void })._writeToOutput = () => undefined;
      o.stderr.write(prompt);
      try {
        return await new Promise<string>((resolve, reject) => {
          rl.once('line', resolve);
          rl.once('close', () => reject(new Error('no input')));
        });
      } finally {
        rl.close();
        o.stderr.write('\n');
      }
    },
    async readStdin() {
      if (o.stdin.isTTY === true)
        o.stderr.write('heph: reading standard input; end it with Ctrl-D\n');
      const chunks: Buffer[] = [];
      for await (const c of o.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
      return utf8Text(Buffer.concat(chunks));
    },
    write(text: string) {
      o.stdout.write(text);
    },
    note(text: string) {
      o.stderr.write(text + '\n');
    },
    get stderrIsTTY() {
      return o.stderr.isTTY === true;
    },
    status(text: string) {
      if (o.stderr.isTTY === true) o.stderr.write(`\r\x1b[K${text}`);
    },
    close() {
      if (conn) void conn.then((c) => c.close()).catch(() => {});
    },
  };
  return cli;
}

/**
 * Standard input as text, exactly (a byte-order mark included). Bytes that are not UTF-8 are
 * refused rather than stored as U+FFFD: heph keeps what it is given, so it must not keep a
 * mangled copy.
 */
export function utf8Text(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const at = firstBadByte(bytes);
    const where = at < bytes.length ? ` (byte ${at} is 0x${bytes[at]!.toString(16)})` : '';
    throw new HephError(
      'invalid_params',
      `standard input is not UTF-8 text${where}; nothing was changed: convert it first, ` +
        'e.g. iconv -f latin1 -t utf-8',
      { field: 'stdin' },
    );
  }
}

/** Where the first byte that cannot start or continue a UTF-8 sequence is (a quick scan). */
function firstBadByte(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const more = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : 3;
    if (c >= 0x80 && (c < 0xc2 || c > 0xf4)) return i;
    for (let k = 1; k <= more; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += more + 1;
  }
  return i;
}
