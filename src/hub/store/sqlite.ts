// The hub store on SQLite (ports/hub-store.ts): one file, hub.db, for every owner's op-log and
// the control plane, opened by one process (SQLite's exclusive lock) with synchronous=FULL, so a
// resolved append is on disk. Guarantees, beyond the port's:
// - a group of pushes is one SQLite transaction; each owner's stamps are given out in it as
//   head + 1, head + 2, … (the process holds the only writer, so commit order is stamp order and
//   new stamps leave no gaps), and heads move in memory only after the commit;
// - a page is read in one synchronous step, so it never sees half of an append;
// - waits are woken in this process after each commit (nothing else can write the file).

import Database from 'better-sqlite3';
import { HephError, invalid } from '../../core/errors.js';
import type { Clock } from '../../ports/clock.js';
import {
  type AppendRequest,
  type AppendResult,
  type CredentialIssue,
  type DeviceFacts,
  type DeviceRecord,
  type DeviceTouch,
  type EnrolmentExchange,
  type HubStore,
  type NewEnrolment,
  type LogPage,
  type OwnerId,
  type OwnerIdentity,
  type ReadQuery,
  type WaitEnd,
} from '../../ports/hub-store.js';
import { silentLogger, type Logger } from '../../ports/logger.js';
import { lockExclusively, translateSqliteError } from '../../store/sqlite-errors.js';
import { CommitNotifier } from '../notifier.js';
import {
  checkOps,
  cursorAhead,
  revokedRefusals,
  reusedId,
  ownNewest,
  type CheckedOp,
} from './rules.js';
import { TokenRefused } from './device-rows.js';
import { prepareDevices, sqliteDevices } from './sqlite-devices.js';
import { HUB_PAGE_SIZE, migrateHub } from './sqlite-schema.js';

export interface SqliteHubStoreOptions {
  /** The hub store file (<data dir>/hub.db). */
  path: string;
}

export interface SqliteHubStoreDeps {
  clock: Clock;
  logger?: Logger;
  /** Testing aid: called inside an append's transaction after half of its first push's ops
   *  are written (the hub.push.mid_batch failpoint kills the process there). */
  midAppend?: () => void;
}

/** Ops written by one INSERT statement when a push has that many (see insertOps). */
const INSERT_ROWS = 100;

/** Largest page a read may ask for. */
const MAX_READ_LIMIT = 100_000;

/** An owner's log is the table's keys in (opKey(owner, 0), opKey(owner, MAX_STAMP)]. */
const STAMP_SPAN = 2 ** 33;
/** The most stamps one owner's log holds (8.6 billion), and the most owners (1,048,575): the key
 *  stays an exact JavaScript number. */
export const MAX_STAMP = STAMP_SPAN - 1;
export const MAX_OWNER = 2 ** 20 - 1;

/** The ops table's key of an owner's stamp. */
export function opKey(owner: OwnerId, stamp: number): number {
  return owner * STAMP_SPAN + stamp;
}

function prepare(db: Database.Database) {
  const log = 'key > ? AND key <= ?';
  return {
    insertRun: db.prepare(
      `INSERT INTO ops (key, owner, id, op) VALUES ${Array<string>(INSERT_ROWS)
        .fill('(?, ?, ?, ?)')
        .join(', ')}`,
    ),
    insert: db.prepare(
      'INSERT INTO ops (key, owner, id, op) VALUES (?, ?, ?, ?) ON CONFLICT (owner, id) DO NOTHING',
    ),
    stored: db.prepare('SELECT op FROM ops WHERE owner = ? AND id = ?').pluck(),
    head: db.prepare(`SELECT max(key) FROM ops WHERE ${log}`).pluck(),
    page: db.prepare(`SELECT key, op FROM ops WHERE ${log} ORDER BY key LIMIT ?`).raw(),
    pageSkipping: db
      .prepare(
        `SELECT key, op FROM ops WHERE ${log} AND NOT (substr(id, 19) = ? AND id <= ?)
         ORDER BY key LIMIT ?`,
      )
      .raw(),
    countSkipped: db
      .prepare(`SELECT count(*) FROM ops WHERE ${log} AND substr(id, 19) = ? AND id <= ?`)
      .pluck(),
    gapsAfter: db.prepare('SELECT count(*) FROM stamp_gaps WHERE owner = ? AND stamp > ?').pluck(),
    ownerExists: db.prepare('SELECT 1 FROM owners WHERE id = ?').pluck(),
    findOwner: db.prepare('SELECT id FROM owners WHERE iss = ? AND sub = ?').pluck(),
    addOwner: db.prepare(
      'INSERT INTO owners (iss, sub, created_ms) VALUES (?, ?, ?) ON CONFLICT (iss, sub) DO NOTHING',
    ),
    getClaim: db.prepare('SELECT iss, sub FROM claim WHERE one = 1'),
    putClaim: db.prepare(
      `INSERT INTO claim (one, iss, sub, claimed_ms) VALUES (1, ?, ?, ?)
       ON CONFLICT (one) DO UPDATE SET iss = excluded.iss, sub = excluded.sub,
         claimed_ms = excluded.claimed_ms`,
    ),
    getMeta: db.prepare('SELECT value FROM hub_meta WHERE key = ?').pluck(),
  };
}

function logFull(owner: OwnerId): HephError {
  return new HephError('storage', `owner ${owner}'s log holds its most ops (${MAX_STAMP})`);
}

function sameIdentity(a: OwnerIdentity | undefined, b: OwnerIdentity | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.iss === b.iss && a.sub === b.sub;
}

function checkIdentity(identity: OwnerIdentity): void {
  for (const k of ['iss', 'sub'] as const) {
    const v: unknown = identity[k];
    if (typeof v !== 'string' || v === '' || v.length > 1024) {
      throw invalid(k, 'must be a non-empty string of at most 1024 characters');
    }
  }
}

export class SqliteHubStore implements HubStore {
  readonly description: string;
  private readonly stmt: ReturnType<typeof prepare>;
  /** Each known owner's newest stamp (owners not yet used in this process are absent). */
  private readonly heads = new Map<OwnerId, number>();
  private readonly notifiers = new Map<OwnerId, CommitNotifier>();
  private readonly runTransaction: <T>(fn: () => T) => T;
  private readonly devices: ReturnType<typeof sqliteDevices>;
  private closed = false;
  /** insertRun's parameters, reused (cleared after each run). */
  private readonly runParams = new Array<number | string | null>(4 * INSERT_ROWS).fill(null);

  private constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    private readonly deps: SqliteHubStoreDeps,
  ) {
    this.description = `sqlite ${path}`;
    this.stmt = prepare(db);
    const tx = db.transaction((fn: () => unknown) => fn());
    this.runTransaction = <T>(fn: () => T) => tx(fn) as T;
    this.devices = sqliteDevices(prepareDevices(db), this.runTransaction);
  }

  /** Opens (creating if need be) the hub store at `path`; throws already_running when another
   *  process has it open. */
  static open(options: SqliteHubStoreOptions, deps: SqliteHubStoreDeps): SqliteHubStore {
    let db: Database.Database | undefined;
    try {
      db = new Database(options.path);
      // Before the lock's transaction, after which a new file's page size is fixed.
      db.pragma(`page_size = ${HUB_PAGE_SIZE}`);
      lockExclusively(db, options.path, 'hub store');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('cache_size = -32768');
      // Checkpoints copy the WAL into the file and, at FULL, fsync it: every ~40 MB of log
      // rather than every ~4 MB, so a page rewritten by successive pushes is copied once.
      db.pragma('wal_autocheckpoint = 10000');
      migrateHub(db, options.path, deps.clock.now());
      return new SqliteHubStore(db, options.path, deps);
    } catch (e) {
      db?.close();
      throw translateSqliteError(e, `cannot open hub store ${options.path}`);
    }
  }

  private get logger(): Logger {
    return this.deps.logger ?? silentLogger;
  }

  private live(): void {
    if (this.closed) throw new HephError('unavailable', 'the hub store is closed');
  }

  private run<T>(what: string, fn: () => T): Promise<T> {
    try {
      this.live();
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(translateSqliteError(e, what));
    }
  }

  private headOf(owner: OwnerId): number {
    const known = this.heads.get(owner);
    if (known !== undefined) return known;
    if (!Number.isSafeInteger(owner) || this.stmt.ownerExists.get(owner) === undefined) {
      throw new HephError('not_found', `the hub store has no owner ${String(owner)}`, {
        owner: String(owner),
      });
    }
    const key = this.stmt.head.get(opKey(owner, 0), opKey(owner, MAX_STAMP)) as number | null;
    const head = key === null ? 0 : key - opKey(owner, 0);
    this.heads.set(owner, head);
    return head;
  }

  private notifier(owner: OwnerId): CommitNotifier {
    let n = this.notifiers.get(owner);
    if (n === undefined) {
      n = new CommitNotifier();
      if (this.closed) n.close();
      this.notifiers.set(owner, n);
    }
    return n;
  }

  append(pushes: readonly AppendRequest[]): Promise<AppendResult[]> {
    return this.run('storing pushed ops failed', () => {
      const now = this.deps.clock.now();
      const checked = pushes.map((p) => checkOps(p.ops, now, p.maxDriftMs));
      const heads = new Map<OwnerId, number>();
      for (const p of pushes) heads.set(p.owner, this.headOf(p.owner));
      const results = this.runTransaction(() =>
        pushes.map((p, i): AppendResult => {
          const result: AppendResult = { accepted: [], duplicates: 0, refused: [] };
          const { ok: checkedOk, refused } = checked[i]!;
          // Ops of a revoked device's replica: refused, read in this transaction.
          const { ok, revoked } = revokedRefusals(checkedOk, (origin) =>
            this.devices.revokedOrigin(p.owner, origin),
          );
          refused.push(...revoked);
          const half = i === 0 && this.deps.midAppend ? Math.ceil(ok.length / 2) : -1;
          const head = this.insertOps(p.owner, heads.get(p.owner)!, ok, half, result);
          heads.set(p.owner, head);
          result.refused.push(...refused);
          if (p.replica !== undefined && p.ops.length > 0) {
            const newest = ownNewest(ok, p.replica);
            this.devices.pushed(
              p.owner,
              p.replica,
              result.accepted.length,
              newest,
              p.pendingReported,
              now,
            );
          }
          return result;
        }),
      );
      for (const [owner, head] of heads) {
        if (head > this.heads.get(owner)!) {
          this.heads.set(owner, head);
          this.notifiers.get(owner)?.notify();
        }
      }
      for (const r of results) {
        for (const x of r.refused) {
          if (x.code === 'op_id_reused') {
            this.logger.warn({ op: x.id, origin: x.origin }, 'refused an op that reuses an id');
          }
        }
      }
      return results;
    });
  }

  /**
   * Writes a push's checked ops after stamp `head` (inside the append's transaction); returns
   * the new head. Runs of INSERT_ROWS ops go in one statement without ON CONFLICT: when one of
   * them is already stored, SQLite aborts that statement alone (its rows are undone, the
   * transaction goes on) and the run is written again op by op, so a stamp is given only to an
   * op that is stored. `half`: the index before which the midAppend aid is called.
   */
  private insertOps(
    owner: OwnerId,
    head: number,
    ops: readonly CheckedOp[],
    half: number,
    result: AppendResult,
  ): number {
    const base = opKey(owner, 0);
    let n = 0;
    while (n < ops.length) {
      if (n === half) this.deps.midAppend?.();
      const end = half > n ? half : ops.length;
      if (end - n >= INSERT_ROWS && head + INSERT_ROWS <= MAX_STAMP) {
        if (this.insertRun(base + head, owner, ops, n)) {
          for (let j = n; j < n + INSERT_ROWS; j++) result.accepted.push(ops[j]!.id);
          head += INSERT_ROWS;
          n += INSERT_ROWS;
          continue;
        }
      }
      // Op by op: the run's end (or the whole run, when an op of it was already stored).
      const to = Math.min(end, n + INSERT_ROWS);
      for (; n < to; n++) {
        const op = ops[n]!;
        if (head >= MAX_STAMP) throw logFull(owner);
        if (this.stmt.insert.run(base + head + 1, owner, op.id, op.text).changes === 1) {
          head++;
          result.accepted.push(op.id);
          continue;
        }
        const stored = this.stmt.stored.get(owner, op.id) as string;
        if (stored === op.text) result.duplicates++;
        else result.refused.push(reusedId(op.id, op.origin));
      }
    }
    return head;
  }

  /** Inserts ops[from, from + INSERT_ROWS) stamped after key `after`; false, with nothing
   *  written, when one of their ids is already in the owner's log (or twice among them). */
  private insertRun(
    after: number,
    owner: OwnerId,
    ops: readonly CheckedOp[],
    from: number,
  ): boolean {
    const params = this.runParams;
    for (let j = 0; j < INSERT_ROWS; j++) {
      const op = ops[from + j]!;
      params[4 * j] = after + j + 1;
      params[4 * j + 1] = owner;
      params[4 * j + 2] = op.id;
      params[4 * j + 3] = op.text;
    }
    try {
      this.stmt.insertRun.run(params);
      return true;
    } catch (e) {
      if ((e as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') return false;
      throw e;
    } finally {
      params.fill(null);
    }
  }

  read(owner: OwnerId, q: ReadQuery): Promise<LogPage> {
    return this.run('reading the op-log failed', () => {
      if (!Number.isSafeInteger(q.after) || q.after < 0) {
        throw invalid('after', 'must be a whole number');
      }
      if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_READ_LIMIT) {
        throw invalid('limit', `must be 1-${MAX_READ_LIMIT}`);
      }
      const head = this.headOf(owner);
      if (q.after > head) throw cursorAhead(q.after, head);
      const base = opKey(owner, 0);
      const from = base + q.after;
      const to = base + MAX_STAMP;
      const rows = (
        q.skip === undefined
          ? this.stmt.page.all(from, to, q.limit + 1)
          : this.stmt.pageSkipping.all(from, to, q.skip.origin, q.skip.upTo, q.limit + 1)
      ) as [number, string][];
      let take = Math.min(rows.length, q.limit);
      let chars = 0;
      for (let i = 0; i < take; i++) {
        chars += rows[i]![1].length;
        if (chars > q.maxChars && i > 0) take = i;
      }
      const more = rows.length > take;
      const ops = new Array<string>(take);
      for (let i = 0; i < take; i++) ops[i] = rows[i]![1];
      if (!more) return { ops, cursor: Math.max(q.after, head), more, remaining: 0 };
      const cursor = rows[take - 1]![0] - base;
      // Stamps are dense but for recorded gaps: what follows the cursor is a subtraction, less
      // the caller's own ops that will be skipped.
      let remaining = head - cursor - (this.stmt.gapsAfter.get(owner, cursor) as number);
      if (q.skip !== undefined) {
        remaining -= this.stmt.countSkipped.get(
          base + cursor,
          to,
          q.skip.origin,
          q.skip.upTo,
        ) as number;
      }
      return { ops, cursor, more, remaining };
    });
  }

  head(owner: OwnerId): Promise<number> {
    return this.run('reading the op-log failed', () => this.headOf(owner));
  }

  waitForAppend(
    owner: OwnerId,
    after: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<WaitEnd> {
    if (this.closed) return Promise.resolve('closed');
    let head: number;
    try {
      head = this.headOf(owner);
    } catch (e) {
      return Promise.reject(translateSqliteError(e, 'reading the op-log failed'));
    }
    if (head > after) return Promise.resolve('appended');
    // Checking the head and registering the wait happen in one synchronous step, so an append
    // cannot fall between them.
    return this.notifier(owner)
      .wait(timeoutMs, signal)
      .then((end) => (end === 'notified' ? 'appended' : end));
  }

  /** Waits in progress on an owner's log (for tests and diagnostics). */
  waiting(owner: OwnerId): number {
    return this.notifiers.get(owner)?.waiting ?? 0;
  }

  ownerOf(identity: OwnerIdentity): Promise<OwnerId> {
    return this.run('recording an owner failed', () => {
      checkIdentity(identity);
      const found = this.stmt.findOwner.get(identity.iss, identity.sub) as number | undefined;
      if (found !== undefined) return found;
      return this.runTransaction(() => {
        const added = this.stmt.addOwner.run(identity.iss, identity.sub, this.deps.clock.now());
        if (Number(added.lastInsertRowid) > MAX_OWNER) {
          throw new HephError('storage', `this hub store holds its most owners (${MAX_OWNER})`);
        }
        return this.stmt.findOwner.get(identity.iss, identity.sub) as number;
      });
    });
  }

  findOwner(identity: OwnerIdentity): Promise<OwnerId | undefined> {
    return this.run('reading owners failed', () => {
      checkIdentity(identity);
      return this.stmt.findOwner.get(identity.iss, identity.sub) as number | undefined;
    });
  }

  claim(): Promise<OwnerIdentity | undefined> {
    return this.run('reading the claim failed', () => this.readClaim());
  }

  private readClaim(): OwnerIdentity | undefined {
    const row = this.stmt.getClaim.get() as OwnerIdentity | undefined;
    return row === undefined ? undefined : { iss: row.iss, sub: row.sub };
  }

  setClaim(identity: OwnerIdentity, expected: OwnerIdentity | undefined): Promise<OwnerIdentity> {
    return this.run('recording the claim failed', () => {
      checkIdentity(identity);
      return this.runTransaction(() => {
        const now = this.readClaim();
        if (!sameIdentity(now, expected)) return now ?? identity;
        this.stmt.putClaim.run(identity.iss, identity.sub, this.deps.clock.now());
        return { iss: identity.iss, sub: identity.sub };
      });
    });
  }

  storeId(): Promise<string> {
    return this.run(
      'reading the store id failed',
      () => this.stmt.getMeta.get('store_id') as string,
    );
  }

  listDevices(owner: OwnerId): Promise<DeviceRecord[]> {
    return this.run('reading devices failed', () => this.devices.list(owner));
  }

  findDevice(owner: OwnerId, idOrReplica: string): Promise<DeviceRecord | undefined> {
    return this.run('reading devices failed', () => this.devices.find(owner, idOrReplica));
  }

  registerDevice(
    owner: OwnerId,
    replica: string,
    fresh: { id: string; name: string; facts: DeviceFacts },
    now: number,
  ): Promise<DeviceRecord> {
    return this.run('recording a device failed', () =>
      this.devices.register(owner, replica, fresh, now),
    );
  }

  touchDevice(touch: DeviceTouch): Promise<void> {
    return this.run('recording a device failed', () => this.devices.touch(touch));
  }

  renameDevice(owner: OwnerId, id: string, name: string): Promise<DeviceRecord> {
    return this.run('renaming a device failed', () => this.devices.rename(owner, id, name));
  }

  revokeDevice(owner: OwnerId, id: string, now: number): Promise<DeviceRecord> {
    return this.run('revoking a device failed', () => this.devices.revoke(owner, id, now));
  }

  createEnrolment(e: NewEnrolment, now: number): Promise<DeviceRecord> {
    return this.run('recording an enrolment failed', () => this.devices.createEnrolment(e, now));
  }

  regenerateEnrolment(
    owner: OwnerId,
    id: string,
    tokenHash: string,
    expiresMs: number,
  ): Promise<DeviceRecord> {
    return this.run('recording an enrolment failed', () =>
      this.devices.regenerate(owner, id, tokenHash, expiresMs, this.deps.clock.now()),
    );
  }

  exchangeEnrolment(x: EnrolmentExchange, now: number): Promise<DeviceRecord | undefined> {
    return this.run('exchanging an enrolment token failed', () => {
      try {
        return this.devices.exchange(x, now);
      } catch (e) {
        if (e instanceof TokenRefused) return undefined;
        throw e;
      }
    });
  }

  issueCredential(x: CredentialIssue, now: number): Promise<DeviceRecord> {
    return this.run('issuing a credential failed', () => this.devices.issue(x, now));
  }

  deviceByCredential(credentialHash: string): Promise<DeviceRecord | undefined> {
    return this.run('reading a credential failed', () => this.devices.byCredential(credentialHash));
  }

  rotateCredential(oldHash: string, newHash: string, now: number): Promise<boolean> {
    return this.run('rotating a credential failed', () =>
      this.devices.rotate(oldHash, newHash, now),
    );
  }

  ping(): Promise<void> {
    return this.run('the hub store does not answer', () => {
      this.db.prepare('SELECT 1').get();
    });
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const n of this.notifiers.values()) n.close();
      if (this.db.open) this.db.close();
      this.logger.debug({ path: this.path }, 'hub store closed');
    }
    return Promise.resolve();
  }
}
