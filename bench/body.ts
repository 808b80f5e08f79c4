// Body figures: what one save of a long note costs, and the typing workload beside Yjs and
// Automerge. A save goes the way node.update takes it (the node read by its id, the save as an
// item with the body_version it was read at, the node read back as an item), in process, on a
// file store: the socket and JSON of the reply are the daemon module's figures. Typing: two
// replicas each type 5,000 characters into one 10 KB note (each its own paragraph, one save per
// keystroke), offline, then merge; Yjs and Automerge do the same keystrokes in the same run, each
// replica holding its document in memory and keeping every update (Yjs) or incremental save
// (Automerge) as heph keeps its ops. Every system must end with the text the two typists meant
// (each run of typing present once, where it was typed), checked after the timed part.

import { join } from 'node:path';
import * as Automerge from '@automerge/automerge';
import * as Y from 'yjs';
import { DAEMON_STORE_OPTIONS } from '../src/daemon/idle-checkpoint.js';
import { asItem, updateItemLinked } from '../src/model/items.js';
import { ManualClock } from '../src/ports/clock.js';
import { seededRandom, type Random } from '../src/ports/random.js';
import type { NodeView } from '../src/ports/store.js';
import { openStore } from '../src/store/open-store.js';
import type { SqliteStore } from '../src/store/sqlite-store.js';
import { median, medianIfShort, nowMs, percentile } from './stats.js';
import type { BenchContext, BenchModule, FigureMeta } from './types.js';

const NOW = Date.UTC(2026, 5, 15, 12);

export const bodyFigures: FigureMeta[] = [
  {
    name: 'body_save_p50_ms',
    unit: 'ms',
    target: { op: '<=', value: 2 },
    description:
      'One-character edit (insert or delete at a random place) of a 100 KB markdown note ' +
      '(headings, lists, [[links]], code fences) saved as node.update saves it (whole buffer ' +
      'with base_version, node read before and after), median of 500 saves after 50',
  },
  {
    name: 'body_save_p99_ms',
    unit: 'ms',
    description: 'The 99th percentile of those saves (the ones that compact the stored document)',
  },
  {
    name: 'typing_yjs_ms',
    unit: 'ms',
    description:
      'Yjs: two replicas each typing 5,000 characters into one 10 KB note (one transaction and ' +
      'one kept update per keystroke), then each applying the other’s updates',
  },
  {
    name: 'typing_automerge_ms',
    unit: 'ms',
    description:
      'Automerge: the same keystrokes, one change and one incremental save per keystroke, then ' +
      'each replica loading the other’s incremental saves',
  },
  {
    name: 'typing_heph_ms',
    unit: 'ms',
    floor: 'typing_yjs_ms',
    description:
      'heph: the same keystrokes, one node.update save (whole buffer, base_version) per ' +
      'keystroke on each of two file stores, then each applying the other’s ops in pages of 1,000',
  },
  {
    name: 'typing_sql_floor_ms',
    unit: 'ms',
    description:
      'Floor: the SQLite writes of those 10,000 saves alone, one transaction each, by prepared ' +
      'statements on a heph database (the op-log row with a keystroke’s update, the appended ' +
      'body part, the document’s version, the body row with the whole text, the node’s time; ' +
      'a local write’s clock is its op’s id): what one durable save per keystroke costs before ' +
      'any merging, diffing or Yjs',
  },
  {
    name: 'body_cache_kb',
    unit: 'KB',
    description:
      'Estimated memory the body cache holds after the 100 KB note’s saves (store/body-cache.ts; ' +
      'bounded at 16 MiB and 64 documents)',
  },
  {
    name: 'typing_heph_vs_yjs',
    unit: '×',
    target: { op: '<=', value: 5 },
    description: 'typing_heph_ms / typing_yjs_ms, measured in the same run on the same keystrokes',
  },
];

// ---- notes -----------------------------------------------------------------------------------

const WORDS = (
  'the a plan note ferry island morning list write read check call meeting budget draft ' +
  'review garden kitchen letter project idea weekend travel train paper window market ' +
  'answer question summer winter river bridge station coffee table chapter'
).split(' ');

function sentence(r: Random, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(r.next() * WORDS.length)]!);
  const s = out.join(' ');
  return s[0]!.toUpperCase() + s.slice(1) + '.';
}

/** A markdown note of at least `bytes` characters: headings, prose with links, lists, code. */
export function markdownNote(r: Random, bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let section = 1; size < bytes; section++) {
    const block: string[] = [`## Section ${section}`, ''];
    for (let p = 0; p < 3; p++) {
      block.push(
        `${sentence(r, 12)} See [[Note ${Math.floor(r.next() * 50)}]]. ${sentence(r, 15)}`,
        '',
      );
    }
    for (let i = 0; i < 4; i++) block.push(`- [${r.next() < 0.3 ? 'x' : ' '}] ${sentence(r, 6)}`);
    block.push('');
    if (section % 3 === 0) block.push('```', `const x = ${section}; // [[not a link]]`, '```', '');
    const text = block.join('\n') + '\n';
    parts.push(text);
    size += text.length;
  }
  return parts.join('');
}

// ---- one save of a long note -----------------------------------------------------------------

/** A save as node.update makes it: read the node, save as an item, read it back as an item. */
function save(store: SqliteStore, id: string, body: string, base: string): NodeView {
  const n = store.getNode(id);
  const { node } = updateItemLinked(store, n, { body, base_version: base });
  return asItem(store, store.getNode(node.id));
}

function longNoteSaves(ctx: BenchContext): { p50: number; p99: number; cacheKb: number } {
  const clock = new ManualClock(NOW);
  const store = openStore(
    { path: join(ctx.tempDir(), 'save.db'), ...DAEMON_STORE_OPTIONS },
    { clock, random: seededRandom(70) },
  );
  try {
    const r = seededRandom(71);
    let body = markdownNote(r, 100_000);
    let node = store.createNode({ kind: 'doc', title: 'A long note', body });
    const warm = 50;
    const runs = ctx.size(500, 100);
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < warm + runs; i++) {
      clock.advance(1000);
      const at = Math.floor(r.next() * body.length);
      body =
        r.next() < 0.8
          ? body.slice(0, at) + 'abcdefghij'[i % 10]! + body.slice(at)
          : body.slice(0, at) + body.slice(at + 1);
      const c0 = process.cpuUsage();
      const t0 = nowMs();
      node = save(store, node.id, body, node.body_version);
      const ms = nowMs() - t0;
      const c = process.cpuUsage(c0);
      if (i >= warm) {
        times.push(ms);
        cpu.push((c.user + c.system) / 1000);
      }
    }
    if (store.getNode(node.id).body !== body) throw new Error('the long note lost a save');
    ctx.progress(
      `100 KB note (${body.length} chars): save wall p50 ${median(times).toFixed(2)} ms, ` +
        `p90 ${percentile(times, 90).toFixed(2)}, p99 ${percentile(times, 99).toFixed(2)}; ` +
        `CPU p50 ${median(cpu).toFixed(2)} ms, p90 ${percentile(cpu, 90).toFixed(2)}, ` +
        `p99 ${percentile(cpu, 99).toFixed(2)}`,
    );
    const cache = store.bodyCacheStats();
    ctx.progress(`body cache: ${cache.docs} documents, ~${(cache.bytes / 1024).toFixed(0)} KB`);
    return { p50: median(times), p99: percentile(times, 99), cacheKb: cache.bytes / 1024 };
  } finally {
    store.close();
  }
}

// ---- typing ----------------------------------------------------------------------------------

interface Typing {
  initial: string;
  /** Where each typist's cursor starts (in the initial text; A's is before B's). */
  at: [number, number];
  /** What each typist types, one keystroke per character, at the cursor, which moves on. */
  typed: [string, string];
}

/** The workload: a 10 KB note and two typists, each in a paragraph of their own. */
export function typingWorkload(chars: number): Typing {
  const r = seededRandom(81);
  const initial = markdownNote(r, 10_000);
  const paragraphEnd = (from: number) => initial.indexOf('\n\n', from);
  const at: [number, number] = [
    paragraphEnd(Math.floor(initial.length / 3)),
    paragraphEnd(Math.floor((initial.length * 2) / 3)),
  ];
  const type = (): string => {
    let s = '';
    while (s.length < chars) s += ` ${sentence(r, 8)}${r.next() < 0.2 ? '\n' : ''}`;
    return s.slice(0, chars);
  };
  return { initial, at, typed: [type(), type()] };
}

/** The text both replicas must end with: each run typed once, where it was typed. */
function intended(w: Typing): string {
  const [a, b] = w.at;
  const s = w.initial;
  return s.slice(0, a) + w.typed[0] + s.slice(a, b) + w.typed[1] + s.slice(b);
}

function typingYjs(w: Typing): number {
  const docs = [new Y.Doc(), new Y.Doc()] as const;
  docs[0].clientID = 1;
  docs[1].clientID = 2;
  docs[0].getText('body').insert(0, w.initial);
  Y.applyUpdate(docs[1], Y.encodeStateAsUpdate(docs[0]));
  const kept: Uint8Array[][] = [[], []];
  docs.forEach((d, i) => d.on('update', (u: Uint8Array) => kept[i]!.push(u)));
  const t0 = nowMs();
  const n = w.typed[0].length;
  for (let k = 0; k < n; k++) {
    for (const i of [0, 1] as const) {
      docs[i].getText('body').insert(w.at[i] + k, w.typed[i][k]!);
    }
  }
  const mine = kept.map((k) => k.slice());
  for (const u of mine[1]!) Y.applyUpdate(docs[0], u);
  for (const u of mine[0]!) Y.applyUpdate(docs[1], u);
  const texts = docs.map((d) => d.getText('body').toJSON());
  const ms = nowMs() - t0;
  for (const t of texts) if (t !== intended(w)) throw new Error('Yjs did not keep the typing');
  for (const d of docs) d.destroy();
  return ms;
}

function typingAutomerge(w: Typing): number {
  type Note = { body: string };
  const a0 = Automerge.from<Note>({ body: w.initial }, { actor: 'aa'.repeat(16) });
  let docs = [a0, Automerge.clone(a0, { actor: 'bb'.repeat(16) })];
  const kept: Uint8Array[][] = [[], []];
  for (const i of [0, 1]) Automerge.saveIncremental(docs[i]!);
  const t0 = nowMs();
  const n = w.typed[0].length;
  for (let k = 0; k < n; k++) {
    for (const i of [0, 1] as const) {
      const ch = w.typed[i][k]!;
      docs[i] = Automerge.change(docs[i]!, (d) =>
        Automerge.splice(d, ['body'], w.at[i] + k, 0, ch),
      );
      kept[i]!.push(Automerge.saveIncremental(docs[i]));
    }
  }
  const joined = kept.map((chunks) => Buffer.concat(chunks));
  docs = [
    Automerge.loadIncremental(docs[0]!, joined[1]!),
    Automerge.loadIncremental(docs[1]!, joined[0]!),
  ];
  const texts = docs.map((d) => d.body);
  const ms = nowMs() - t0;
  for (const t of texts)
    if (t !== intended(w)) throw new Error('Automerge did not keep the typing');
  return ms;
}

function exchange(from: SqliteStore, to: SqliteStore, cursor: number): void {
  for (;;) {
    const page = from.opsSince(cursor, 1000);
    const r = to.applyOps(page.ops);
    if (r.refused.length > 0) throw new Error(`refused: ${r.refused[0]!.message}`);
    cursor = page.cursor;
    if (!page.more) break;
  }
}

function typingHeph(ctx: BenchContext, w: Typing, attempt: number): number {
  const dir = ctx.tempDir();
  const clock = new ManualClock(NOW);
  const stores = [0, 1].map((i) =>
    openStore(
      { path: join(dir, `typing-${attempt}-${i}.db`), ...DAEMON_STORE_OPTIONS },
      { clock, random: seededRandom(90 + i) },
    ),
  ) as [SqliteStore, SqliteStore];
  try {
    const created = stores[0].createNode({ kind: 'doc', title: 'Typed into', body: w.initial });
    exchange(stores[0], stores[1], 0);
    const cursors = stores.map((s) => s.lastSeq());
    const buffers = [w.initial, w.initial];
    const read = stores.map((s) => s.getNode(created.id));
    const t0 = nowMs();
    const n = w.typed[0].length;
    for (let k = 0; k < n; k++) {
      clock.advance(1);
      for (const i of [0, 1] as const) {
        const at = w.at[i] + k;
        const b = buffers[i]!;
        buffers[i] = b.slice(0, at) + w.typed[i][k]! + b.slice(at);
        read[i] = save(stores[i], created.id, buffers[i], read[i]!.body_version);
      }
    }
    exchange(stores[0], stores[1], cursors[0]!);
    exchange(stores[1], stores[0], cursors[1]!);
    const texts = stores.map((s) => s.getNode(created.id).body);
    const ms = nowMs() - t0;
    for (const t of texts) if (t !== intended(w)) throw new Error('heph did not keep the typing');
    return ms;
  } finally {
    for (const s of stores) s.close();
  }
}

/** What 2 × `chars` saves must write to SQLite, by hand (see typing_sql_floor_ms). */
function typingSqlFloor(ctx: BenchContext, w: Typing): number {
  const clock = new ManualClock(NOW);
  const store = openStore(
    { path: join(ctx.tempDir(), 'floor.db'), ...DAEMON_STORE_OPTIONS },
    { clock, random: seededRandom(95) },
  );
  try {
    const node = store.createNode({ kind: 'doc', title: 'Typed into', body: w.initial });
    const db = store.connection;
    const op = db.prepare('INSERT INTO oplog (id, kind, target, payload) VALUES (?, ?, ?, ?)');
    const part = db.prepare(
      'INSERT INTO body_parts (node_id, branch, part, data) VALUES (?, ?, ?, ?)',
    );
    const doc = db.prepare("UPDATE body_docs SET version = ? WHERE node_id = ? AND branch = ''");
    const text = db.prepare('UPDATE bodies SET body = ?, version = ? WHERE node_id = ?');
    const touch = db.prepare('UPDATE nodes SET updated_ms = ? WHERE id = ?');
    const update = Buffer.alloc(28, 7);
    const payload = JSON.stringify({ update: update.toString('base64') });
    const buffers = [w.initial, w.initial];
    let seq = 0;
    const t0 = nowMs();
    for (let k = 0; k < w.typed[0].length; k++) {
      for (const i of [0, 1] as const) {
        const at = w.at[i] + k;
        const b = buffers[i]!;
        buffers[i] = b.slice(0, at) + w.typed[i][k]! + b.slice(at);
        const id = `${(NOW + ++seq).toString(16).padStart(12, '0')}-0000-${store.origin}`;
        store.transaction(() => {
          op.run(id, 'body.update', node.id, payload);
          part.run(node.id, '', seq + 1000, update);
          doc.run(id, node.id);
          text.run(buffers[i], id, node.id);
          touch.run(NOW + seq, node.id);
        });
      }
    }
    return nowMs() - t0;
  } finally {
    store.close();
  }
}

async function typing(ctx: BenchContext): Promise<Record<string, number>> {
  const w = typingWorkload(ctx.size(5000, 500));
  ctx.progress(
    `note of ${w.initial.length} chars; typing ${w.typed[0].length} characters at ${w.at[0]} ` +
      `and at ${w.at[1]}`,
  );
  // Wall time is the figure; CPU time (setup included) shows what a busy machine added.
  const timed = (what: string, run: (attempt: number) => number) =>
    medianIfShort((attempt) => {
      const c0 = process.cpuUsage();
      const ms = run(attempt);
      const c = process.cpuUsage(c0);
      const cpu = (c.user + c.system) / 1000;
      ctx.progress(`${what}, run ${attempt}: ${ms.toFixed(0)} ms (CPU ${cpu.toFixed(0)} ms)`);
      return { ms, value: ms };
    });
  const yjs = await timed('Yjs', () => typingYjs(w));
  const am = await timed('Automerge', () => typingAutomerge(w));
  const heph = await timed('heph', (attempt) => typingHeph(ctx, w, attempt));
  const floor = await timed('SQLite writes alone', () => typingSqlFloor(ctx, w));
  return {
    typing_sql_floor_ms: floor.value,
    typing_yjs_ms: yjs.value,
    typing_automerge_ms: am.value,
    typing_heph_ms: heph.value,
    typing_heph_vs_yjs: heph.value / yjs.value,
  };
}

export const body: BenchModule = {
  name: 'body',
  figures: bodyFigures,
  async run(ctx) {
    const saves = longNoteSaves(ctx);
    return {
      body_save_p50_ms: saves.p50,
      body_save_p99_ms: saves.p99,
      body_cache_kb: saves.cacheKb,
      ...(await typing(ctx)),
    };
  },
};
