// rpc_write_floor_per_s: what one task.create per call costs when nothing but its rows is
// written. A heph database is filled in process the way the daemon's is before its write run
// (1,000 docs with 200-byte bodies, 500 tasks), the rows of one more real task.create are
// recorded (its ops, the two node rows, the link, and its reply), and write-floor-server.ts
// serves calls by writing copies of them under new ids, each call its own transaction, with
// hephd's pragmas read from the store's own connection. The client is the one rpc_write_per_s
// uses, so the figure is the same calls with heph's reading, checking and computing taken away.

import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hephdNodeFlags } from '../src/config/node-flags.js';
import { DAEMON_STORE_OPTIONS } from '../src/daemon/idle-checkpoint.js';
import { Model } from '../src/model/model.js';
import { systemClock } from '../src/ports/clock.js';
import { seededRandom } from '../src/ports/random.js';
import { openStore } from '../src/store/open-store.js';
import { startReady } from './line-server.js';

export interface WriteTemplate {
  pragmas: string[];
  origin: string;
  title: string;
  /** The task's and its context doc's ids. */
  nodeIds: string[];
  ops: { id: string; kind: string; target: string; payload: string; change: string | null }[];
  nodes: Record<string, unknown>[];
  links: Record<string, unknown>[];
  /** task.create's result, as JSON text. */
  result: string;
}

/** The pragmas hephd's connection runs with that change how a commit writes. */
const PRAGMAS = ['synchronous', 'cache_size', 'wal_autocheckpoint', 'journal_size_limit'];

/** Builds the floor's database in `dir` and returns its path and the template's. */
export function prepareWriteFloor(dir: string): { db: string; template: string } {
  const db = join(dir, 'write-floor.db');
  const store = openStore(
    { path: db, ...DAEMON_STORE_OPTIONS },
    { clock: systemClock, random: seededRandom(131) },
  );
  try {
    const model = new Model(store, { clock: systemClock, timeZone: 'UTC' });
    const body = 'A line of notes that a context doc might hold. '.repeat(4).slice(0, 200);
    store.transaction(() => {
      for (let i = 0; i < 1000; i++) store.createNode({ kind: 'doc', title: `Doc ${i}`, body });
      for (let i = 0; i < 500; i++) model.createTask({ title: `Bench task ${i}` });
    });
    const c = store.connection;
    const seq = c.prepare('SELECT max(seq) FROM oplog').pluck().get() as number;
    const title = 'Bench task 500';
    const created = model.createTask({ title });
    const nodeIds = [created.task.id, created.task.context!];
    const row = (sql: string, id: string) => c.prepare(sql).get(id) as Record<string, unknown>;
    const template: WriteTemplate = {
      pragmas: [
        'journal_mode = WAL',
        ...PRAGMAS.map((p) => `${p} = ${String(c.pragma(p, { simple: true }))}`),
      ],
      origin: store.origin,
      title,
      nodeIds,
      ops: c
        .prepare('SELECT id, kind, target, payload, change FROM oplog WHERE seq > ? ORDER BY seq')
        .all(seq) as WriteTemplate['ops'],
      nodes: nodeIds.map((id) => row('SELECT * FROM nodes WHERE id = ?', id)),
      links: c
        .prepare('SELECT * FROM links WHERE src = ? OR dst = ?')
        .all(nodeIds[0], nodeIds[0]) as Record<string, unknown>[],
      result: JSON.stringify(created),
    };
    if (template.ops.length === 0 || template.links.length === 0) {
      throw new Error('the write floor recorded no ops or no link for task.create');
    }
    const path = join(dir, 'write-floor.json');
    writeFileSync(path, JSON.stringify(template));
    return { db, template: path };
  } finally {
    store.close();
  }
}

/** Starts the floor's server on `socket`, with hephd's node flags; resolves once it listens. */
export function startWriteFloor(
  socket: string,
  files: { db: string; template: string },
  script = fileURLToPath(new URL('./write-floor-server.js', import.meta.url)),
): Promise<ChildProcess> {
  return startReady(
    'write floor',
    script,
    [socket, files.db, files.template],
    [...hephdNodeFlags('local')],
  );
}
