// History figures: listing the versions of a note with 10,000 edits, and showing it at any of
// them. The note's edits are made on another device, the way heph makes them (a Yjs document
// diffed from whole-buffer saves of a ~200-line note; each update carries that document's
// delete set, as a save's does), with a title change every 100 edits, and arrive here through
// applyOps as a pull would bring them. Floors from the same run: reading the note's op rows
// (what any listing must read) and loading its current body (what showing any body costs).

import { join } from 'node:path';
import * as Y from 'yjs';
import { diffText } from '../src/core/text-diff.js';
import { History } from '../src/model/history.js';
import { ManualClock } from '../src/ports/clock.js';
import { seededRandom, type Random } from '../src/ports/random.js';
import { openStore } from '../src/store/open-store.js';
import type { SqliteStore } from '../src/store/sqlite-store.js';
import { median, nowMs } from './stats.js';
import type { BenchContext, BenchModule, FigureMeta } from './types.js';

const NOW = Date.UTC(2026, 5, 15, 12);
const ORIGIN = '5eed5eed5eed5eed';
const NOTE = '01JZ0000000000000000000NTE';

export const historyFigures: FigureMeta[] = [
  {
    name: 'note_ops_read_ms',
    unit: 'ms',
    description:
      "Floor: a plain SELECT of the id, kind and change of the note's 10,000 op rows by the " +
      "op-log's target index, median of 20",
  },
  {
    name: 'history_list_ms',
    unit: 'ms',
    floor: 'note_ops_read_ms',
    target: { op: '<=', value: 200 },
    description:
      'node.history of the note with 10,000 edits (default page of 20, summaries with +/− ' +
      'lines and title changes), median of 20 after its body steps were made',
  },
  {
    name: 'history_first_list_ms',
    unit: 'ms',
    description:
      'The first node.history of that note after its 10,000 edits arrived: makes the body ' +
      'steps from the op-log in one pass (once per note; later listings read them)',
  },
  {
    name: 'history_after_edit_ms',
    unit: 'ms',
    description:
      'node.history after one more edit arrived: the new edit’s step is made from the steps ' +
      'before it, median of 10',
  },
  {
    name: 'body_load_ms',
    unit: 'ms',
    description:
      "Floor: loading the note's current Yjs state (its stored parts) into a document and " +
      'reading its text, median of 20',
  },
  {
    name: 'node_at_ms',
    unit: 'ms',
    floor: 'body_load_ms',
    target: { op: '<=', value: 500 },
    description:
      'node.at of the note: the slowest of 21 versions spread from the first to the last ' +
      '(each the median of 3)',
  },
];

function stamp(ms: number): string {
  return `${ms.toString(16).padStart(12, '0')}-0000-${ORIGIN}`;
}

/** The ops of a note edited `edits` times on another device, oldest first. */
export function noteOps(edits: number, r: Random): unknown[] {
  const lines = Array.from({ length: 200 }, (_, i) => `line ${i} of the note, some words\n`);
  const doc = new Y.Doc({ gc: true });
  doc.clientID = 424242;
  const text = doc.getText('body');
  const ops: unknown[] = [];
  let t = NOW - edits * 2000;
  let title = '';
  const field = (name: string, value: string, prev: string | undefined) => {
    const id = stamp((t += 1000));
    ops.push({
      id,
      kind: 'node.set',
      target: NOTE,
      payload: { field: name, value, prev: prev === undefined ? [] : [prev] },
    });
    return id;
  };
  field('kind', 'doc', undefined);
  title = field('title', 'A long note', undefined);
  const save = (next: string) => {
    const sv = Y.encodeStateVector(doc);
    const before = text.toJSON();
    doc.transact(() => {
      for (const s of diffText(before, next)) {
        if (s.remove > 0) text.delete(s.index, s.remove);
        if (s.insert.length > 0) text.insert(s.index, s.insert);
      }
    });
    const update = Buffer.from(Y.encodeStateAsUpdate(doc, sv)).toString('base64');
    ops.push({ id: stamp((t += 1000)), kind: 'body.update', target: NOTE, payload: { update } });
  };
  save(lines.join(''));
  for (let i = 1; i < edits; i++) {
    const x = r.next();
    const k = Math.floor(r.next() * lines.length);
    if (x < 0.3 || lines.length < 100) lines.splice(k, 0, `a new line ${i}, with words\n`);
    else if (x < 0.7) lines[k] = lines[k]!.replace(/\n$/, ` and ${i}\n`);
    else lines.splice(k, 1);
    save(lines.join(''));
    if (i % 100 === 0) title = field('title', `A long note (${i})`, title);
  }
  doc.destroy();
  return ops;
}

function timed(runs: number, fn: () => void): number {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = nowMs();
    fn();
    out.push(nowMs() - t0);
  }
  return median(out);
}

function apply(store: SqliteStore, ops: readonly unknown[]): void {
  for (let i = 0; i < ops.length; i += 500) {
    const r = store.applyOps(ops.slice(i, i + 500));
    if (r.refused.length > 0) throw new Error(`refused: ${r.refused[0]!.message}`);
  }
}

function measure(ctx: BenchContext): Record<string, number> {
  const edits = ctx.size(10_000, 1_000);
  let t0 = nowMs();
  const ops = noteOps(edits, seededRandom(61));
  ctx.progress(`made ${ops.length} ops in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
  const clock = new ManualClock(NOW);
  const store = openStore(
    { path: join(ctx.tempDir(), 'history.db') },
    { clock, random: seededRandom(60) },
  );
  try {
    t0 = nowMs();
    apply(store, ops);
    ctx.progress(`applied them in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
    const history = new History(store, { ownDevice: 'this device' });
    const read = store.connection.prepare(
      'SELECT id, kind, change FROM oplog WHERE target = ? ORDER BY id',
    );
    const floor = timed(20, () => read.all(NOTE));

    t0 = nowMs();
    const first = history.list(NOTE);
    const firstMs = nowMs() - t0;
    ctx.progress(`first listing ${firstMs.toFixed(0)} ms: ${first.versions[0]?.summary}`);
    const listMs = timed(20, () => history.list(NOTE));

    const afterEdit: number[] = [];
    for (let i = 0; i < 10; i++) {
      // One more edit, here, then a listing.
      clock.advance(1000);
      store.updateNode(NOTE, { body: `${store.getNode(NOTE).body}edit ${i}\n` });
      const t = nowMs();
      history.list(NOTE);
      afterEdit.push(nowMs() - t);
    }
    ctx.progress(`listing after an edit: median ${median(afterEdit).toFixed(1)} ms`);

    const parts = store.connection
      .prepare("SELECT data FROM body_parts WHERE node_id = ? AND branch = '' ORDER BY part")
      .pluck()
      .all(NOTE) as Buffer[];
    const bodyFloor = timed(20, () => {
      const d = new Y.Doc({ gc: true });
      d.transact(() => {
        for (const p of parts) Y.applyUpdate(d, p);
      });
      d.getText('body').toJSON();
      d.destroy();
    });

    const versions = history.list(NOTE, { limit: 1000 }).versions;
    const all = [...versions];
    for (let p = history.list(NOTE, { limit: 1000, before: all[all.length - 1]!.version }); ;) {
      all.push(...p.versions);
      if (!p.more) break;
      p = history.list(NOTE, { limit: 1000, before: all[all.length - 1]!.version });
    }
    const picks = Array.from(
      { length: 21 },
      (_, i) => all[Math.round((i * (all.length - 1)) / 20)]!,
    );
    let worst = 0;
    let worstAt = '';
    for (const v of picks) {
      const ms = timed(3, () => history.at(NOTE, v.version));
      if (ms > worst) {
        worst = ms;
        worstAt = v.version;
      }
    }
    ctx.progress(`${all.length} versions; node.at slowest ${worst.toFixed(1)} ms (at ${worstAt})`);
    return {
      note_ops_read_ms: floor,
      history_list_ms: listMs,
      history_first_list_ms: firstMs,
      history_after_edit_ms: median(afterEdit),
      body_load_ms: bodyFloor,
      node_at_ms: worst,
    };
  } finally {
    store.close();
  }
}

export const history: BenchModule = {
  name: 'history',
  figures: historyFigures,
  run: (ctx) => Promise.resolve(measure(ctx)),
};
