// Peers on the field-edit workload: the engine module's 100,000 field sets over 10,000 tasks
// (title, state, attention, do_date; bench/engine.ts buildWorkload), applied in the same run by
// heph, by a plain last-writer-wins op-log in SQLite (the baseline), by Yjs and by
// @automerge/automerge in-process. For each: the apply rate, the bytes an initial sync sends,
// and the bytes stored. heph's apply is timed until a read sees the new state (search's index
// is brought up to date by cursor, so that is timed too), and after it node.get of every task,
// "what is next" and search are checked against the baseline's rows. heph's wire bytes are
// counted on the sockets of a real device syncing from a real hub process.

import { existsSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import * as Automerge from '@automerge/automerge';
import Database from 'better-sqlite3';
import { Agent, buildConnector, request } from 'undici';
import * as Y from 'yjs';
import { originOf } from '../src/core/hlc.js';
import type { Op } from '../src/core/op.js';
import { Model } from '../src/model/model.js';
import { catchUpSearchIndex, search } from '../src/model/search.js';
import { ManualClock } from '../src/ports/clock.js';
import { seededRandom } from '../src/ports/random.js';
import {
  HEADER_PROTOCOL,
  HEADER_REPLICA,
  MAX_PUSH_OPS,
  PROTOCOL_VERSION,
} from '../src/protocol/sync.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { HubClient } from '../src/sync/hub-client.js';
import { syncOnce } from '../src/sync/sync-once.js';
import { encode } from '../src/transport/http-encoding.js';
import { applyAll, buildWorkload, type Workload } from './engine.js';
import { DAEMON_STORE_OPTIONS } from '../src/daemon/idle-checkpoint.js';
import { median, medianIfShort, nowMs, perSecond } from './stats.js';
import { startHub } from './sync.js';
import type { BenchContext, BenchModule, FigureMeta } from './types.js';

const BATCH = 1000;
const ROUNDS = 3;
const TODAY = '2026-07-01';
const FIELDS = ['kind', 'title', 'state', 'attention', 'do_date'] as const;
type Field = (typeof FIELDS)[number];
type Value = string | null;
/** One field set as every peer sees it: the op's id is its timestamp. */
interface Edit {
  ts: string;
  record: string;
  field: Field;
  value: Value;
}
type Rows = Map<string, Record<Field, Value>>;

const WORKLOAD =
  'the same 100,000 field sets (title, state, attention, do_date) over 10,000 tasks, applied ' +
  'in batches of 1,000 after the tasks’ 40,000 creation field sets (untimed)';
const PER_OP = 'per op, over all 140,000 field sets (the 40,000 that create the tasks included)';

export const peersFieldsFigures: FigureMeta[] = [
  {
    name: 'naive_apply_edits_per_s',
    unit: 'edits/s',
    description:
      `The baseline, a plain last-writer-wins op-log in SQLite (WAL, synchronous=NORMAL, as ` +
      `heph): per edit, one INSERT OR IGNORE into ops(id primary key, record, field, value) and ` +
      `one upsert of the record's row (one value and timestamp column per field, primary key ` +
      `only), kept when its timestamp is newer; ${WORKLOAD}; median of ${ROUNDS} runs, each ` +
      `beside one of heph`,
  },
  {
    name: 'heph_apply_edits_per_s',
    unit: 'edits/s',
    floor: 'naive_apply_edits_per_s',
    description:
      `heph's applyOps of ${WORKLOAD}, into a file store, timed until reads see the new state: ` +
      'the search index caught up, one `next` and one search; afterwards node.get of every ' +
      'task, `next` (all of it) and search are checked against the baseline’s rows; median ' +
      `of ${ROUNDS} runs`,
  },
  {
    name: 'apply_ops_vs_naive',
    unit: '×',
    target: { op: '>=', value: 0.5 },
    description:
      'heph_apply_edits_per_s / naive_apply_edits_per_s, median of the ratios of the runs made ' +
      'side by side',
  },
  {
    name: 'yjs_apply_edits_per_s',
    unit: 'edits/s',
    floor: 'naive_apply_edits_per_s',
    description:
      'Yjs in-process: one Y.Doc, a Y.Map of tasks each a Y.Map of fields; Y.applyUpdate of ' +
      `the source document's updates, one per batch of 1,000 edits; ${WORKLOAD}; in memory, ` +
      'no history kept',
  },
  {
    name: 'automerge_apply_edits_per_s',
    unit: 'edits/s',
    floor: 'naive_apply_edits_per_s',
    description:
      '@automerge/automerge in-process: one document, a map of tasks each a map of fields ' +
      '(strings as ImmutableString, last-writer-wins registers like heph’s fields); ' +
      `applyChanges of the source's changes, one per batch of 1,000 edits; ${WORKLOAD}; in memory`,
  },
  {
    name: 'sync_wire_bytes_per_op',
    unit: 'bytes/op',
    floor: 'naive_wire_bytes_per_op',
    target: { op: '<=', value: 40 },
    description:
      'Bytes a fresh heph device receives (read off its TCP sockets: headers and bodies) in its ' +
      'initial sync (syncOnce, pages of 5,000) from a hephd --mode server process holding the ' +
      `workload's ops, compressed as negotiated (br); ${PER_OP}. The device's digest is checked ` +
      'against the source’s',
  },
  {
    name: 'sync_wire_raw_bytes_per_op',
    unit: 'bytes/op',
    floor: 'naive_wire_raw_bytes_per_op',
    description:
      'The same pull by a client of this protocol that asks for no compression (field sets in ' +
      `their compact form, uncompressed), bytes off its sockets; ${PER_OP}`,
  },
  {
    name: 'naive_wire_bytes_per_op',
    unit: 'bytes/op',
    description:
      'The baseline’s op-log sent the same way: JSON pages of 5,000 [id, record, field, ' +
      `value] rows, each compressed as heph's hub compresses (br, quality 4), bodies only; ${PER_OP}`,
  },
  {
    name: 'naive_wire_raw_bytes_per_op',
    unit: 'bytes/op',
    description: `Those pages uncompressed; ${PER_OP}`,
  },
  {
    name: 'yjs_wire_bytes_per_op',
    unit: 'bytes/op',
    description:
      'Yjs: the update an empty peer receives in its initial sync (Y.encodeStateAsUpdate ' +
      `against its state vector, as y-protocols' sync step 2 sends), uncompressed; ${PER_OP}`,
  },
  {
    name: 'automerge_wire_bytes_per_op',
    unit: 'bytes/op',
    description:
      'Automerge: the bytes of every message of its sync protocol (generateSyncMessage / ' +
      `receiveSyncMessage) between the source and an empty document, both ways; ${PER_OP}`,
  },
  {
    name: 'heph_stored_bytes_per_op',
    unit: 'bytes/op',
    floor: 'naive_stored_bytes_per_op',
    description: `heph's database file after the apply (checkpointed); ${PER_OP}`,
  },
  {
    name: 'naive_stored_bytes_per_op',
    unit: 'bytes/op',
    description: `The baseline's database file after the apply (checkpointed); ${PER_OP}`,
  },
  {
    name: 'yjs_stored_bytes_per_op',
    unit: 'bytes/op',
    description:
      'Yjs: Y.encodeStateAsUpdate of the applied document, what a Yjs provider persists ' +
      `(the current state and tombstones, no history); ${PER_OP}`,
  },
  {
    name: 'automerge_stored_bytes_per_op',
    unit: 'bytes/op',
    description: `Automerge: save() of the applied document (its whole history); ${PER_OP}`,
  },
];

export function editsOf(ops: readonly Op[]): Edit[] {
  return ops.map((op) => {
    const p = op.payload;
    const field = p.field as Field;
    if (op.kind !== 'node.set' || !FIELDS.includes(field)) {
      throw new Error(`the workload has an op the peers do not model: ${JSON.stringify(op)}`);
    }
    return { ts: op.id, record: op.target, field, value: p.value as Value };
  });
}

function batches<T>(xs: readonly T[], size = BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

function fileBytes(path: string): number {
  const db = new Database(path);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const wal = `${path}-wal`;
  return statSync(path).size + (existsSync(wal) ? statSync(wal).size : 0);
}

// ---- the baseline ----------------------------------------------------------------------------

export class NaiveLog {
  readonly db: Database.Database;
  private readonly insertOp: Database.Statement;
  private readonly upsert: Record<Field, Database.Statement>;

  constructor(readonly path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(
      'CREATE TABLE ops (id TEXT PRIMARY KEY, record TEXT NOT NULL, field TEXT NOT NULL, ' +
        'value TEXT) WITHOUT ROWID;' +
        `CREATE TABLE records (id TEXT PRIMARY KEY, ${FIELDS.map((f) => `${f} TEXT, ${f}_ts TEXT`).join(', ')}) WITHOUT ROWID;`,
    );
    this.insertOp = this.db.prepare('INSERT OR IGNORE INTO ops VALUES (?, ?, ?, ?)');
    const up = (f: Field) =>
      this.db.prepare(
        `INSERT INTO records (id, ${f}, ${f}_ts) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE ` +
          `SET ${f} = excluded.${f}, ${f}_ts = excluded.${f}_ts ` +
          `WHERE records.${f}_ts IS NULL OR excluded.${f}_ts > records.${f}_ts`,
      );
    this.upsert = Object.fromEntries(FIELDS.map((f) => [f, up(f)])) as Record<
      Field,
      Database.Statement
    >;
  }

  apply(edits: readonly Edit[]): void {
    for (const batch of batches(edits)) {
      this.db.transaction(() => {
        for (const e of batch) {
          const value = JSON.stringify(e.value);
          if (this.insertOp.run(e.ts, e.record, e.field, value).changes === 1) {
            this.upsert[e.field].run(e.record, value, e.ts);
          }
        }
      })();
    }
  }

  rows(): Rows {
    const out: Rows = new Map();
    for (const r of this.db.prepare('SELECT * FROM records').all() as Record<string, string>[]) {
      const row = {} as Record<Field, Value>;
      for (const f of FIELDS)
        row[f] = r[f] === undefined || r[f] === null ? null : (JSON.parse(r[f]) as Value);
      out.set(r.id!, row);
    }
    return out;
  }

  /** Its op-log as it would send it: JSON pages of [id, record, field, value] rows. */
  pages(size: number): string[] {
    const all = this.db
      .prepare('SELECT id, record, field, value FROM ops ORDER BY id')
      .raw()
      .all() as string[][];
    return batches(all, size).map(
      (page) =>
        `{"ops":[${page.map(([id, record, field, value]) => `[${JSON.stringify(id)},${JSON.stringify(record)},${JSON.stringify(field)},${value}]`).join(',')}]}`,
    );
  }

  close(): void {
    this.db.close();
  }
}

// ---- heph ------------------------------------------------------------------------------------

/**
 * Applies `ops` and brings every read up to date: what the apply figure times. The search index
 * follows the log by cursor, so its catch-up is part of the apply; `next` and one search are
 * read too, so any work left for the first read after an apply is counted.
 */
export function hephApplyForReads(store: SqliteStore, model: Model, ops: readonly Op[]): void {
  applyAll(store, ops);
  catchUpSearchIndex(store);
  model.next({ today: TODAY });
  search(store, { query: 'revision' });
}

const ATTENTION_RANK: Record<string, number> = { red: 0, orange: 1, white: 2 };

/** Throws unless node.get, `next` and search on `store` show exactly the baseline's rows. */
function checkReads(
  store: SqliteStore,
  model: Model,
  rows: Rows,
  created: Map<string, number>,
  oldTitles: Map<string, string[]>,
): void {
  for (const [id, want] of rows) {
    const n = store.getNode(id);
    for (const f of ['title', 'state', 'attention', 'do_date'] as const) {
      if ((n[f] ?? null) !== want[f]) {
        throw new Error(
          `heph node.get ${id}: ${f} is ${JSON.stringify(n[f])}, the baseline has ${JSON.stringify(want[f])}`,
        );
      }
    }
  }
  const expected = [...rows.entries()]
    .filter(
      ([, r]) =>
        r.state === 'outstanding' &&
        r.attention !== 'blue' &&
        (r.do_date === null || r.do_date <= TODAY),
    )
    .sort(
      ([a, ra], [b, rb]) =>
        ATTENTION_RANK[ra.attention!]! - ATTENTION_RANK[rb.attention!]! ||
        created.get(a)! - created.get(b)! ||
        (a < b ? -1 : 1),
    )
    .map(([id]) => id);
  const listed = model.next({ today: TODAY, limit: 10_000 }).tasks.map((t) => t.id);
  if (JSON.stringify(listed) !== JSON.stringify(expected)) {
    throw new Error(
      `heph next lists ${listed.length} tasks, the baseline's rows give ${expected.length} (or another order)`,
    );
  }
  // Every 10th task: its title finds it, and a title it had before does not.
  let searched = 0;
  let i = 0;
  for (const [id, r] of rows) {
    if (i++ % 10 !== 0 || !r.title!.startsWith('Task revision')) continue;
    const find = (title: string) =>
      search(store, { query: `"${title}"`, limit: 10 }).some((h) => h.id === id);
    if (!find(r.title!)) throw new Error(`heph search for "${r.title}" does not find ${id}`);
    const before = (oldTitles.get(id) ?? []).find((t) => t !== r.title);
    if (before !== undefined && find(before)) {
      throw new Error(`heph search still finds ${id} by its old title "${before}"`);
    }
    searched++;
  }
  if (searched < rows.size / 40) throw new Error(`only ${searched} tasks were searched`);
}

// ---- Yjs and Automerge -----------------------------------------------------------------------

function yjsUpdates(
  edits: readonly Edit[],
  creation: number,
): { updates: Uint8Array[]; source: Y.Doc } {
  const doc = new Y.Doc();
  doc.clientID = 1;
  const tasks = doc.getMap<Y.Map<Value>>('tasks');
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  for (const batch of [...batches(edits.slice(0, creation)), ...batches(edits.slice(creation))]) {
    doc.transact(() => {
      for (const e of batch) {
        let m = tasks.get(e.record);
        if (m === undefined) {
          m = new Y.Map<Value>();
          tasks.set(e.record, m);
        }
        m.set(e.field, e.value);
      }
    });
  }
  return { updates, source: doc };
}

type AmDoc = { tasks: Record<string, Record<string, Automerge.ImmutableString | null>> };

function automergeChanges(
  edits: readonly Edit[],
  creation: number,
): { changes: Uint8Array[]; source: Automerge.Doc<AmDoc> } {
  let doc = Automerge.init<AmDoc>({ actor: '0123456789abcdef' });
  doc = Automerge.change(doc, (d) => {
    d.tasks = {};
  });
  const changes: Uint8Array[] = [Automerge.getLastLocalChange(doc)!];
  for (const batch of [...batches(edits.slice(0, creation)), ...batches(edits.slice(creation))]) {
    doc = Automerge.change(doc, (d) => {
      for (const e of batch) {
        d.tasks[e.record] ??= {};
        d.tasks[e.record]![e.field] =
          e.value === null ? null : new Automerge.ImmutableString(e.value);
      }
    });
    changes.push(Automerge.getLastLocalChange(doc)!);
  }
  return { changes, source: doc };
}

function sameRows(
  what: string,
  rows: Rows,
  read: (id: string, f: Field) => Value | undefined,
): void {
  for (const [id, want] of rows) {
    for (const f of FIELDS) {
      const got = read(id, f) ?? null;
      if (got !== want[f])
        throw new Error(
          `${what}: ${id}.${f} is ${JSON.stringify(got)}, the baseline has ${JSON.stringify(want[f])}`,
        );
    }
  }
}

// ---- the wire --------------------------------------------------------------------------------

/** An undici agent whose sockets are kept, to read how many bytes came in over them. */
function countingAgent(): { agent: Agent; bytesRead(): number } {
  const connect = buildConnector({});
  const sockets: Socket[] = [];
  const agent = new Agent({
    connect: (opts, cb) => {
      connect(opts, (err, socket) => {
        if (socket) sockets.push(socket);
        if (err) cb(err, null);
        else cb(null, socket);
      });
    },
  });
  return { agent, bytesRead: () => sockets.reduce((n, s) => n + s.bytesRead, 0) };
}

async function hephWire(
  ctx: BenchContext,
  w: Workload,
  all: readonly Op[],
): Promise<{ compressed: number; raw: number }> {
  const hub = await startHub(ctx.tempDir());
  try {
    const pusher = new HubClient({ url: hub.url, origin: originOf(all[0]!.id) });
    try {
      for (const batch of batches(all, MAX_PUSH_OPS)) {
        const r = await pusher.push(batch);
        if (r.accepted !== batch.length)
          throw new Error(`the hub took ${r.accepted} of ${batch.length} ops`);
      }
    } finally {
      await pusher.close();
    }
    ctx.progress(`hub holds ${all.length} ops; a fresh device syncs`);
    const counted = countingAgent();
    const clock = new ManualClock(w.endMs + 60_000);
    const store = SqliteStore.open(
      { path: join(ctx.tempDir(), 'device.db'), ...DAEMON_STORE_OPTIONS },
      { clock, random: seededRandom(500) },
    );
    const device = new HubClient({
      url: hub.url,
      origin: store.origin,
      ownHigh: () => store.ownHigh(),
      dispatcher: counted.agent,
    });
    try {
      await syncOnce(store, device);
      if (store.digest() !== w.digest)
        throw new Error('the synced device’s digest differs from the source');
    } finally {
      await device.close();
      await counted.agent.close();
      store.close();
    }
    // A client that sends no Accept-Encoding.
    const plain = countingAgent();
    try {
      let after: string | undefined;
      for (let more = true; more;) {
        const r = await request(
          `${hub.url}/sync/pull?limit=5000${after === undefined ? '' : `&after=${after}`}`,
          {
            dispatcher: plain.agent,
            headers: {
              [HEADER_PROTOCOL]: String(PROTOCOL_VERSION),
              [HEADER_REPLICA]: 'f0f0f0f0f0f0f0f0',
            },
          },
        );
        const page = (await r.body.json()) as { cursor: string; more: boolean };
        if (r.statusCode !== 200) throw new Error(`pull: ${r.statusCode} ${JSON.stringify(page)}`);
        after = page.cursor;
        more = page.more;
      }
    } finally {
      await plain.agent.close();
    }
    return { compressed: counted.bytesRead() / all.length, raw: plain.bytesRead() / all.length };
  } finally {
    await hub.stop();
  }
}

// ---- the run ---------------------------------------------------------------------------------

async function run(ctx: BenchContext): Promise<Record<string, number>> {
  const tasks = ctx.size(10_000, 1_000);
  const updates = ctx.size(100_000, 10_000);
  ctx.progress(`generating ${updates} field sets over ${tasks} tasks`);
  const w = buildWorkload(tasks, updates);
  const all = [...w.creation, ...w.updates];
  const edits = editsOf(all);
  const creation = w.creation.length;
  const created = new Map<string, number>();
  for (const e of edits.slice(0, creation))
    if (!created.has(e.record)) created.set(e.record, created.size);
  const oldTitles = new Map<string, string[]>();
  for (const e of edits) {
    if (e.field === 'title' && e.value !== null)
      oldTitles.set(e.record, [...(oldTitles.get(e.record) ?? []), e.value]);
  }
  const out: Record<string, number> = {};

  // The baseline and heph, side by side, ROUNDS times.
  const naiveRates: number[] = [];
  const hephRates: number[] = [];
  const ratios: number[] = [];
  let rows: Rows | undefined;
  for (let round = 1; round <= ROUNDS; round++) {
    const dir = ctx.tempDir();
    const naive = new NaiveLog(join(dir, `naive-${round}.db`));
    let naiveRate: number;
    try {
      naive.apply(edits.slice(0, creation));
      const t0 = nowMs();
      naive.apply(edits.slice(creation));
      naiveRate = perSecond(updates, nowMs() - t0);
      rows ??= naive.rows();
    } finally {
      naive.close();
    }
    if (round === 1) out.naive_stored_bytes_per_op = fileBytes(naive.path) / all.length;
    const clock = new ManualClock(w.endMs + 60_000);
    const path = join(dir, `heph-${round}.db`);
    const store = SqliteStore.open(
      { path, ...DAEMON_STORE_OPTIONS },
      { clock, random: seededRandom(600 + round) },
    );
    let hephRate: number;
    try {
      const model = new Model(store, { clock, timeZone: 'UTC' });
      hephApplyForReads(store, model, w.creation);
      const t0 = nowMs();
      hephApplyForReads(store, model, w.updates);
      hephRate = perSecond(updates, nowMs() - t0);
      checkReads(store, model, rows, created, oldTitles);
      if (store.digest() !== w.digest) throw new Error('heph’s digest differs from the source');
    } finally {
      store.close();
    }
    if (round === 1) out.heph_stored_bytes_per_op = fileBytes(path) / all.length;
    naiveRates.push(naiveRate);
    hephRates.push(hephRate);
    ratios.push(hephRate / naiveRate);
    ctx.progress(
      `round ${round}: baseline ${naiveRate.toFixed(0)} edits/s, heph ${hephRate.toFixed(0)} ` +
        `edits/s (${(hephRate / naiveRate).toFixed(2)}×; reads checked)`,
    );
  }
  out.naive_apply_edits_per_s = median(naiveRates);
  out.heph_apply_edits_per_s = median(hephRates);
  out.apply_ops_vs_naive = median(ratios);

  // The baseline's wire form.
  {
    const naive = new NaiveLog(join(ctx.tempDir(), 'naive-wire.db'));
    try {
      naive.apply(edits);
      let raw = 0;
      let compressed = 0;
      for (const page of naive.pages(5000)) {
        raw += Buffer.byteLength(page);
        compressed += (await encode(page, 'br')).length;
      }
      out.naive_wire_raw_bytes_per_op = raw / all.length;
      out.naive_wire_bytes_per_op = compressed / all.length;
    } finally {
      naive.close();
    }
  }

  // Yjs.
  {
    const { updates: yUpdates, source } = yjsUpdates(edits, creation);
    const firstEdit = Math.ceil(creation / BATCH);
    const applied = await medianIfShort(
      (attempt) => {
        const doc = new Y.Doc();
        doc.clientID = 100 + attempt;
        for (const u of yUpdates.slice(0, firstEdit)) Y.applyUpdate(doc, u);
        const t0 = nowMs();
        for (const u of yUpdates.slice(firstEdit)) Y.applyUpdate(doc, u);
        const ms = nowMs() - t0;
        const tasksMap = doc.getMap<Y.Map<Value>>('tasks');
        sameRows('Yjs', rows!, (id, f) => tasksMap.get(id)?.get(f));
        return { ms, value: perSecond(updates, ms), doc };
      },
      (s, attempt) => ctx.progress(`Yjs run ${attempt}: ${s.value.toFixed(0)} edits/s`),
    );
    out.yjs_apply_edits_per_s = applied.value;
    const fresh = new Y.Doc();
    out.yjs_wire_bytes_per_op =
      Y.encodeStateAsUpdate(source, Y.encodeStateVector(fresh)).length / all.length;
    out.yjs_stored_bytes_per_op = Y.encodeStateAsUpdate(applied.doc).length / all.length;
  }

  // Automerge.
  {
    const { changes, source } = automergeChanges(edits, creation);
    const firstEdit = 1 + Math.ceil(creation / BATCH);
    const applied = await medianIfShort(
      (attempt) => {
        let doc = Automerge.init<AmDoc>({ actor: `00000000000000a${attempt}` });
        [doc] = Automerge.applyChanges(doc, changes.slice(0, firstEdit));
        const t0 = nowMs();
        [doc] = Automerge.applyChanges(doc, changes.slice(firstEdit));
        const ms = nowMs() - t0;
        sameRows('Automerge', rows!, (id, f) => {
          const v = doc.tasks[id]?.[f];
          return v === undefined || v === null ? v : v.toString();
        });
        return { ms, value: perSecond(updates, ms), doc };
      },
      (s, attempt) => ctx.progress(`Automerge run ${attempt}: ${s.value.toFixed(0)} edits/s`),
    );
    out.automerge_apply_edits_per_s = applied.value;
    out.automerge_stored_bytes_per_op = Automerge.save(applied.doc).length / all.length;
    // Its sync protocol between the source and an empty document.
    let a = Automerge.initSyncState();
    let b = Automerge.initSyncState();
    let empty = Automerge.init<AmDoc>({ actor: '00000000000000b1' });
    let src = source;
    let bytes = 0;
    for (let i = 0; i < 100; i++) {
      const [a2, toB] = Automerge.generateSyncMessage(src, a);
      a = a2;
      if (toB) {
        bytes += toB.length;
        [empty, b] = Automerge.receiveSyncMessage(empty, b, toB);
      }
      const [b2, toA] = Automerge.generateSyncMessage(empty, b);
      b = b2;
      if (toA) {
        bytes += toA.length;
        [src, a] = Automerge.receiveSyncMessage(src, a, toA);
      }
      if (!toA && !toB) break;
    }
    if (JSON.stringify(Automerge.getHeads(empty)) !== JSON.stringify(Automerge.getHeads(source))) {
      throw new Error('Automerge’s sync did not bring the empty document up to the source');
    }
    out.automerge_wire_bytes_per_op = bytes / all.length;
  }

  // heph's wire, through a real hub process.
  const wire = await hephWire(ctx, w, all);
  out.sync_wire_bytes_per_op = wire.compressed;
  out.sync_wire_raw_bytes_per_op = wire.raw;
  ctx.progress(
    `wire: heph ${wire.compressed.toFixed(1)} bytes/op (${wire.raw.toFixed(1)} plain), baseline ` +
      `${out.naive_wire_bytes_per_op.toFixed(1)} (${out.naive_wire_raw_bytes_per_op.toFixed(1)} plain)`,
  );
  return out;
}

export const peersFields: BenchModule = {
  name: 'peers-fields',
  figures: peersFieldsFigures,
  run,
};
