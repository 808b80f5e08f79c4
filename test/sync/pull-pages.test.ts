// The pull side of syncOnce: the next page is asked for while the current one is applied, pages
// are still applied in order each with its cursor, and a page that fails leaves the cursor after
// the last page applied (nothing skipped, nothing in flight left behind).

import * as channels from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { BULK_WAL_PAGES, syncOnce } from '../../src/sync/sync-once.js';
import { pullCursor } from '../../src/sync/sync-state.js';
import type { SyncTransport } from '../../src/sync/hub-client.js';
import { openSpoke, opIds, startTestHub, type Spoke, type TestHub } from './helpers.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function setup(): Promise<{ h: TestHub; a: Spoke; b: Spoke }> {
  const h = await startTestHub();
  closers.push(() => h.close());
  const a = openSpoke('a', h.url);
  closers.push(() => a.close());
  const b = openSpoke('b', h.url);
  closers.push(() => b.close());
  for (let i = 0; i < 20; i++) a.store.createNode({ kind: 'task', title: `t${i}` });
  await syncOnce(a.store, a.client);
  return { h, a, b };
}

/** Wraps a transport: records each pull as it is asked for, and can fail the nth pull. */
function recording(inner: SyncTransport, events: string[], failAt?: number): SyncTransport {
  let n = 0;
  return {
    push: (ops, signal) => inner.push(ops, signal),
    clockOffsetMs: () => inner.clockOffsetMs(),
    async pull(after, limit, wait, signal) {
      const k = ++n;
      events.push(`pull ${k} after ${after ?? '-'}`);
      if (k === failAt) throw new HephError('unavailable', 'hub went away', { offline: true });
      return inner.pull(after, limit, wait, signal);
    },
  };
}

describe('pulling pages', () => {
  it('asks for the next page before applying the current one, and applies them in order', async () => {
    const { h, a, b } = await setup();
    const events: string[] = [];
    const off = b.store.onChange(() => events.push(`commit at ${pullCursor(b.store) ?? '-'}`));
    const r = await syncOnce(b.store, recording(b.client, events), { pullLimit: 25 });
    off();
    expect(r.applied).toBe(a.store.opCount());
    const pages = Math.ceil(a.store.opCount() / 25);
    // pull 1; then for each page but the last: the next pull, then this page's commit.
    expect(events[0]).toBe('pull 1 after -');
    for (let k = 1; k < pages; k++) {
      const pull = events.indexOf(`pull ${k + 1} after ${25 * k}`);
      const commit = events.indexOf(`commit at ${25 * k}`);
      expect(pull).toBeGreaterThan(0);
      expect(commit).toBeGreaterThan(pull);
    }
    expect(events.filter((e) => e.startsWith('pull')).length).toBe(pages);
    expect(b.store.digest()).toBe((await h.view()).digest());
  });

  it("writes the next page's request before it starts applying the current page", async () => {
    // The request must be on the wire while the page is applied, so that the hub prepares the
    // next page meanwhile: made later, it would go out only between the parts of the apply.
    const { a, b } = await setup();
    const events: string[] = [];
    const onSent = (m: unknown): void => {
      const path = (m as { request: { path: string } }).request.path;
      const after = /after=(\d+)/.exec(path);
      if (path.startsWith('/sync/pull')) events.push(`sent after ${after?.[1] ?? '-'}`);
    };
    const applyOps = b.store.applyOps.bind(b.store);
    b.store.applyOps = (ops, o) => {
      events.push(`apply at ${pullCursor(b.store) ?? '0'}`);
      return applyOps(ops, o);
    };
    channels.subscribe('undici:client:sendHeaders', onSent);
    try {
      const r = await syncOnce(b.store, b.client, { pullLimit: 25 });
      expect(r.applied).toBe(a.store.opCount());
    } finally {
      channels.unsubscribe('undici:client:sendHeaders', onSent);
    }
    const pages = Math.ceil(a.store.opCount() / 25);
    expect(pages).toBeGreaterThan(2);
    expect(events.filter((e) => e.startsWith('apply')).length).toBe(pages);
    for (let k = 1; k < pages; k++) {
      // Page k is applied from cursor 25(k-1); page k+1 is asked for after 25k.
      const sent = events.indexOf(`sent after ${25 * k}`);
      const apply = events.indexOf(`apply at ${25 * (k - 1)}`);
      expect(sent, events.join('\n')).toBeGreaterThan(0);
      expect(apply, events.join('\n')).toBeGreaterThan(sent);
    }
  });

  it('lets the WAL grow while a sync pulls more than one page, and puts its bound back after', async () => {
    const { a, b } = await setup();
    const own = b.store.walBoundPages();
    expect(own).toBeLessThan(BULK_WAL_PAGES);
    const seen: number[] = [];
    const applyOps = b.store.applyOps.bind(b.store);
    b.store.applyOps = (ops, o) => {
      seen.push(b.store.walBoundPages());
      return applyOps(ops, o);
    };
    await syncOnce(b.store, b.client, { pullLimit: 25 });
    expect(seen.length).toBeGreaterThan(2);
    expect(new Set(seen)).toEqual(new Set([BULK_WAL_PAGES]));
    expect(b.store.walBoundPages()).toBe(own);
    // One page: the bound stays.
    seen.length = 0;
    a.store.createNode({ kind: 'task', title: 'one more' });
    await syncOnce(a.store, a.client);
    await syncOnce(b.store, b.client, { pullLimit: 25 });
    expect(seen).toEqual([own]);
    // A sync that fails half-way puts it back too.
    const events: string[] = [];
    const d = openSpoke('d', a.client.url.href);
    closers.push(() => d.close());
    await expect(
      syncOnce(d.store, recording(d.client, events, 3), { pullLimit: 25 }),
    ).rejects.toThrow('hub went away');
    expect(d.store.walBoundPages()).toBe(own);
  });

  it('a page that fails leaves the cursor after the last page applied; the next run finishes', async () => {
    const { h, a, b } = await setup();
    const events: string[] = [];
    await expect(
      syncOnce(b.store, recording(b.client, events, 3), { pullLimit: 25 }),
    ).rejects.toThrow('hub went away');
    expect(pullCursor(b.store)).toBe('50');
    expect(b.store.opCount()).toBe(50);
    const r = await syncOnce(b.store, b.client, { pullLimit: 25 });
    expect(r.applied).toBe(a.store.opCount() - 50);
    expect(opIds(b.store)).toEqual(opIds(await h.view()));
    expect(b.store.digest()).toBe((await h.view()).digest());
  });

  it('a cancelled run aborts the page request it has in flight', async () => {
    const { b } = await setup();
    const ac = new AbortController();
    const signals: AbortSignal[] = [];
    const transport: SyncTransport = {
      push: (ops, signal) => b.client.push(ops, signal),
      clockOffsetMs: () => b.client.clockOffsetMs(),
      async pull(after, limit, wait, signal) {
        if (signal) signals.push(signal);
        const page = await b.client.pull(after, limit, wait, signal);
        if (signals.length === 1) ac.abort();
        return page;
      },
    };
    await expect(
      syncOnce(b.store, transport, { pullLimit: 25, signal: ac.signal }),
    ).rejects.toThrow('cancelled');
    expect(signals.length).toBeGreaterThan(0);
    for (const s of signals) expect(s.aborted).toBe(true);
  });
});
