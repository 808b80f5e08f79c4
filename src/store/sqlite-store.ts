// The SQLite store: the op-log and everything materialized from it, on better-sqlite3.
// Guarantees:
// - every mutation appends its ops to `oplog` in the same transaction as its effect, and the
//   HLC high-water mark is persisted in that transaction too: as the log's highest op id when
//   the clock stands there (a local write), else in `meta` (open takes the larger of the two);
// - local writes and ops from other replicas go through one apply path (applyKnown), so the
//   materialized state is a function of the set of ops in the log, whatever the order;
// - an op whose id is already stored is a duplicate when its content matches, and is refused
//   (never applied) when it does not; a refused op changes nothing and does not move the clock;
// - dropping the materialized tables and replaying the log (rebuild) gives the same digest.
// Each node's registers live in its row (and in a write-through cache, dropped on rollback),
// so applying a field op costs one op-log insert and one row write; a batch of ops (a pulled
// page, a replay page, one createNode or updateNode call) writes each node's row once.
// Rows applyOps touches may stay pending across its transactions (many pulled pages write each
// node once): every method that reads or writes node rows, and `connection`, first writes them
// (catchUpRows). While any are pending, `meta` holds ROWS_PENDING_KEY (committed with the first
// transaction that left them, holding the seq of its first op), and open makes again the rows
// of every node an op from that seq on touched when it finds it (a crash lost them; remakeRows).
// A rollback while rows were pending loses them too: they are made again before the next read.
// A replay (rebuild, remakeRows) skips a logged op this version refuses, as the apply path did.
// A transaction nested in another joins it (no savepoint): an inner failure fails the outer.

import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { ulidFactory } from '../core/ulid-factory.js';
import { HephError, invalid, notFound } from '../core/errors.js';
import { isKnownField, TASK_FIELDS, validateFieldValue } from '../core/fields.js';
import {
  compareHlc,
  decodeHlc,
  encodeHlc,
  HlcClock,
  isOrigin,
  originOf,
  wallOf,
  type Hlc,
} from '../core/hlc.js';
import {
  isLinkType,
  isNodeId,
  isNodeKind,
  isSingleLinkType,
  isUlid,
  linkId,
  randomHex,
  type LinkType,
  type NodeKind,
  type Random,
} from '../core/ids.js';
import { canonicalJson, isPlainObject, type Json } from '../core/json.js';
import type { Splice } from '../core/text-diff.js';
import {
  applyAdd,
  applyRemove,
  decodeLinkSet,
  EMPTY_LINK,
  encodeLinkSet,
  isLive,
  type LinkSetState,
} from '../core/link-set.js';
import {
  changeOf,
  deviceNameProblem,
  interpretOp,
  type BodyOp,
  MAX_BODY_CHANGE_BYTES,
  MAX_PAYLOAD_BYTES,
  parseOp,
  type KnownOp,
  type Op,
} from '../core/op.js';
import { applyWrite, EMPTY_REGISTER, headIds, viewRegister } from '../core/register.js';
import { DeviceNames } from './device-names.js';
import {
  covers,
  parseVersion,
  union,
  versionIds,
  within,
  withOp,
  type Version,
} from '../core/version.js';
import type { Clock } from '../ports/clock.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type {
  ApplyOptions,
  ApplyResult,
  Changes,
  ConflictView,
  LinkView,
  ListQuery,
  NodeInput,
  NodePatch,
  NodeView,
  Refusal,
  Store,
} from '../ports/store.js';
import { ApplyBatch, PendingRows } from './apply-batch.js';
import { catchUpOpTargets, forgetOpTarget, OPS_OF_TARGET } from './op-targets.js';
import { canonicalText } from './canonical-text.js';
import {
  docText,
  emptyUpdate,
  firstBody,
  rebaseSave,
  sameEditEverywhere,
  saveInto,
  spliceInto,
  stateOf,
  yjsClientId,
} from './body-crdt.js';
import { BodyCache, DEFAULT_BODY_CACHE, type BodyCacheOptions } from './body-cache.js';
import {
  chooseShown,
  DEFAULT_COMPACTION,
  latestOp,
  prepareBodyStatements,
  storedDocs,
  storedTexts,
  type BodyDoc,
  type BodyStatements,
  type Compaction,
} from './bodies.js';
import { migrate } from './migrate.js';
import { IS_CONTEXT_DOC } from './context-docs.js';
import { checkCreate, checkPatch } from './node-input.js';
import {
  columnValue,
  decodeRegs,
  encodeRegs,
  isoOf,
  toView,
  type NodeRegs,
  type NodeRow,
  type NodeState,
  type ValueRow,
} from './node-rows.js';
import { DoubledLinks } from './doubled-links.js';
import { loopFrom, ParentCycles, type ParentLoop } from './parent-cycles.js';
import { driftRefusal, refusalOf } from './refusals.js';
import { lockExclusively, translateSqliteError } from './sqlite-errors.js';
import { NODE_SELECT, OP_RUN, prepareStatements, type Statements } from './statements.js';

export interface SqliteStoreOptions {
  /** Database file, or ':memory:'. */
  path: string;
  /** 'NORMAL' survives process crashes (the daemon); 'FULL' also power loss (the hub). */
  synchronous?: 'NORMAL' | 'FULL';
  /**
   * Take SQLite's exclusive lock for as long as the store is open, so no other process can use
   * the file. The kernel releases it when the process dies, however it dies.
   */
  exclusive?: boolean;
  /** Bounds on the body documents kept decoded between calls (body-cache.ts). */
  bodyCache?: BodyCacheOptions;
  /** When a body document's stored parts are compacted (bodies.ts). */
  bodyCompaction?: Compaction;
  /**
   * WAL pages at which a commit copies the log into the database itself (SQLite's
   * wal_autocheckpoint; its default is 1,000). The daemon raises it and checkpoints when idle
   * instead (daemon/idle-checkpoint.ts), so a burst of writes does not pay for checkpoints.
   */
  walAutocheckpointPages?: number;
}

/** What one checkpoint did: frames in the WAL, and how many of them are now in the database. */
export interface CheckpointResult {
  busy: boolean;
  walFrames: number;
  checkpointed: number;
}

export interface SqliteStoreDeps {
  clock: Clock;
  random: Random;
  logger?: Logger;
  /** Derives wiki-link targets from a body; without it no wiki links are kept. */
  extractWikiTargets?: (body: string) => string[];
  /**
   * Whether two texts' wiki-link targets may differ (false only when they surely do not), so a
   * save that leaves the links alone does not extract them from the whole body again.
   */
  wikiTargetsMayDiffer?: (before: string, after: string) => boolean;
}

const MAX_LIST = 10_000;

/** `meta` key present while node rows are pending (see catchUpRows). */
export const ROWS_PENDING_KEY = 'rows_pending';
/** The kinds of op that write node rows (remakeRows). */
const ROW_KINDS = "'node.set', 'body.update', 'body.init', 'body.edit'";
/** Pending rows beyond this many nodes are written at the end of applyOps's transaction. */
const MAX_PENDING_ROWS = 10_000;

/**
 * Methods that never read or write node rows through SQL, so they do not write pending rows
 * first (see catchUpRows): the op-log, settings and the apply path's own helpers. Every other
 * method of SqliteStore does.
 */
const LEAVES_ROWS_PENDING = new Set([
  'constructor',
  'transaction',
  'close',
  'catchUpRows',
  'remakeRows',
  'rebuild',
  'rebuildTables',
  'checkpoint',
  'raiseWalBound',
  'walBoundPages',
  'markChange',
  'onChange',
  'applyOps',
  'opsSince',
  'opCount',
  'countOpsSince',
  'lastSeq',
  'countOwnOpsSince',
  'countOwnChangesSince',
  'findOp',
  'changesOf',
  'ownOpsSince',
  'ownHigh',
  'getSetting',
  'setSetting',
  'deviceName',
  'deviceNames',
  'clockState',
  // Reads pending rows' registers where they are (writes them first only for a context doc, and
  // makes them again first when they were lost); the doubled links are not node rows.
  'conflicts',
  'fieldConflicts',
  'parentLoops',
  'parentBreaks',
  'bodyCacheStats',
  'cachedStates',
  // Private helpers of the apply path, called only from methods above or below them.
  'persistClock',
  'markRowsPending',
  'nestedTransaction',
  'emitChanges',
  'getMeta',
  'seen',
  'deleteOp',
  'insertOp',
  'insertOpRun',
  'nodeState',
  'applyKnown',
  'replay',
  'applyField',
  'inBatch',
  'applyForeign',
  'raiseOwnHigh',
]);

type OpRowText = { id: string; kind: string; target: string; payload: string };
const CACHE_LIMIT = 20_000;

export class SqliteStore implements Store {
  private originId: string;
  private readonly db: Database.Database;
  private hlc: HlcClock;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: Logger;
  private yjsClient: number;
  /** Device names, read from the log (device-names.ts). */
  private readonly names: DeviceNames;
  private readonly newUlid: (now: number) => string;
  private readonly extractWikiTargets: ((body: string) => string[]) | undefined;
  private readonly wikiTargetsMayDiffer: ((before: string, after: string) => boolean) | undefined;
  /** Body documents kept decoded between calls; dropped on rollback like `states`. */
  private readonly bodyCache: BodyCache;
  private readonly bodyCompaction: Compaction;
  private readonly listeners = new Set<(c: Changes) => void>();
  private readonly stmt: Statements;
  private readonly bodyStmt: BodyStatements;
  /** Nodes holding two projects or two parents: conflicts kept up as links change. */
  private readonly doubled: DoubledLinks;
  /** Loops of parent links (X under Y, Y under X): conflicts kept up as parent links change. */
  private readonly loops: ParentCycles;
  /** Write-through cache of node registers; cleared whenever a transaction rolls back. */
  private readonly states = new Map<string, NodeState>();
  private depth = 0;
  /** The error of a nested transaction that failed: the outermost one must not commit. */
  private failedInner: Error | undefined;
  private changed = { nodes: new Set<string>(), links: new Set<string>(), conflicts: false };
  /** The last digest computed, until the next committed change. */
  private digestCache: string | undefined;
  /** During rebuild: ids below this have been applied. */
  private replayBound: string | undefined;
  /**
   * countOwnOpsSince's last answer: own ops in (cursor, upTo]. Extended by counting only rows
   * past upTo; dropped when oplog rows are deleted or a transaction rolls back (either can make
   * a later row take a seq at or below upTo).
   */
  private ownCount: { cursor: number; upTo: number; count: number } | undefined;
  /** The same for changes: own changes with an op in (cursor, upTo], and the last one's id. */
  private ownChanges: { cursor: number; upTo: number; count: number; last: string } | undefined;
  /** The change the local ops of the open transaction belong to: its first op's id. */
  private changeId: string | undefined;
  /** Payload fields every local op of the open transaction's change carries (markChange). */
  private changeMark: Record<string, Json> | undefined;
  /** ownHigh()'s answer (null: no own op), kept up as own ops are written; undefined: unknown
   *  (not asked yet, or dropped by a rollback or a re-stamp). */
  private ownHighId: string | null | undefined;
  /** The clock's value as last written to `meta`, or undefined when not known. */
  private clockSaved: string | undefined;
  /** The id of the last local op written: when the clock still stands there, the log holds it. */
  private clockInLog: string | undefined;
  /** While applying a batch of ops: node rows and bodies written once at its end. */
  private batch: ApplyBatch | undefined;
  /** Ops of the run insertOpRun stored that are not applied yet. */
  private readonly runAhead = new Set<string>();
  /** The parameters of insertOpRun's statement, reused. */
  private readonly runParams = new Array<string | null>(5 * OP_RUN).fill(null);
  /** Node rows applyOps left pending (committed ops whose rows are not written yet). */
  private readonly pendingRows = new PendingRows();
  /** Whether the open transaction keeps rows pending (applyOps's, or one asking for it). */
  private keepingRows = false;
  /** Whether rows were pending when the open transaction began (a rollback loses them). */
  private rowsPendingAtStart = false;
  /** Whether `meta` holds ROWS_PENDING_KEY as committed. */
  private rowsMarked: boolean;
  /** What the open transaction does to ROWS_PENDING_KEY when it commits. */
  private rowsMarkInTx: boolean | undefined;
  /** Pending rows were lost (a rollback, a crash): they are made again before use. */
  private rowsLost = false;
  /**
   * The seq of the first op whose node row went pending (set while none is): ROWS_PENDING_KEY
   * holds it, and only the nodes of ops from there on are made again when the rows are lost.
   */
  private pendingFrom = 1;
  /**
   * better-sqlite3's transaction wrapper, made once: making one per call defines properties on
   * four new functions, which cost more than the BEGIN and COMMIT it runs.
   */
  private readonly runTransaction: (fn: () => unknown) => unknown;

  private constructor(db: Database.Database, deps: SqliteStoreDeps, options: SqliteStoreOptions) {
    this.db = db;
    this.bodyCache = new BodyCache(options.bodyCache ?? DEFAULT_BODY_CACHE);
    this.bodyCompaction = options.bodyCompaction ?? DEFAULT_COMPACTION;
    this.wikiTargetsMayDiffer = deps.wikiTargetsMayDiffer;
    this.clock = deps.clock;
    this.random = deps.random;
    this.logger = deps.logger ?? silentLogger;
    this.extractWikiTargets = deps.extractWikiTargets;
    this.newUlid = ulidFactory(deps.random);
    this.stmt = prepareStatements(db);
    this.bodyStmt = prepareBodyStatements(db);
    this.doubled = new DoubledLinks(db);
    this.loops = new ParentCycles(db);
    this.names = new DeviceNames(db);
    this.runTransaction = db.transaction((fn: () => unknown) => fn());
    this.rowsMarked = this.getMeta(ROWS_PENDING_KEY) !== undefined;
    // A crash left rows pending: nothing holds them any more.
    this.rowsLost = this.rowsMarked;
    // Every method that may read or write node rows writes pending rows first.
    for (const name of Object.getOwnPropertyNames(SqliteStore.prototype)) {
      const d = Object.getOwnPropertyDescriptor(SqliteStore.prototype, name);
      if (LEAVES_ROWS_PENDING.has(name) || typeof d?.value !== 'function') continue;
      const method = d.value as (...args: unknown[]) => unknown;
      Object.defineProperty(this, name, {
        value: (...args: unknown[]): unknown => {
          this.catchUpRows();
          return method.apply(this, args);
        },
        writable: true,
        configurable: true,
      });
    }
    let origin = this.getMeta('origin');
    // A copy made by `backup` is marked: whoever opens it first becomes a new replica, so two
    // replicas never share an origin (their ops would collide).
    const copied = this.getMeta('backup_of') !== undefined;
    if (origin === undefined || copied) {
      const previous = origin;
      origin = randomHex(deps.random, 16);
      this.stmt.putMeta.run('origin', origin);
      db.prepare("DELETE FROM meta WHERE key = 'backup_of'").run();
      if (previous)
        this.logger.info({ previous, origin }, 'opened a copy of a database: new replica id');
    }
    this.originId = origin;
    const persisted = this.getMeta('hlc');
    this.clockSaved = persisted;
    // The high-water mark is the larger of the one in meta and the log's highest op id (a local
    // write leaves it in the log alone; see persistClock).
    const top = db.prepare('SELECT max(id) FROM oplog').pluck().get() as string | null;
    const marks = [persisted, top ?? undefined].filter((m) => m !== undefined).map(decodeHlc);
    const high = marks.reduce<Hlc | undefined>(
      (a, b) => (a === undefined || compareHlc(b, a) > 0 ? b : a),
      undefined,
    );
    this.hlc = new HlcClock(origin, deps.clock, high);
    this.yjsClient = yjsClientId(origin);
  }

  static open(options: SqliteStoreOptions, deps: SqliteStoreDeps): SqliteStore {
    let db: Database.Database | undefined;
    try {
      db = new Database(options.path);
      if (options.exclusive) lockExclusively(db, options.path);
      if (options.path !== ':memory:') db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
      db.pragma('busy_timeout = 5000');
      // 8 MiB of pages (SQLite's default is 2): enough for the indexes a call walks; what
      // misses is read from the OS's file cache. 32 MiB made a daemon's RSS grow by that much.
      db.pragma('cache_size = -8192');
      if (options.walAutocheckpointPages !== undefined) {
        db.pragma(`wal_autocheckpoint = ${options.walAutocheckpointPages}`);
        // After a checkpoint the next writer starts the WAL over; the file is cut back to this.
        db.pragma(`journal_size_limit = ${4 * 1024 * 1024}`);
      }
      migrate(db);
      const store = new SqliteStore(db, deps, options);
      // Rows a crash left pending are rebuilt now.
      store.catchUpRows();
      return store;
    } catch (e) {
      db?.close();
      throw translateSqliteError(e, `cannot open database ${options.path}`);
    }
  }

  close(): void {
    if (!this.db.open) return;
    try {
      // Lost rows are marked in `meta` already: the next open rebuilds them.
      if (!this.rowsLost) this.catchUpRows();
    } catch (e) {
      // They stay marked pending: the next open rebuilds them.
      this.logger.error({ err: (e as Error).message }, 'could not write pending node rows');
    }
    this.db.close();
  }

  /**
   * Writes the node rows applyOps left pending (or rebuilds the materialized tables when they
   * were lost). Called first by every method that reads or writes node rows, and by
   * `connection`; a no-op while applyOps runs and when nothing is pending.
   */
  catchUpRows(): void {
    // Inside a batch its own rows are pending too; nothing there reads rows through SQL.
    if (this.batch !== undefined) return;
    if (this.rowsLost) {
      const from = Number(this.getMeta(ROWS_PENDING_KEY));
      if (Number.isSafeInteger(from) && from >= 1) this.remakeRows(from);
      else this.rebuild();
      return;
    }
    if (this.pendingRows.size === 0) return;
    // The transaction that writes them takes ROWS_PENDING_KEY out as it commits.
    const write = (): void => this.pendingRows.write(this.stmt, this.db);
    if (this.depth > 0) write();
    else this.transaction(write, { keepRows: true });
  }

  /**
   * Makes lost node rows again: those of every node an op from seq `from` on touched (every
   * pending row's op is there, see markRowsPending), each from all of its ops replayed in id
   * order as rebuild replays them. Bodies and links were written with their ops and stay.
   */
  private remakeRows(from: number): void {
    this.rowsLost = false;
    try {
      this.transaction(
        () => {
          this.pendingRows.clear();
          catchUpOpTargets(this.db);
          const ids = this.db
            .prepare(`SELECT DISTINCT target FROM oplog WHERE seq >= ? AND kind IN (${ROW_KINDS})`)
            .pluck()
            .all(from) as string[];
          const opsOf = this.db.prepare(
            `SELECT o.id, o.kind, o.target, o.payload FROM ${OPS_OF_TARGET}
             WHERE t.target = ? AND o.kind IN (${ROW_KINDS})`,
          );
          const ops: OpRowText[] = [];
          for (const id of ids) {
            this.stmt.delNode.run(id);
            this.states.delete(id);
            this.changed.nodes.add(id);
            for (const r of opsOf.all(id) as OpRowText[]) ops.push(r);
          }
          ops.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
          try {
            this.inBatch(() => {
              for (const r of ops) {
                this.replayBound = r.id;
                this.replay(r, true);
              }
            });
          } finally {
            this.replayBound = undefined;
          }
          this.changed.conflicts = true;
        },
        { keepRows: true },
      );
    } catch (e) {
      this.rowsLost = true;
      throw e;
    }
  }

  /**
   * Copies what the WAL holds into the database file without waiting for readers (a PASSIVE
   * checkpoint); a no-op on a closed store.
   */
  checkpoint(): CheckpointResult {
    if (!this.db.open) return { busy: false, walFrames: 0, checkpointed: 0 };
    const [r] = this.db.pragma('wal_checkpoint(PASSIVE)') as {
      busy: number;
      log: number;
      checkpointed: number;
    }[];
    return { busy: r!.busy !== 0, walFrames: r!.log, checkpointed: r!.checkpointed };
  }

  /** Holds of raiseWalBound in force, and the bound the first replaced. */
  private walHolds = 0;
  private ownWalBound: number | undefined;

  /**
   * Lets the WAL grow to `pages` before a commit checkpoints it, until the returned function is
   * called (each hold once; the bound returns to what it was when the last is released). For a
   * long stream of writes someone waits for the end of (a first sync's pages): the checkpoints
   * a smaller bound would run inside those commits (about 100 ms each for 40 MB) wait for the
   * daemon's idle checkpoint instead. A bound below the present one changes nothing.
   */
  raiseWalBound(pages: number): () => void {
    if (this.walHolds++ === 0 && this.db.open) {
      const now = this.walBoundPages();
      if (pages > now) {
        this.db.pragma(`wal_autocheckpoint = ${Math.floor(pages)}`);
        this.ownWalBound = now;
      }
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.walHolds > 0 || this.ownWalBound === undefined) return;
      if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${this.ownWalBound}`);
      this.ownWalBound = undefined;
    };
  }

  /** The WAL pages at which a commit checkpoints (wal_autocheckpoint). */
  walBoundPages(): number {
    return this.db.pragma('wal_autocheckpoint', { simple: true }) as number;
  }

  /** This replica's id: the origin of the ops it writes. */
  get origin(): string {
    return this.originId;
  }

  // ---- transactions and change notification -------------------------------------------------

  /**
   * Runs `fn` in one transaction: all of it commits, or none of it. A call inside another
   * joins it without a savepoint (each savepoint copied every page it touched to a statement
   * journal, which cost more than the commit): if the inner one fails, the outer one can no
   * longer commit, and fails with the inner one's error even when it caught that error.
   */
  transaction<T>(fn: () => T, options: { keepRows?: boolean } = {}): T {
    if (this.depth > 0) return this.nestedTransaction(fn);
    // Rows applyOps left pending are written before a transaction that may read them.
    if (!options.keepRows || this.rowsLost) this.catchUpRows();
    const start = this.hlc.peek();
    this.depth++;
    this.keepingRows = options.keepRows === true;
    this.rowsPendingAtStart = this.pendingRows.size > 0;
    const rowsLostAtStart = this.rowsLost;
    this.rowsMarkInTx = undefined;
    let result: T;
    try {
      result = this.runTransaction(() => {
        const r = fn();
        if (this.failedInner !== undefined) throw this.failedInner;
        this.persistClock();
        this.markRowsPending();
        return r;
      }) as T;
    } catch (e) {
      this.depth--;
      this.keepingRows = false;
      if (this.rowsPendingAtStart || rowsLostAtStart) this.rowsLost = true;
      this.pendingRows.clear();
      this.rowsMarkInTx = undefined;
      this.failedInner = undefined;
      this.changeId = undefined;
      this.changeMark = undefined;
      // The rows rolled back; the caches must not keep what they held.
      this.states.clear();
      this.names.forget();
      this.doubled.forget();
      this.loops.forget();
      this.bodyCache.rollback();
      this.ownCount = undefined;
      this.ownChanges = undefined;
      this.ownHighId = undefined;
      this.clockSaved = undefined;
      this.clockInLog = undefined;
      this.hlc.reset(start);
      this.changed = { nodes: new Set(), links: new Set(), conflicts: false };
      throw translateSqliteError(e, 'database write failed');
    }
    this.depth--;
    this.keepingRows = false;
    if (this.rowsMarkInTx !== undefined) this.rowsMarked = this.rowsMarkInTx;
    this.bodyCache.commit();
    this.changeId = undefined;
    this.changeMark = undefined;
    this.emitChanges();
    return result;
  }

  /**
   * Persists the clock's high-water mark in the transaction about to commit. When the clock
   * stands at the last local op's id, that op (in the log) holds it and `meta` is not written:
   * one page less in every local write's commit. After ops from elsewhere the clock stands past
   * them, and `meta` is written.
   */
  private persistClock(): void {
    const h = encodeHlc(this.hlc.peek());
    if (h === this.clockInLog || h === this.clockSaved) return;
    this.stmt.putMeta.run('hlc', h);
    this.clockSaved = h;
  }

  /**
   * Puts ROWS_PENDING_KEY in `meta` when rows stay pending (with the seq from which their ops
   * are), and takes it out when none do. While it stays in, its seq stays: at or below the
   * first op of every row still pending.
   */
  private markRowsPending(): void {
    const pending = this.pendingRows.size > 0;
    if (pending === (this.rowsMarkInTx ?? this.rowsMarked)) return;
    if (pending) this.stmt.putMeta.run(ROWS_PENDING_KEY, String(this.pendingFrom));
    else this.stmt.delMeta.run(ROWS_PENDING_KEY);
    this.rowsMarkInTx = pending;
  }

  private nestedTransaction<T>(fn: () => T): T {
    this.depth++;
    try {
      return fn();
    } catch (e) {
      const err = translateSqliteError(e, 'database write failed');
      this.failedInner ??= err;
      throw err;
    } finally {
      this.depth--;
    }
  }

  /**
   * Marks the change the open transaction makes: every local op of it carries these payload
   * fields (an undo names the change it undoes, a revert the version it goes back to). Other
   * replicas read them from any op of the change; versions that do not know them ignore them.
   */
  markChange(fields: Record<string, Json>): void {
    if (this.depth === 0)
      throw new HephError('internal', 'markChange is called inside transaction()');
    this.changeMark = { ...this.changeMark, ...fields };
  }

  onChange(listener: (c: Changes) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emitChanges(): void {
    const c = this.changed;
    this.changed = { nodes: new Set(), links: new Set(), conflicts: false };
    if (this.states.size > CACHE_LIMIT) {
      // Drop the oldest quarter (a Map iterates in insertion order), not everything: clearing
      // it all would make a working set just over the limit reload every node on every write.
      let drop = this.states.size - (CACHE_LIMIT * 3) / 4;
      for (const id of this.states.keys()) {
        if (drop-- <= 0) break;
        // A pending row's registers are only here.
        if (!this.pendingRows.has(id)) this.states.delete(id);
      }
    }
    if (c.nodes.size === 0 && c.links.size === 0 && !c.conflicts) return;
    this.digestCache = undefined;
    const out: Changes = { nodes: [...c.nodes], links: [...c.links], conflicts: c.conflicts };
    for (const l of this.listeners) {
      try {
        l(out);
      } catch (e) {
        this.logger.error({ err: (e as Error).message }, 'change listener failed');
      }
    }
  }

  private getMeta(key: string): string | undefined {
    return this.stmt.getMeta.get(key) as string | undefined;
  }

  // ---- the apply path ------------------------------------------------------------------------

  private seen(id: string): boolean {
    if (this.replayBound !== undefined && id >= this.replayBound) return false;
    // Stored ahead of being applied (insertOpRun): not seen yet, as when inserted one by one.
    if (this.runAhead.has(id)) return false;
    return this.stmt.hasOp.get(id) !== undefined;
  }

  /** Deletes an op from the log (inside a transaction). */
  private deleteOp(id: string): void {
    const seq = this.stmt.delOp.get(id) as number | undefined;
    if (seq !== undefined) forgetOpTarget(this.db, seq);
  }

  /**
   * Inserts ops[from, from + OP_RUN) into the log in one statement, ahead of applying them (they
   * wait in `runAhead`, which `seen` treats as not yet there, until each is applied). False, with
   * nothing written, when one of their ids is already stored (or twice among them): without ON
   * CONFLICT, SQLite undoes that statement alone, and the caller inserts the run op by op
   * (insertOp), which sorts duplicates from reused ids. Any other error is thrown.
   */
  private insertOpRun(ops: readonly { op: Op }[], from: number): boolean {
    const params = this.runParams;
    for (let j = 0; j < OP_RUN; j++) {
      const { op } = ops[from + j]!;
      const change = changeOf(op);
      params[5 * j] = op.id;
      params[5 * j + 1] = op.kind;
      params[5 * j + 2] = op.target;
      params[5 * j + 3] = canonicalText(op.payload);
      params[5 * j + 4] = change === op.id ? null : change;
    }
    try {
      this.stmt.insOpRun.run(params);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') return false;
      throw e;
    } finally {
      params.fill(null);
    }
    for (let j = 0; j < OP_RUN; j++) this.runAhead.add(ops[from + j]!.op.id);
    return true;
  }

  /** Inserts an op into the log. Returns false for an exact duplicate; throws on id reuse. */
  private insertOp(op: Op): boolean {
    const payload = canonicalText(op.payload);
    const change = changeOf(op);
    const inserted = this.stmt.insOp.run(
      op.id,
      op.kind,
      op.target,
      payload,
      change === op.id ? null : change,
    );
    if (inserted.changes === 1) return true;
    const existing = this.stmt.getOp.get(op.id) as {
      kind: string;
      target: string;
      payload: string;
    };
    if (
      existing.kind === op.kind &&
      existing.target === op.target &&
      existing.payload === payload
    ) {
      return false;
    }
    throw new HephError(
      'op_id_reused',
      `op ${op.id} from replica ${originOf(op.id)} reuses an id already stored with different content`,
      { id: op.id, origin: originOf(op.id) },
    );
  }

  private nodeState(id: string): NodeState {
    let s = this.states.get(id);
    if (!s) {
      const row = this.stmt.getRegs.get(id) as
        (ValueRow & { regs: string; conflicts: number; created_ms: number }) | undefined;
      if (row) {
        s = decodeRegs(row.regs, row.conflicts, row);
        s.created = row.created_ms;
      } else {
        s = { exists: false, regs: {}, frags: {}, conflicts: 0 };
      }
      this.states.set(id, s);
    }
    return s;
  }

  private applyKnown(k: KnownOp): void {
    const wall = wallOf(k.id);
    switch (k.kind) {
      case 'node.set':
        this.applyField(k.target, k.field, k.id, canonicalText(k.value), k.prev, wall);
        return;
      case 'body.update':
      case 'body.init':
      case 'body.edit':
        this.inBatch(() => this.batch?.body(k, wall));
        this.changed.nodes.add(k.target);
        return;
      case 'link.add':
      case 'link.remove': {
        const row = this.stmt.getLink.get(k.target) as { state: string } | undefined;
        const before = row ? decodeLinkSet(row.state) : EMPTY_LINK;
        const after: LinkSetState =
          k.kind === 'link.add'
            ? applyAdd(before, k.id)
            : applyRemove(before, k.observed, (id) => this.seen(id));
        const [src, type, dst] = k.target.split('|') as [string, string, string];
        this.stmt.putLink.run(
          k.target,
          src,
          dst,
          type,
          encodeLinkSet(after),
          isLive(after) ? 1 : 0,
        );
        if (isLive(before) !== isLive(after)) {
          this.changed.links.add(k.target);
          if (isSingleLinkType(type) && this.doubled.changed(src, type, isLive(after))) {
            this.changed.conflicts = true;
          }
        }
        // Any op on a parent link: a later add of the shown one changes which link a loop leaves out.
        if (type === 'parent' && this.loops.changed(src)) this.changed.conflicts = true;
        return;
      }
      case 'device.name':
        this.names.forget();
        return;
    }
  }

  private applyField(
    target: string,
    field: string,
    id: string,
    value: string,
    prev: readonly string[],
    wall: number,
  ): void {
    const node = this.nodeState(target);
    const before = node.regs[field] ?? EMPTY_REGISTER;
    const after = applyWrite(before, { id, value, prev }, (p) => this.seen(p));
    const vBefore = viewRegister(before);
    const v = viewRegister(after);
    node.regs[field] = after;
    node.frags[field] = ''; // encoded when the row is written (encodeRegs)
    if (vBefore.conflict !== v.conflict) {
      node.conflicts += v.conflict ? 1 : -1;
      this.changed.conflicts = true;
    }
    this.changed.nodes.add(target);
    const changed = v.visible !== undefined && v.visible !== vBefore.visible;
    if (this.batch) {
      this.batch.field(target, node, field, changed ? v.visible : undefined, wall);
      return;
    }
    const regs = encodeRegs(node);
    if (node.exists && (!changed || isKnownField(field))) {
      if (changed && isKnownField(field)) {
        const col = columnValue(field, JSON.parse(v.visible) as Json);
        this.stmt.updColumn[field].run(col, regs, node.conflicts, wall, wall, target);
      } else {
        this.stmt.updRegs.run(regs, node.conflicts, wall, wall, target);
      }
      return;
    }
    if (changed && isKnownField(field)) {
      const col = columnValue(field, JSON.parse(v.visible) as Json);
      this.stmt.setColumn[field].run(target, wall, wall, regs, node.conflicts, col);
    } else {
      this.stmt.setRegs.run(target, wall, wall, regs, node.conflicts);
      if (changed) this.stmt.setExtra.run(`$."${field}"`, v.visible, target);
    }
    node.exists = true;
  }

  // ---- applying ops from elsewhere -----------------------------------------------------------

  applyOps(input: readonly unknown[], options: ApplyOptions = {}): ApplyResult {
    if (!Array.isArray(input)) throw invalid('ops', 'must be a list of ops');
    const result: ApplyResult = { applied: [], duplicates: 0, refused: [] };
    const now = this.clock.now();
    // Ops are checked a run at a time, just before the run is applied, not all before the
    // first: a 5,000-op page checked up front kept every parsed op alive (and copied by the
    // garbage collector) until its last op was applied. Refusals of ops that fail the check
    // still come first in the result, as when every op was checked first.
    const unread: Refusal[] = [];
    const run: { op: Op; known: KnownOp | undefined }[] = [];
    let next = 0;
    const readRun = (): number => {
      run.length = 0;
      while (run.length < OP_RUN && next < input.length) {
        const sent: unknown = input[next++];
        const raw = options.decode ? options.decode(sent) : sent;
        try {
          const op = parseOp(raw);
          const known = interpretOp(op);
          const ahead = wallOf(op.id) - now;
          if (options.maxDriftMs !== undefined && ahead > options.maxDriftMs) {
            unread.push(driftRefusal(op, ahead, options.maxDriftMs));
            continue;
          }
          run.push({ op, known });
        } catch (e) {
          unread.push(refusalOf(raw, e));
        }
      }
      return run.length;
    };
    this.transaction(
      () => {
        let highest = '';
        if (this.pendingRows.size === 0) this.pendingFrom = this.lastSeq() + 1;
        this.inBatch(() => {
          try {
            while (readRun() > 0) {
              const stored = run.length === OP_RUN && this.insertOpRun(run, 0);
              for (const { op, known } of run) {
                if (stored) this.runAhead.delete(op.id);
                if (!this.applyForeign(op, known, result, stored)) continue;
                if (op.id > highest) highest = op.id;
                result.applied.push(op);
              }
              if (this.batch?.flushBodiesIfMany()) this.changed.conflicts = true;
            }
          } finally {
            this.runAhead.clear();
            run.length = 0;
          }
        }, this.keepingRows);
        if (highest !== '') this.hlc.observe(decodeHlc(highest));
      },
      { keepRows: true },
    );
    if (unread.length > 0) result.refused.unshift(...unread);
    return result;
  }

  /**
   * Runs `fn` (inside a transaction) with node rows and bodies written back once at its end
   * instead of once per op: a node that several ops touch is written once.
   */
  private inBatch(fn: () => void, keepRows = false): void {
    if (this.batch) {
      fn();
      return;
    }
    const bodies = { stmt: this.bodyStmt, cache: this.bodyCache, compaction: this.bodyCompaction };
    const batch = new ApplyBatch(
      this.stmt,
      this.db,
      bodies,
      {
        extractWikiTargets: this.extractWikiTargets,
        wikiTargetsMayDiffer: this.wikiTargetsMayDiffer,
      },
      keepRows ? this.pendingRows : undefined,
    );
    this.batch = batch;
    try {
      fn();
      const keep = keepRows && this.pendingRows.size <= MAX_PENDING_ROWS;
      if (batch.flush(keep)) this.changed.conflicts = true;
    } catch (e) {
      batch.discard();
      throw e;
    } finally {
      this.batch = undefined;
    }
  }

  /**
   * Stores (unless `stored` already) and applies one validated foreign op; false when it was a
   * duplicate or refused.
   */
  private applyForeign(
    op: Op,
    known: KnownOp | undefined,
    result: ApplyResult,
    stored = false,
  ): boolean {
    try {
      if (!stored && !this.insertOp(op)) {
        result.duplicates++;
        return false;
      }
    } catch (e) {
      if (!(e instanceof HephError) || e.code !== 'op_id_reused') throw e;
      this.logger.warn({ op: op.id, origin: originOf(op.id) }, 'refused an op that reuses an id');
      result.refused.push(refusalOf(op, e));
      return false;
    }
    if (known) {
      try {
        this.applyKnown(known);
      } catch (e) {
        if (!(e instanceof HephError) || e.code !== 'invalid_op') throw e;
        // Content Yjs cannot decode (checked before anything else was written): take it back out.
        this.deleteOp(op.id);
        this.ownCount = undefined;
        this.ownChanges = undefined;
        result.refused.push(refusalOf(op, e));
        return false;
      }
    }
    // An own op coming back (a replica restored from a copy gets its later ops from the hub).
    if (originOf(op.id) === this.origin) this.raiseOwnHigh(op.id);
    return true;
  }

  // ---- local writes ---------------------------------------------------------------------------

  /** Appends and applies one local op, as part of the open transaction's change. */
  private emit(kind: string, target: string, payload: Record<string, Json>): void {
    const id = this.hlc.now();
    const change = this.changeId;
    const mark = this.changeMark;
    const op: Op = {
      id,
      kind,
      target,
      payload:
        change === undefined && mark === undefined
          ? payload
          : { ...payload, ...mark, ...(change !== undefined && { change }) },
    };
    this.changeId ??= id;
    this.insertOp(op);
    this.clockInLog = id;
    this.raiseOwnHigh(op.id);
    const known = interpretOp(op);
    if (known) this.applyKnown(known);
  }

  private writeField(target: string, field: string, value: Json): void {
    const prev = headIds(this.nodeState(target).regs[field] ?? EMPTY_REGISTER);
    this.emit('node.set', target, { field, value, prev });
  }

  private writePatch(id: string, patch: NodePatch, body: Omit<BodyWrite, 'base'>): void {
    for (const f of ['title', 'aliases', ...TASK_FIELDS] as const) {
      const v = patch[f];
      if (v !== undefined) this.writeField(id, f, v);
    }
    if (patch.extra) for (const [f, v] of Object.entries(patch.extra)) this.writeField(id, f, v);
    if (patch.body !== undefined) {
      this.writeBody(id, patch.body, { ...body, base: patch.base_version });
    }
  }

  /**
   * Writes a body save as the op the node's documents call for (see bodies.ts). Call inside
   * inBatch. The first text of a node other replicas may create too (`shared`) is a
   * deterministic update: identical first texts are then one copy everywhere; different ones
   * are branches (a body conflict), except in journals and task logs, whose first lines all stay.
   * With `base` (the body_version the editor read) the save is merged as an edit made from that
   * version. `imported` marks the op as an import's, for the next import's three-way merge.
   */
  private writeBody(id: string, text: string, o: BodyWrite): void {
    const bodies = this.batch?.bodies;
    if (!bodies) throw new HephError('internal', 'a body is written inside a batch');
    const docs = bodies.docsNow(id);
    const { shown } = chooseShown(docs);
    const shownDoc = shown && bodies.doc(id, shown.branch);
    const now = docs.reduce<Version>((v, d) => union(v, d.version), new Map());
    let kind: 'body.update' | 'body.init' | 'body.edit';
    let branch = shown?.branch ?? '';
    let update: Uint8Array;
    const base = o.base === undefined ? undefined : parseVersion(o.base);
    const current = base === undefined || (within(base, now) && within(now, base));
    if (o.imported && shownDoc !== undefined && !shownDoc.isEmpty()) {
      // Three-way: the file's change since the last import, made on the text that import wrote
      // (the document's import ops alone, every replica has them) or on the version given, and
      // the same on every device that imports the same file: two devices re-importing one
      // changed file change the note once. Without an earlier import here, two-way.
      const then =
        base === undefined || current
          ? { branch: shownDoc.branch, state: () => shownDoc.state() }
          : at(chooseShown(this.bodyAt(id, base)).shown);
      branch = then?.branch ?? branch;
      const from =
        base === undefined ? (this.importedState(id, branch) ?? then?.state()) : then?.state();
      const edit = sameEditEverywhere(from, text, id);
      if (!edit) return;
      kind = branch === '' ? 'body.update' : 'body.edit';
      update = edit;
    } else if (!current && base !== undefined) {
      const then = chooseShown(this.bodyAt(id, base)).shown;
      branch = then?.branch ?? branch;
      const now = docs.some((d) => d.branch === branch)
        ? bodies.doc(id, branch).state()
        : undefined;
      const saved = rebaseSave(then?.state, now, text, this.yjsClient);
      if (!saved) return;
      kind = branch === '' ? 'body.update' : 'body.edit';
      update = saved.update;
    } else if (o.shared && (shownDoc === undefined || shownDoc.isEmpty())) {
      if (text === '') return;
      const first = firstBody(id, text);
      update = first.update;
      if (mergesFirstTexts(id)) {
        kind = 'body.update';
        branch = '';
      } else {
        kind = 'body.init';
        branch = first.branch;
      }
    } else {
      // A plain save: an edit of the live document, which its op then need not merge again.
      const d = bodies.doc(id, branch);
      const edit = saveInto(d.doc, d.text(), text, this.yjsClient);
      if (!edit) return;
      d.edited(edit, text);
      this.emitBody(
        branch === '' ? 'body.update' : 'body.edit',
        id,
        branch,
        edit,
        o.imported,
        true,
      );
      return;
    }
    this.emitBody(kind, id, branch, update, o.imported);
  }

  /** Emits a body op of the open change, refusing one too large to travel in one op. */
  private emitBody(
    kind: 'body.update' | 'body.init' | 'body.edit',
    id: string,
    branch: string,
    update: Uint8Array,
    imported: boolean,
    made = false,
  ): void {
    const encoded = this.encodeBodyUpdate(id, branch, update, made);
    if (encoded.length > MAX_PAYLOAD_BYTES) {
      throw new HephError(
        'too_large',
        `body: one change may add at most ${mib(MAX_BODY_CHANGE_BYTES)} MiB of text, and ` +
          `this one encodes to ${mib((encoded.length * 3) / 4)} MiB: save it in smaller parts`,
        { field: 'body', limit: MAX_BODY_CHANGE_BYTES },
      );
    }
    this.emit(kind, id, {
      ...(kind !== 'body.update' && { branch }),
      update: encoded,
      ...(imported && { imported: true }),
    });
  }

  /**
   * A body op's update as it travels (base64). `made`: the edit was made on the document's live
   * copy in this batch (PendingDoc.edited), so applying its op merges nothing again.
   */
  private encodeBodyUpdate(id: string, branch: string, update: Uint8Array, made: boolean): string {
    const encoded = Buffer.from(update).toString('base64');
    if (made) this.batch?.bodies.expectOwn(id, branch, encoded);
    return encoded;
  }

  /**
   * Edits the body shown by the given splices (in order, each at an offset of the text as it is
   * then), as one body op of the open change. Where a whole-buffer save is diffed, these are
   * applied as given: a rename replaces each link whole, inserting the new text before it
   * deletes the old, so two devices that rewrite one link at once leave their two links side by
   * side, never one interleaved with the other.
   */
  editBody(id: string, splices: readonly Splice[]): NodeView {
    this.getNode(id);
    return this.transaction(() => {
      this.inBatch(() => {
        const bodies = this.batch?.bodies;
        if (!bodies) return;
        const branch = chooseShown(bodies.docsNow(id)).shown?.branch ?? '';
        const d = bodies.doc(id, branch);
        const edit = spliceInto(d.doc, splices, this.yjsClient);
        if (!edit) return;
        d.edited(edit, docText(d.doc));
        this.emitBody(branch === '' ? 'body.update' : 'body.edit', id, branch, edit, false, true);
      });
      return this.getNode(id);
    });
  }

  /** A node's body ops (every kind, every document), oldest first. */
  bodyOps(id: string): BodyOp[] {
    type Row = { id: string; kind: string; payload: string };
    catchUpOpTargets(this.db);
    return (this.bodyStmt.nodeOps.all(id) as Row[]).map(
      (r) =>
        interpretOp({
          id: r.id,
          kind: r.kind,
          target: id,
          payload: JSON.parse(r.payload) as Op['payload'],
        }) as BodyOp,
    );
  }

  /**
   * The text the imports of one of a node's documents wrote, as a document: its import ops alone
   * (each made on the one before it). Undefined when no import wrote to it.
   */
  private importedState(id: string, branch: string): Uint8Array | undefined {
    const ops = this.bodyOps(id).filter((k) => k.doc === branch && k.imported);
    return ops.length === 0 ? undefined : stateOf(ops.map((k) => Buffer.from(k.update, 'base64')));
  }

  /**
   * A node's body documents as they were at `version`: from the body ops it covers. Refuses a
   * version that names ops this replica does not have (conflict: sync first) or ops that are not
   * this node's body ops (invalid_params).
   */
  private bodyAt(id: string, version: Version): (BodyDoc & { state: Uint8Array })[] {
    const ops = this.bodyOps(id);
    const ids = new Set(ops.map((k) => k.id));
    for (const v of version.values()) {
      if (ids.has(v)) continue;
      if (this.stmt.hasOp.get(v) !== undefined) {
        throw invalid('base_version', `names ${v}, which is not a change of ${id}'s body`);
      }
      throw new HephError(
        'conflict',
        `base_version names changes to ${id} that are not here yet: sync, then read the body ` +
          'again',
        { id, field: 'base_version' },
      );
    }
    const docs = new Map<string, BodyDoc & { updates: Uint8Array[] }>();
    for (const k of ops) {
      if (!covers(version, k.id)) continue;
      let d = docs.get(k.doc);
      if (!d) {
        d = { branch: k.doc, since: '', version: new Map(), resolved: new Map(), updates: [] };
        docs.set(k.doc, d);
      }
      d.updates.push(Buffer.from(k.update, 'base64'));
      d.version = withOp(d.version, k.id);
      if (k.init ? k.id > d.since : k.doc === '' && (d.since === '' || k.id < d.since)) {
        d.since = k.id;
      }
      for (const [branch, seen] of k.resolves) {
        const t = docs.get(branch);
        if (t) t.resolved = union(t.resolved, parseVersion(seen.join(','), 'resolves'));
      }
    }
    return [...docs.values()].map(({ updates, ...d }) => ({ ...d, state: stateOf(updates) }));
  }

  createNode(request: NodeInput): NodeView {
    const { input, id: given } = checkCreate(request);
    const id = given ?? this.newUlid(this.clock.now());
    return this.transaction(() => {
      this.writeNewNode(input, id, { shared: given !== undefined, imported: false });
      return this.getNode(id);
    });
  }

  /** createNode for callers that need only the new node's id: its row is not read back. */
  createNodeId(request: NodeInput): string {
    const { input, id: given } = checkCreate(request);
    const id = given ?? this.newUlid(this.clock.now());
    this.transaction(() =>
      this.writeNewNode(input, id, { shared: given !== undefined, imported: false }),
    );
    return id;
  }

  /**
   * Creates a node read from files (an import): under the id the files give it (ULIDs of a heph
   * export included, so ids survive the round trip), with the same checks and ops as createNode,
   * its first text written as every replica importing the same file writes it.
   */
  importNode(request: NodeInput & { id: string }): NodeView {
    const { id, ...rest } = request;
    const { input } = isUlid(id) ? checkCreate(rest) : checkCreate(request);
    return this.transaction(() => {
      this.writeNewNode(input, id, { shared: true, imported: true });
      return this.getNode(id);
    });
  }

  /** Writes a new node's ops and its row. Call inside a transaction. */
  private writeNewNode(input: NodeInput, id: string, body: Omit<BodyWrite, 'base'>): void {
    if (this.stmt.nodeExists.get(id) !== undefined) {
      throw new HephError('already_exists', `node ${id} already exists`, { id });
    }
    const patch: NodePatch = { ...input, title: input.title ?? '' };
    if (input.kind === 'task') {
      patch.state = input.state ?? 'outstanding';
      patch.attention = input.attention ?? 'white';
    }
    // One row write for the whole new node instead of one per field.
    this.inBatch(() => {
      this.writeField(id, 'kind', input.kind);
      this.writePatch(id, patch, body);
    });
  }

  /**
   * Changes a node. `patch.base_version` makes a body save an edit from that version (see
   * writeBody); `imported` marks it as an import's.
   */
  updateNode(id: string, patch: NodePatch, opts: { imported?: boolean } = {}): NodeView {
    checkPatch(this.kindOf(id), patch);
    return this.transaction(() => {
      this.inBatch(() =>
        this.writePatch(id, patch, { shared: !isUlid(id), imported: opts.imported === true }),
      );
      return this.getNode(id);
    });
  }

  deleteNode(id: string): NodeView {
    return this.setDeleted(id, true);
  }

  restoreNode(id: string): NodeView {
    return this.setDeleted(id, false);
  }

  private setDeleted(id: string, deleted: boolean): NodeView {
    const node = this.getNode(id);
    if (node.deleted === deleted) return node;
    return this.transaction(() => {
      this.writeField(id, 'deleted', deleted);
      return this.getNode(id);
    });
  }

  resolveConflict(target: string, field: string, value: Json): NodeView {
    const node = this.getNode(target);
    if (typeof field !== 'string') throw invalid('field', 'must be a string');
    if (field === 'body') return this.resolveBody(target, value);
    const reg = this.nodeState(target).regs[field];
    if (!reg || !viewRegister(reg).conflict) {
      throw new HephError(
        'not_found',
        `${target} has no open conflict on ${JSON.stringify(field)}`,
        {
          target,
          field,
        },
      );
    }
    const msg = validateFieldValue(field, value);
    if (msg) throw invalid('value', msg);
    if (field === 'kind') throw invalid('field', 'a node kind cannot be changed');
    if ((TASK_FIELDS as readonly string[]).includes(field) && node.kind !== 'task') {
      throw invalid('field', `${field} is a task field`);
    }
    return this.transaction(() => {
      this.writeField(target, field, value);
      return this.getNode(target);
    });
  }

  /**
   * Ends a body conflict: `value` is written as an edit of the document shown, and every other
   * document not resolved is resolved as far as this replica has seen it (an edit it has not seen
   * opens the conflict again, on every replica alike).
   */
  private resolveBody(target: string, value: Json): NodeView {
    if (typeof value !== 'string') throw invalid('value', 'a body is text: give a string');
    if (((this.bodyStmt.heads.get(target) as number | undefined) ?? 1) <= 1) {
      throw new HephError('not_found', `${target} has no open conflict on "body"`, {
        target,
        field: 'body',
      });
    }
    return this.transaction(() => {
      this.inBatch(() => {
        const bodies = this.batch?.bodies;
        if (!bodies) return;
        const { shown, heads } = chooseShown(bodies.docsNow(target));
        if (!shown) return;
        const d = bodies.doc(target, shown.branch);
        const edit = saveInto(d.doc, d.text(), value, this.yjsClient);
        if (edit) d.edited(edit, value);
        const resolves: Record<string, string[]> = {};
        for (const h of heads) if (h !== shown) resolves[h.branch] = versionIds(h.version);
        this.emit('body.edit', target, {
          branch: shown.branch,
          update: this.encodeBodyUpdate(target, shown.branch, edit ?? emptyUpdate(), !!edit),
          resolves,
        });
      });
      return this.getNode(target);
    });
  }

  addLink(src: string, dst: string, type: LinkType): LinkView {
    if (!isLinkType(type)) throw invalid('type', 'is not a link type');
    if (type === 'wiki')
      throw invalid('type', 'wiki links come from note bodies; edit the body instead');
    if (!isNodeId(src))
      throw invalid('id', `${JSON.stringify(String(src).slice(0, 80))} is not a node id`);
    if (!this.isNode(src)) throw notFound('node', src);
    if (!isNodeId(dst)) throw invalid('dst', 'is not a node id');
    if (!this.isNode(dst)) throw notFound('node', dst);
    const id = linkId(src, type, dst);
    const row = this.stmt.getLink.get(id) as { live: number } | undefined;
    if (row?.live !== 1) this.transaction(() => this.emit('link.add', id, { src, dst, type }));
    return { id, src, dst, type };
  }

  removeLink(src: string, dst: string, type: LinkType): void {
    if (!isNodeId(src)) throw invalid('src', 'is not a node id');
    if (!isNodeId(dst)) throw invalid('dst', 'is not a node id');
    if (!isLinkType(type)) throw invalid('type', 'is not a link type');
    const id = linkId(src, type, dst);
    const row = this.stmt.getLink.get(id) as { state: string; live: number } | undefined;
    if (!row || row.live !== 1) {
      throw new HephError('not_found', `no ${type} link from ${src} to ${dst}`, { id });
    }
    const observed = [...decodeLinkSet(row.state).adds];
    this.transaction(() => this.emit('link.remove', id, { observed }));
  }

  // ---- reads ---------------------------------------------------------------------------------

  findNode(id: string): NodeView | undefined {
    if (typeof id !== 'string') throw invalid('id', 'must be a string');
    const row = this.stmt.getNode.get(id) as NodeRow | undefined;
    return row && row.kind !== null ? toView(row) : undefined;
  }

  /**
   * The heads of a field's register: the values it holds now, each with the op that wrote it,
   * oldest first. More than one distinct value: the field is in conflict.
   */
  fieldHeads(id: string, field: string): { op: string; value: Json }[] {
    const reg = this.nodeState(id).regs[field] ?? EMPTY_REGISTER;
    return reg.heads.map((h) => ({ op: h.id, value: JSON.parse(h.value) as Json }));
  }

  /**
   * Live nodes whose title is `title` as names compare (trimmed, ASCII letters in either case),
   * by id; a task's context doc is never one (its title is its task's). Read from the nodes
   * table, so it needs no search index caught up first. (SQLite trims spaces only; a title
   * written with other whitespace around it is not found.)
   */
  nodesTitled(title: string): string[] {
    return this.stmt.namedLike.all(title.trim()) as string[];
  }

  /** Whether the node is a task's context doc (see context-docs.ts). */
  isContextDoc(id: string): boolean {
    return this.stmt.isContextDoc.get(id) !== undefined;
  }

  /** Whether a node with this id exists (deleted or not): findNode without reading the row. */
  private isNode(id: string): boolean {
    return (this.stmt.nodeExists.get(id) ?? null) !== null;
  }

  /** A node's kind, refusing what getNode refuses (without reading its body). */
  private kindOf(id: string): NodeKind {
    if (!isNodeId(id))
      throw invalid('id', `${JSON.stringify(String(id).slice(0, 80))} is not a node id`);
    const kind = this.stmt.nodeExists.get(id) as NodeKind | null | undefined;
    if (kind === undefined || kind === null) throw notFound('node', id);
    return kind;
  }

  getNode(id: string): NodeView {
    if (!isNodeId(id))
      throw invalid('id', `${JSON.stringify(String(id).slice(0, 80))} is not a node id`);
    const n = this.findNode(id);
    if (!n) throw notFound('node', id);
    return n;
  }

  listNodes(query: ListQuery = {}): NodeView[] {
    const raw: unknown = query;
    if (!isPlainObject(raw)) throw invalid('query', 'must be an object');
    const { kind, scope = 'live', limit = 1000, offset = 0, items = false } = query;
    if (kind !== undefined && !isNodeKind(kind)) {
      throw invalid('kind', 'must be one of doc, task, project, tag, journal');
    }
    if (!(['live', 'trash', 'all'] as unknown[]).includes(scope))
      throw invalid('scope', 'must be live, trash or all');
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST)
      throw invalid('limit', `must be 1-${MAX_LIST}`);
    if (!Number.isInteger(offset) || offset < 0) throw invalid('offset', 'must be a whole number');
    if (typeof items !== 'boolean') throw invalid('items', 'must be true or false');
    const deleted =
      scope === 'live' ? 'AND n.deleted = 0' : scope === 'trash' ? 'AND n.deleted = 1' : '';
    const rows = this.db
      .prepare(
        `${NODE_SELECT} WHERE n.kind IS NOT NULL ${kind ? 'AND n.kind = @kind' : ''} ${deleted}
         ${items ? `AND NOT ${IS_CONTEXT_DOC}` : ''}
         ORDER BY n.updated_ms DESC, n.id LIMIT @limit OFFSET @offset`,
      )
      .all({ kind: kind ?? null, limit, offset }) as NodeRow[];
    return rows.map(toView);
  }

  resolveNode(name: string): NodeView {
    if (typeof name !== 'string' || name.trim() === '')
      throw invalid('name', 'must be a non-empty string');
    if (isNodeId(name)) {
      const n = this.findNode(name);
      if (n && !n.deleted) return n;
    }
    for (const stmt of [this.stmt.byAlias, this.stmt.byTitle]) {
      const rows = stmt.all({ name }) as NodeRow[];
      if (rows.length === 1) return toView(rows[0] as NodeRow);
      if (rows.length > 1) {
        const ids = rows.map((r) => r.id);
        throw new HephError(
          'ambiguous',
          `${JSON.stringify(name)} names ${rows.length} nodes: ${ids.join(', ')}`,
          { ids },
        );
      }
    }
    throw new HephError('not_found', `no node has the id, alias or title ${JSON.stringify(name)}`, {
      name,
    });
  }

  links(src: string, type?: LinkType): LinkView[] {
    if (!isNodeId(src)) throw invalid('id', 'is not a node id');
    if (type !== undefined && !isLinkType(type)) throw invalid('type', 'is not a link type');
    return this.stmt.linksFrom.all({ node: src, type: type ?? null }) as LinkView[];
  }

  backlinks(dst: string, type?: LinkType): LinkView[] {
    if (!isNodeId(dst)) throw invalid('id', 'is not a node id');
    if (type !== undefined && !isLinkType(type)) throw invalid('type', 'is not a link type');
    return this.stmt.linksTo.all({ node: dst, type: type ?? null }) as LinkView[];
  }

  /** Raw wiki-link targets written in a node's body. */
  wikiTargets(src: string): string[] {
    return this.stmt.wikiFrom.all(src) as string[];
  }

  /**
   * Up to `limit` ops after `cursor` in log order; fewer (never none when there are any) when
   * their stored text would pass `maxBytes`, with `more` true.
   */
  opsSince(
    cursor: number,
    limit = 1000,
    maxBytes = Infinity,
  ): { ops: Op[]; cursor: number; more: boolean } {
    if (!Number.isSafeInteger(cursor) || cursor < 0)
      throw invalid('cursor', 'must be a whole number');
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
      throw invalid('limit', 'must be 1-100000');
    const rows = this.stmt.opsSince.all(cursor, limit + 1) as OpRow[];
    let take = Math.min(rows.length, limit);
    let bytes = 0;
    for (let i = 0; i < take; i++) {
      const r = rows[i] as OpRow;
      bytes += r.payload.length + r.target.length + r.kind.length + r.id.length;
      if (bytes > maxBytes && i > 0) take = i;
    }
    const more = rows.length > take;
    const page = more ? rows.slice(0, take) : rows;
    return {
      ops: page.map(opOfRow),
      cursor: page.length > 0 ? (page[page.length - 1] as OpRow).seq : cursor,
      more,
    };
  }

  opCount(): number {
    return this.stmt.countOps.get() as number;
  }

  /** How many ops arrived after a local cursor (for progress and "not yet pulled" counts). */
  countOpsSince(cursor: number): number {
    if (!Number.isSafeInteger(cursor) || cursor < 0)
      throw invalid('cursor', 'must be a whole number');
    return this.stmt.countOpsSince.get(cursor) as number;
  }

  /** The local cursor of the newest op (0 for an empty log). */
  lastSeq(): number {
    return (this.stmt.lastSeq.get() as number | null) ?? 0;
  }

  /**
   * How many of this replica's own ops arrived after a local cursor (sync: not yet pushed).
   * Asked after every commit and by every status call with the same cursor, so the answer is
   * kept and extended by the rows added since, instead of scanning the log from the cursor.
   */
  countOwnOpsSince(cursor: number): number {
    if (!Number.isSafeInteger(cursor) || cursor < 0)
      throw invalid('cursor', 'must be a whole number');
    const last = this.lastSeq();
    let c = this.ownCount;
    if (c === undefined || c.cursor !== cursor || c.upTo > last) {
      c = { cursor, upTo: cursor, count: 0 };
    }
    if (last > c.upTo) {
      c.count += this.stmt.countOwnBetween.get(c.upTo, last, this.origin) as number;
      c.upTo = last;
    }
    this.ownCount = c;
    return c.count;
  }

  /**
   * How many of this replica's own changes (local commands) have an op after a local cursor: the
   * "changes waiting to upload" a person reads (naming a device is none: its ops count as ops
   * only). Kept and extended like countOwnOpsSince. The ops
   * of one change are adjacent in the log (one transaction wrote them), so counting where the
   * change id differs from the op before it counts each change once.
   */
  countOwnChangesSince(cursor: number): number {
    if (!Number.isSafeInteger(cursor) || cursor < 0)
      throw invalid('cursor', 'must be a whole number');
    const last = this.lastSeq();
    let c = this.ownChanges;
    if (c === undefined || c.cursor !== cursor || c.upTo > last) {
      c = { cursor, upTo: cursor, count: 0, last: '' };
    }
    if (last > c.upTo) {
      for (const change of this.stmt.ownChangesBetween.iterate(
        c.upTo,
        last,
        this.origin,
      ) as IterableIterator<string>) {
        if (change !== c.last) c.count++;
        c.last = change;
      }
      c.upTo = last;
    }
    this.ownChanges = c;
    return c.count;
  }

  /** One op of this log by its id. */
  findOp(id: string): Op | undefined {
    const row = this.stmt.getOp.get(id) as Omit<OpRow, 'seq' | 'id'> | undefined;
    return (
      row && {
        id,
        kind: row.kind,
        target: row.target,
        payload: JSON.parse(row.payload) as Op['payload'],
      }
    );
  }

  /** The changes the given ops of this log belong to (ids not in the log, and device names, are
   *  left out). */
  changesOf(ids: readonly string[]): Set<string> {
    const changes = new Set<string>();
    for (const id of ids) {
      const op = this.findOp(id);
      // Naming a device is no change a person made (as in countOwnChangesSince).
      if (op && op.kind !== 'device.name') changes.add(changeOf(op));
    }
    return changes;
  }

  /**
   * This replica's own ops after a local cursor, at most `limit`, and the cursor they reach: the
   * last one's seq when there may be more, else the end of the log (the other replicas' ops in
   * between need not be looked at again).
   */
  ownOpsSince(cursor: number, limit: number): { ops: Op[]; cursor: number; more: boolean } {
    if (!Number.isSafeInteger(cursor) || cursor < 0)
      throw invalid('cursor', 'must be a whole number');
    if (!Number.isInteger(limit) || limit < 1) throw invalid('limit', 'must be at least 1');
    const rows = this.stmt.ownOpsSince.all(cursor, this.origin, limit) as OpRow[];
    const more = rows.length === limit;
    const last = rows[rows.length - 1];
    return {
      ops: rows.map(opOfRow),
      cursor: more && last ? last.seq : Math.max(cursor, this.lastSeq()),
      more,
    };
  }

  /**
   * Gives new stamps to ops of this replica that no other replica has (sync: ops the hub refused
   * for clock drift, and own ops never sent). In one transaction: the ops leave the log, the
   * clock falls back to the newest op left (stamps that never existed anywhere need not be
   * exceeded), the same payloads are written again in their original order under fresh stamps
   * (a re-stamped op named in a later one's `prev` or `observed` is renamed there too), and
   * the materialized state is rebuilt. Returns old id → new id.
   */
  restampOps(ids: readonly string[]): Map<string, string> {
    return this.transaction(() => this.restampRows(this.ownRows(ids)));
  }

  /**
   * Makes this replica a new one: a new origin (replica id), under which `ids` (own ops no other
   * replica has: a revoked device's never-pushed ops) are re-stamped as restampOps does. Ops of
   * the old origin stay in the log as any other replica's. Returns the new origin and old id →
   * new id. The device's name moves to the new origin with it.
   */
  newOrigin(
    ids: readonly string[],
    given?: string,
    /** More writes of the same transaction (it fails and is undone with them). */
    alsoWrite?: (renamed: Map<string, string>) => void,
  ): { origin: string; renamed: Map<string, string> } {
    if (given !== undefined && !isOrigin(given)) {
      throw invalid('replica', 'must be a replica id (16 hex digits)');
    }
    // Its own transaction: inside another, a later failure there would roll the database back
    // to the old id while this object kept the new one, and later writes would carry an id the
    // database does not know as its own (never pushed).
    if (this.depth > 0) {
      throw new HephError('internal', 'newOrigin runs in a transaction of its own, not inside one');
    }
    const before = { origin: this.originId, hlc: this.hlc, yjs: this.yjsClient };
    try {
      return this.transaction(() => {
        const rows = this.ownRows(ids);
        const name = this.deviceName(before.origin);
        const origin = given ?? randomHex(this.random, 16);
        const used = this.db
          .prepare('SELECT 1 FROM oplog WHERE substr(id, -16) = ? LIMIT 1')
          .get(origin);
        if (used !== undefined || origin === before.origin) {
          throw new HephError('conflict', `replica id ${origin} already wrote ops here`, {
            replica: origin,
          });
        }
        this.stmt.putMeta.run('origin', origin);
        this.originId = origin;
        this.hlc = new HlcClock(origin, this.clock, this.hlc.peek());
        this.yjsClient = yjsClientId(origin);
        const renamed = this.restampRows(rows);
        if (name !== undefined) this.setDeviceName(origin, name);
        alsoWrite?.(renamed);
        this.logger.info({ previous: before.origin, origin }, 'this replica has a new id');
        return { origin, renamed };
      });
    } catch (e) {
      this.originId = before.origin;
      this.hlc = before.hlc;
      this.yjsClient = before.yjs;
      throw e;
    }
  }

  private ownRows(ids: readonly string[]): OpRowText[] {
    const get = this.db.prepare('SELECT id, kind, target, payload FROM oplog WHERE id = ?');
    const rows: OpRowText[] = [];
    for (const id of [...new Set(ids)].sort()) {
      const r = get.get(id) as OpRowText | undefined;
      if (!r) continue;
      if (originOf(r.id) !== this.origin) {
        throw new HephError('invalid_params', `op ${r.id} is not this replica's own`, { id });
      }
      rows.push(r);
    }
    return rows;
  }

  /** Re-stamps own rows (see restampOps); call inside a transaction. */
  private restampRows(rows: readonly OpRowText[]): Map<string, string> {
    {
      const insert = this.db.prepare(
        'INSERT INTO oplog (seq, id, kind, target, payload, change) VALUES (?, ?, ?, ?, ?, ?)',
      );
      const renamed = new Map<string, string>();
      if (rows.length === 0) return renamed;
      // New seqs must follow every old one (a sync cursor may already be past the deleted rows),
      // and SQLite would otherwise hand a deleted top row's seq out again.
      let seq = this.lastSeq();
      for (const r of rows) this.deleteOp(r.id);
      this.ownCount = undefined;
      this.ownChanges = undefined;
      this.ownHighId = undefined;
      const newest = this.db.prepare('SELECT max(id) FROM oplog').pluck().get() as string | null;
      this.hlc.reset(
        newest
          ? { ...decodeHlc(newest), origin: this.origin }
          : { wall: 0, counter: 0, origin: this.origin },
      );
      const rename = (v: Json): Json =>
        Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? (renamed.get(x) ?? x) : x)) : v;
      for (const r of rows) {
        const payload = JSON.parse(r.payload) as Record<string, Json>;
        for (const k of Object.keys(payload)) payload[k] = rename(payload[k] as Json);
        // A change keeps its ops together under its first op's new id; an undo or revert still
        // names the change or version it took back when that was re-stamped too.
        for (const k of ['change', 'undoes', 'reverts']) {
          const was = payload[k];
          if (typeof was === 'string' && renamed.has(was)) payload[k] = renamed.get(was) ?? was;
        }
        const id = this.hlc.now();
        const change = changeOf({ id, payload });
        insert.run(
          ++seq,
          id,
          r.kind,
          r.target,
          canonicalJson(payload),
          change === id ? null : change,
        );
        renamed.set(r.id, id);
      }
      this.names.forget();
      this.rebuild();
      return renamed;
    }
  }

  /**
   * The highest id among this replica's own ops in its log, or undefined when it has none (sync
   * sends it so the hub leaves out the own ops this replica holds). One scan of the log on the
   * first call; kept up to date after that.
   */
  ownHigh(): string | undefined {
    if (this.ownHighId === undefined) {
      const max = this.db
        .prepare('SELECT max(id) FROM oplog WHERE substr(id, -16) = ?')
        .pluck()
        .get(this.origin) as string | null;
      this.ownHighId = max;
    }
    return this.ownHighId ?? undefined;
  }

  private raiseOwnHigh(id: string): void {
    if (this.ownHighId === null || (this.ownHighId !== undefined && id > this.ownHighId)) {
      this.ownHighId = id;
    }
  }

  /**
   * Replica-local settings kept beside the data (sync cursors and the like). Keys of the store's
   * own (origin, hlc, backup_of, search_seq) cannot be written here.
   */
  getSetting(key: string): string | undefined {
    return this.getMeta(`setting:${key}`);
  }

  /** Writes a setting; inside transaction() it commits with the rest of the transaction. */
  setSetting(key: string, value: string | undefined): void {
    this.transaction(() => {
      if (value === undefined) this.stmt.delMeta.run(`setting:${key}`);
      else this.stmt.putMeta.run(`setting:${key}`, value);
    });
  }

  // ---- device names ---------------------------------------------------------------------------

  /** The name of the device with replica id `origin`, or undefined when it was never named. */
  deviceName(origin: string): string | undefined {
    return this.names.name(origin);
  }

  /** Every named device: replica id → name. */
  deviceNames(): Map<string, string> {
    return this.names.all();
  }

  /**
   * Names the device with replica id `origin` (this device's own or another's, as a hub
   * rename does): a device.name op superseding every name it had. Writes nothing when that is
   * already its only name.
   */
  setDeviceName(origin: string, name: string): void {
    if (!isOrigin(origin)) throw invalid('origin', 'must be a replica id (16 hex digits)');
    const problem = deviceNameProblem(name);
    if (problem !== undefined) throw invalid('name', problem);
    const reg = this.names.register(origin);
    if (reg.heads.length === 1 && reg.heads[0]?.value === canonicalJson(name)) return;
    this.transaction(() => this.emit('device.name', origin, { name, prev: headIds(reg) }));
  }

  /**
   * Every open conflict: fields, bodies, and nodes holding two projects or two parents (listed
   * as fields 'project' and 'parent'), by target and field.
   */
  conflicts(): ConflictView[] {
    const links = this.doubled.list();
    // A project in a loop of parents (parent-cycles.ts): its parent is in conflict, whether or
    // not it also has two; the conflict names the loop.
    for (const loop of this.loops.list()) {
      loop.members.forEach((m) => {
        const cycle = loopFrom(loop, m) ?? [];
        const doubled = links.find((c) => c.target === m && c.field === 'parent');
        if (doubled) doubled.cycle = cycle;
        else
          links.push({ target: m, field: 'parent', heads: this.doubled.heads(m, 'parent'), cycle });
      });
    }
    return [...this.fieldConflicts(), ...links].sort(byTargetAndField);
  }

  /** The loops of parent links, each with the project readers show at the top instead. */
  parentLoops(): readonly ParentLoop[] {
    return this.loops.list();
  }

  /** The projects whose parent link readers leave out, one per loop of parents. */
  parentBreaks(): Set<string> {
    return this.loops.breaks();
  }

  /** Conflicts of fields and bodies: the ones the digest holds (see digest()). */
  private fieldConflicts(): ConflictView[] {
    // Lost rows (a rollback while some were pending) are made again first: the SQL rows lack
    // what the committed pages did.
    if (this.rowsLost) this.catchUpRows();
    const out: ConflictView[] = [];
    const fields = (id: string, kind: string | null, regs: NodeRegs): void => {
      // A context doc's own title is never shown (its task's is), so it is no conflict either.
      const hidden = kind === 'doc' && this.isContextDoc(id) ? 'title' : undefined;
      for (const field of Object.keys(regs).sort()) {
        const reg = regs[field];
        if (!reg || field === hidden || !viewRegister(reg).conflict) continue;
        out.push({
          target: id,
          field,
          heads: reg.heads.map((h) => ({
            op: h.id,
            origin: originOf(h.id),
            at: isoOf(wallOf(h.id)),
            value: JSON.parse(h.value) as Json,
          })),
        });
      }
    };
    // Rows applyOps left pending are read from their registers, not written first: the sync
    // status asks for this while pages are applied.
    // Both are taken before `fields` runs: its context-doc check writes pending rows.
    const written = (
      this.stmt.conflicted.all() as (ValueRow & { id: string; regs: string })[]
    ).filter((row) => this.pendingRows.state(row.id) === undefined);
    const pending: [string, NodeState][] = [];
    this.pendingRows.forEachConflicted((id, s) => pending.push([id, s]));
    for (const row of written) fields(row.id, row.kind, decodeRegs(row.regs, 0, row).regs);
    for (const [id, s] of pending) {
      const kind = s.regs.kind && viewRegister(s.regs.kind).visible;
      fields(id, kind === undefined ? null : (JSON.parse(kind) as string | null), s.regs);
    }
    for (const node of this.bodyStmt.conflicted.all() as string[]) {
      const { heads } = chooseShown(storedDocs(this.bodyStmt, this.bodyCache, node));
      out.push({
        target: node,
        field: 'body',
        heads: heads
          .sort((a, b) => (a.since < b.since ? -1 : a.since > b.since ? 1 : 0))
          .map((h) => {
            const op = latestOp(h);
            return {
              op,
              origin: originOf(op),
              at: isoOf(wallOf(op)),
              value: h.text,
              branch: h.branch,
            };
          }),
      });
    }
    return out.sort(byTargetAndField);
  }

  /** The current HLC high-water mark (for status and tests). */
  clockState(): Hlc {
    return this.hlc.peek();
  }

  /**
   * SHA-256 over a canonical dump of user-visible state: every node's fields and body, live
   * links and open conflicts. Nothing local (origin, arrival order) goes in.
   */
  digest(): string {
    if (this.digestCache !== undefined && this.depth === 0) return this.digestCache;
    const h = createHash('sha256');
    h.update('heph-digest-1\n');
    for (const r of this.stmt.allNodes.iterate() as IterableIterator<NodeRow>) {
      const { conflicts: _derived, body_version: _version, ...fields } = r;
      h.update(
        canonicalJson({
          ...fields,
          body: r.body ?? '',
          aliases: JSON.parse(r.aliases) as Json,
          extra: JSON.parse(r.extra) as Json,
        }) + '\n',
      );
    }
    h.update('links\n');
    for (const id of this.stmt.allLinks.iterate() as IterableIterator<string>) h.update(id + '\n');
    // Conflicts of projects and parents are not in it: they follow from the live links above,
    // and a version that does not list them must get the same digest from the same ops.
    h.update('conflicts\n');
    for (const c of this.fieldConflicts()) h.update(canonicalJson(c) + '\n');
    const digest = h.digest('hex');
    if (this.depth === 0) this.digestCache = digest;
    return digest;
  }

  /**
   * Drops the materialized tables and replays the whole op-log into them. Body steps (derived,
   * see step-log.ts) are dropped too, and made again when a node's history is next read.
   */
  rebuild(): void {
    // Lost rows are what this makes again (a rollback of it loses them again).
    const wasLost = this.rowsLost;
    this.rowsLost = false;
    try {
      this.rebuildTables();
    } catch (e) {
      if (wasLost) this.rowsLost = true;
      throw e;
    }
  }

  private rebuildTables(): void {
    this.transaction(
      () => {
        this.pendingRows.clear();
        this.db.exec(
          'DELETE FROM nodes; DELETE FROM bodies; DELETE FROM body_docs; DELETE FROM body_parts; DELETE FROM links; DELETE FROM wiki_links; DELETE FROM body_steps; DELETE FROM body_marks;',
        );
        this.states.clear();
        this.bodyCache.clear();
        this.doubled.forget();
        this.loops.forget();
        let after = '';
        try {
          for (;;) {
            const rows = this.stmt.replayPage.all(after) as OpRowText[];
            if (rows.length === 0) break;
            this.inBatch(() => {
              for (const r of rows) {
                this.replayBound = r.id;
                this.replay(r);
              }
            });
            after = (rows[rows.length - 1] as OpRowText).id;
          }
        } finally {
          this.replayBound = undefined;
        }
        this.changed.conflicts = true;
      },
      { keepRows: true },
    );
  }

  /**
   * Applies one logged op as the apply path did when it took the op in: an op it would refuse
   * now (stored unchecked by a version that did not know its kind, or before a check this
   * version makes) was never applied, and is skipped; it stays in the log. `rowOnly`: a body
   * op only marks its time on the node's row (remakeRows).
   */
  private replay(r: OpRowText, rowOnly = false): void {
    try {
      const payload = JSON.parse(r.payload) as Op['payload'];
      const known = interpretOp({ id: r.id, kind: r.kind, target: r.target, payload });
      if (!known) return;
      // A body op whose document is stored already: only its time on the node's row.
      if (rowOnly && known.kind !== 'node.set') this.batch?.touch(known.target, wallOf(known.id));
      else this.applyKnown(known);
    } catch (e) {
      if (!(e instanceof HephError) || e.code !== 'invalid_op') throw e;
      this.logger.warn({ op: r.id, err: e.message }, 'replay skipped an op this version refuses');
    }
  }

  /**
   * Gives back what this store holds only to be quick: the node registers cached between calls,
   * the live body documents, and SQLite's page cache (after writing the node rows applyOps left
   * pending, whose registers live only in the cache). Everything dropped is read again when a
   * call needs it. For a daemon gone idle after heavy work; refused (false) inside a
   * transaction or an apply batch, where the caches hold uncommitted state.
   */
  releaseMemory(): boolean {
    if (!this.db.open || this.depth > 0 || this.batch !== undefined) return false;
    this.catchUpRows();
    this.states.clear();
    this.bodyCache.clear();
    this.db.pragma('shrink_memory');
    return true;
  }

  /** How many nodes' registers the cache holds (releaseMemory empties it). */
  cachedStates(): number {
    return this.states.size;
  }

  /** How many body documents the cache holds and their estimated bytes (body-cache.ts). */
  bodyCacheStats(): { docs: number; bytes: number } {
    return this.bodyCache.stats();
  }

  /**
   * Body text straight from the stored CRDT parts (bypassing the materialized column and the
   * body cache), for tests.
   */
  crdtBody(id: string): string {
    return chooseShown(storedTexts(this.bodyStmt, id)).shown?.text ?? '';
  }

  /** The underlying connection, for adapters in this layer (backup, search). */
  get connection(): Database.Database {
    this.catchUpRows();
    return this.db;
  }
}

/** An op-log row as its columns come back. */
interface OpRow {
  seq: number;
  id: string;
  kind: string;
  target: string;
  payload: string;
}

function opOfRow(r: OpRow): Op {
  return {
    id: r.id,
    kind: r.kind,
    target: r.target,
    payload: JSON.parse(r.payload) as Op['payload'],
  };
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/** A document's id and its encoded state, made only when asked. */
function at(
  d: { branch: string; state: Uint8Array } | undefined,
): { branch: string; state: () => Uint8Array } | undefined {
  return d && { branch: d.branch, state: () => d.state };
}

function byTargetAndField(a: ConflictView, b: ConflictView): number {
  return a.target !== b.target ? (a.target < b.target ? -1 : 1) : a.field < b.field ? -1 : 1;
}

/** How a body save is written (see writeBody). */
interface BodyWrite {
  /** Other replicas may create this node too: its first text is deterministic. */
  shared: boolean;
  imported: boolean;
  base?: string | undefined;
}

/**
 * Whether different first texts of this node all stay (journals and task logs: two devices'
 * first lines of a day are both kept) rather than becoming a body conflict.
 */
function mergesFirstTexts(id: string): boolean {
  return id.startsWith('journal:') || id.startsWith('log:');
}
