// Two machines' worth of daemons on one box, started the way the README shows: a hub
// (`hephd --mode server --http-addr 127.0.0.1:PORT`) and two devices (`hephd --mode local
// --hub-url http://127.0.0.1:PORT`), all real processes. They stay in sync through edits on both
// sides, the hub going away and coming back, a device restarted, and a device killed with
// SIGKILL in the middle of writing.

import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until, useDaemons, type DaemonProcess } from './helpers.js';

const h = useDaemons();

/** A port that was free a moment ago (the hub must come back on the same one). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface Status {
  digest: string;
  ops: number;
}

interface SyncStatus {
  verdict: string;
  pending: { changes: number; ops: number };
}

describe('a hub and two devices as the README starts them', () => {
  it('converge through offline edits, a hub restart, a device restart and a kill -9', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const hubDir = h.dir();
    // The hub's socket answers before its HTTP port listens: wait for both, as a user would.
    const startHub = async (): Promise<DaemonProcess> => {
      const p = await h.start({
        db: join(hubDir, 'hub.db'),
        socket: join(hubDir, 'h.sock'),
        args: ['--mode', 'server', '--http-addr', `127.0.0.1:${port}`],
      });
      for (let i = 0; ; i++) {
        const up = await fetch(`${url}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
        if (up) return p;
        if (i > 400) throw new Error(`the hub at ${url} does not answer /healthz`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const device = (name: string) => {
      const dir = h.dir();
      return (): Promise<DaemonProcess> =>
        h.start({
          db: join(dir, `${name}.db`),
          socket: join(dir, `${name}.sock`),
          args: ['--mode', 'local', '--hub-url', url],
        });
    };
    const startA = device('a');
    const startB = device('b');

    let hub = await startHub();
    let a = await startA();
    let b = await startB();
    let ca = await h.client(a.socket);
    let cb = await h.client(b.socket);

    const converged = async (label: string): Promise<Status> => {
      const hubClient = await h.client(hub.socket);
      let last: Status[] = [];
      const deadline = Date.now() + 20_000;
      for (;;) {
        await Promise.all([ca.call('sync.now'), cb.call('sync.now')]);
        last = (await Promise.all([
          hubClient.call('status', { digest: true }),
          ca.call('status', { digest: true }),
          cb.call('status', { digest: true }),
        ])) as Status[];
        if (last.every((s) => s.digest === last[0]?.digest && s.ops === last[0]?.ops)) break;
        if (Date.now() > deadline) {
          throw new Error(`${label}: no common digest: ${JSON.stringify(last)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const c of [ca, cb]) {
        const st = (await c.call('sync.status')) as SyncStatus;
        expect([label, st.pending, st.verdict]).toEqual([label, { changes: 0, ops: 0 }, 'in sync']);
      }
      return last[0] as Status;
    };

    // Edits on both devices while everything runs.
    const { task } = (await ca.call('add', { text: 'Renew passport !red' })) as {
      task: { id: string };
    };
    const note = (await cb.call('node.create', { kind: 'doc', title: 'Trip', body: 'plan\n' })) as {
      id: string;
    };
    await converged('online');
    expect(await cb.call('node.get', { id: task.id })).toMatchObject({ title: 'Renew passport' });

    // The hub goes away; both devices keep working and say what is going on.
    await hub.stop();
    await ca.call('node.update', { id: note.id, title: 'Trip to Lisbon' });
    await cb.call('node.update', { id: note.id, body: 'plan\n- book flights\n' });
    await cb.call('task.done', { id: task.id });
    await expect(ca.call('sync.now')).rejects.toMatchObject({ code: 'unavailable' });
    const offline = (await ca.call('sync.status')) as SyncStatus;
    expect(offline.verdict).toMatch(/hub unreachable since/);
    expect(offline.pending.changes).toBe(1);

    // It comes back on the same address: the devices find it on their own (no sync.now), and
    // an edit made then shows on the other device without anyone asking.
    hub = await startHub();
    await ca.call('node.update', { id: note.id, aliases: ['Lisbon'] });
    for (let seen = false, t0 = Date.now(); !seen;) {
      const n = (await cb.call('node.get', { id: note.id })) as { aliases: string[] };
      seen = n.aliases.includes('Lisbon');
      if (!seen && Date.now() - t0 > 20_000) {
        throw new Error('the edit made after the hub came back did not reach the other device');
      }
      if (!seen) await new Promise((r) => setTimeout(r, 20));
    }
    const afterHub = await converged('after the hub restart');
    const merged = (await ca.call('node.get', { id: note.id })) as { title: string; body: string };
    expect(merged).toMatchObject({ title: 'Trip to Lisbon', body: 'plan\n- book flights\n' });
    expect(await ca.call('node.get', { id: task.id })).toMatchObject({ state: 'done' });

    // A device restarted cleanly picks up where it was.
    await a.stop();
    await cb.call('node.create', { kind: 'doc', title: 'written while A was down' });
    a = await startA();
    ca = await h.client(a.socket);
    await converged('after restarting A');

    // A device killed with SIGKILL while writing: every write it acknowledged survives, and what
    // it had not pushed yet is pushed after the restart, once.
    const acked: string[] = [];
    const writes = Array.from({ length: 40 }, (_, i) =>
      cb
        .call('node.create', { kind: 'doc', title: `burst ${i}` })
        .then((n) => acked.push((n as { id: string }).id))
        .catch(() => undefined),
    );
    await until(() => acked.length >= 10, 'some writes acknowledged');
    b.child.kill('SIGKILL');
    await b.exited;
    await Promise.all(writes);
    b = await startB();
    cb = await h.client(b.socket);
    const final = await converged('after the kill -9');
    expect(final.ops).toBeGreaterThan(afterHub.ops);
    for (const id of acked) {
      expect(await ca.call('node.get', { id })).toMatchObject({ id });
    }
  });
});
