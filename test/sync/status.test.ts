import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { checkHubUrl } from '../../src/sync/hub-client.js';
import { SyncService } from '../../src/sync/sync-service.js';
import {
  stateOf,
  unsyncedStatus,
  verdictOf,
  type SyncFacts,
  type SyncStatus,
} from '../../src/sync/sync-status.js';
import * as net from 'node:net';
import type Database from 'better-sqlite3';
import { ROWS_PENDING_KEY } from '../../src/store/sqlite-store.js';
import { opIds, openSpoke, startProxy, startTestHub, type Spoke } from './helpers.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const none = { changes: 0, ops: 0 };
const base: SyncFacts = {
  mode: 'local',
  hub: 'https://hub.example/',
  replica_id: '0123456789abcdef',
  device_name: null,
  last_attempt: '2026-01-01T10:05:00.000Z',
  last_success: '2026-01-01T10:00:00.000Z',
  last_error: null,
  pending: none,
  unpulled: 0,
  refused: none,
  conflicts: 0,
  quarantined: [],
  pushes: 0,
};

describe('sync verdicts', () => {
  it('say what a person needs first, and never "in sync" while something is not on the hub', () => {
    const since = '2026-01-01T10:02:00.000Z';
    const offline = { kind: 'offline' as const, message: 'x', since };
    const cases: [SyncFacts, string, string][] = [
      [base, 'in sync', 'in_sync'],
      [{ ...base, last_success: null }, 'not synced yet', 'not_synced'],
      // One command of seven ops is one change.
      [{ ...base, pending: { changes: 1, ops: 7 } }, '1 change waiting to upload', 'pending'],
      [
        { ...base, pending: { changes: 1, ops: 2 }, unpulled: 2 },
        '1 change waiting to upload · 2 updates waiting to download',
        'pending',
      ],
      [{ ...base, last_error: offline }, 'hub unreachable since 10:02', 'offline'],
      [{ ...base, conflicts: 2 }, 'in sync · 2 conflicts to resolve (heph conflicts)', 'in_sync'],
      [
        { ...base, refused: { changes: 3, ops: 5 } },
        'in sync · 3 changes refused (heph sync status --details)',
        'refused',
      ],
      [
        { ...base, pending: { changes: 2, ops: 4 }, refused: { changes: 1, ops: 1 }, conflicts: 1 },
        '2 changes waiting to upload · 1 change refused (heph sync status --details) · ' +
          '1 conflict to resolve (heph conflicts)',
        'refused',
      ],
      [
        {
          ...base,
          pending: { changes: 1, ops: 3 },
          last_error: { kind: 'clock-drift', message: 'clock 601 s ahead', since },
        },
        'not uploading: clock 601 s ahead · 1 change waiting to upload',
        'clock_drift',
      ],
      [
        { ...base, last_error: { kind: 'auth', message: 'token expired', since } },
        'not syncing: sign-in needed (token expired)',
        'sign_in',
      ],
      [
        { ...base, mode: 'client' },
        'online only: every call goes to https://hub.example/',
        'online_only',
      ],
      [{ ...base, hub: null }, 'not syncing: no hub configured', 'no_hub'],
    ];
    for (const [facts, verdict, state] of cases) {
      expect(verdictOf(facts, 'UTC')).toBe(verdict);
      expect(stateOf(facts)).toBe(state);
    }
    expect(
      verdictOf({ ...base, pending: { changes: 2, ops: 9 }, last_error: offline }, 'Europe/Berlin'),
    ).toBe('hub unreachable since 11:02 · 2 changes waiting to upload');
    expect(unsyncedStatus('local')).toMatchObject({
      state: 'no_hub',
      verdict: 'not syncing: no hub configured',
    });
  });

  it('plain http is only for loopback unless allowed', () => {
    expect(checkHubUrl('http://127.0.0.1:8787').host).toBe('127.0.0.1:8787');
    expect(checkHubUrl('http://localhost:1').hostname).toBe('localhost');
    expect(checkHubUrl('http://[::1]:1').hostname).toBe('[::1]');
    expect(checkHubUrl('https://hub.example').protocol).toBe('https:');
    expect(() => checkHubUrl('http://hub.example')).toThrow(/--insecure-http/);
    expect(checkHubUrl('http://hub.example', true).protocol).toBe('http:');
    expect(() => checkHubUrl('ftp://hub.example')).toThrow(/https/);
  });
});

describe('SyncService', () => {
  function service(s: Spoke, hubUrl: string, states: SyncStatus[]): SyncService {
    const svc = new SyncService(
      { hubUrl, timeZone: 'UTC', longPollS: 0 },
      {
        store: s.store,
        clock: s.clock,
        random: seededRandom(3),
        logger: silentLogger,
        onState: (st) => states.push(st),
      },
    );
    closers.push(() => svc.stop());
    return svc;
  }

  it('writes the node rows a pulled page left pending once the loop is idle (long-poll and run)', async () => {
    const hub = await startTestHub();
    closers.push(() => hub.close());
    const a = openSpoke('a', hub.url);
    const b = openSpoke('b', hub.url);
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    const pending = (): unknown =>
      (a.store as unknown as { db: Database.Database }).db
        .prepare('SELECT value FROM meta WHERE key = ?')
        .pluck()
        .get(ROWS_PENDING_KEY);
    // a's tasks by title: each of b's once, nothing doubled or dropped.
    const titles = (): string[] =>
      a.store
        .listNodes({ scope: 'all', limit: 100 })
        .filter((n) => n.kind === 'task')
        .map((n) => n.title)
        .sort();
    const bSvc = service(b, hub.url, []);
    bSvc.loop.start();
    b.store.createNode({ kind: 'task', title: 'first' });
    await bSvc.now();
    const svc = new SyncService(
      { hubUrl: hub.url, timeZone: 'UTC', longPollS: 20 },
      { store: a.store, clock: a.clock, random: seededRandom(4), logger: silentLogger },
    );
    closers.push(() => svc.stop());
    svc.loop.start();
    // A run pulls the first page.
    await svc.now();
    expect(a.store.opCount()).toBe(b.store.opCount());
    expect(opIds(a.store)).toEqual(opIds(b.store));
    expect(titles()).toEqual(['first']);
    expect(pending()).toBeUndefined();
    // The long-poll then takes b's next change: its rows are written when the poll's page is
    // the last (the rest of the poll runs in the same turn as the page's commit).
    const applied = new Promise<void>((resolve) => {
      const off = a.store.onChange(() => {
        off();
        resolve();
      });
    });
    b.store.createNode({ kind: 'task', title: 'second' });
    await bSvc.now();
    await applied;
    expect(a.store.opCount()).toBe(b.store.opCount());
    expect(opIds(a.store)).toEqual(opIds(b.store));
    expect(titles()).toEqual(['first', 'second']);
    expect(pending()).toBeUndefined();
  });

  it('reports pending changes, then in sync, and emits each state change once', async () => {
    const hub = await startTestHub();
    closers.push(() => hub.close());
    const a = openSpoke('a', hub.url);
    closers.push(() => a.close());
    const states: SyncStatus[] = [];
    const svc = service(a, hub.url, states);
    a.store.createNode({ kind: 'doc', title: 'x' });
    expect(svc.status()).toMatchObject({
      pending: { changes: 1, ops: 2 },
      state: 'not_synced',
      verdict: 'not synced yet · 1 change waiting to upload',
    });
    svc.loop.start();
    const r = await svc.now();
    expect(r).toMatchObject({ pushed: 2 });
    const st = svc.status();
    expect(st).toMatchObject({
      pending: { changes: 0, ops: 0 },
      last_error: null,
      state: 'in_sync',
      verdict: 'in sync',
      hub: `${hub.url}/`,
    });
    expect(st.last_success).not.toBeNull();
    expect(states.at(-1)?.verdict).toBe('in sync');
    const verdicts = states.map((s) => s.verdict);
    expect(new Set(verdicts.map((v, i) => `${i}:${v}`)).size).toBe(verdicts.length);
  });

  it('an unreachable hub is a state: offline since the first failure', async () => {
    const hub = await startTestHub();
    const url = hub.url;
    await hub.close();
    const a = openSpoke('a', url);
    closers.push(() => a.close());
    const states: SyncStatus[] = [];
    const svc = service(a, url, states);
    a.store.createNode({ kind: 'doc', title: 'offline edit' });
    svc.loop.start();
    await expect(svc.now()).rejects.toMatchObject({ code: 'unavailable' });
    const st = svc.status();
    expect(st.last_error?.kind).toBe('offline');
    expect(st.verdict).toMatch(/^hub unreachable since \d\d:\d\d · 1 change waiting to upload$/);
    expect(st.state).toBe('offline');
    const since = st.last_error?.since;
    await expect(svc.now()).rejects.toMatchObject({ code: 'unavailable' });
    expect(svc.status().last_error?.since).toBe(since);
  });

  it('says "hub unreachable" only while it is: the first reply clears it', async () => {
    const hub = await startTestHub();
    closers.push(() => hub.close());
    // A port nothing listens on yet; the hub's front door opens there later.
    const port = await new Promise<number>((done) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => done(p));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const a = openSpoke('a', url);
    closers.push(() => a.close());
    const states: SyncStatus[] = [];
    const svc = new SyncService(
      // Retries an hour apart: only the requests this test makes reach the hub.
      { hubUrl: url, timeZone: 'UTC', longPollS: 0, loop: { retryMs: 3_600_000 } },
      {
        store: a.store,
        clock: a.clock,
        random: seededRandom(3),
        logger: silentLogger,
        onState: (st) => states.push(st),
      },
    );
    closers.push(() => svc.stop());
    svc.loop.start();
    await expect(svc.now()).rejects.toMatchObject({ code: 'unavailable' });
    expect(svc.status().state).toBe('offline');
    const proxy = await startProxy(hub.url, port);
    closers.push(() => proxy.close());
    // Still unreachable as far as anyone knows: nothing has asked it since.
    expect(svc.status().state).toBe('offline');
    // Any request the hub answers clears it at once, before any sync run completes.
    await svc.client.config();
    expect(svc.status()).toMatchObject({ last_error: null, state: 'not_synced' });
    expect(states.at(-1)).toMatchObject({ last_error: null });
  });
});
