// JSON-RPC client over a unix socket. Guarantees: requests are pipelined and matched by id; a
// request is never sent twice once any of its bytes may have reached the daemon — if the
// connection drops after a request was handed to the socket and before its reply, the call
// rejects with 'unavailable' saying the outcome is unknown; a request that certainly never left
// this process (queued while disconnected, or waiting behind an unconfirmed write) is sent on
// the next connection, surviving one lost connection; a request too large for a frame is
// refused before sending. A daemon that is not running is reported as 'unavailable' with the
// command that starts it.

import * as net from 'node:net';
import { HephError } from '../core/errors.js';
import { fromWireError } from '../protocol/error-wire.js';
import { decodeIncoming } from '../protocol/json-rpc.js';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, LineSplitter } from '../protocol/ndjson.js';
import { isErrno } from './errno.js';

export type RpcParams = Record<string, unknown>;
export type NotificationHandler = (method: string, params: unknown) => void;

export interface RpcClient {
  /** Resolves with the result or rejects with a HephError (the daemon's code, or unavailable). */
  call(method: string, params?: RpcParams): Promise<unknown>;
  /** Resolves once the notification is handed to the kernel; there is no reply. */
  notify(method: string, params?: RpcParams): Promise<void>;
  /** Server → client notifications (events). Returns a function that removes the handler. */
  onNotification(handler: NotificationHandler): () => void;
  /** Called when the connection drops unexpectedly. Server-side state of the connection, such
   *  as event subscriptions, is gone: subscribe again on the next call. */
  onDisconnect(handler: () => void): () => void;
  /** Closes the connection; calls still waiting reject. Idempotent. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  maxFrameBytes?: number;
}

export async function connect(socketPath: string, opts: ConnectOptions = {}): Promise<RpcClient> {
  const client = new SocketClient(socketPath, opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  await client.open();
  return client;
}

interface Outgoing {
  readonly line: string;
  readonly method: string;
  /** Undefined for notifications. */
  readonly id: number | undefined;
  /** Connections lost while this waited in the queue, never handed to a socket. */
  drops: number;
  settled: boolean;
  resolve(value: unknown): void;
  reject(err: HephError): void;
}

/** A queued request survives one lost connection and is sent on the next. */
const MAX_DROPS = 1;
/** Lines coalesced into one socket write. */
const MAX_GROUP_BYTES = 1 << 20;
const CLOSE_GRACE_MS = 1000;

function openSocket(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    sock.once('connect', () => {
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (e) => {
      sock.destroy();
      reject(connectError(socketPath, e));
    });
  });
}

function connectError(socketPath: string, e: Error): HephError {
  const start = 'start it with `heph daemon start`';
  if (isErrno(e, 'ENOENT')) {
    return new HephError(
      'unavailable',
      `hephd is not running (no socket at ${socketPath}); ${start}`,
      {
        path: socketPath,
      },
    );
  }
  if (isErrno(e, 'ECONNREFUSED')) {
    return new HephError(
      'unavailable',
      `hephd is not running (nothing is listening on ${socketPath}); ${start}`,
      { path: socketPath },
    );
  }
  if (isErrno(e, 'EACCES')) {
    return new HephError('forbidden', `permission denied connecting to ${socketPath}`, {
      path: socketPath,
    });
  }
  return new HephError('unavailable', `cannot connect to hephd at ${socketPath}: ${e.message}`, {
    path: socketPath,
  });
}

// Node reports a write as done with callback(null) also when the socket was destroyed before
// the bytes left (stream_base_commons onWriteComplete), and one failed write may have carried
// several complete lines. So only one group of lines is handed to the socket at a time: what
// waits behind it has certainly not been sent and may be retried; the group itself counts as
// delivered only on callback(null) while the socket is alive, and is otherwise of unknown
// outcome — never re-sent.
class SocketClient implements RpcClient {
  private socket: net.Socket | undefined;
  private connecting: Promise<void> | undefined;
  /** Never handed to any socket. */
  private queue: Outgoing[] = [];
  /** Handed to the current socket, completion not yet confirmed. */
  private writing: Outgoing[] | undefined;
  /** Calls confirmed in the kernel, waiting for their reply. */
  private readonly sent = new Set<Outgoing>();
  private readonly byId = new Map<number, Outgoing>();
  private readonly notificationHandlers = new Set<NotificationHandler>();
  private readonly disconnectHandlers = new Set<() => void>();
  private nextId = 1;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly socketPath: string,
    private readonly maxFrameBytes: number,
  ) {}

  async open(): Promise<void> {
    this.attach(await openSocket(this.socketPath));
  }

  call(method: string, params?: RpcParams): Promise<unknown> {
    const id = this.nextId++;
    // Plain literals: a conditional spread made encoding the request twice as slow.
    const msg =
      params === undefined
        ? { jsonrpc: '2.0', method, id }
        : { jsonrpc: '2.0', method, params, id };
    return this.enqueue(msg, method, id);
  }

  async notify(method: string, params?: RpcParams): Promise<void> {
    const msg =
      params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };
    await this.enqueue(msg, method, undefined);
  }

  onNotification(handler: NotificationHandler): () => void {
    this.notificationHandlers.add(handler);
    return () => this.notificationHandlers.delete(handler);
  }

  onDisconnect(handler: () => void): () => void {
    this.disconnectHandlers.add(handler);
    return () => this.disconnectHandlers.delete(handler);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const o of this.queue) {
      this.fail(
        o,
        new HephError('unavailable', `client closed before ${o.method} was sent`, {
          method: o.method,
        }),
      );
    }
    this.queue = [];
    for (const o of [...(this.writing ?? []), ...this.sent]) {
      this.fail(o, unknownOutcome(o.method, 'the client was closed'));
    }
    this.writing = undefined;
    await this.connecting?.catch(() => {});
    const sock = this.socket;
    if (sock === undefined || sock.destroyed) return;
    await new Promise<void>((resolve) => {
      sock.once('close', () => resolve());
      sock.end(() => sock.destroy());
      setTimeout(() => sock.destroy(), CLOSE_GRACE_MS).unref();
    });
  }

  private enqueue(msg: object, method: string, id: number | undefined): Promise<unknown> {
    if (this.closing !== undefined) {
      return Promise.reject(new HephError('unavailable', 'client is closed', { method }));
    }
    let line: string;
    try {
      line = encodeFrame(msg);
    } catch {
      return Promise.reject(
        new HephError('invalid_params', `${method}: params are not JSON`, { method }),
      );
    }
    // A UTF-16 code unit takes at most 3 bytes of UTF-8: most lines need no byte count.
    if (
      line.length * 3 > this.maxFrameBytes + 1 &&
      Buffer.byteLength(line) - 1 > this.maxFrameBytes
    ) {
      return Promise.reject(
        new HephError('too_large', `${method} request exceeds ${this.maxFrameBytes} bytes`, {
          method,
          limit: this.maxFrameBytes,
        }),
      );
    }
    return new Promise<unknown>((resolve, reject) => {
      const o: Outgoing = {
        line,
        method,
        id,
        drops: 0,
        settled: false,
        resolve,
        reject,
      };
      if (id !== undefined) this.byId.set(id, o);
      this.queue.push(o);
      if (this.socket === undefined) this.reconnect();
      else this.flush();
    });
  }

  /** Hands the next group of queued lines to the socket, if none is in progress. */
  private flush(): void {
    const sock = this.socket;
    if (sock === undefined || !sock.writable || this.writing !== undefined) return;
    let bytes = 0;
    let n = 0;
    while (
      n < this.queue.length &&
      (n === 0 || bytes + this.queue[n]!.line.length <= MAX_GROUP_BYTES)
    ) {
      bytes += this.queue[n]!.line.length;
      n++;
    }
    if (n === 0) return;
    const group = this.queue.splice(0, n);
    this.writing = group;
    const text = n === 1 ? group[0]!.line : group.map((o) => o.line).join('');
    sock.write(text, (err) => {
      if (err || sock.destroyed || sock !== this.socket || this.writing !== group) return;
      this.writing = undefined;
      for (const o of group) {
        if (o.settled) continue;
        if (o.id === undefined) this.succeed(o, undefined);
        else this.sent.add(o);
      }
      this.flush();
    });
  }

  private reconnect(): void {
    if (this.connecting !== undefined || this.closing !== undefined) return;
    this.connecting = openSocket(this.socketPath)
      .then(
        (sock) => {
          this.attach(sock);
          this.flush();
        },
        (err: HephError) => {
          const q = this.queue;
          this.queue = [];
          for (const o of q) this.fail(o, err);
        },
      )
      .finally(() => {
        this.connecting = undefined;
        if (this.queue.length > 0 && this.socket === undefined) this.reconnect();
      });
  }

  private attach(sock: net.Socket): void {
    this.socket = sock;
    const splitter = new LineSplitter(this.maxFrameBytes);
    sock.on('data', (chunk: Buffer) => {
      for (const f of splitter.push(chunk)) if (f.kind === 'line') this.onLine(f.text);
    });
    sock.on('error', () => {}); // 'close' follows and carries the consequences
    sock.on('close', () => this.onClose(sock));
  }

  private onClose(sock: net.Socket): void {
    if (sock !== this.socket) return;
    this.socket = undefined;
    if (this.closing !== undefined) return;
    for (const o of [...(this.writing ?? []), ...this.sent]) {
      this.fail(o, unknownOutcome(o.method, 'the connection to hephd was lost'));
    }
    this.writing = undefined;
    this.sent.clear();
    const keep: Outgoing[] = [];
    for (const o of this.queue) {
      if (++o.drops <= MAX_DROPS) keep.push(o);
      else {
        this.fail(
          o,
          new HephError(
            'unavailable',
            `could not deliver ${o.method} to hephd: connection lost twice`,
            {
              method: o.method,
            },
          ),
        );
      }
    }
    this.queue = keep;
    for (const h of this.disconnectHandlers) h();
    if (this.queue.length > 0) this.reconnect();
  }

  private succeed(o: Outgoing, value: unknown): void {
    if (o.settled) return;
    o.settled = true;
    this.sent.delete(o);
    if (o.id !== undefined) this.byId.delete(o.id);
    o.resolve(value);
  }

  private fail(o: Outgoing, err: HephError): void {
    if (o.settled) return;
    o.settled = true;
    this.sent.delete(o);
    if (o.id !== undefined) this.byId.delete(o.id);
    o.reject(err);
  }

  private onLine(text: string): void {
    const msg = decodeIncoming(text, 512);
    if (msg.kind === 'notification') {
      for (const h of this.notificationHandlers) {
        try {
          h(msg.method, msg.params);
        } catch (e) {
          // A handler's bug must not lose the rest of this chunk's replies; surface it anyway.
          setImmediate(() => {
            throw e;
          });
        }
      }
      return;
    }
    if (msg.kind === 'other') return; // e.g. id null: a reply to nothing we can match
    const o = this.byId.get(msg.id);
    if (o === undefined) return;
    if (msg.kind === 'error') this.fail(o, fromWireError(msg.error));
    else this.succeed(o, msg.result);
  }
}

function unknownOutcome(method: string, why: string): HephError {
  return new HephError(
    'unavailable',
    `${why} after ${method} was sent; the outcome is unknown (it may or may not have been ` +
      `applied), so it was not sent again`,
    { method, outcome: 'unknown' },
  );
}
