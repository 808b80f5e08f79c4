// Wake-ups of long-polling pulls for the PostgreSQL hub store, across hub processes. Guarantees:
// - a wait is registered (owner, after) before its caller reads the head, so an append that
//   commits in between wakes it; it ends at the first of a head past `after` being learnt, its
//   timeout, its signal, or close(); an ended wait leaves no timer or listener behind;
// - heads are learnt from this process's own commits at once (advance()), from other processes'
//   through LISTEN on CHANNEL (their notifications are sent after commit, batched per event-loop
//   turn by Notifier), after every reconnect of the listening connection (every waited owner's
//   head is read again, so nothing said while it was away is missed) and by a safety poll every
//   pollMs while anyone waits (a lost notification costs at most one poll);
// - a wait holds no database connection: one listening connection per process serves them all.

import type { Logger } from '../../ports/logger.js';
import type { OwnerId, WaitEnd } from '../../ports/hub-store.js';

/** The channel commits are announced on; the payload is `owner:head,owner:head,…`. */
export const CHANNEL = 'heph_append';
/** PostgreSQL's limit on a notification payload is 8000 bytes. */
const MAX_PAYLOAD = 7900;

interface Waiter {
  after: number;
  finish: (end: WaitEnd) => void;
}

export class Waiters {
  private readonly byOwner = new Map<OwnerId, Set<Waiter>>();
  private closed = false;

  get size(): number {
    let n = 0;
    for (const s of this.byOwner.values()) n += s.size;
    return n;
  }

  count(owner: OwnerId): number {
    return this.byOwner.get(owner)?.size ?? 0;
  }

  owners(): OwnerId[] {
    return [...this.byOwner.keys()];
  }

  /** Registers a wait; `end` settles it early (the head was already past `after`, or an error). */
  add(
    owner: OwnerId,
    after: number,
    ms: number,
    signal: AbortSignal,
  ): { done: Promise<WaitEnd>; end(e: WaitEnd): void } {
    if (this.closed) return { done: Promise.resolve('closed'), end: () => undefined };
    if (signal.aborted) return { done: Promise.resolve('aborted'), end: () => undefined };
    let finish!: (end: WaitEnd) => void;
    const done = new Promise<WaitEnd>((resolve) => {
      let set = this.byOwner.get(owner);
      if (set === undefined) this.byOwner.set(owner, (set = new Set()));
      const own = set;
      const waiter: Waiter = {
        after,
        finish: (end) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          own.delete(waiter);
          if (own.size === 0 && this.byOwner.get(owner) === own) this.byOwner.delete(owner);
          resolve(end);
        },
      };
      const onAbort = (): void => waiter.finish('aborted');
      const timer = setTimeout(() => waiter.finish('timeout'), ms);
      signal.addEventListener('abort', onAbort, { once: true });
      own.add(waiter);
      finish = waiter.finish;
    });
    return { done, end: (e) => finish(e) };
  }

  /** The owner's log holds stamps up to `head`: wakes the waits that were behind it. */
  advance(owner: OwnerId, head: number): void {
    const set = this.byOwner.get(owner);
    if (set === undefined) return;
    for (const w of [...set]) if (head > w.after) w.finish('appended');
  }

  close(): void {
    this.closed = true;
    for (const set of [...this.byOwner.values()]) for (const w of [...set]) w.finish('closed');
  }
}

/** Parses a notification payload; ignores what is not `owner:head` pairs. */
export function parsePayload(payload: string): [OwnerId, number][] {
  const out: [OwnerId, number][] = [];
  for (const part of payload.split(',')) {
    const m = /^(\d{1,15}):(\d{1,15})$/.exec(part);
    if (m) out.push([Number(m[1]), Number(m[2])]);
  }
  return out;
}

/** Payloads announcing `heads`, each within PostgreSQL's size limit. */
export function payloads(heads: ReadonlyMap<OwnerId, number>): string[] {
  const out: string[] = [];
  let cur = '';
  for (const [owner, head] of heads) {
    const part = `${owner}:${head}`;
    if (cur !== '' && cur.length + 1 + part.length > MAX_PAYLOAD) {
      out.push(cur);
      cur = '';
    }
    cur = cur === '' ? part : `${cur},${part}`;
  }
  if (cur !== '') out.push(cur);
  return out;
}

/**
 * Announces commits to other processes: heads noted during one event-loop turn go out together,
 * after the commits that made them, in one NOTIFY. A failed NOTIFY is logged; the safety poll of
 * the other processes covers it.
 */
export class Notifier {
  private pending = new Map<OwnerId, number>();
  private scheduled = false;

  constructor(
    private readonly send: (payload: string) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  note(owner: OwnerId, head: number): void {
    if ((this.pending.get(owner) ?? -1) < head) this.pending.set(owner, head);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const heads = this.pending;
      this.pending = new Map();
      for (const p of payloads(heads)) {
        this.send(p).catch((e: unknown) => {
          this.logger.warn(
            { err: e instanceof Error ? e.message : String(e) },
            'could not announce a commit to other hub processes; their safety poll will see it',
          );
        });
      }
    });
  }
}

export interface ListenConnection {
  /** Resolves once LISTEN is in effect; `onNotify` gets each payload, `onLost` the first error or
   *  end of the connection. */
  connect(onNotify: (payload: string) => void, onLost: (e: unknown) => void): Promise<void>;
  close(): Promise<void>;
}

export interface ListenerOptions {
  open(): ListenConnection;
  /** Reads every waited owner's head and wakes the waits behind it. */
  check(): Promise<void>;
  onNotify(payload: string): void;
  logger: Logger;
  /** Safety poll period while anyone waits (at most 2000 ms). */
  pollMs: number;
  /** Whether anyone waits (the poll reads nothing otherwise). */
  waiting(): boolean;
}

/**
 * The process's listening connection: reconnects with backoff (100 ms doubling to 2 s) when it
 * is lost, and then checks every waited head; polls while anyone waits.
 */
export class Listener {
  private conn: ListenConnection | undefined;
  private retry: NodeJS.Timeout | undefined;
  private readonly poll: NodeJS.Timeout;
  private failures = 0;
  private stopped = false;
  private checking = false;
  /** Times the connection was made again after a loss (for tests and diagnostics). */
  reconnects = 0;

  constructor(private readonly o: ListenerOptions) {
    this.poll = setInterval(() => {
      if (this.o.waiting()) this.runCheck();
    }, o.pollMs);
    this.poll.unref();
  }

  /** Connects for the first time; rejects if that fails (the store does not open). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const conn = this.o.open();
    let lost = false;
    const onLost = (e: unknown): void => {
      if (lost) return;
      lost = true;
      if (this.conn === conn) this.conn = undefined;
      void conn.close().catch(() => undefined);
      if (this.stopped) return;
      this.o.logger.warn(
        { err: e instanceof Error ? e.message : String(e) },
        'lost the connection that hears of other hub processes’ commits; reconnecting',
      );
      this.schedule();
    };
    await conn.connect((p) => this.o.onNotify(p), onLost);
    if (this.stopped || lost) {
      await conn.close().catch(() => undefined);
      return;
    }
    this.conn = conn;
  }

  private schedule(): void {
    if (this.stopped || this.retry !== undefined) return;
    const wait = Math.min(2000, 100 * 2 ** this.failures);
    this.failures++;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect().then(
        () => {
          if (this.stopped) return;
          this.failures = 0;
          this.reconnects++;
          // Whatever was announced while the connection was away is found by reading the heads.
          this.runCheck();
        },
        () => this.schedule(),
      );
    }, wait);
    this.retry.unref();
  }

  private runCheck(): void {
    if (this.checking || this.stopped) return;
    this.checking = true;
    this.o
      .check()
      .catch((e: unknown) => {
        this.o.logger.debug(
          { err: e instanceof Error ? e.message : String(e) },
          'safety poll failed',
        );
      })
      .finally(() => {
        this.checking = false;
      });
  }

  /** Ends the connection as if it were lost (testing aid: the reconnect path). */
  drop(): void {
    const c = this.conn;
    this.conn = undefined;
    if (c !== undefined) {
      void c.close().catch(() => undefined);
      this.schedule();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    clearTimeout(this.retry);
    this.retry = undefined;
    const c = this.conn;
    this.conn = undefined;
    await c?.close().catch(() => undefined);
  }
}
