// The benchmark runner (composition root): `node dist/bench/run.js [--quick] [--only a,b]
// [--peers]`. `--peers` runs the peer comparisons alone (every module named `peers` or
// `peers-…`: heph beside a plain op-log, Yjs and Automerge on the same workloads).
// Runs the selected modules in order in this process, prints progress on stderr and the table
// on stdout. A full run of every module writes BENCHMARKS.md (repo root) and bench/results.json;
// a quick or partial run only prints.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modules } from './modules.js';
import {
  benchmarksMarkdown,
  consoleTable,
  loadAverage,
  machineInfo,
  resultsJson,
  rows,
} from './report.js';
import { nowMs } from './stats.js';
import type { BenchContext, BenchModule } from './types.js';

/** A mistake in the command line: reported without a stack, exit code 2. */
class UsageError extends Error {}

interface Args {
  quick: boolean;
  only: string[] | undefined;
  peers: boolean;
}

/** The modules --peers selects. */
const isPeers = (name: string): boolean => name === 'peers' || name.startsWith('peers-');

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, only: undefined, peers: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const list = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (!list) throw new UsageError('--only needs a comma-separated list of module names');
      args.only = list
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    } else if (a === '--peers') args.peers = true;
    else {
      throw new UsageError(`unknown argument ${a}; use --quick, --peers and/or --only <name,name>`);
    }
  }
  return args;
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (no package.json above)');
    dir = up;
  }
  return dir;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Temp dirs still to remove; also removed on exit, so an interrupted run leaves nothing. */
const tempDirs = new Set<string>();
function removeTempDirs(): void {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

async function runModule(
  m: BenchModule,
  quick: boolean,
  figures: Record<string, number>,
): Promise<void> {
  const ctx: BenchContext = {
    quick,
    size: (full, small) => (quick ? small : full),
    tempDir() {
      const d = mkdtempSync(join(tmpdir(), `heph-bench-${m.name}-`));
      tempDirs.add(d);
      return d;
    },
    figures,
    progress: (message) => log(`[${m.name}] ${message}`),
  };
  const t0 = nowMs();
  log(`[${m.name}] start`);
  try {
    const out = await m.run(ctx);
    const declared = new Set(m.figures.map((f) => f.name));
    for (const [name, value] of Object.entries(out)) {
      if (!declared.has(name)) throw new Error(`module ${m.name} reported undeclared ${name}`);
      if (!Number.isFinite(value)) throw new Error(`module ${m.name} reported ${name} = ${value}`);
      figures[name] = value;
    }
  } finally {
    removeTempDirs();
  }
  log(`[${m.name}] done in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const known = modules.map((m) => m.name);
  const unknown = (args.only ?? []).filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new UsageError(`unknown module ${unknown.join(', ')}; modules are ${known.join(', ')}`);
  }
  const selected = modules.filter(
    (m) =>
      (args.only === undefined && !args.peers) ||
      args.only?.includes(m.name) === true ||
      (args.peers && isPeers(m.name)),
  );
  const complete = selected.length === modules.length;
  const root = repoRoot();
  const started = new Date();
  const load = loadAverage();
  log(
    `heph bench: ${args.quick ? 'quick smoke run' : 'full run'} of ` +
      `${selected.map((m) => m.name).join(', ')} (load average ${load})`,
  );

  if (process.env.NODE_EXTRA_CA_CERTS) {
    log(
      'note: NODE_EXTRA_CA_CERTS is set; every node process started here loads those certificates',
    );
  }

  const figures: Record<string, number> = {};
  for (const m of selected) await runModule(m, args.quick, figures);

  const table = rows(
    selected.flatMap((m) => m.figures),
    figures,
  );
  process.stdout.write(`${consoleTable(table)}\n`);
  if (args.quick || !complete) {
    log(
      `not writing BENCHMARKS.md or bench/results.json (${args.quick ? 'quick' : 'partial'} run)`,
    );
    return;
  }
  const machine = machineInfo(started);
  writeFileSync(join(root, 'BENCHMARKS.md'), benchmarksMarkdown(table, machine, load));
  writeFileSync(join(root, 'bench', 'results.json'), resultsJson(table, machine));
  log(`wrote ${join(root, 'BENCHMARKS.md')} and ${join(root, 'bench', 'results.json')}`);
}

process.on('exit', removeTempDirs);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(130));
}

main().catch((e: unknown) => {
  if (e instanceof UsageError) {
    log(`bench: ${e.message}`);
    process.exitCode = 2;
    return;
  }
  log(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
