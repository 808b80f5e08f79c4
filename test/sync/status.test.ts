import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { checkHubUrl } from '../../src/sync/hub-client.js';
import {
  SyncService,
  unsyncedStatus,
  verdictOf,
  type SyncStatus,
} from '../../src/sync/sync-service.js';
import { openSpoke, startTestHub, type Spoke } from './helpers.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const base: Omit<SyncStatus, 'verdict'> = {
  mode: 'local',
  hub: 'https://hub.example/',
  replica_id: '0123456789abcdef',
  last_attempt: '2026-01-01T10:05:00.000Z',
  last_success: '2026-01-01T10:00:00.000Z',
  last_error: null,
  pending: 0,
  unpulled: 0,
  conflicts: 0,
  quarantined: [],
};

describe('sync verdicts', () => {
  it('say what a person needs first', () => {
    expect(unsyncedStatus('local').verdict).toBe('not syncing: no hub configured');
    expect(verdictOf(base)).toBe('in sync');
    expect(verdictOf({ ...base, last_success: null })).toBe('not synced yet');
    expect(verdictOf({ ...base, pending: 3 })).toBe('3 changes waiting to upload');
    expect(verdictOf({ ...base, pending: 1, unpulled: 2 })).toBe(
      '1 change waiting to upload; 2 changes waiting to download',
    );
    const since = '2026-01-01T10:02:00.000Z';
    expect(
      verdictOf({ ...base, last_error: { kind: 'offline', message: 'x', since } }, 'UTC'),
    ).toBe('hub unreachable since 10:02');
    expect(
      verdictOf(
        { ...base, pending: 2, last_error: { kind: 'offline', message: 'x', since } },
        'Europe/Berlin',
      ),
    ).toBe('hub unreachable since 11:02; 2 changes waiting to upload');
    expect(
      verdictOf({
        ...base,
        quarantined: [{ id: 'x', code: 'op_id_reused', message: 'm' }],
      }),
    ).toBe('1 change refused by the hub');
    expect(
      verdictOf({ ...base, last_error: { kind: 'auth', message: 'token expired', since } }),
    ).toContain('not syncing: sign-in needed (token expired)');
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

  it('reports pending changes, then in sync, and emits each state change once', async () => {
    const hub = await startTestHub();
    closers.push(() => hub.close());
    const a = openSpoke('a', hub.url);
    closers.push(() => a.close());
    const states: SyncStatus[] = [];
    const svc = service(a, hub.url, states);
    a.store.createNode({ kind: 'doc', title: 'x' });
    expect(svc.status()).toMatchObject({ pending: 2, verdict: '2 changes waiting to upload' });
    svc.loop.start();
    const r = await svc.now();
    expect(r).toMatchObject({ pushed: 2 });
    const st = svc.status();
    expect(st).toMatchObject({
      pending: 0,
      last_error: null,
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
    expect(st.verdict).toMatch(/^hub unreachable since \d\d:\d\d; 2 changes waiting to upload$/);
    const since = st.last_error?.since;
    await expect(svc.now()).rejects.toMatchObject({ code: 'unavailable' });
    expect(svc.status().last_error?.since).toBe(since);
  });
});
