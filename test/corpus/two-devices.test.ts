// The published Obsidian help vault imported whole on two devices before they first sync, then
// synced through a real hub: every note is there once, byte for byte its file, on both devices
// and on the hub; no conflict; both devices say they are in sync. (The earlier version held
// every body twice here: Home.md 2,055 bytes became 4,110, with no conflict and "in sync".)

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importVault, vaultNoteId } from '../../src/model/vault-import.js';
import { Closers, syncAll } from '../merge/helpers.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const VAULT = resolve(repoRoot, '../shared/corpus/obsidian-help-en');

function files(dir: string, rel = '', out: [string, Buffer][] = []): [string, Buffer][] {
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) files(dir, r, out);
    else if (e.name.endsWith('.md')) out.push([r, readFileSync(join(dir, r))]);
  }
  return out;
}

const closers = new Closers();
afterAll(() => closers.run());

describe('the Obsidian help vault imported on two devices, then synced', () => {
  it('holds every note once, byte for byte, on both devices and the hub, in sync', async () => {
    // A missing corpus fails (with its path), rather than skipping.
    expect(existsSync(VAULT), `the test corpus is missing: expected it at ${VAULT}`).toBe(true);
    const notes = files(VAULT);
    expect(notes.length).toBeGreaterThan(100);
    const hub = await closers.hub();
    const d = closers.device('D', hub.url);
    const e = closers.device('E', hub.url);
    for (const dev of [d, e]) {
      expect(importVault(dev.store, VAULT)).toMatchObject({ created: notes.length, errors: [] });
    }
    const statuses = await syncAll([d, e]);
    for (const st of statuses) {
      expect(st).toMatchObject({ state: 'in_sync', verdict: 'in sync', conflicts: 0 });
    }
    let bytes = 0;
    for (const [where, store] of [
      ['D', d.store],
      ['E', e.store],
      ['hub', await hub.view()],
    ] as const) {
      for (const [rel, file] of notes) {
        const body = Buffer.from(store.getNode(vaultNoteId(rel)).body, 'utf8');
        if (!body.equals(file)) {
          throw new Error(`${where}: ${rel} holds ${body.length} bytes, the file ${file.length}`);
        }
        bytes += file.length;
      }
      expect(store.conflicts(), where).toEqual([]);
    }
    expect(bytes).toBeGreaterThan(3 * 500_000);
    expect(Buffer.byteLength(d.store.getNode('vault:Home').body)).toBe(
      readFileSync(join(VAULT, 'Home.md')).length,
    );
    expect(e.store.digest()).toBe(d.store.digest());
    expect((await hub.view()).digest()).toBe(d.store.digest());
    // Nothing is left to repair, and importing again on either device changes nothing.
    for (const dev of [d, e]) {
      expect(await dev.call('repair.check')).toEqual({ doubled: [], fixed: 0 });
      const ops = dev.store.opCount();
      expect(importVault(dev.store, VAULT)).toMatchObject({ created: 0, updated: 0 });
      expect(dev.store.opCount()).toBe(ops);
    }
  });
});
