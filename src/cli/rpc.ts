// The CLI's JSON-RPC connection to hephd: one unix socket, requests pipelined and matched by id,
// notifications handed to listeners. Guarantees: a request is sent at most once (never retried;
// a connection lost before its reply rejects with 'unavailable' saying the outcome is unknown);
// errors from the daemon become HephErrors through the one wire table.
//
// Written apart from transport/socket-client.ts on purpose: that client reaches zod through
// rpc/dispatch.ts, which roughly doubles the start-up time of `heph next`. A CLI run makes a
// handful of calls and exits, so it needs none of that client's reconnect-and-retry machinery.

import * as net from 'node:net';
import { HephError } from '../core/errors.js';
import { fromWireError } from '../protocol/error-wire.js';

export type NotificationHandler = (method: string, params: unknown) => void;

export interface Connection {
  call(method: string, params?: Record<string, unknown>): Promise<unknown>;
  onNotification(handler: NotificationHandler): void;
  /** Resolves when the connection closes, for whatever reason. */
  readonly closed: Promise<void>;
  close(): void;
}

interface Pending {
  method: string;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export function notRunning(socketPath: string, why: string): HephError {
  return new HephError(
    'unavailable',
    `hephd is not running (${why} ${socketPath}); start it with \`heph daemon start\``,
    { path: socketPath },
  );
}

export function openConnection(socketPath: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    sock.once('connect', () => {
      sock.removeAllListeners('error');
      resolve(wrap(sock));
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      sock.destroy();
      if (e.code === 'ENOENT') reject(notRunning(socketPath, 'no socket at'));
      else if (e.code === 'ECONNREFUSED') reject(notRunning(socketPath, 'nothing is listening on'));
      else if (e.code === 'EACCES') {
        reject(new HephError('forbidden', `permission denied connecting to ${socketPath}`));
      } else {
        reject(
          new HephError('unavailable', `cannot connect to hephd at ${socketPath}: ${e.message}`),
        );
      }
    });
  });
}

function wrap(sock: net.Socket): Connection {
  const pending = new Map<number, Pending>();
  const handlers: NotificationHandler[] = [];
  let nextId = 1;
  let buf = '';
  let open = true;
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      onLine(line);
    }
  });
  sock.on('error', () => {}); // 'close' follows
  const closed = new Promise<void>((resolve) => {
    sock.on('close', () => {
      open = false;
      for (const p of pending.values()) {
        p.reject(
          new HephError(
            'unavailable',
            `the connection to hephd was lost after ${p.method} was sent; the outcome is unknown`,
            { method: p.method, outcome: 'unknown' },
          ),
        );
      }
      pending.clear();
      resolve();
    });
  });

  function onLine(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return;
    const m = msg as Record<string, unknown>;
    if (typeof m.method === 'string' && !('id' in m)) {
      for (const h of handlers) h(m.method, m.params);
      return;
    }
    if (typeof m.id !== 'number') return;
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    if ('error' in m) p.reject(fromWireError(m.error));
    else p.resolve(m.result);
  }

  return {
    call(method, params) {
      if (!open) return Promise.reject(new HephError('unavailable', 'the connection is closed'));
      const id = nextId++;
      const line = JSON.stringify({ jsonrpc: '2.0', method, ...(params && { params }), id });
      return new Promise((resolve, reject) => {
        pending.set(id, { method, resolve, reject });
        sock.write(line + '\n');
      });
    },
    onNotification(h) {
      handlers.push(h);
    },
    closed,
    close() {
      sock.end();
      sock.destroySoon();
    },
  };
}
