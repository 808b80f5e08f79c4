// Model figures: how long "what is next" takes over a large task list, how long a search takes
// over a large note collection, and how long a large markdown folder takes to import. Every
// workload is generated from a seed, so runs differ only in timing. Timed parts report wall time
// (the figure) and CPU time of this process (on the progress line), since a shared machine
// inflates wall time but not CPU time.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Attention } from '../src/core/fields.js';
import { Model } from '../src/model/model.js';
import { catchUpSearchIndex, search } from '../src/model/search.js';
import { importVault } from '../src/model/vault-import.js';
import { ManualClock } from '../src/ports/clock.js';
import { seededRandom, type Random } from '../src/ports/random.js';
import { openStore } from '../src/store/open-store.js';
import type { SqliteStore } from '../src/store/sqlite-store.js';
import { median, medianIfShort, nowMs, percentile } from './stats.js';
import type { BenchContext, BenchModule, FigureMeta } from './types.js';

const DAY_MS = 86_400_000;
/** The benchmark's "today": noon UTC, so the model's UTC day is this date. */
const NOW = Date.UTC(2026, 5, 15, 12);
const TODAY = '2026-06-15';
const BATCH = 1000;

export const modelFigures: FigureMeta[] = [
  {
    name: 'next_10k_tasks_ms',
    unit: 'ms',
    target: { op: '<=', value: 20 },
    description:
      'Model.next (default limit 20) over 10,000 tasks in 200 projects (mixed attention, ' +
      'do_dates and late_ons around today; some done or dropped), median of 300 calls after ' +
      '50 warm-up calls',
  },
  {
    name: 'search_100k_nodes_ms',
    unit: 'ms',
    target: { op: '<=', value: 30 },
    description:
      'search of two mid-frequency words (each in 1-5% of docs) over 100,000 docs of ~100 ' +
      'words drawn from a 10,000-word Zipf vocabulary, index caught up first; median over ' +
      '8 word pairs × 5 rounds after one warm-up round',
  },
  {
    name: 'import_10k_notes_s',
    unit: 's',
    description:
      'importVault of a generated 10,000-note markdown folder (50 subfolders; front matter ' +
      'aliases; ~150 words and 5 [[links]] by title, alias or path per note) into an empty store',
  },
];

const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)]!;

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A date `lo`..`hi` days from today, uniformly. */
function dayAround(r: Random, lo: number, hi: number): string {
  return isoDay(NOW + (lo + Math.floor(r.next() * (hi - lo + 1))) * DAY_MS);
}

interface Timing {
  wallMs: number;
  cpuMs: number;
}

/** Runs `fn` `warmup` times untimed, then `runs` times timed: wall and CPU time of each run. */
function timeRuns(warmup: number, runs: number, fn: (i: number) => void): Timing[] {
  for (let i = 0; i < warmup; i++) fn(i);
  const out: Timing[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = nowMs();
    fn(i);
    const wallMs = nowMs() - t0;
    const c = process.cpuUsage(c0);
    out.push({ wallMs, cpuMs: (c.user + c.system) / 1000 });
  }
  return out;
}

function describe(ts: readonly Timing[]): string {
  const wall = ts.map((t) => t.wallMs);
  const cpu = ts.map((t) => t.cpuMs);
  return (
    `wall median ${median(wall).toFixed(2)} ms (p10 ${percentile(wall, 10).toFixed(2)}, ` +
    `p90 ${percentile(wall, 90).toFixed(2)}); CPU median ${median(cpu).toFixed(2)} ms ` +
    `(p10 ${percentile(cpu, 10).toFixed(2)})`
  );
}

// ---- next ------------------------------------------------------------------------------------

/** Attention mix of a personal task list: mostly white, a few red, a tenth parked blue. */
function attention(r: Random): Attention {
  const x = r.next();
  return x < 0.05 ? 'red' : x < 0.25 ? 'orange' : x < 0.9 ? 'white' : 'blue';
}

function buildTasks(ctx: BenchContext, store: SqliteStore, model: Model): number {
  const projects = ctx.size(200, 20);
  const tasks = ctx.size(10_000, 1_000);
  const r = seededRandom(31);
  const projectIds = store.transaction(() =>
    Array.from({ length: projects }, (_, i) => model.createProject({ title: `Project ${i}` }).id),
  );
  const ids: string[] = [];
  for (let i = 0; i < tasks; i += BATCH) {
    store.transaction(() => {
      for (let j = i; j < Math.min(i + BATCH, tasks); j++) {
        const doDate = r.next() < 0.5 ? null : dayAround(r, -60, 60);
        const lateOn = r.next() < 0.7 ? null : dayAround(r, -30, 30);
        const created = model.createTask(
          {
            title: `Task ${j} ${Math.floor(r.next() * 1e6).toString(36)}`,
            attention: attention(r),
            do_date: doDate,
            late_on: lateOn,
            project: pick(r, projectIds),
          },
          TODAY,
        );
        ids.push(created.task.id);
      }
    });
  }
  // Close a fifth of them, as a list that has been in use for a while would have.
  store.transaction(() => {
    for (const id of ids) {
      const x = r.next();
      if (x < 0.15) model.completeTask(id, TODAY);
      else if (x < 0.2) model.dropTask(id);
    }
  });
  return tasks;
}

function nextTasks(ctx: BenchContext): number {
  const clock = new ManualClock(NOW);
  const store = openStore(
    { path: join(ctx.tempDir(), 'next.db') },
    {
      clock,
      random: seededRandom(30),
    },
  );
  try {
    const model = new Model(store, { clock, timeZone: 'UTC' });
    const t0 = nowMs();
    const tasks = buildTasks(ctx, store, model);
    ctx.progress(`built ${tasks} tasks in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
    let listed = 0;
    const runs = timeRuns(50, ctx.size(300, 50), () => {
      listed = model.next({ today: TODAY }).tasks.length;
    });
    ctx.progress(`next (${listed} tasks listed): ${describe(runs)}`);
    return median(runs.map((t) => t.wallMs));
  } finally {
    store.close();
  }
}

// ---- search ----------------------------------------------------------------------------------

const ONSETS = ['b', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'ch', 'st'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai'];

/** `size` distinct pronounceable words of 2-4 syllables, in a seeded order (rank 1 first). */
function vocabulary(size: number, r: Random): string[] {
  const seen = new Set<string>();
  const words: string[] = [];
  while (words.length < size) {
    const syllables = 2 + Math.floor(r.next() * 3);
    let w = '';
    for (let s = 0; s < syllables; s++) w += pick(r, ONSETS) + pick(r, VOWELS);
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  return words;
}

/** Samples ranks 0..n-1 with probability ∝ 1/(rank+1) (Zipf, s = 1). */
function zipfSampler(n: number, r: Random): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1);
  return () => {
    const x = r.next() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** Fills the store with `docs` generated docs; returns each word's document frequency. */
function buildDocs(store: SqliteStore, docs: number, words: readonly string[]): Int32Array {
  const r = seededRandom(41);
  const rank = zipfSampler(words.length, r);
  const df = new Int32Array(words.length);
  const lastDoc = new Int32Array(words.length).fill(-1);
  const take = (d: number): string => {
    const w = rank();
    if (lastDoc[w] !== d) {
      lastDoc[w] = d;
      df[w]!++;
    }
    return words[w]!;
  };
  store.transaction(() => {
    for (let d = 0; d < docs; d++) {
      const title = Array.from({ length: 3 + Math.floor(r.next() * 3) }, () => take(d)).join(' ');
      const length = 80 + Math.floor(r.next() * 41);
      const parts: string[] = [];
      for (let i = 0; i < length; i++) {
        parts.push(take(d));
        if (i % 12 === 11) parts.push('.');
      }
      store.createNode({ kind: 'doc', title, body: parts.join(' ').replace(/ \./g, '.') });
    }
  });
  return df;
}

function searchDocs(ctx: BenchContext): number {
  const docs = ctx.size(100_000, 10_000);
  const clock = new ManualClock(NOW);
  const store = openStore(
    { path: join(ctx.tempDir(), 'search.db') },
    {
      clock,
      random: seededRandom(40),
    },
  );
  try {
    const words = vocabulary(10_000, seededRandom(42));
    let t0 = nowMs();
    const df = buildDocs(store, docs, words);
    ctx.progress(`built ${docs} docs in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
    t0 = nowMs();
    catchUpSearchIndex(store);
    ctx.progress(`indexed them in ${((nowMs() - t0) / 1000).toFixed(1)} s`);

    // Mid-frequency: in 1-5% of the docs.
    const mid = words.filter((_, i) => df[i]! >= docs * 0.01 && df[i]! <= docs * 0.05);
    const r = seededRandom(43);
    const pairs = Array.from({ length: 8 }, () => `${pick(r, mid)} ${pick(r, mid)}`);
    ctx.progress(`${mid.length} mid-frequency words; pairs: ${pairs.join(', ')}`);
    let found = 0;
    const runs = timeRuns(pairs.length, pairs.length * 5, (i) => {
      found += search(store, { query: pairs[i % pairs.length]! }).length;
    });
    ctx.progress(`search (${found} results in all): ${describe(runs)}`);
    return median(runs.map((t) => t.wallMs));
  } finally {
    store.close();
  }
}

// ---- import ----------------------------------------------------------------------------------

/** Writes a vault of `notes` notes; links name other notes by title, alias or path. */
function writeVault(dir: string, notes: number): void {
  const r = seededRandom(51);
  const words = vocabulary(2_000, seededRandom(52));
  const rank = zipfSampler(words.length, r);
  const folders = 50;
  const title = (i: number): string => `Note ${i} ${words[i % words.length]}`;
  const folder = (i: number): string => `area-${i % folders}`;
  for (let f = 0; f < folders; f++) mkdirSync(join(dir, `area-${f}`));
  for (let i = 0; i < notes; i++) {
    const lines = ['---', `aliases: [n${i}, "${words[(i * 7) % words.length]}-${i}"]`];
    if (i % 3 === 0) lines.push(`tags: [${words[i % 50]}, ${words[(i + 1) % 50]}]`);
    lines.push('---', '', `# ${title(i)}`, '');
    for (let p = 0; p < 5; p++) {
      const sentence = Array.from({ length: 30 }, () => words[rank()]!).join(' ');
      const j = Math.floor(r.next() * notes);
      const how = r.next();
      const link =
        how < 0.6
          ? `[[${title(j)}]]`
          : how < 0.8
            ? `[[n${j}|note ${j}]]`
            : `[[${folder(j)}/${title(j)}#Heading]]`;
      lines.push(`${sentence} ${link}.`, '');
    }
    writeFileSync(join(dir, folder(i), `${title(i)}.md`), lines.join('\n'));
  }
}

async function importNotes(ctx: BenchContext): Promise<number> {
  const notes = ctx.size(10_000, 1_000);
  const vault = join(ctx.tempDir(), 'vault');
  mkdirSync(vault);
  writeVault(vault, notes);
  const dir = ctx.tempDir();
  const best = await medianIfShort((attempt) => {
    const clock = new ManualClock(NOW);
    const store = openStore(
      { path: join(dir, `import-${attempt}.db`) },
      {
        clock,
        random: seededRandom(50 + attempt),
      },
    );
    try {
      const c0 = process.cpuUsage();
      const t0 = nowMs();
      const report = importVault(store, vault);
      const ms = nowMs() - t0;
      const c = process.cpuUsage(c0);
      if (report.created !== notes || report.errors.length > 0) {
        throw new Error(`import created ${report.created} of ${notes} notes`);
      }
      ctx.progress(
        `import run ${attempt}: wall ${(ms / 1000).toFixed(2)} s, ` +
          `CPU ${((c.user + c.system) / 1e6).toFixed(2)} s`,
      );
      return { ms, value: ms / 1000 };
    } finally {
      store.close();
    }
  });
  return best.value;
}

export const model: BenchModule = {
  name: 'model',
  figures: modelFigures,
  async run(ctx) {
    return {
      next_10k_tasks_ms: nextTasks(ctx),
      search_100k_nodes_ms: searchDocs(ctx),
      import_10k_notes_s: await importNotes(ctx),
    };
  },
};
