// `heph conflicts` and `heph conflicts resolve` as a user meets a body conflict: the same file
// imported in two versions on two devices before they first sync (real hephd processes, a real
// hub on 127.0.0.1:0, the built CLI). The list shows each version's text as lines, names the
// note, and says how to resolve; resolving with `-` takes the merged text from standard input.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Closers } from '../merge/helpers.js';
import {
  assertBuilt,
  baseEnv,
  heph,
  json,
  startDaemon,
  tempHome,
  type Daemon,
  type Run,
} from './helpers.js';

const closers = new Closers();
afterEach(() => closers.run());

interface Device {
  home: string;
  daemon: Daemon;
  run(args: string[], input?: string): Promise<Run>;
  /** Restarts the daemon on the same database, now syncing with the hub at `url`. */
  join(url: string): Promise<void>;
}

async function device(): Promise<Device> {
  assertBuilt();
  const home = tempHome();
  closers.add(() => home.cleanup());
  const env = () => baseEnv({ ...home.env, HEPH_SOCKET: d.daemon.socket });
  const d: Device = {
    home: home.dir,
    daemon: await startDaemon(home.dir),
    run: (args, input) => heph(args, { env: env(), ...(input !== undefined && { input }) }),
    async join(url) {
      await d.daemon.stop();
      d.daemon = await startDaemon(home.dir, ['--hub-url', url]);
    },
  };
  closers.add(() => d.daemon.stop());
  return d;
}

function ok(r: Run): Run {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

/** Imports a folder holding Plan.md with `text` on `d`. */
async function importPlan(d: Device, text: string): Promise<void> {
  const tmp = tempHome();
  closers.add(() => tmp.cleanup());
  const dir = join(tmp.dir, 'vault');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Plan.md'), text);
  ok(await d.run(['import', dir]));
}

const EGGS = 'Shopping\n\n- milk\n- eggs\n';
const BREAD = 'Shopping\n\n- milk\n- bread\n- butter\n- jam\n- tea\n- rice\n- beans\n';

/** Two devices that imported Plan.md in two versions before they first synced, now synced. */
async function conflicted(): Promise<[Device, Device]> {
  const hub = await closers.hub();
  const d = await device();
  const e = await device();
  await importPlan(d, EGGS);
  await importPlan(e, BREAD);
  await d.join(hub.url);
  await e.join(hub.url);
  ok(await d.run(['sync']));
  ok(await e.run(['sync']));
  ok(await d.run(['sync']));
  return [d, e];
}

/**
 * Takes both devices off the hub, runs `apart` (their changes made while neither syncs), then
 * joins them again and syncs until each has the other's changes.
 */
async function whileApart(
  hubUrl: string,
  d: Device,
  e: Device,
  apart: () => Promise<void>,
): Promise<void> {
  // Both offline: their daemons push at once, so the changes are made before either syncs.
  for (const dev of [d, e]) {
    await dev.daemon.stop();
    dev.daemon = await startDaemon(dev.home);
  }
  await apart();
  await d.join(hubUrl);
  await e.join(hubUrl);
  ok(await d.run(['sync']));
  ok(await e.run(['sync']));
  ok(await d.run(['sync']));
}

describe('a body conflict from the CLI', () => {
  it('is listed as text with the note named, and resolved from standard input', async () => {
    const [d, e] = await conflicted();

    const listed = ok(await d.run(['conflicts']));
    expect(listed.stdout).toContain('Plan (');
    expect(listed.stdout).toMatch(/\bbody\b/);
    // Each version as lines of text, not one JSON string with \n escapes.
    expect(listed.stdout).not.toContain('\\n');
    expect(listed.stdout).toMatch(/^ {4}4 lines {2}from /m);
    expect(listed.stdout).toMatch(/^ {6}- eggs$/m);
    expect(listed.stdout).toMatch(/^ {4}9 lines {2}from /m);
    expect(listed.stdout).toMatch(/^ {6}- butter$/m);
    expect(listed.stdout).not.toContain('- tea'); // beyond the preview
    expect(listed.stdout).toContain('… 3 more');
    expect(listed.stdout).toContain('VALUE - reads the text from standard input');
    const data = json(ok(await d.run(['conflicts', '--json']))) as {
      conflicts: { title: string; field: string; heads: unknown[] }[];
    };
    expect(data.conflicts).toEqual([
      expect.objectContaining({ title: 'Plan', field: 'body', heads: expect.any(Array) }),
    ]);
    expect(data.conflicts[0]!.heads).toHaveLength(2);

    const merged = 'Shopping\n\n- milk\n- eggs\n- bread\n';
    ok(await d.run(['conflicts', 'resolve', 'Plan', 'body', '-'], merged));
    expect(ok(await d.run(['get', 'Plan', '--body'])).stdout).toBe(merged);
    expect(ok(await d.run(['conflicts'])).stdout.trim()).toBe('No conflicts.');
    ok(await d.run(['sync']));
    ok(await e.run(['sync']));
    expect(ok(await e.run(['get', 'Plan', '--body'])).stdout).toBe(merged);
    expect(ok(await e.run(['conflicts'])).stdout.trim()).toBe('No conflicts.');
  });

  it('keeps a body typed on the command line as text, even when it reads as JSON', async () => {
    const [d] = await conflicted();
    ok(await d.run(['conflicts', 'resolve', 'Plan', 'body', '42']));
    expect(ok(await d.run(['get', 'Plan', '--body'])).stdout).toBe('42');
  });
});

describe('a task moved to two projects, from the CLI', () => {
  it('is listed with the projects named, counted by status, and resolved by a title', async () => {
    const hub = await closers.hub();
    const d = await device();
    const e = await device();
    await d.join(hub.url);
    await e.join(hub.url);
    ok(await d.run(['project', 'add', 'Home']));
    ok(await d.run(['project', 'add', 'Work']));
    const added = json(ok(await d.run(['add', 'Call bank', '--json']))) as {
      task: { id: string; short_id: string };
    };
    const task = added.task.id;
    ok(await d.run(['sync']));
    ok(await e.run(['sync']));
    await whileApart(hub.url, d, e, async () => {
      ok(await d.run(['edit', task, '--project', 'Home']));
      ok(await e.run(['edit', task, '--project', 'Work']));
    });

    for (const dev of [d, e]) {
      const listed = ok(await dev.run(['conflicts'])).stdout;
      // Each node named by the short id every list shows.
      const { projects } = json(ok(await dev.run(['project', 'list', '--json']))) as {
        projects: { title: string; short_id: string }[];
      };
      const short = (title: string) => projects.find((p) => p.title === title)?.short_id;
      const taskShort = added.task.short_id;
      expect(listed).toMatch(new RegExp(`^Call bank \\(${taskShort}\\) project$`, 'm'));
      expect(listed).toMatch(new RegExp(`^ {4}Home \\(${short('Home')}\\) {2}from .+ at `, 'm'));
      expect(listed).toMatch(new RegExp(`^ {4}Work \\(${short('Work')}\\) {2}from .+ at `, 'm'));
      expect(listed).toContain('for project and parent, VALUE is the project to keep');
      expect(ok(await dev.run(['sync', 'status'])).stdout).toMatch(/1 conflict to resolve/);
    }
    const shown = ok(await d.run(['show', task])).stdout.match(/^project:\s+(\S+)/m)?.[1];
    expect(shown).toBe(ok(await e.run(['show', task])).stdout.match(/^project:\s+(\S+)/m)?.[1]);
    expect(shown).toMatch(/^(Home|Work)$/);

    const keep = shown === 'Home' ? 'Work' : 'Home';
    ok(await d.run(['conflicts', 'resolve', 'Call bank', 'project', keep]));
    ok(await d.run(['sync']));
    ok(await e.run(['sync']));
    for (const dev of [d, e]) {
      expect(ok(await dev.run(['conflicts'])).stdout.trim()).toBe('No conflicts.');
      expect(ok(await dev.run(['show', task])).stdout).toMatch(
        new RegExp(`^project:\\s+${keep}$`, 'm'),
      );
    }
  });
});

describe('projects put under each other, and a title, on two devices, from the CLI', () => {
  it('lists the loop, shows both projects in the tree, and heph show names the fields', async () => {
    const hub = await closers.hub();
    const d = await device();
    const e = await device();
    await d.join(hub.url);
    await e.join(hub.url);
    ok(await d.run(['project', 'add', 'Xray']));
    ok(await d.run(['project', 'add', 'Yank']));
    const task = (json(ok(await d.run(['add', 'Call bank', '--json']))) as { task: { id: string } })
      .task.id;
    ok(await d.run(['sync']));
    ok(await e.run(['sync']));
    await whileApart(hub.url, d, e, async () => {
      ok(await d.run(['project', 'move', 'Xray', 'Yank']));
      ok(await e.run(['project', 'move', 'Yank', 'Xray']));
      ok(await d.run(['edit', task, '--title', 'Call the bank']));
      ok(await e.run(['edit', task, '--title', 'Phone the bank']));
    });

    for (const dev of [d, e]) {
      const listed = ok(await dev.run(['conflicts'])).stdout;
      expect(listed).toMatch(/^Xray \(\w+\) parent {2}loop: Xray under Yank under Xray$/m);
      expect(listed).toMatch(/^Yank \(\w+\) parent {2}loop: Yank under Xray under Yank$/m);
      expect(ok(await dev.run(['sync', 'status'])).stdout).toMatch(/3 conflicts to resolve/);
      // Both stay in the tree: one at the top, the other under it.
      const tree = ok(await dev.run(['project', 'list'])).stdout;
      const at = (title: string) => tree.split('\n').find((l) => l.includes(` ${title} `));
      const [x, y] = [at('Xray'), at('Yank')].map((l) => l?.search(/(Xray|Yank)/) ?? -1);
      expect(Math.abs(x! - y!), tree).toBe(2);

      const shown = ok(await dev.run(['show', 'Xray'])).stdout;
      expect(shown).toMatch(/^conflicts:\s+parent to resolve \(heph conflicts\)$/m);
      expect(ok(await dev.run(['show', task])).stdout).toMatch(
        /^conflicts:\s+title to resolve \(heph conflicts\)$/m,
      );
      const asJson = json(ok(await dev.run(['show', 'Yank', '--json']))) as { conflicts: string[] };
      expect(asJson.conflicts).toEqual(['parent']);
    }

    ok(await d.run(['conflicts', 'resolve', 'Xray', 'parent', 'null']));
    ok(await d.run(['sync']));
    ok(await e.run(['sync']));
    for (const dev of [d, e]) {
      expect(ok(await dev.run(['conflicts'])).stdout).not.toMatch(/\) parent/);
      const shown = ok(await dev.run(['show', 'Xray'])).stdout;
      expect(shown).not.toMatch(/^conflicts:/m);
      expect(shown).not.toMatch(/to resolve/);
    }
  });
});
