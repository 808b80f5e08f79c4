/* eslint-disable @typescript-eslint/no-explicit-any -- JSON-RPC replies are read loosely here */
// Real processes for adversarial sync tests: a hub (`hephd --mode server`) on a fixed loopback
// port that can be stopped, restarted and have its folder swapped for an older copy, and
// devices (`hephd --mode local`) that each reach the hub through their own TCP gate. A gate that
// is closed cuts every open connection and refuses new ones, which is what a laptop losing its
// network looks like to the daemon: "offline" in these tests is exactly that, never a flag.

import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { RpcClient } from '../../src/transport/socket-client.js';
import type { DaemonProcess, Daemons } from '../daemon/helpers.js';

/** A port that was free a moment ago (a restarted hub must come back on the same one). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A TCP proxy to 127.0.0.1:`to` that can be closed (every connection cut) and opened again. */
export class Gate {
  private open = true;
  private readonly socks = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(to: number): Promise<Gate> {
    const ref: { gate?: Gate } = {};
    const server = createServer((c) => ref.gate?.accept(c, to));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    ref.gate = new Gate(server, (server.address() as { port: number }).port);
    return ref.gate;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private accept(c: Socket, to: number): void {
    if (!this.open) {
      c.destroy();
      return;
    }
    const up = tcpConnect(to, '127.0.0.1');
    for (const s of [c, up]) {
      this.socks.add(s);
      s.on('close', () => this.socks.delete(s));
      s.on('error', () => {
        c.destroy();
        up.destroy();
      });
    }
    c.pipe(up);
    up.pipe(c);
  }

  /** Online (connections pass) or offline (open ones are cut, new ones refused). */
  set(online: boolean): void {
    this.open = online;
    if (!online) for (const s of this.socks) s.destroy();
  }

  async close(): Promise<void> {
    this.set(false);
    await new Promise((r) => this.server.close(r));
  }
}

export interface Status {
  digest: string;
  ops: number;
}

export interface SyncStatus {
  state: string;
  verdict: string;
  pending: { changes: number; ops: number };
}

/** A hub process on a fixed port, restartable, whose folder can be copied and put back. */
export class HubProc {
  proc: DaemonProcess | undefined;
  readonly dir: string;
  private constructor(
    private readonly h: Daemons,
    readonly port: number,
  ) {
    this.dir = h.dir();
  }

  static async start(h: Daemons): Promise<HubProc> {
    const hub = new HubProc(h, await freePort());
    await hub.restart();
    return hub;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the hub (again) and waits until both its socket and its HTTP port answer. */
  async restart(): Promise<void> {
    this.proc = await this.h.start({
      db: join(this.dir, 'hub.db'),
      socket: join(this.dir, 'h.sock'),
      args: ['--mode', 'server', '--http-addr', `127.0.0.1:${this.port}`],
    });
    for (let i = 0; ; i++) {
      const up = await fetch(`${this.url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) return;
      if (i > 400) throw new Error(`the hub at ${this.url} does not answer /healthz`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
    this.proc = undefined;
  }

  /** Copies the stopped hub's folder (every file of its stores) into `to`. */
  copyTo(to: string): void {
    if (this.proc) throw new Error('stop the hub before copying its folder');
    mkdirSync(to, { recursive: true });
    for (const f of readdirSync(this.dir)) {
      if (f.endsWith('.sock')) continue;
      cpSync(join(this.dir, f), join(to, f), { recursive: true });
    }
  }

  /** Replaces the stopped hub's folder with the copy in `from` (a restore from a backup). */
  restoreFrom(from: string): void {
    if (this.proc) throw new Error('stop the hub before restoring its folder');
    for (const f of readdirSync(this.dir)) rmSync(join(this.dir, f), { recursive: true });
    for (const f of readdirSync(from))
      cpSync(join(from, f), join(this.dir, f), { recursive: true });
  }

  async status(client: RpcClient): Promise<Status> {
    return (await client.call('status', { digest: true })) as Status;
  }
}

/** A device daemon behind its own gate. */
export interface Dev {
  name: string;
  gate: Gate;
  proc: DaemonProcess;
  c: RpcClient;
  call(method: string, params?: object): Promise<any>;
  online(on: boolean): void;
}

export async function startDev(
  h: Daemons,
  hub: HubProc,
  name: string,
  opts: { env?: Record<string, string>; db?: string } = {},
): Promise<Dev> {
  const gate = await Gate.start(hub.port);
  const dir = h.dir();
  const db = opts.db ?? join(dir, `${name}.db`);
  const proc = await h.start({
    db,
    socket: join(dir, `${name}.sock`),
    args: ['--mode', 'local', '--hub-url', gate.url, '--device-name', name],
    ...(opts.env && { env: opts.env }),
  });
  const c = await h.client(proc.socket);
  return {
    name,
    gate,
    proc,
    c,
    call: (method, params = {}) =>
      c.call(method, params as Record<string, unknown>) as Promise<any>,
    online: (on) => gate.set(on),
  };
}

/**
 * Brings every device online and syncs them all until every device and the hub show the same
 * digest over the same number of ops; then each device must say "in sync" with nothing pending.
 */
export async function converge(
  devs: readonly Dev[],
  hubClient: RpcClient,
  label: string,
): Promise<Status> {
  for (const d of devs) d.online(true);
  const deadline = Date.now() + 30_000;
  let last: Status[] = [];
  for (;;) {
    for (const d of devs) await d.call('sync.now').catch(() => undefined);
    last = (await Promise.all([
      hubClient.call('status', { digest: true }),
      ...devs.map((d) => d.call('status', { digest: true })),
    ])) as Status[];
    if (last.every((s) => s.digest === last[0]?.digest && s.ops === last[0]?.ops)) break;
    if (Date.now() > deadline)
      throw new Error(`${label}: no common digest: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const d of devs) {
    const st = (await d.call('sync.status')) as SyncStatus;
    if (st.state !== 'in_sync' || st.pending.ops !== 0) {
      throw new Error(`${label}: ${d.name} converged but says ${JSON.stringify(st)}`);
    }
  }
  return last[0] as Status;
}
