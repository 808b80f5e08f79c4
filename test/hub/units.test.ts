import { describe, expect, it } from 'vitest';
import { CommitNotifier } from '../../src/hub/notifier.js';
import { PushQueue } from '../../src/hub/push-queue.js';

describe('PushQueue', () => {
  it('applies pushes submitted together as one group, in order, each with its own result', async () => {
    const groups: number[][] = [];
    const q = new PushQueue((g) => {
      groups.push(g.map((ops) => ops.length));
      return g.map((ops) => ({ applied: [], duplicates: ops.length, refused: [] }));
    });
    const rs = await Promise.all([q.submit([1]), q.submit([1, 2]), q.submit([1, 2, 3])]);
    expect(rs.map((r) => r.duplicates)).toEqual([1, 2, 3]);
    await q.submit([]);
    expect(groups).toEqual([[1, 2, 3], [0]]);
  });

  it('fails every push of a group whose transaction failed', async () => {
    const q = new PushQueue(() => {
      throw new Error('disk full');
    });
    const rs = await Promise.allSettled([q.submit([1]), q.submit([2])]);
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
