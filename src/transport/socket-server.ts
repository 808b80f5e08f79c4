// JSON-RPC over NDJSON on a unix socket. Guarantees: many requests per connection, run
// concurrently up to maxInFlight per connection and answered as they complete (clients match by
// id); reading pauses while the peer is not draining our writes or too many requests wait, so a
// connection's memory stays bounded; a frame over maxFrameBytes gets one too_large error (id
// null), the requests before it are still answered, and then the connection is closed without
// losing that reply (what the peer still sends is read and dropped until it closes, goes quiet
// for CLOSE_GRACE_MS or LINGER_MAX_MS pass: closing with unread input would reset the
// connection, and a peer still writing would lose the reply to EPIPE); a peer
// that half-closes still gets its answers; nothing a peer sends can throw out of this module.
// Every call on it is the local_socket principal (admin): the socket lives in a 0700 directory of
// its user, so whoever can connect already holds that user's files.
// stop() stops accepting, lets in-flight requests finish (up to stopTimeoutMs), closes every
// connection, removes the socket file if it is still ours, and is idempotent.

import { chmod, lstat, unlink } from 'node:fs/promises';
import * as net from 'node:net';
import { principalFor, type Principal } from '../auth/principal.js';
import { HephError } from '../core/errors.js';
import { RPC_PARSE_ERROR, toWireError } from '../protocol/error-wire.js';
import { errorResponse } from '../protocol/json-rpc.js';
import { dispatchLine, type RpcLogger } from '../rpc/dispatch.js';
import type { Registry, RpcContext } from '../rpc/registry.js';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, LineSplitter } from '../protocol/ndjson.js';
import { isErrno } from './errno.js';
import { alreadyRunning, prepareSocketPath } from './unix-socket.js';

export interface SocketServerOptions<C extends RpcContext = RpcContext> {
  path: string;
  registry: Registry<C>;
  /** Who every connection is (default: the local_socket principal, without owner or device). */
  principal?: Principal;
  /** Builds a handler's context from the per-connection basics; required when C adds fields. */
  makeContext?: (base: RpcContext) => C;
  logger: RpcLogger;
  maxFrameBytes?: number;
  /** Close a connection with nothing in flight after this long without traffic; 0 = never
   *  (the default — a connection holding an events subscription is legitimately quiet). */
  idleTimeoutMs?: number;
  /** Requests run concurrently per connection (default 128); more wait, unread, in the socket. */
  maxInFlight?: number;
  /** How long stop() waits for in-flight requests before closing anyway (default 5000). */
  stopTimeoutMs?: number;
  maxDepth?: number;
  maxBatch?: number;
}

export interface SocketServer {
  stop(): Promise<void>;
  connections(): number;
}

const CLOSE_GRACE_MS = 1000;
/** The longest an oversize sender is read and ignored after its too_large reply. */
const LINGER_MAX_MS = 30_000;

export function startSocketServer(opts: SocketServerOptions): Promise<SocketServer>;
export function startSocketServer<C extends RpcContext>(
  opts: SocketServerOptions<C> & { makeContext: (base: RpcContext) => C },
): Promise<SocketServer>;
export async function startSocketServer<C extends RpcContext>(
  opts: SocketServerOptions<C>,
): Promise<SocketServer> {
  const { path: socketPath, logger } = opts;
  // The overloads make makeContext mandatory unless C is RpcContext itself.
  const makeContext = opts.makeContext ?? ((base: RpcContext): C => base as C);
  const settings: ConnectionSettings = {
    maxFrameBytes: opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    maxInFlight: opts.maxInFlight ?? 128,
    idleTimeoutMs: opts.idleTimeoutMs ?? 0,
    principal: opts.principal ?? principalFor({ kind: 'local_socket' }),
  };
  const dispatchOpts = {
    logger,
    ...(opts.maxDepth !== undefined && { maxDepth: opts.maxDepth }),
    ...(opts.maxBatch !== undefined && { maxBatch: opts.maxBatch }),
  };
  new LineSplitter(settings.maxFrameBytes); // validates the limit before touching the filesystem

  await prepareSocketPath(socketPath);

  const live = new Set<Connection>();
  let nextId = 1;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    // One context per connection: it is built from per-connection basics only.
    let ctx: C | undefined;
    const conn = new Connection(`c${nextId++}`, socket, settings, logger, (base, line) =>
      dispatchLine(opts.registry, line, (ctx ??= makeContext(base)), dispatchOpts),
    );
    live.add(conn);
    socket.once('close', () => live.delete(conn));
  });
  server.on('error', (err) => logger.error({ err }, 'socket server error'));

  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => {
      reject(isErrno(e, 'EADDRINUSE') ? alreadyRunning(socketPath) : e);
    };
    server.once('error', onError);
    // The socket file is made by the bind inside listen(), synchronously: under this umask it is
    // born 0600, so it is never reachable by others, nor changed after a client first connects.
    const umask = process.umask(0o177);
    try {
      server.listen({ path: socketPath, backlog: 1024 }, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
  let ino: number;
  try {
    const st = await lstat(socketPath);
    // Where the platform does not apply the umask to sockets.
    if ((st.mode & 0o777) !== 0o600) await chmod(socketPath, 0o600);
    ino = st.ino;
  } catch (e) {
    server.close();
    throw new HephError('io', `cannot secure socket ${socketPath}: ${String(e)}`, {
      path: socketPath,
    });
  }
  logger.info({ path: socketPath }, 'listening');

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const conns = [...live];
    for (const c of conns) c.beginClose();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, opts.stopTimeoutMs ?? 5000);
    });
    await Promise.race([Promise.all(conns.map((c) => c.drained())), timeout]);
    clearTimeout(timer);
    for (const c of conns) c.finish();
    await closed;
    // libuv usually unlinks on close; the inode check keeps us from removing a successor's socket.
    try {
      if ((await lstat(socketPath)).ino === ino) await unlink(socketPath);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) logger.warn({ err: e, path: socketPath }, 'socket not removed');
    }
    logger.info({ path: socketPath }, 'stopped');
  };

  return {
    stop: () => (stopping ??= stop()),
    connections: () => live.size,
  };
}

interface ConnectionSettings {
  maxFrameBytes: number;
  maxInFlight: number;
  idleTimeoutMs: number;
  principal: Principal;
}

type Handle = (base: RpcContext, line: string) => Promise<string | null>;

class Connection {
  private readonly splitter: LineSplitter;
  private readonly queue: string[] = [];
  private readonly abort = new AbortController();
  private readonly base: RpcContext;
  private inFlight = 0;
  private writeBlocked = false;
  /** No further frames are read; the queue and in-flight requests still complete. */
  private closing = false;
  private finished = false;
  /** After an oversize frame: input is read and dropped, so closing never resets the peer. */
  private discarding = false;
  private waiters: (() => void)[] = [];

  constructor(
    readonly id: string,
    private readonly socket: net.Socket,
    private readonly settings: ConnectionSettings,
    private readonly logger: RpcLogger,
    private readonly handle: Handle,
  ) {
    this.splitter = new LineSplitter(settings.maxFrameBytes);
    const maxBuffered = Math.max(4 * settings.maxFrameBytes, 1 << 20);
    this.base = {
      connectionId: id,
      signal: this.abort.signal,
      principal: settings.principal,
      surface: 'socket',
      notify: (method, params) => {
        if (this.finished || !socket.writable) return false;
        if (socket.writableLength > maxBuffered) {
          logger.warn({ conn: id, buffered: socket.writableLength }, 'slow consumer; closing');
          socket.destroy();
          return false;
        }
        this.write(encodeFrame({ jsonrpc: '2.0', method, ...(params && { params }) }));
        return true;
      },
    };
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.writeBlocked = false;
      this.pump();
    });
    socket.on('end', () => {
      this.closing = true;
      this.settleIfDone();
    });
    socket.on('error', (err) => logger.debug({ err, conn: id }, 'connection error'));
    socket.on('close', () => {
      if (this.splitter.bufferedBytes > 0) {
        logger.debug(
          { conn: id, bytes: this.splitter.bufferedBytes },
          'half line dropped at close',
        );
      }
      this.finished = true;
      this.abort.abort();
      this.release();
    });
    if (settings.idleTimeoutMs > 0) {
      socket.setTimeout(settings.idleTimeoutMs);
      socket.on('timeout', () => {
        if (this.isIdle()) {
          logger.debug({ conn: id }, 'idle; closing');
          this.finish();
        } else {
          // A fired socket timeout is not re-armed by later traffic: re-arm it while busy.
          socket.setTimeout(settings.idleTimeoutMs);
        }
      });
    }
  }

  /** Stops reading new requests; what was already read still runs. */
  beginClose(): void {
    this.closing = true;
    this.socket.pause();
    this.settleIfDone();
  }

  /** Resolves when nothing is queued or in flight (or the connection is gone). */
  drained(): Promise<void> {
    if (this.isIdle() || this.finished) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Flushes what was written, then closes; destroys if the peer does not let us finish. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.closing = true;
    const { socket } = this;
    if (socket.destroyed) return;
    if (this.discarding) {
      this.linger();
      return;
    }
    socket.end(() => socket.destroy());
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  /**
   * Sends what is written and a FIN, then keeps reading (and dropping) until the peer closes,
   * goes quiet for CLOSE_GRACE_MS, or LINGER_MAX_MS pass.
   */
  private linger(): void {
    const { socket } = this;
    socket.end();
    socket.once('end', () => socket.destroy());
    let quiet = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    socket.on('data', () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    });
    socket.once('close', () => clearTimeout(quiet));
    setTimeout(() => socket.destroy(), LINGER_MAX_MS).unref();
    socket.resume();
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    for (const frame of this.splitter.push(chunk)) {
      if (frame.kind === 'line') {
        this.queue.push(frame.text);
      } else if (frame.kind === 'invalid_utf8') {
        const reply = errorResponse(null, {
          code: RPC_PARSE_ERROR,
          message: 'parse error: invalid UTF-8',
        });
        this.write(JSON.stringify(reply) + '\n');
      } else {
        const e = new HephError('too_large', `frame exceeds ${frame.limit} bytes; closing`, {
          limit: frame.limit,
        });
        this.logger.warn({ conn: this.id, limit: frame.limit }, 'oversize frame; closing');
        this.write(JSON.stringify(errorResponse(null, toWireError(e))) + '\n');
        this.closing = true;
        this.discarding = true;
        this.socket.pause();
        break;
      }
    }
    this.pump();
  }

  private pump(): void {
    while (!this.writeBlocked && this.inFlight < this.settings.maxInFlight) {
      const line = this.queue.shift();
      if (line === undefined) break;
      this.run(line);
    }
    // A finished connection is closing: lingering keeps it reading, anything else is paused.
    if (this.finished) {
      if (!this.discarding) this.socket.pause();
    } else if (this.closing || this.writeBlocked || this.queue.length > 0) this.socket.pause();
    else this.socket.resume();
    this.settleIfDone();
  }

  private run(line: string): void {
    this.inFlight++;
    // Two handlers rather than then().finally(): one promise hop less per request.
    this.handle(this.base, line).then(
      (reply) => {
        try {
          if (reply !== null) this.write(reply + '\n');
        } finally {
          this.done();
        }
      },
      (err: unknown) => {
        try {
          this.logger.error({ err, conn: this.id }, 'dispatch failed');
        } finally {
          this.done();
        }
      },
    );
  }

  private done(): void {
    this.inFlight--;
    this.pump();
  }

  private write(text: string): void {
    if (!this.socket.writable) return;
    if (!this.socket.write(text)) this.writeBlocked = true;
  }

  private isIdle(): boolean {
    return this.inFlight === 0 && this.queue.length === 0;
  }

  private settleIfDone(): void {
    if (!this.isIdle()) return;
    this.release();
    // Closed for reading by oversize or peer half-close: nothing more will come, so close.
    if (this.closing && !this.finished) this.finish();
  }

  private release(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}
