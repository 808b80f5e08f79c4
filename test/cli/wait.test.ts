// `--wait` on a change: the command returns once the hub has it, or says why not (the change is
// kept here either way, and shown).

import { afterEach, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../sync/helpers.js';
import {
  assertBuilt,
  baseEnv,
  heph,
  json,
  startDaemon,
  tempHome,
  type Daemon,
  type Home,
} from './helpers.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function device(
  hubUrl?: string,
): Promise<{ run: (args: string[]) => ReturnType<typeof heph>; daemon: Daemon }> {
  assertBuilt();
  const home: Home = tempHome();
  const daemon = await startDaemon(home.dir, hubUrl === undefined ? [] : ['--hub-url', hubUrl]);
  cleanups.push(
    () => home.cleanup(),
    () => daemon.stop(),
  );
  const env = baseEnv({ ...home.env, HEPH_SOCKET: daemon.socket });
  return { run: (args) => heph(args, { env }), daemon };
}

describe('heph --wait', () => {
  it('returns once the hub has the change', async () => {
    const hub: TestHub = await startTestHub();
    cleanups.push(() => hub.close());
    const { run } = await device(hub.url);
    for (let i = 0; i < 3; i++) {
      const r = await run(['add', `Call the plumber ${i}`, '--wait', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const { task } = json(r) as { task: { id: string } };
      // No polling: when the command has returned, the hub has it.
      expect((await hub.view()).findNode(task.id)?.title).toBe(`Call the plumber ${i}`);
    }
  });

  it('without a hub, or with the hub down, shows the change and says it is not on the hub', async () => {
    const alone = await device();
    const r = await alone.run(['add', 'Offline thought', '--wait', '--json']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^heph: saved here, but --wait needs a hub/);
    expect((json(r) as { task: { title: string } }).task.title).toBe('Offline thought');

    const hub = await startTestHub();
    const url = hub.url;
    await hub.close();
    const cut = await device(url);
    const d = await cut.run(['doc', 'Written while the hub is down', '--wait']);
    expect(d.code).toBe(5);
    expect(d.stderr).toMatch(/^heph: saved here, but not on the hub yet: /);
    expect(d.stdout).toMatch(/Written while the hub is down/);
    // It is kept here.
    const list = json(await cut.run(['search', 'hub is down', '--json'])) as { results: unknown[] };
    expect(list.results).toHaveLength(1);
  });
});
