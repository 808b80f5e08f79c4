/* eslint-disable @typescript-eslint/no-explicit-any -- JSON-RPC replies are read loosely here */
// One vault imported on two devices before they first sync, through a real hub: every note's
// text once (byte for byte the file), no conflict, both devices in sync. Two versions of one file
// imported on two devices: a body conflict holding both texts on every replica, the text shown
// chosen by the documented rule, edits going to it while the other text stays, a resolution that
// converges everywhere, and an edit the resolver had not seen opening the conflict again.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { importVault, vaultNoteId } from '../../src/model/vault-import.js';
import { tempDir } from '../helpers/temp.js';
import type { TestHub } from '../sync/helpers.js';
import { Closers, count, expectedShown, syncAll, type Device } from './helpers.js';

const closers = new Closers();
afterEach(() => closers.run());

function folder(files: Record<string, string | Buffer>): string {
  const t = tempDir('heph-vault-');
  closers.add(() => t.cleanup());
  for (const [rel, text] of Object.entries(files)) {
    const p = join(t.dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return t.dir;
}

/** A small vault with what trips byte-exactness: front matter, nesting, unicode, CRLF, a BOM. */
const VAULT: Record<string, string | Buffer> = {
  'Home.md': '# Home\n\nStart at [[Projects/Garden]] or [[Über uns]].\n',
  'Über uns.md': '---\naliases:\n  - About\ntags: [team]\n---\nWir sind ein kleines Team. ✓\n',
  'Projects/Garden.md': '---\ntitle: The garden\n---\n- [ ] tomatoes\n- [x] beans\n',
  'Projects/Deep/Nested/日本語 ノート.md': 'テキスト 🌱\n\n```\n[[not a link]]\n```\n',
  'Windows note.md': 'line one\r\nline two\r\n',
  'With BOM.md': Buffer.from('\uFEFF# BOM kept\n', 'utf8'),
  'No newline.md': 'last line has no newline',
  // A name in decomposed form, as a Mac writes it: its id is the composed one.
  'Cafe\u0301 notes.md': 'Caf\u00e9 au lait\n',
  'Same text/a.md': '# Same\n',
  'Same text/b.md': '# Same\n',
  'Empty.md': '',
  'picture.png': Buffer.from([0x89, 0x50, 0x4e, 0x47]),
};

function notesOf(files: Record<string, string | Buffer>): [string, Buffer][] {
  return Object.entries(files)
    .filter(([rel]) => rel.endsWith('.md'))
    .map(([rel, text]) => [vaultNoteId(rel), Buffer.from(text)]);
}

function expectExactBodies(
  where: string,
  store: { getNode(id: string): { body: string } },
  notes: [string, Buffer][],
) {
  for (const [id, bytes] of notes) {
    const body = Buffer.from(store.getNode(id).body, 'utf8');
    expect(
      body.equals(bytes),
      `${where}: ${id} is ${body.length} bytes, file ${bytes.length}`,
    ).toBe(true);
  }
}

describe('a vault imported on two devices before their first sync', () => {
  it('holds every note once, byte for byte its file, on both devices and the hub', async () => {
    const hub = await closers.hub();
    const d = closers.device('D', hub.url);
    const e = closers.device('E', hub.url);
    const dir = folder(VAULT);
    const notes = notesOf(VAULT);
    for (const dev of [d, e]) {
      expect(importVault(dev.store, dir)).toMatchObject({
        created: notes.length,
        skipped: 1,
        errors: [],
      });
    }
    const statuses = await syncAll([d, e]);
    for (const st of statuses) {
      expect(st).toMatchObject({ state: 'in_sync', verdict: 'in sync', conflicts: 0 });
    }
    expectExactBodies('D', d.store, notes);
    expectExactBodies('E', e.store, notes);
    expectExactBodies('hub', await hub.view(), notes);
    for (const dev of [d, e]) expect(await dev.call('conflicts.list')).toEqual({ conflicts: [] });
    expect((await hub.view()).conflicts()).toEqual([]);
    expect(e.store.digest()).toBe(d.store.digest());
    expect((await hub.view()).digest()).toBe(d.store.digest());
    // What the user meant, not only agreement: the home note's link resolves, once.
    expect(count(d.store.getNode('vault:Home').body, '[[Projects/Garden]]')).toBe(1);
    // Importing again on either device changes nothing, anywhere.
    const ops = (await hub.view()).opCount();
    for (const dev of [d, e]) {
      expect(importVault(dev.store, dir)).toMatchObject({ created: 0, updated: 0, errors: [] });
    }
    await syncAll([d, e]);
    expect((await hub.view()).opCount()).toBe(ops);
  });

  it('takes both devices’ offline edits of the note they both imported, once each', async () => {
    const hub = await closers.hub();
    const d = closers.device('D', hub.url);
    const e = closers.device('E', hub.url);
    const text = '# Shopping\n\n- bread\n';
    for (const dev of [d, e]) importVault(dev.store, folder({ 'Shopping.md': text }));
    for (const [dev, line] of [
      [d, '- milk (D)\n'],
      [e, '- eggs (E)\n'],
    ] as const) {
      const n = await dev.call('node.get', { id: 'vault:Shopping' });
      await dev.call('node.update', {
        id: 'vault:Shopping',
        body: n.body + line,
        base_version: n.body_version,
      });
    }
    const statuses = await syncAll([d, e]);
    for (const st of statuses) expect(st).toMatchObject({ state: 'in_sync', conflicts: 0 });
    for (const store of [d.store, e.store, await hub.view()]) {
      const body = store.getNode('vault:Shopping').body;
      expect(count(body, '# Shopping')).toBe(1);
      expect(count(body, '- bread\n')).toBe(1);
      expect(count(body, '- milk (D)\n')).toBe(1);
      expect(count(body, '- eggs (E)\n')).toBe(1);
      expect(body.length).toBe(text.length + '- milk (D)\n- eggs (E)\n'.length);
    }
  });
});

describe('two versions of one file imported on two devices', () => {
  const V1 = '# Plan\n\n- buy seeds\n- water daily\n';
  const V2 = '# Plan\n\n- buy seeds\n- water every other day\n- compost\n';
  const ID = 'vault:Plan';

  /** D imports V1, E imports V2, offline; then both sync. `read`: each one's body_version before. */
  async function conflicted() {
    const hub = await closers.hub();
    const d = closers.device('D', hub.url);
    const e = closers.device('E', hub.url);
    importVault(d.store, folder({ 'Plan.md': V1 }));
    importVault(e.store, folder({ 'Plan.md': V2 }));
    const read = new Map<Device, string>();
    for (const dev of [d, e]) read.set(dev, (await dev.call('node.get', { id: ID })).body_version);
    const statuses = await syncAll([d, e]);
    for (const st of statuses) expect(st).toMatchObject({ state: 'in_sync', conflicts: 1 });
    return { hub, d, e, read };
  }

  /** Every replica's conflicts and shown body, as the user meets them. */
  async function views(hub: TestHub, devices: Device[]) {
    const out: { where: string; conflicts: any[]; body: string }[] = [];
    for (const dev of devices) {
      out.push({
        where: dev.name,
        conflicts: ((await dev.call('conflicts.list')) as { conflicts: any[] }).conflicts,
        body: ((await dev.call('node.get', { id: ID })) as { body: string }).body,
      });
    }
    out.push({
      where: 'hub',
      conflicts: (await hub.view()).conflicts(),
      body: (await hub.view()).getNode(ID).body,
    });
    return out;
  }

  it('become a body conflict with both texts; edits go to the text shown', async () => {
    const { hub, d, e } = await conflicted();
    const shown = expectedShown(d.store, ID, [V1, V2]);
    const other = shown === V1 ? V2 : V1;
    for (const v of await views(hub, [d, e])) {
      expect(v.body, v.where).toBe(shown);
      expect(v.conflicts, v.where).toHaveLength(1);
      const c = v.conflicts[0];
      expect(c).toMatchObject({ target: ID, field: 'body' });
      expect(c.heads.map((h: { value: string }) => h.value).sort()).toEqual([V1, V2].sort());
      for (const h of c.heads) expect(h.branch).toMatch(/^[0-9a-f]{32}$/);
    }
    // Never a concatenation, on any replica; the conflict is part of the state all agree on.
    expect(count(d.store.getNode(ID).body, '# Plan')).toBe(1);
    expect(e.store.digest()).toBe(d.store.digest());
    expect((await hub.view()).digest()).toBe(d.store.digest());
    // And it is derived from the op-log: replaying the log gives it again.
    const digest = d.store.digest();
    d.store.rebuild();
    expect(d.store.digest()).toBe(digest);

    // The device whose own version is not shown edits what it now sees.
    const loser = shown === V1 ? e : d;
    const seen = await loser.call('node.get', { id: ID });
    expect(seen.body).toBe(shown);
    const edited = `${shown}- edited after the sync\n`;
    const saved = await loser.call('node.update', {
      id: ID,
      body: edited,
      base_version: seen.body_version,
    });
    expect(saved.body).toBe(edited);
    expect(saved.body_version).not.toBe(seen.body_version);
    await syncAll([d, e]);
    for (const v of await views(hub, [d, e])) {
      expect(v.body, v.where).toBe(edited);
      const heads = v.conflicts[0].heads.map((h: { value: string }) => h.value).sort();
      expect(heads, v.where).toEqual([edited, other].sort());
    }
  });

  it('resolve to the value given, on every replica, with no conflict left', async () => {
    const { hub, d, e } = await conflicted();
    const merged = '# Plan\n\n- buy seeds\n- water when dry\n- compost\n';
    const r = await e.call('conflicts.resolve', { target: ID, field: 'body', value: merged });
    expect(r.body).toBe(merged);
    expect(await e.call('conflicts.list')).toEqual({ conflicts: [] });
    const statuses = await syncAll([d, e]);
    for (const st of statuses) expect(st).toMatchObject({ state: 'in_sync', conflicts: 0 });
    for (const v of await views(hub, [d, e])) {
      expect(v.body, v.where).toBe(merged);
      expect(v.conflicts, v.where).toEqual([]);
    }
    expect((await hub.view()).digest()).toBe(d.store.digest());
    expect(e.store.digest()).toBe(d.store.digest());
    // A resolved body is an ordinary body again: a stale save keeps what arrived meanwhile.
    const read = await d.call('node.get', { id: ID });
    await e.call('node.update', { id: ID, body: `${merged}- from E\n` });
    await syncAll([d, e]);
    const saved = await d.call('node.update', {
      id: ID,
      body: `${merged}- from D\n`,
      base_version: read.body_version,
    });
    expect(saved.body).toBe(`${merged}- from E\n- from D\n`);
    // A body without a conflict cannot be "resolved".
    expect(
      (await d.fail('conflicts.resolve', { target: ID, field: 'body', value: 'x' })).data,
    ).toMatchObject({ code: 'not_found' });
  });

  it('open again when the text resolved away was edited where the resolver had not seen it', async () => {
    const { hub, d, e, read } = await conflicted();
    const shown = expectedShown(d.store, ID, [V1, V2]);
    const other = shown === V1 ? V2 : V1;
    // The loser's editor had its own version open since before the sync; it saves from there.
    const [loser, winner] = shown === V1 ? [e, d] : [d, e];
    const lateEdit = `${other}- a late line, typed before the resolution arrived\n`;
    // The winner resolves without having seen that edit.
    const value = '# Plan\n\nresolved\n';
    await winner.call('conflicts.resolve', { target: ID, field: 'body', value });
    const saved = await loser.call('node.update', {
      id: ID,
      body: lateEdit,
      base_version: read.get(loser),
    });
    // The loser still shows the winner's text; its edit went to the text it was editing.
    expect(saved.body).toBe(shown);
    await syncAll([d, e]);
    for (const v of await views(hub, [d, e])) {
      expect(v.body, v.where).toBe(value);
      expect(v.conflicts, v.where).toHaveLength(1);
      const heads = v.conflicts[0].heads.map((h: { value: string }) => h.value).sort();
      expect(heads, v.where).toEqual([value, lateEdit].sort());
    }
    // Resolving again, having seen it, closes it everywhere.
    await loser.call('conflicts.resolve', { target: ID, field: 'body', value: lateEdit });
    await syncAll([d, e]);
    for (const v of await views(hub, [d, e])) {
      expect(v.body, v.where).toBe(lateEdit);
      expect(v.conflicts, v.where).toEqual([]);
    }
  });

  it('from three devices: one conflict with three texts, resolved once for all', async () => {
    const hub = await closers.hub();
    const devices = ['D', 'E', 'F'].map((name) => closers.device(name, hub.url));
    const texts = devices.map((dev) => `# Plan\n\nthe plan of ${dev.name}\n`);
    devices.forEach((dev, i) => importVault(dev.store, folder({ 'Plan.md': texts[i]! })));
    await syncAll(devices);
    const shown = expectedShown(await hub.view(), ID, texts);
    for (const v of await views(hub, devices)) {
      expect(v.body, v.where).toBe(shown);
      expect(v.conflicts[0].heads.map((h: { value: string }) => h.value).sort()).toEqual(
        [...texts].sort(),
      );
    }
    await devices[1]!.call('conflicts.resolve', { target: ID, field: 'body', value: texts[0] });
    await syncAll(devices);
    for (const v of await views(hub, devices)) {
      expect(v.body, v.where).toBe(texts[0]);
      expect(v.conflicts, v.where).toEqual([]);
    }
  });
});
