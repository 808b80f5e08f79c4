// CLI figure: `heph next` as a user runs it — a new node process that loads the CLI, connects to
// a running daemon holding 10,000 tasks in 200 projects, asks for what is next and prints it.
// Its budget is start-up bound: at most 2 × `node -e 0` (measured in the same run) + 40 ms.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { firstCall, spawnDaemon } from './daemon.js';
import { median, nowMs } from './stats.js';
import type { BenchContext, BenchModule, FigureMeta } from './types.js';

const HEPH = fileURLToPath(new URL('../../bin/heph.js', import.meta.url));
const run = promisify(execFile);

export const cliFigures: FigureMeta[] = [
  {
    name: 'cli_next_ms',
    unit: 'ms',
    floor: 'node_startup_ms',
    description:
      '`heph next` spawned as a process against a running daemon with 10,000 tasks in 200 ' +
      'projects: median wall time of 20 runs after 3 warm-up runs',
  },
  {
    name: 'cli_next_budget_ratio',
    unit: '×',
    target: { op: '<=', value: 1 },
    description: 'cli_next_ms ÷ (2 × node_startup_ms + 40 ms): at most 1 meets the target',
  },
];

async function fill(ctx: BenchContext, socket: string, tasks: number): Promise<void> {
  const { connect } = await import('../src/transport/socket-client.js');
  const c = await connect(socket);
  try {
    const projects: string[] = [];
    for (let i = 0; i < 200; i++) {
      const p = (await c.call('project.create', { title: `Project ${i}` })) as { id: string };
      projects.push(p.id);
    }
    const attentions = ['white', 'white', 'orange', 'red', 'blue'] as const;
    let seed = 7;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const day = (offset: number) =>
      new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < tasks; i++) {
      const r = rnd();
      batch.push(
        c.call('task.create', {
          title: `Task ${i}`,
          attention: attentions[i % attentions.length],
          project: projects[i % projects.length],
          ...(r < 0.4 && { do_date: day(Math.floor(rnd() * 20) - 10) }),
          ...(r > 0.7 && { late_on: day(Math.floor(rnd() * 20) - 10) }),
        }),
      );
      if (batch.length === 100) {
        await Promise.all(batch.splice(0));
        if (i % 2000 === 99) ctx.progress(`${i + 1} tasks`);
      }
    }
    await Promise.all(batch);
  } finally {
    await c.close();
  }
}

export const cli: BenchModule = {
  name: 'cli',
  figures: cliFigures,
  async run(ctx) {
    const dir = ctx.tempDir();
    const daemon = spawnDaemon(dir);
    try {
      (await firstCall(daemon)).close().catch(() => undefined);
      await fill(ctx, daemon.socket, ctx.size(10_000, 500));
      const once = async () => {
        const t0 = nowMs();
        await run(process.execPath, [HEPH, 'next', '--socket', daemon.socket], {
          env: { ...process.env, NO_COLOR: '1' },
        });
        return nowMs() - t0;
      };
      for (let i = 0; i < 3; i++) await once();
      const times: number[] = [];
      for (let i = 0; i < ctx.size(20, 3); i++) times.push(await once());
      const ms = median(times);
      ctx.progress(`heph next: median ${ms.toFixed(1)} ms`);
      const node = ctx.figures.node_startup_ms;
      const out: Record<string, number> = { cli_next_ms: ms };
      if (node !== undefined) out.cli_next_budget_ratio = ms / (2 * node + 40);
      return out;
    } finally {
      await daemon.stop();
    }
  },
};
