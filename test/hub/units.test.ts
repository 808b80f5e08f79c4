import { describe, expect, it } from 'vitest';
import { CommitNotifier } from '../../src/hub/notifier.js';
import { PushQueue } from '../../src/hub/push-queue.js';
import type { AppendRequest } from '../../src/ports/hub-store.js';

const push = (n: number, owner = 1): AppendRequest => ({ owner, ops: Array.from({ length: n }) });

describe('PushQueue', () => {
  it('appends pushes submitted together as one group, in order, each with its own result', async () => {
    const groups: number[][] = [];
    const q = new PushQueue({
      append: (g) => {
        groups.push(g.map((p) => p.ops.length));
        return Promise.resolve(
          g.map((p) => ({ accepted: [], duplicates: p.ops.length, refused: [] })),
        );
      },
    });
    const rs = await Promise.all([q.submit(push(1)), q.submit(push(2, 7)), q.submit(push(3))]);
    expect(rs.map((r) => r.duplicates)).toEqual([1, 2, 3]);
    await q.submit(push(0));
    expect(groups).toEqual([[1, 2, 3], [0]]);
  });

  it('groups what arrives while an append is in flight into the next one', async () => {
    const groups: number[][] = [];
    const release: (() => void)[] = [];
    const q = new PushQueue({
      append: (g) => {
        groups.push(g.map((p) => p.ops.length));
        return new Promise((resolve) =>
          release.push(() => resolve(g.map(() => ({ accepted: [], duplicates: 0, refused: [] })))),
        );
      },
    });
    const first = q.submit(push(1));
    while (release.length === 0) await new Promise((r) => setImmediate(r));
    const later = [q.submit(push(2)), q.submit(push(3))];
    await new Promise((r) => setImmediate(r));
    expect(groups).toEqual([[1]]);
    release.shift()!();
    await first;
    while (release.length === 0) await new Promise((r) => setImmediate(r));
    release.shift()!();
    await Promise.all(later);
    expect(groups).toEqual([[1], [2, 3]]);
  });

  it('fails every push of a group whose append failed', async () => {
    const q = new PushQueue({ append: () => Promise.reject(new Error('disk full')) });
    const rs = await Promise.allSettled([q.submit(push(1)), q.submit(push(2))]);
    expect(rs.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('CommitNotifier', () => {
  it('wakes all waiters at once, times out, aborts, and ends every wait on close', async () => {
    const n = new CommitNotifier();
    const never = new AbortController().signal;
    const a = n.wait(10_000, never);
    const b = n.wait(10_000, never);
    expect(n.waiting).toBe(2);
    n.notify();
    expect(await Promise.all([a, b])).toEqual(['notified', 'notified']);
    expect(await n.wait(10, never)).toBe('timeout');
    const gone = new AbortController();
    const c = n.wait(10_000, gone.signal);
    gone.abort();
    expect(await c).toBe('aborted');
    expect(n.waiting).toBe(0);
    const d = n.wait(10_000, never);
    n.close();
    expect(await d).toBe('closed');
    expect(await n.wait(10_000, never)).toBe('closed');
  });
});
