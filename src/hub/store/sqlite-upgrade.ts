// The in-place upgrade of a hub data directory from the earlier layout — the hub owner's device
// database (the --db file, owner claim in its settings as `hub.owner`) and one device database
// per other account under users/ (each naming its account in `hub.partition_of`) — to one hub
// store, <data dir>/hub.db. Guarantees:
// - every op keeps its arrival stamp (its old oplog seq), so no device re-syncs and no cursor
//   breaks; the claim moves to the store's control plane; unknown op kinds move too;
// - before anything changes, the old files are copied, whole and consistent (checkpointed under
//   SQLite's exclusive lock, so no older hub can be writing them), to
//   <data dir>/pre-upgrade-<date>/;
// - all or nothing: the store is built in a new file and renamed into place at the end; any
//   failure before that leaves the old files as they were (the copies and the new file are
//   removed); the old files are removed only after the rename, and a start that finds them
//   next to a store that records their upgrade finishes removing them;
// - the report says what was done, and is kept in the store (hub_meta `upgraded`).

import {
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { HephError } from '../../core/errors.js';
import type { Logger } from '../../ports/logger.js';
import { HUB_OWNER, type OwnerIdentity } from '../../ports/hub-store.js';
import { canonicalOpText } from '../../store/canonical-text.js';
import { SCHEMA_VERSION } from '../../store/migrate.js';
import { translateSqliteError } from '../../store/sqlite-errors.js';
import { MAX_STAMP, opKey } from './sqlite.js';
import { createHubSchema, fileKind, HUB_PAGE_SIZE } from './sqlite-schema.js';

export interface UpgradeOptions {
  /** The data directory: the folder of the hub's --db. */
  dataDir: string;
  /** The hub's --db: the earlier layout's owner database (it may be hub.db itself). */
  legacyDb: string;
  now: number;
  logger: Logger;
}

export interface UpgradedFile {
  /** Path relative to the data directory. */
  file: string;
  /** 'hub' for the hub owner's database, else the account it held. */
  owner: 'hub' | OwnerIdentity;
  ops: number;
  /** Its newest arrival stamp (cursor). */
  last: number;
}

export interface UpgradeReport {
  files: UpgradedFile[];
  claim: OwnerIdentity | null;
  /** Where the old files were copied, relative to the data directory. */
  copies: string;
  date: string;
}

export const HUB_DB_NAME = 'hub.db';
const PARTITIONS = 'users';

/** The hub store file of a data directory. */
export function hubDbPath(dataDir: string): string {
  return join(dataDir, HUB_DB_NAME);
}

interface Legacy {
  path: string;
  db: Database.Database;
  owner: 'hub' | OwnerIdentity;
}

function fail(message: string, path: string, cause?: unknown): HephError {
  const why = cause instanceof Error ? `: ${cause.message}` : '';
  return new HephError('storage', `cannot upgrade the hub data directory: ${message}${why}`, {
    path,
  });
}

function parseIdentity(raw: string | undefined): OwnerIdentity | undefined {
  if (raw === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      v[0] !== '' &&
      v[1] !== ''
    ) {
      return { iss: v[0], sub: v[1] };
    }
  } catch {
    // reported below
  }
  return undefined;
}

function isDeviceDatabase(db: Database.Database): boolean {
  const t = db
    .prepare(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('oplog', 'meta')",
    )
    .pluck()
    .get() as number;
  return t === 2;
}

/** Opens an earlier-layout database under SQLite's exclusive lock, checkpointed. */
function openLegacy(path: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true });
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT;');
    if (!isDeviceDatabase(db)) {
      throw fail(`${path} is not a heph database of the earlier hub layout`, path);
    }
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version < 1 || version > SCHEMA_VERSION) {
      throw fail(`${path} has schema version ${version}, which this heph does not know`, path);
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
    return db;
  } catch (e) {
    db?.close();
    const code = (e as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new HephError(
        'already_running',
        `cannot upgrade the hub data directory: ${path} is in use by another process (an older ` +
          'hephd?); stop it and start again',
        { path },
      );
    }
    if (e instanceof HephError) throw e;
    throw fail(`cannot read ${path}`, path, translateSqliteError(e, path));
  }
}

function setting(db: Database.Database, key: string): string | undefined {
  return db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(`setting:${key}`) as
    string | undefined;
}

function partitionFiles(dataDir: string): string[] {
  const dir = join(dataDir, PARTITIONS);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.db'))
    .sort()
    .map((f) => join(dir, f));
}

/** The files of the earlier layout in this data directory (none: nothing to upgrade). */
function legacyFiles(o: UpgradeOptions, hubDb: string): string[] {
  const out: string[] = [];
  if (existsSync(o.legacyDb)) {
    if (o.legacyDb !== hubDb) out.push(o.legacyDb);
    else {
      let db: Database.Database | undefined;
      try {
        // Exclusive from the first read, so no -shm file is made beside a file left as it was.
        db = new Database(hubDb, { fileMustExist: true });
        db.pragma('locking_mode = EXCLUSIVE');
        if (fileKind(db) === 'other') out.push(hubDb);
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        // Locked: a running hub holds it (opening the store says so). Else openLegacy says why.
        if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return [];
        out.push(hubDb);
      } finally {
        db?.close();
      }
    }
  }
  return [...out, ...partitionFiles(o.dataDir)];
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function removeDatabase(path: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal', '.pid'])
    rmSync(path + suffix, { force: true });
}

function removeLegacy(files: readonly string[], dataDir: string): void {
  for (const f of files) removeDatabase(f);
  const users = join(dataDir, PARTITIONS);
  try {
    rmdirSync(users);
  } catch {
    // not there, or holds other files: leave it
  }
}

function copiesDir(dataDir: string, date: string): string {
  for (let n = 1; ; n++) {
    const dir = join(dataDir, `pre-upgrade-${date}${n === 1 ? '' : `-${n}`}`);
    if (!existsSync(dir)) return dir;
  }
}

/**
 * Upgrades the data directory if it holds the earlier layout; returns what it did, or undefined
 * when there was nothing to upgrade. Run before the hub store is opened.
 */
export function upgradeHubDir(o: UpgradeOptions): UpgradeReport | undefined {
  const hubDb = hubDbPath(o.dataDir);
  const files = legacyFiles(o, hubDb);
  if (files.length === 0) return undefined;
  if (existsSync(hubDb) && !files.includes(hubDb)) return finishCleanup(o, hubDb, files);

  const date = new Date(o.now).toISOString().slice(0, 10);
  const building = `${hubDb}.upgrading`;
  const legacy: Legacy[] = [];
  let copies: string | undefined;
  let report: UpgradeReport;
  try {
    for (const path of files) {
      const db = openLegacy(path);
      const isPartition = dirname(path) === join(o.dataDir, PARTITIONS);
      let owner: Legacy['owner'] = 'hub';
      if (isPartition) {
        const id = parseIdentity(setting(db, 'hub.partition_of'));
        if (id === undefined) {
          db.close();
          throw fail(
            `${path} does not say whose data it holds (no valid hub.partition_of setting)`,
            path,
          );
        }
        owner = id;
      }
      legacy.push({ path, db, owner });
    }
    const main = legacy.find((l) => l.owner === 'hub');
    const rawClaim = main === undefined ? undefined : setting(main.db, 'hub.owner');
    const claim = parseIdentity(rawClaim);
    if (rawClaim !== undefined && claim === undefined) {
      throw fail(
        `the owner claim in ${main!.path} is not one this version understands`,
        main!.path,
      );
    }

    copies = copiesDir(o.dataDir, date);
    for (const l of legacy) {
      const to = join(copies, relative(o.dataDir, l.path));
      mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
      copyFileSync(l.path, to);
      fsyncPath(to);
    }

    rmSync(building, { force: true });
    report = { files: [], claim: claim ?? null, copies: relative(o.dataDir, copies), date };
    build(building, legacy, o, report);
    fsyncPath(building);
    // The earlier owner database may be hub.db itself: the new file replaces it here.
    renameSync(building, hubDb);
    fsyncPath(o.dataDir);
  } catch (e) {
    for (const l of legacy) l.db.close();
    rmSync(building, { force: true });
    if (copies !== undefined) rmSync(copies, { recursive: true, force: true });
    throw e;
  }
  for (const l of legacy) l.db.close();
  // What the old owner database left behind under hub.db's name belongs to the old file.
  rmSync(`${hubDb}-wal`, { force: true });
  rmSync(`${hubDb}-shm`, { force: true });
  removeLegacy(
    files.filter((f) => f !== hubDb),
    o.dataDir,
  );
  describe(report, o);
  return report;
}

function build(
  path: string,
  legacy: readonly Legacy[],
  o: UpgradeOptions,
  report: UpgradeReport,
): void {
  const db = new Database(path);
  try {
    db.pragma(`page_size = ${HUB_PAGE_SIZE}`);
    db.pragma('journal_mode = DELETE');
    db.pragma('synchronous = FULL');
    db.transaction(() => {
      createHubSchema(db, o.now);
      const addOwner = db.prepare('INSERT INTO owners (iss, sub, created_ms) VALUES (?, ?, ?)');
      const insert = db.prepare('INSERT INTO ops (key, owner, id, op) VALUES (?, ?, ?, ?)');
      const gap = db.prepare('INSERT INTO stamp_gaps (owner, stamp) VALUES (?, ?)');
      for (const l of legacy) {
        const owner =
          l.owner === 'hub'
            ? HUB_OWNER
            : Number(addOwner.run(l.owner.iss, l.owner.sub, o.now).lastInsertRowid);
        let ops = 0;
        let last = 0;
        const rows = l.db
          .prepare('SELECT seq, id, kind, target, payload FROM oplog ORDER BY seq')
          .raw()
          .iterate() as IterableIterator<[number, string, string, string, string]>;
        for (const [seq, id, kind, target, payload] of rows) {
          let text: string;
          try {
            text = canonicalOpText({ id, kind, target, payload: JSON.parse(payload) as never });
          } catch (e) {
            throw fail(`op ${id} in ${l.path} cannot be read`, l.path, e);
          }
          if (seq > MAX_STAMP) throw fail(`${l.path} holds more ops than one owner may`, l.path);
          insert.run(opKey(owner, seq), owner, id, text);
          // The old log's seqs become the stamps as they are; any it skipped are recorded.
          for (let missing = last + 1; missing < seq; missing++) gap.run(owner, missing);
          ops++;
          last = seq;
        }
        report.files.push({ file: relative(o.dataDir, l.path), owner: l.owner, ops, last });
      }
      if (report.claim !== null) {
        db.prepare('INSERT INTO claim (one, iss, sub, claimed_ms) VALUES (1, ?, ?, ?)').run(
          report.claim.iss,
          report.claim.sub,
          o.now,
        );
      }
      db.prepare("INSERT INTO hub_meta (key, value) VALUES ('upgraded', ?)").run(
        JSON.stringify(report),
      );
    })();
  } catch (e) {
    throw e instanceof HephError ? e : fail(`writing ${path} failed`, path, e);
  } finally {
    db.close();
  }
}

/** Old files next to an upgraded store: removed when the store records their upgrade (a start
 *  stopped between the rename and the removal), else refused. */
function finishCleanup(
  o: UpgradeOptions,
  hubDb: string,
  files: readonly string[],
): UpgradeReport | undefined {
  const db = new Database(hubDb, { fileMustExist: true });
  let recorded: UpgradeReport | undefined;
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    const raw = db.prepare("SELECT value FROM hub_meta WHERE key = 'upgraded'").pluck().get();
    recorded = typeof raw === 'string' ? (JSON.parse(raw) as UpgradeReport) : undefined;
  } catch {
    recorded = undefined;
  } finally {
    db.close();
  }
  const done = new Set(recorded?.files.map((f) => join(o.dataDir, f.file)) ?? []);
  const stray = files.filter((f) => !done.has(f));
  if (stray.length > 0) {
    throw new HephError(
      'storage',
      `${hubDb} is a hub store, but the data directory also holds databases of the earlier ` +
        `layout that were never upgraded into it (${stray.map((f) => basename(f)).join(', ')}); ` +
        'move them away, or start the hub with another data directory',
      { path: o.dataDir },
    );
  }
  removeLegacy(files, o.dataDir);
  o.logger.info(
    { files: files.map((f) => relative(o.dataDir, f)) },
    'removed the files an earlier upgrade had copied and moved into the hub store',
  );
  return undefined;
}

function describe(r: UpgradeReport, o: UpgradeOptions): void {
  const ops = r.files.reduce((n, f) => n + f.ops, 0);
  const accounts = r.files.filter((f) => f.owner !== 'hub').length;
  o.logger.info(
    { upgraded: r, data_dir: o.dataDir },
    `upgraded the hub data directory to one hub store (${HUB_DB_NAME}): ${ops} ops of ` +
      `${r.files.length} database(s) (the hub owner's and ${accounts} other account(s)), every ` +
      `arrival stamp kept${r.claim ? `, the claim by ${r.claim.sub} kept` : ''}; the old files ` +
      `were copied to ${r.copies}/`,
  );
}
