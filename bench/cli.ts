// CLI figures: `heph next`, `heph add` and `heph status` as a user runs them — a new node process
// that loads the CLI, connects to a running daemon holding 10,000 tasks in 200 projects, asks and
// prints. Start-up bound, so each is compared with `node -e 0` spawned alternately with it in the
// same loop (the machine's speed drifts between runs): each command's median may exceed node's
// median by at most 40 ms.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { daemonCpuPerCallMs, firstCall, spawnDaemon } from './daemon.js';
import { median, nowMs, percentile } from './stats.js';
import type { BenchContext, BenchModule, FigureMeta } from './types.js';

const HEPH = fileURLToPath(new URL('../../bin/heph.js', import.meta.url));
const run = promisify(execFile);

/** The commands timed, with their arguments. */
const COMMANDS = {
  next: ['next'],
  add: ['add', 'Call the plumber tomorrow !orange #Home'],
  status: ['status'],
} as const;
type Name = keyof typeof COMMANDS;

const BUDGET_MS = 40;

export const cliFigures: FigureMeta[] = [
  {
    name: 'cli_node_startup_ms',
    unit: 'ms',
    description:
      '`node -e 0` spawned alternately with the three commands below, in the same loop: median ' +
      'of 20 runs after 3 warm-up rounds',
  },
  ...(Object.keys(COMMANDS) as Name[]).flatMap((name): FigureMeta[] => [
    {
      name: `cli_${name}_ms`,
      unit: 'ms',
      floor: 'cli_node_startup_ms',
      description:
        `\`heph ${COMMANDS[name].join(' ')}\` spawned as a process against a running daemon with ` +
        '10,000 tasks in 200 projects: median wall time of 20 runs',
    },
    {
      name: `cli_${name}_over_node_ms`,
      unit: 'ms',
      target: { op: '<=', value: BUDGET_MS },
      description: `cli_${name}_ms − cli_node_startup_ms: what heph adds to starting node`,
    },
  ]),
  {
    name: 'cli_spread_ms',
    unit: 'ms',
    description:
      'the widest interquartile range (p75 − p25) of the four series above: how much one run ' +
      'varies',
  },
  {
    name: 'daemon_next_cpu_ms',
    unit: 'ms',
    description:
      "The daemon's own CPU per `next` in the lines form `heph next` asks for, on the same " +
      '10,000 tasks (1,600+ shown: red tasks are never cut): user and system time read from ' +
      '/proc around 100 sequential calls on one connection, after 5 of warm-up (Linux only)',
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

async function spawnMs(args: readonly string[]): Promise<number> {
  const t0 = nowMs();
  await run(process.execPath, [...args], { env: { ...process.env, NO_COLOR: '1' } });
  return nowMs() - t0;
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
      const nextCpu = await daemonCpuPerCallMs(
        daemon,
        'next',
        { form: 'lines' },
        ctx.size(100, 10),
      );
      if (nextCpu !== undefined) ctx.progress(`daemon CPU per next: ${nextCpu.toFixed(2)} ms`);
      const names = Object.keys(COMMANDS) as Name[];
      const series: Record<Name | 'node', number[]> = { node: [], next: [], add: [], status: [] };
      const round = async (keep: boolean) => {
        const node = await spawnMs(['-e', '0']);
        if (keep) series.node.push(node);
        for (const name of names) {
          const ms = await spawnMs([HEPH, ...COMMANDS[name], '--socket', daemon.socket]);
          if (keep) series[name].push(ms);
        }
      };
      for (let i = 0; i < 3; i++) await round(false);
      for (let i = 0; i < ctx.size(20, 3); i++) await round(true);
      const node = median(series.node);
      const out: Record<string, number> = { cli_node_startup_ms: node };
      let spread = 0;
      for (const [name, times] of Object.entries(series)) {
        spread = Math.max(spread, percentile(times, 75) - percentile(times, 25));
        if (name === 'node') continue;
        out[`cli_${name}_ms`] = median(times);
        out[`cli_${name}_over_node_ms`] = median(times) - node;
        ctx.progress(
          `heph ${name}: median ${median(times).toFixed(1)} ms (node ${node.toFixed(1)})`,
        );
      }
      out.cli_spread_ms = spread;
      if (nextCpu !== undefined) out.daemon_next_cpu_ms = nextCpu;
      return out;
    } finally {
      await daemon.stop();
    }
  },
};
