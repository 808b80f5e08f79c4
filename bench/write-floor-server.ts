// The floor of rpc_write_per_s, run as a child process like hephd: a JSON-RPC server on a unix
// socket that answers every call by writing, in one transaction of its own, the rows one
// task.create writes (its ops, the task's and its context doc's node rows, their link) into a
// heph database with hephd's pragmas, and replying with a reply of task.create's size. The rows
// are copies of a real task.create's (bench/write-floor.ts records them), with new ids, so every
// index of the schema is written as it is by hephd; nothing is read, checked or computed. As
// hephd, it checkpoints the WAL once calls pause for a second.
// Usage: write-floor-server <socket path> <database> <template.json>. Writes "ready" on stdout
// once listening; exits on SIGTERM or when stdin closes.

import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { monotonicFactory } from 'ulid';
import { serveLines } from './line-server.js';
import type { WriteTemplate } from './write-floor.js';

const [socketPath, dbPath, templatePath] = process.argv.slice(2);
if (socketPath === undefined || dbPath === undefined || templatePath === undefined) {
  process.stderr.write('usage: write-floor-server <socket path> <database> <template.json>\n');
  process.exit(2);
}
const t = JSON.parse(readFileSync(templatePath, 'utf8')) as WriteTemplate;

const db = new Database(dbPath);
for (const p of t.pragmas) db.pragma(p);

const insertRow = (table: string, row: Record<string, unknown>) => {
  const cols = Object.keys(row);
  const stmt = db.prepare(
    `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
  );
  return (values: unknown[]) => stmt.run(values);
};
const insertOp = db.prepare(
  'INSERT INTO oplog (id, kind, target, payload, change) VALUES (?, ?, ?, ?, ?)',
);
const insertNode = t.nodes.map((n) => insertRow('nodes', n));
const insertLink = t.links.map((l) => insertRow('links', l));

const newUlid = monotonicFactory();
let lastWall = 0;
let counter = 0;
function newOpId(): string {
  const now = Date.now();
  if (now > lastWall) {
    lastWall = now;
    counter = 0;
  } else counter++;
  return `${lastWall.toString(16).padStart(12, '0')}-${counter.toString(16).padStart(4, '0')}-${t.origin}`;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const pattern = new RegExp(
  [...t.nodeIds, ...t.ops.map((o) => o.id), JSON.stringify(t.title)].map(escape).join('|'),
  'g',
);

/** One call: the template's rows under new ids, in one transaction; returns the reply's result. */
const write = db.transaction((title: string): string => {
  const map = new Map<string, string>();
  for (const id of t.nodeIds) map.set(id, newUlid());
  for (const o of t.ops) map.set(o.id, newOpId());
  map.set(JSON.stringify(t.title), JSON.stringify(title));
  const sub = (v: unknown): unknown =>
    typeof v === 'string' ? v.replace(pattern, (m) => map.get(m) ?? m) : v;
  for (const o of t.ops) {
    insertOp.run(map.get(o.id), o.kind, sub(o.target), sub(o.payload), sub(o.change));
  }
  const now = Date.now();
  t.nodes.forEach((n, i) => {
    insertNode[i]!(
      Object.entries(n).map(([k, v]) =>
        k === 'title' ? title : k === 'created_ms' || k === 'updated_ms' ? now : sub(v),
      ),
    );
  });
  t.links.forEach((l, i) => insertLink[i]!(Object.values(l).map(sub)));
  return sub(t.result) as string;
});

/** As hephd: a passive checkpoint once no call has been written for a second. */
let idle: NodeJS.Timeout | undefined;
function idleCheckpoint(): void {
  clearTimeout(idle);
  idle = setTimeout(() => db.pragma('wal_checkpoint(PASSIVE)'), 1000).unref();
}

const server = serveLines((line) => {
  const req = JSON.parse(line) as { id: number; params: { title: string } };
  const result = write(req.params.title);
  idleCheckpoint();
  return `{"jsonrpc":"2.0","id":${JSON.stringify(req.id)},"result":${result}}\n`;
});

function stop(): void {
  server.close(() => {
    db.close();
    process.exit(0);
  });
  setTimeout(() => process.exit(0), 1000).unref();
}

server.listen(socketPath, () => process.stdout.write('ready\n'));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
