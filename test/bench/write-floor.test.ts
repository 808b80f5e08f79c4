// The floor of rpc_write_per_s writes what a task.create writes: per call, as many ops, node
// rows and links as the real call it copies, under ids never used before, each call its own
// transaction, and a reply a client reads as task.create's. (It spawns the built server, from
// dist/, as `npm test` builds first.)

import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { prepareWriteFloor, startWriteFloor, type WriteTemplate } from '../../bench/write-floor.js';
import { connect } from '../../src/transport/socket-client.js';
import { useCleanup } from '../helpers/temp.js';

interface Created {
  task: { id: string; title: string; context: string };
}

const cleanup = useCleanup();
const SERVER = fileURLToPath(new URL('../../dist/bench/write-floor-server.js', import.meta.url));

it('writes one task.create’s rows under new ids per call, and replies as task.create', async () => {
  const dir = cleanup.dir();
  const files = prepareWriteFloor(dir);
  const t = JSON.parse(readFileSync(files.template, 'utf8')) as WriteTemplate;
  // The template is a real task.create: a task and its context doc, their ops and link.
  expect(t.nodes.map((n) => n.kind)).toEqual(['task', 'doc']);
  expect(t.ops.length).toBeGreaterThanOrEqual(6);
  expect(t.links).toHaveLength(1);
  expect(t.pragmas).toContain('synchronous = 1');

  const count = (): { oplog: number; nodes: number; links: number } => {
    const db = new Database(files.db, { readonly: true });
    try {
      const n = (table: string) =>
        db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
      return { oplog: n('oplog'), nodes: n('nodes'), links: n('links') };
    } finally {
      db.close();
    }
  };
  const before = count();
  const socket = join(dir, 'floor.sock');
  const server = await startWriteFloor(socket, files, SERVER);
  cleanup.defer(async () => {
    if (server.exitCode !== null) return;
    const gone = once(server, 'exit');
    server.kill('SIGTERM');
    await gone;
  });
  const c = await connect(socket);
  const replies: Created[] = [];
  for (const title of ['First', 'Second "quoted"', 'Third']) {
    replies.push((await c.call('task.create', { title })) as Created);
  }
  await c.close();
  const gone = once(server, 'exit');
  server.kill('SIGTERM');
  await gone;

  expect(count()).toEqual({
    oplog: before.oplog + 3 * t.ops.length,
    nodes: before.nodes + 6,
    links: before.links + 3,
  });
  expect(replies.map((r) => r.task.title)).toEqual(['First', 'Second "quoted"', 'Third']);
  const ids = replies.flatMap((r) => [r.task.id, r.task.context]);
  expect(new Set([...ids, ...t.nodeIds]).size).toBe(8);
  const db = new Database(files.db, { readonly: true });
  try {
    for (const r of replies) {
      const row = db.prepare('SELECT kind, title FROM nodes WHERE id = ?').get(r.task.id);
      expect(row).toEqual({ kind: 'task', title: r.task.title });
      const link = db.prepare('SELECT dst FROM links WHERE src = ?').pluck().get(r.task.id);
      expect(link).toBe(r.task.context);
      // Every op of the call targets the new task or doc (a link by its id), and none names the
      // template's.
      const ops = db
        .prepare(
          'SELECT target, payload FROM oplog WHERE instr(target, ?) > 0 OR instr(target, ?) > 0',
        )
        .all(r.task.id, r.task.context) as { target: string; payload: string }[];
      expect(ops).toHaveLength(t.ops.length);
      for (const o of ops) for (const old of t.nodeIds) expect(o.payload).not.toContain(old);
    }
    const opIds = db.prepare('SELECT id FROM oplog').pluck().all() as string[];
    expect(new Set(opIds).size).toBe(opIds.length);
  } finally {
    db.close();
  }
});
