// The floor of initial_sync_100k_s: the same pages pulled from the same hub, applied by the
// plainest client that still ends with every op stored and every field and body readable. It
// uses heph's hub client (the same requests, page size, compression and op decoding as a spoke),
// so what it leaves out is what heph does beyond a plain op-log:
// - each page in one transaction on a plain SQLite file (WAL, synchronous=NORMAL, as a device);
// - every op inserted into an op-log table (its id the only key);
// - a field set upserted into one row per (node, field), last writer wins by op id: no
//   registers, no conflicts, no node rows, no `next` index, no search;
// - body updates merged by Yjs alone into one document per node, kept in memory for the whole
//   sync (the workload's bodies are all one document: `body.update` ops), and each touched
//   body's text written once per page: no stored document parts, no body versions or branches;
// - the next page asked for while one is applied, as a spoke does (the apply waits until that
//   request is written); no process start, no status polls, no push afterwards.
// Guarantee (checked by the caller): the op count is the hub's and the texts are the spoke's.

import Database from 'better-sqlite3';
import { join } from 'node:path';
import * as Y from 'yjs';
import { HubClient } from '../src/sync/hub-client.js';
import { MAX_PULL_LIMIT } from '../src/protocol/sync.js';
import { nowMs } from './stats.js';

interface PlainOp {
  id: string;
  kind: string;
  target: string;
  payload: { field?: string; value?: unknown; update?: string };
}

export interface PlainSyncResult {
  /** From the first request until the last page is committed. */
  seconds: number;
  ops: number;
  /** Each body's text as the plain client merged it, by node id. */
  bodies: Map<string, string>;
}

/** Pulls every op of the hub at `url` into a plain SQLite file in `dir` (see the file comment). */
export async function plainSync(url: string, dir: string): Promise<PlainSyncResult> {
  const db = new Database(join(dir, 'plain.db'));
  const hub = new HubClient({ url, origin: '00000000000000ff' });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(
      `CREATE TABLE ops (id TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL,
         payload TEXT NOT NULL) WITHOUT ROWID;
       CREATE TABLE fields (node TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,
         op TEXT NOT NULL, PRIMARY KEY (node, field)) WITHOUT ROWID;
       CREATE TABLE bodies (node TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;`,
    );
    const insertOp = db.prepare('INSERT OR IGNORE INTO ops VALUES (?, ?, ?, ?)');
    const setField = db.prepare(
      `INSERT INTO fields VALUES (?, ?, ?, ?) ON CONFLICT (node, field) DO UPDATE
       SET value = excluded.value, op = excluded.op WHERE excluded.op > fields.op`,
    );
    const putBody = db.prepare(
      'INSERT INTO bodies VALUES (?, ?) ON CONFLICT (node) DO UPDATE SET body = excluded.body',
    );
    const docs = new Map<string, Y.Doc>();
    let ops = 0;
    const t0 = nowMs();
    // As a spoke does: the next page is asked for before this one is applied, and the apply
    // starts once that request is written (or has settled).
    let next = hub.pullSent(undefined, MAX_PULL_LIMIT, 0, undefined, '');
    for (;;) {
      const page = await next;
      if (page.more) {
        let onSent = (): void => undefined;
        const sent = new Promise<void>((resolve) => (onSent = resolve));
        next = hub.pullSent(
          page.cursor,
          MAX_PULL_LIMIT,
          0,
          undefined,
          page.cursor_op ?? '',
          onSent,
        );
        next.catch(() => undefined);
        await Promise.race([
          sent,
          next.then(
            () => undefined,
            () => undefined,
          ),
        ]);
      }
      db.transaction(() => {
        const touched = new Set<string>();
        for (const raw of page.ops) {
          const op = page.decode(raw) as PlainOp;
          if (insertOp.run(op.id, op.kind, op.target, JSON.stringify(op.payload)).changes === 0) {
            continue;
          }
          ops++;
          const p = op.payload;
          if (op.kind === 'node.set' && p.field !== undefined) {
            setField.run(op.target, p.field, JSON.stringify(p.value ?? null), op.id);
          } else if (p.update !== undefined) {
            let doc = docs.get(op.target);
            if (!doc) docs.set(op.target, (doc = new Y.Doc({ guid: 'plain' })));
            Y.applyUpdate(doc, Buffer.from(p.update, 'base64'));
            touched.add(op.target);
          }
        }
        for (const node of touched) {
          putBody.run(node, docs.get(node)!.getText('body').toJSON());
        }
      })();
      if (!page.more) break;
    }
    const seconds = (nowMs() - t0) / 1000;
    const bodies = new Map<string, string>();
    for (const [node, doc] of docs) bodies.set(node, doc.getText('body').toJSON());
    return { seconds, ops, bodies };
  } finally {
    await hub.close();
    db.close();
  }
}
