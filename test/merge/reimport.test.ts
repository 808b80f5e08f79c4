// Importing a changed file again applies the file's change as an edit, three-way from the text
// the previous import wrote, so what was edited in heph meanwhile stays: on one device, across
// devices through a real hub (the base is found in the op-log wherever the previous import ran),
// and through import.notes. Importing an unchanged file after an edit in heph writes nothing.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readVault } from '../../src/model/vault-import.js';
import { tempDir } from '../helpers/temp.js';
import { Closers, syncAll, type Device } from './helpers.js';

const closers = new Closers();
afterEach(() => closers.run());

const ID = 'vault:Recipe';
const V1 = '# Recipe\n\nflour\nwater\nsalt\n';
/** The file, changed outside heph: its last line. */
const V2 = '# Recipe\n\nflour\nwater\nsea salt\n';
/** The note, changed in heph: its first ingredient. */
const EDITED = '# Recipe\n\nrye flour\nwater\nsalt\n';
const BOTH = '# Recipe\n\nrye flour\nwater\nsea salt\n';

function vault(text: string): { dir: string; write(text: string): void } {
  const t = tempDir('heph-vault-');
  closers.add(() => t.cleanup());
  const write = (s: string) => writeFileSync(join(t.dir, 'Recipe.md'), s);
  write(text);
  return { dir: t.dir, write };
}

async function editInHeph(dev: Device, body: string): Promise<void> {
  const n = await dev.call('node.get', { id: ID });
  await dev.call('node.update', { id: ID, body, base_version: n.body_version });
}

async function open() {
  const hub = await closers.hub();
  return { hub, d: closers.device('D', hub.url), e: closers.device('E', hub.url) };
}

describe('importing a changed file again', () => {
  it('keeps the edit made in heph beside the file’s change', async () => {
    const { d } = await open();
    const v = vault(V1);
    expect(await d.call('import', { dir: v.dir })).toMatchObject({ created: 1 });
    await editInHeph(d, EDITED);
    v.write(V2);
    expect(await d.call('import', { dir: v.dir })).toMatchObject({
      created: 0,
      updated: 1,
      unchanged: 0,
    });
    expect((await d.call('node.get', { id: ID })).body).toBe(BOTH);
  });

  it('writes no op for an unchanged file after an edit in heph, and keeps the edit', async () => {
    const { d } = await open();
    const v = vault(V1);
    await d.call('import', { dir: v.dir });
    await editInHeph(d, EDITED);
    const ops = d.store.opCount();
    const digest = d.store.digest();
    expect(await d.call('import', { dir: v.dir })).toMatchObject({ updated: 0, unchanged: 1 });
    expect(d.store.opCount()).toBe(ops);
    expect(d.store.digest()).toBe(digest);
    expect((await d.call('node.get', { id: ID })).body).toBe(EDITED);
  });

  it('keeps the edit through every later import, changed file or not', async () => {
    const { d, e } = await open();
    const v = vault(V1);
    await d.call('import', { dir: v.dir });
    await editInHeph(d, EDITED);
    v.write(V2);
    await d.call('import', { dir: v.dir });
    expect((await d.call('node.get', { id: ID })).body).toBe(BOTH);
    // The same file again: the text that import wrote is the file's, not the merged one.
    const ops = d.store.opCount();
    expect(await d.call('import', { dir: v.dir })).toMatchObject({ updated: 0, unchanged: 1 });
    expect(d.store.opCount()).toBe(ops);
    expect((await d.call('node.get', { id: ID })).body).toBe(BOTH);
    // A third version: only its own change is applied.
    v.write('# Recipe\n\nflour\nwater\nsea salt\npepper\n');
    await d.call('import', { dir: v.dir });
    expect((await d.call('node.get', { id: ID })).body).toBe(BOTH + 'pepper\n');
    // Another device importing the same files in the same order changes nothing more.
    await syncAll([d, e]);
    const w = vault(V1);
    for (const text of [V1, V2, '# Recipe\n\nflour\nwater\nsea salt\npepper\n']) {
      w.write(text);
      await e.call('import', { dir: w.dir });
    }
    await syncAll([d, e]);
    for (const dev of [d, e]) {
      expect((await dev.call('node.get', { id: ID })).body).toBe(BOTH + 'pepper\n');
    }
  });

  it('finds the previous import on another device: edit on one, re-import on the other', async () => {
    const { hub, d, e } = await open();
    const v = vault(V1);
    // D imports; E edits the note in heph; E, which never imported it, imports the changed file.
    await d.call('import', { dir: v.dir });
    await syncAll([d, e]);
    await editInHeph(d, EDITED);
    await syncAll([d, e]);
    v.write(V2);
    expect(await e.call('import', { dir: v.dir })).toMatchObject({ updated: 1 });
    const statuses = await syncAll([d, e]);
    for (const st of statuses) expect(st).toMatchObject({ state: 'in_sync', conflicts: 0 });
    for (const dev of [d, e]) expect((await dev.call('node.get', { id: ID })).body).toBe(BOTH);
    expect((await hub.view()).getNode(ID).body).toBe(BOTH);
  });

  it('keeps an edit that synced in while the other device re-imported offline', async () => {
    const { d, e } = await open();
    const v = vault(V1);
    await d.call('import', { dir: v.dir });
    await syncAll([d, e]);
    // Offline at once: E edits in heph, D imports the changed file.
    await editInHeph(e, EDITED);
    v.write(V2);
    await d.call('import', { dir: v.dir });
    await syncAll([d, e]);
    for (const dev of [d, e]) expect((await dev.call('node.get', { id: ID })).body).toBe(BOTH);
  });
});

describe('import.notes (what client mode sends)', () => {
  it('merges from the previous import, or from the base_version given', async () => {
    const { d } = await open();
    const v = vault(V1);
    await d.call('import.notes', { notes: readVault(v.dir).notes });
    const imported = await d.call('node.get', { id: ID });
    await editInHeph(d, EDITED);
    v.write(V2);
    expect(await d.call('import.notes', { notes: readVault(v.dir).notes })).toMatchObject({
      updated: 1,
    });
    expect((await d.call('node.get', { id: ID })).body).toBe(BOTH);
    // A text made from a version named explicitly: only its change since then is applied.
    const [note] = readVault(v.dir).notes;
    const fromOld = { ...note, body: '# Recipe\n\nflour\nwater\nsalt\npepper\n' };
    await d.call('import.notes', { notes: [{ ...fromOld, base_version: imported.body_version }] });
    expect((await d.call('node.get', { id: ID })).body).toBe(`${BOTH}pepper\n`);
  });

  it('refuses a base_version naming changes this device lacks, storing nothing', async () => {
    const { d, e } = await open();
    const v = vault(V1);
    await d.call('import', { dir: v.dir });
    await syncAll([d, e]);
    const ahead = await e.call('node.update', { id: ID, body: EDITED });
    v.write(V2);
    writeFileSync(join(v.dir, 'Other.md'), 'another note\n');
    const notes = readVault(v.dir).notes.map((n) =>
      n.id === ID ? { ...n, base_version: ahead.body_version } : n,
    );
    const ops = d.store.opCount();
    const err = await d.fail('import.notes', { notes });
    expect(err.data).toMatchObject({ code: 'conflict' });
    expect(d.store.opCount()).toBe(ops);
    expect(d.store.findNode('vault:Other')).toBeUndefined();
  });
});
