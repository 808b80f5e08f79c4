// The hub store on PostgreSQL (ports/hub-store.ts), through pg (node-postgres): any number of hub
// processes may serve one database; correctness comes from the database, never from one
// process. The statements are in postgres-log.ts (the op-log) and postgres-control.ts (accounts,
// claim); the schema and its checks in postgres-schema.ts; wake-ups in postgres-wake.ts.
// Guarantees, beyond the port's:
// - commit-ordered stamps: a push transaction (READ COMMITTED, never higher, so a second writer
//   waits rather than fails) first locks its owners' counter rows (heph.heads, SELECT … FOR
//   UPDATE, in owner order so two groups cannot deadlock), and only then reads which of its ops
//   are stored and stamps the new ones head + 1, head + 2, …; the next writer of that owner gets
//   the row after this commit, so no snapshot can show stamp s + 1 without s;
// - every statement on an owner's log runs in a transaction whose owner is set with
//   set_config('heph.owner', …, true) and names that owner too; row-level security (forced, so it
//   holds for the table owner) hides every other owner's rows (postgres-schema.ts);
// - a commit wakes this process's waits at once and other processes' through NOTIFY after the
//   commit (postgres-wake.ts); a waiting pull holds no connection;
// - an unreachable database makes calls reject with `unavailable` (503), and the pool and the
//   listening connection recover on their own when it is back.

import pg from 'pg';
import { HephError, invalid } from '../../core/errors.js';
import type { Clock } from '../../ports/clock.js';
import type {
  AppendRequest,
  AppendResult,
  CredentialIssue,
  DeviceFacts,
  DeviceRecord,
  DeviceTouch,
  EnrolmentExchange,
  HubStore,
  NewEnrolment,
  LogPage,
  OwnerId,
  OwnerIdentity,
  ReadQuery,
  WaitEnd,
} from '../../ports/hub-store.js';
import { silentLogger, type Logger } from '../../ports/logger.js';
import { translatePgError } from './postgres-errors.js';
import { checkRole, migrateHubSchema, OWNER_SETTING } from './postgres-schema.js';
import {
  CHANNEL,
  Listener,
  Notifier,
  parsePayload,
  Waiters,
  type ListenConnection,
} from './postgres-wake.js';
import { checkOps, ownNewest, revokedRefusals, reusedId, type CheckedOp } from './rules.js';
import { TokenRefused } from './device-rows.js';
import { pgDevices, pushedStatement, revokedOriginsQuery } from './postgres-devices.js';
import {
  checkIdentity,
  findOwnerIn,
  ownerIn,
  readClaim,
  readStoreId,
  setClaimIn,
} from './postgres-control.js';
import { beginFor, dedupe, insertOps, noOwner, ownerLiteral, readPage } from './postgres-log.js';

const BEGIN = 'BEGIN ISOLATION LEVEL READ COMMITTED';

export const DEFAULT_POOL_SIZE = 10;
export const MAX_POOL_SIZE = 1000;
const DEFAULT_POLL_MS = 1000;

export interface PostgresHubStoreOptions {
  /** postgres://… or postgresql://… (sslmode and the other libpq parameters pg knows). */
  url: string;
  /** Most connections this process opens for requests (default 10), besides its listener. */
  poolSize?: number;
  /** Safety poll while pulls wait (default 1000 ms, at most 2000). */
  pollMs?: number;
}

export interface PostgresHubStoreDeps {
  clock: Clock;
  logger?: Logger;
  /** Testing aid: called inside an append's transaction after half of its first push's ops
   *  are written (the hub.push.mid_batch failpoint kills the process there). */
  midAppend?: () => void;
  /** Testing aid: awaited in an append's transaction after its ops are written, before COMMIT
   *  (the skip detector delays commits with it). */
  beforeCommit?: () => Promise<void>;
}

/** The URL without its password, for logs and messages. */
export function describePgUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    u.searchParams.delete('password');
    return `postgres ${u.toString().replace(/^postgres(ql)?:\/\//, '')}`;
  } catch {
    return 'postgres (an unparsable URL)';
  }
}

/** Whether the URL carries a password (user:password@, or ?password=). */
export function pgUrlHasPassword(url: string): boolean {
  try {
    const u = new URL(url);
    return u.password !== '' || u.searchParams.has('password');
  } catch {
    return false;
  }
}

/** What to say when a password is on a command line, where every user can read it. */
export function passwordOnCommandLine(flag: string, env: string): string {
  return (
    `${flag} holds a password, which every user of this machine can read in the process list: ` +
    `give the URL in ${env} or the config file, or the password in PGPASSWORD`
  );
}

/** Refuses what is not a postgres:// URL, saying why (never echoing a password). */
export function checkPgUrl(url: string, field = 'hub-store'): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid(field, 'must be a postgres://USER@HOST/DATABASE URL');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw invalid(field, `must be a postgres:// URL (got a ${u.protocol}// one)`);
  }
  if (u.pathname.replace(/^\//, '') === '') {
    throw invalid(field, 'must name a database: postgres://USER@HOST/DATABASE');
  }
}

export class PostgresHubStore implements HubStore {
  readonly description: string;
  private readonly waiters = new Waiters();
  private readonly notifier: Notifier;
  private listener: Listener | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly o: PostgresHubStoreOptions,
    private readonly deps: PostgresHubStoreDeps,
  ) {
    this.description = describePgUrl(o.url);
    this.notifier = new Notifier(async (payload) => {
      await this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
    }, this.logger);
  }

  /** Connects, checks the role, creates or migrates the schema and starts listening. */
  static async open(
    o: PostgresHubStoreOptions,
    deps: PostgresHubStoreDeps,
  ): Promise<PostgresHubStore> {
    checkPgUrl(o.url);
    const poolSize = o.poolSize ?? DEFAULT_POOL_SIZE;
    if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > MAX_POOL_SIZE) {
      throw invalid('hub-store-pool', `must be 1-${MAX_POOL_SIZE}`);
    }
    const pollMs = o.pollMs ?? DEFAULT_POLL_MS;
    if (!(pollMs > 0 && pollMs <= 2000)) throw new TypeError('pollMs must be 1-2000');
    const pool = new pg.Pool({
      connectionString: o.url,
      max: poolSize,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'hephd',
    });
    const logger = deps.logger ?? silentLogger;
    // An idle connection that breaks must not take the process down; the next call reconnects.
    pool.on('error', (e) => logger.warn({ err: e.message }, 'a PostgreSQL connection broke'));
    const store = new PostgresHubStore(pool, { ...o, pollMs }, deps);
    try {
      const c = await pool.connect().catch((e: unknown) => {
        throw translatePgError(e, `cannot connect to ${store.description}`);
      });
      try {
        await checkRole(c);
        const from = await migrateHubSchema(c, deps.clock.now());
        if (from === 0) logger.info({ store: store.description }, 'created the hub schema');
      } finally {
        c.release();
      }
      await store.listen(pollMs);
      return store;
    } catch (e) {
      await store.close();
      throw translatePgError(e, `cannot open the hub store ${store.description}`);
    }
  }

  private get logger(): Logger {
    return this.deps.logger ?? silentLogger;
  }

  private async listen(pollMs: number): Promise<void> {
    const url = this.o.url;
    this.listener = new Listener({
      pollMs,
      logger: this.logger,
      waiting: () => this.waiters.size > 0,
      onNotify: (payload) => {
        for (const [owner, head] of parsePayload(payload)) this.waiters.advance(owner, head);
      },
      check: () => this.checkWaited(),
      open: (): ListenConnection => {
        // TCP keep-alive finds a connection the network dropped without a word; until it does,
        // the safety poll covers what it would have heard.
        const client = new pg.Client({
          connectionString: url,
          application_name: 'hephd-listen',
          connectionTimeoutMillis: 5000,
          keepAlive: true,
        });
        return {
          async connect(onNotify, onLost) {
            client.on('notification', (m) => {
              if (m.channel === CHANNEL && m.payload !== undefined) onNotify(m.payload);
            });
            client.on('error', onLost);
            client.on('end', () => onLost(new Error('the connection ended')));
            await client.connect();
            await client.query(`LISTEN ${CHANNEL}`);
          },
          close: () => client.end(),
        };
      },
    });
    await this.listener.start();
  }

  /** Reads the head of every owner someone waits on, and wakes the waits behind it. */
  private async checkWaited(): Promise<void> {
    const owners = this.waiters.owners();
    if (owners.length === 0) return;
    const r = await this.pool.query<{ owner: string; stamp: string }>(
      'SELECT owner, stamp FROM heph.heads WHERE owner = ANY($1::bigint[])',
      [owners],
    );
    for (const row of r.rows) this.waiters.advance(Number(row.owner), Number(row.stamp));
  }

  private live(): void {
    if (this.closed) throw new HephError('unavailable', 'the hub store is closed');
  }

  /** Runs `fn` on a pooled connection; errors come out translated, and a connection that
   *  failed is not reused. */
  private async withClient<T>(what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    this.live();
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw translatePgError(e, what);
    }
    let broken: Error | undefined;
    // A connection lost between two queries is reported as an 'error' event on the client,
    // which the pool listens for only while the client is idle: unheard, it would crash the hub.
    const lost = (e: Error): void => {
      broken ??= e;
    };
    c.on('error', lost);
    try {
      return await fn(c);
    } catch (e) {
      if (!(e instanceof HephError)) broken ??= e instanceof Error ? e : new Error(String(e));
      throw translatePgError(e, what);
    } finally {
      c.off('error', lost);
      c.release(broken);
    }
  }

  /** Runs `fn` in a transaction begun by `begin` (simple-protocol text); rolls back on error. */
  private transaction<T>(
    what: string,
    begin: string,
    fn: (c: pg.PoolClient, begun: pg.QueryResult[]) => Promise<T>,
    beforeCommit?: () => Promise<void>,
    /** Statements sent with the COMMIT, in its round trip (simple-protocol text). */
    withCommit?: () => string,
  ): Promise<T> {
    return this.withClient(what, async (c) => {
      const begun = (await c.query(begin)) as unknown as pg.QueryResult | pg.QueryResult[];
      try {
        const out = await fn(c, Array.isArray(begun) ? begun : [begun]);
        await beforeCommit?.();
        await c.query(`${withCommit?.() ?? ''}COMMIT`);
        return out;
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  async append(pushes: readonly AppendRequest[]): Promise<AppendResult[]> {
    if (pushes.length === 0) return [];
    const now = this.deps.clock.now();
    const results: AppendResult[] = [];
    const fresh: CheckedOp[][] = [];
    for (const p of pushes) {
      const r: AppendResult = { accepted: [], duplicates: 0, refused: [] };
      const { ok, refused } = checkOps(p.ops, now, p.maxDriftMs);
      fresh.push(dedupe(ok, r));
      r.refused.push(...refused);
      results.push(r);
    }
    const owners = [...new Set(pushes.map((p) => p.owner))].sort((a, b) => a - b);
    const list = owners.map(ownerLiteral).join(',');
    const first = pushes[0]!.owner;
    const origins = [...new Set(fresh.flatMap((ops) => ops.map((op) => op.origin)))];
    // One round trip: begin, set the first push's owner, lock every owner's counter row, then
    // (after the locks, so after any revocation that held one) read which origins are revoked.
    const begin =
      beginFor(first) +
      ` SELECT owner, stamp FROM heph.heads WHERE owner IN (${list}) ORDER BY owner FOR UPDATE;` +
      ` ${revokedOriginsQuery(list, origins)}`;
    let counters = '';
    const heads = await this.transaction(
      'storing pushed ops failed',
      begin,
      async (c, begun) => {
        const locked = begun[begun.length - 2]!.rows as { owner: string; stamp: string }[];
        const revoked = new Set(
          (begun[begun.length - 1]!.rows as { owner: string; replica: string }[]).map(
            (r) => `${Number(r.owner)} ${r.replica}`,
          ),
        );
        for (let i = 0; i < pushes.length; i++) {
          const owner = pushes[i]!.owner;
          const split = revokedRefusals(fresh[i]!, (o) => revoked.has(`${owner} ${o}`));
          fresh[i] = split.ok;
          results[i]!.refused.push(...split.revoked);
        }
        const head = new Map(locked.map((r) => [Number(r.owner), Number(r.stamp)]));
        for (const o of owners) if (!head.has(o)) throw noOwner(o);
        let current = first;
        for (let i = 0; i < pushes.length; i++) {
          const owner = pushes[i]!.owner;
          if (owner !== current) {
            await c.query(`SELECT set_config('${OWNER_SETTING}', '${ownerLiteral(owner)}', true)`);
            current = owner;
          }
          const ops = fresh[i]!;
          const mid = i === 0 && this.deps.midAppend ? Math.ceil(ops.length / 2) : 0;
          const parts = mid > 0 ? [ops.slice(0, mid), ops.slice(mid)] : [ops];
          for (const [n, part] of parts.entries()) {
            if (n === 1) this.deps.midAppend?.();
            const h = head.get(owner)!;
            const existing = await insertOps(c, owner, h, part);
            const r = results[i]!;
            for (const op of part) {
              const stored = existing.get(op.id);
              if (stored === undefined) r.accepted.push(op.id);
              else if (stored === op.text) r.duplicates++;
              else r.refused.push(reusedId(op.id, op.origin));
            }
            head.set(owner, h + part.length - existing.size);
          }
          const p = pushes[i]!;
          if (p.replica !== undefined && p.ops.length > 0) {
            counters += pushedStatement(
              ownerLiteral(owner),
              p.replica,
              results[i]!.accepted.length,
              ownNewest(ops, p.replica),
              p.pendingReported,
              now,
            );
          }
        }
        return head;
      },
      this.deps.beforeCommit,
      () => counters,
    );
    for (const [owner, head] of heads) {
      this.waiters.advance(owner, head);
      this.notifier.note(owner, head);
    }
    for (const r of results) {
      for (const x of r.refused) {
        if (x.code === 'op_id_reused') {
          this.logger.warn({ op: x.id, origin: x.origin }, 'refused an op that reuses an id');
        }
      }
    }
    return results;
  }

  async read(owner: OwnerId, q: ReadQuery): Promise<LogPage> {
    const page = readPage(owner, q);
    return this.withClient('reading the op-log failed', page);
  }

  async head(owner: OwnerId): Promise<number> {
    const o = ownerLiteral(owner);
    return this.withClient('reading the op-log failed', async (c) => {
      const r = await c.query<{ stamp: string }>(`SELECT stamp FROM heph.heads WHERE owner = ${o}`);
      if (r.rows.length === 0) throw noOwner(owner);
      return Number(r.rows[0]!.stamp);
    });
  }

  async waitForAppend(
    owner: OwnerId,
    after: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<WaitEnd> {
    if (this.closed) return 'closed';
    // Registered before the head is read: a commit in between wakes it.
    const w = this.waiters.add(owner, after, timeoutMs, signal);
    let head: number;
    try {
      head = await this.head(owner);
    } catch (e) {
      w.end('aborted');
      if (this.closed) return 'closed';
      throw e;
    }
    if (head > after) w.end('appended');
    return w.done;
  }

  /** Waits in progress on an owner's log (for tests and diagnostics). */
  waiting(owner: OwnerId): number {
    return this.waiters.count(owner);
  }

  /** Testing aid: drops the listening connection as if the network had (it reconnects). */
  dropListener(): void {
    this.listener?.drop();
  }

  /** Times the listening connection was made again (for tests and diagnostics). */
  get listenerReconnects(): number {
    return this.listener?.reconnects ?? 0;
  }

  async ownerOf(identity: OwnerIdentity): Promise<OwnerId> {
    checkIdentity(identity);
    const now = this.deps.clock.now();
    return this.withClient('recording an owner failed', (c) => ownerIn(c, identity, now));
  }

  async findOwner(identity: OwnerIdentity): Promise<OwnerId | undefined> {
    checkIdentity(identity);
    return this.withClient('reading owners failed', (c) => findOwnerIn(c, identity));
  }

  async claim(): Promise<OwnerIdentity | undefined> {
    return this.withClient('reading the claim failed', (c) => readClaim(c));
  }

  async setClaim(
    identity: OwnerIdentity,
    expected: OwnerIdentity | undefined,
  ): Promise<OwnerIdentity> {
    checkIdentity(identity);
    const now = this.deps.clock.now();
    return this.withClient('recording the claim failed', (c) =>
      setClaimIn(c, identity, expected, now),
    );
  }

  async storeId(): Promise<string> {
    return this.withClient('reading the store id failed', readStoreId);
  }

  listDevices(owner: OwnerId): Promise<DeviceRecord[]> {
    return this.withClient('reading devices failed', (c) => pgDevices.list(c, owner));
  }

  findDevice(owner: OwnerId, idOrReplica: string): Promise<DeviceRecord | undefined> {
    return this.withClient('reading devices failed', (c) => pgDevices.find(c, owner, idOrReplica));
  }

  registerDevice(
    owner: OwnerId,
    replica: string,
    fresh: { id: string; name: string; facts: DeviceFacts },
    now: number,
  ): Promise<DeviceRecord> {
    return this.withClient('recording a device failed', (c) =>
      pgDevices.register(c, owner, replica, fresh, now),
    );
  }

  touchDevice(touch: DeviceTouch): Promise<void> {
    return this.withClient('recording a device failed', (c) => pgDevices.touch(c, touch));
  }

  renameDevice(owner: OwnerId, id: string, name: string): Promise<DeviceRecord> {
    return this.transaction('renaming a device failed', BEGIN, (c) =>
      pgDevices.rename(c, owner, id, name),
    );
  }

  revokeDevice(owner: OwnerId, id: string, now: number): Promise<DeviceRecord> {
    return this.transaction('revoking a device failed', BEGIN, (c) =>
      pgDevices.revoke(c, owner, id, now),
    );
  }

  createEnrolment(e: NewEnrolment, now: number): Promise<DeviceRecord> {
    return this.transaction('recording an enrolment failed', BEGIN, (c) =>
      pgDevices.createEnrolment(c, e, now),
    );
  }

  regenerateEnrolment(
    owner: OwnerId,
    id: string,
    tokenHash: string,
    expiresMs: number,
  ): Promise<DeviceRecord> {
    const now = this.deps.clock.now();
    return this.transaction('recording an enrolment failed', BEGIN, (c) =>
      pgDevices.regenerate(c, owner, id, tokenHash, expiresMs, now),
    );
  }

  async exchangeEnrolment(x: EnrolmentExchange, now: number): Promise<DeviceRecord | undefined> {
    try {
      return await this.transaction('exchanging an enrolment token failed', BEGIN, (c) =>
        pgDevices.exchange(c, x, now),
      );
    } catch (e) {
      if (e instanceof TokenRefused) return undefined;
      throw e;
    }
  }

  issueCredential(x: CredentialIssue, now: number): Promise<DeviceRecord> {
    return this.transaction('issuing a credential failed', BEGIN, (c) =>
      pgDevices.issue(c, x, now),
    );
  }

  deviceByCredential(credentialHash: string): Promise<DeviceRecord | undefined> {
    return this.withClient('reading a credential failed', (c) =>
      pgDevices.byCredential(c, credentialHash),
    );
  }

  rotateCredential(oldHash: string, newHash: string, now: number): Promise<boolean> {
    return this.transaction('rotating a credential failed', BEGIN, (c) =>
      pgDevices.rotate(c, oldHash, newHash, now),
    );
  }

  async ping(): Promise<void> {
    await this.withClient(this.description, async (c) => {
      await c.query('SELECT 1');
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.waiters.close();
      await this.listener?.stop();
      await this.pool.end().catch(() => undefined);
      this.logger.debug({ store: this.description }, 'hub store closed');
    })();
    return this.closing;
  }
}
