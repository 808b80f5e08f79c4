// `PRAGMA quick_check` of a live daemon's database without blocking its requests. The daemon
// holds SQLite's exclusive lock, so no second connection can open the file itself. Instead: a
// TRUNCATE checkpoint moves every committed page into the file, automatic checkpoints pause so
// the file's bytes stay still (new commits go to the WAL only), the file is copied off the event
// loop (libuv's thread pool), checkpoints resume, and a worker thread opens the copy read-only
// and runs quick_check and reads the schema version on it. The copy has the file's bytes
// exactly, so a damaged page in the file is a damaged page in the copy. Guarantees: the automatic
// checkpoint setting is always restored; the copy is removed whatever happens; the main thread
// never runs the check. Run one at a time per store: the caller keeps one in flight and shares it.

import { copyFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { HephError } from '../core/errors.js';
import type { SqliteStore } from './sqlite-store.js';

export interface QuickCheck {
  /** quick_check's own lines: ['ok'] when the file is sound. */
  result: string[];
  /** PRAGMA user_version of the file. */
  schemaVersion: number | null;
}

/** Runs in the worker (CommonJS, eval'd): opens the copy read-only and checks it. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
let db;
try {
  const Database = require(workerData.module);
  db = new Database(workerData.path, { readonly: true, fileMustExist: true });
  const result = db.pragma('quick_check(20)').map((r) => String(Object.values(r)[0]));
  const schemaVersion = db.pragma('user_version', { simple: true });
  parentPort.postMessage({ result, schemaVersion });
} catch (e) {
  parentPort.postMessage({ result: [String(e && e.message || e)], schemaVersion: null });
} finally {
  if (db) db.close();
}
`;

export async function quickCheck(store: SqliteStore, path: string): Promise<QuickCheck> {
  const copy = `${path}.doctor-copy`;
  // Opening a WAL-mode copy, even read-only, makes its -wal and -shm files.
  const files = [copy, `${copy}-wal`, `${copy}-shm`];
  const removeCopy = () => Promise.all(files.map((f) => rm(f, { force: true })));
  const db = store.connection;
  await removeCopy();
  const auto = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  try {
    const [cp] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (cp !== undefined && cp.busy !== 0) {
      throw new HephError('unavailable', 'the database is busy; run the check again in a moment');
    }
    db.pragma('wal_autocheckpoint = 0');
    await copyFile(path, copy);
  } finally {
    db.pragma(`wal_autocheckpoint = ${auto}`);
  }
  try {
    return await inWorker(copy);
  } finally {
    await removeCopy();
  }
}

function inWorker(path: string): Promise<QuickCheck> {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { path, module } });
    w.once('message', (m: QuickCheck) => resolve(m));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new HephError('internal', `the database check stopped (${code})`));
    });
  });
}
