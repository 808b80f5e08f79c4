import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { outgoingWikiLinks, resolveWikiTarget, wikiBacklinks } from '../../src/model/wiki.js';
import { extractWikiTargets } from '../../src/store/open-store.js';
import { openWikiStore, type WikiTestStore } from '../fixtures/wiki-store.js';

let h: WikiTestStore;
beforeEach(() => {
  h = openWikiStore();
});
afterEach(() => h.close());

function vaultNote(path: string, body = '', title?: string) {
  const name = path.slice(path.lastIndexOf('/') + 1).replace(/\.md$/, '');
  return h.store.createNode({
    kind: 'doc',
    id: `vault:${path.replace(/\.md$/, '').replace(/ /g, '+')}`,
    title: title ?? name,
    body,
    extra: { vault_path: path },
  });
}

const backIds = (id: string) => wikiBacklinks(h.store, id).map((b) => b.id);

describe('wiki links', () => {
  it('extracts targets without headings, labels, embeds or code', () => {
    expect(
      extractWikiTargets('[[A#h|x]] [[A]] ![[img.png]] `[[code]]` [[B|b]]\n```\n[[C]]\n```'),
    ).toEqual(['A', 'B']);
  });

  it('resolves by id, title and alias, ignoring ASCII case; unresolved links are reported', () => {
    const s = h.store;
    const target = s.createNode({
      kind: 'doc',
      title: 'Project Plan',
      aliases: ['plan', 'Roadmap'],
    });
    const src = s.createNode({
      kind: 'doc',
      title: 'Src',
      body: `[[project plan]] [[PLAN#goals]] [[roadmap|the map]] [[${target.id}]] [[Nowhere]] [[Project Plan.md]]`,
    });
    const out = outgoingWikiLinks(s, src.id);
    expect(out.map((l) => [l.target, l.node?.id ?? null])).toEqual([
      ['project plan', target.id],
      ['PLAN', target.id],
      ['roadmap', target.id],
      [target.id, target.id],
      ['Nowhere', null],
      ['Project Plan.md', target.id],
    ]);
    expect(wikiBacklinks(s, target.id)).toEqual([
      {
        id: src.id,
        kind: 'doc',
        title: 'Src',
        targets: ['PLAN', 'Project Plan.md', 'project plan', 'roadmap', target.id].sort(),
      },
    ]);
  });

  it('a folder/Note target matches the title Note; paths pick between duplicate names', () => {
    const plain = h.store.createNode({ kind: 'doc', title: 'Loose' });
    const a = vaultNote('Sync/Security.md');
    const b = vaultNote('Publish/Security.md');
    const fromSync = vaultNote('Sync/Intro.md', '[[Security]] [[Publish/Security]] [[x/Loose]]');
    const fromPublish = vaultNote('Publish/Deep/Intro.md', '[[Security]] [[../Security]]');
    const fromRoot = vaultNote('Root.md', '[[security]] [[sync/SECURITY.md]] [[Sync/Intro]]');
    const res = (id: string) => outgoingWikiLinks(h.store, id).map((l) => l.node?.id ?? null);
    expect(res(fromSync.id)).toEqual([a.id, b.id, plain.id]);
    expect(res(fromPublish.id)).toEqual([b.id, b.id]);
    // From the root neither is nearer: the shallowest, then the smallest id, wins.
    expect(res(fromRoot.id)).toEqual([b.id, a.id, fromSync.id]);
    expect(backIds(a.id).sort()).toEqual([fromSync.id, fromRoot.id].sort());
    expect(backIds(b.id).sort()).toEqual([fromSync.id, fromPublish.id, fromRoot.id].sort());
    expect(backIds(plain.id)).toEqual([fromSync.id]);
    expect(resolveWikiTarget(h.store, '../../../x', fromPublish.id)).toBeNull();
  });

  it('prefers a file name or title over another note’s alias', () => {
    const sidebar = vaultNote('UI/Sidebar.md');
    const other = h.store.createNode({ kind: 'doc', title: 'Panels', aliases: ['Sidebar'] });
    const src = h.store.createNode({ kind: 'doc', title: 's', body: '[[Sidebar]]' });
    expect(outgoingWikiLinks(h.store, src.id)[0]?.node?.id).toBe(sidebar.id);
    expect(backIds(sidebar.id)).toEqual([src.id]);
    expect(backIds(other.id)).toEqual([]);
  });

  it('follows renames, alias changes and deletes on both ends', () => {
    const s = h.store;
    const t = s.createNode({ kind: 'doc', title: 'Old' });
    const src = s.createNode({ kind: 'doc', title: 'src', body: '[[New]] [[Alias]]' });
    expect(backIds(t.id)).toEqual([]);
    s.updateNode(t.id, { title: 'New' });
    expect(wikiBacklinks(s, t.id)[0]?.targets).toEqual(['New']);
    s.updateNode(t.id, { aliases: ['alias'] });
    expect(wikiBacklinks(s, t.id)[0]?.targets).toEqual(['Alias', 'New']);
    s.deleteNode(src.id);
    expect(backIds(t.id)).toEqual([]);
    s.restoreNode(src.id);
    s.deleteNode(t.id);
    expect(outgoingWikiLinks(s, src.id).map((l) => l.node)).toEqual([null, null]);
    s.restoreNode(t.id);
    s.updateNode(src.id, { body: 'no links now' });
    expect(backIds(t.id)).toEqual([]);
  });

  it('finds backlink candidates through the wiki_links indexes', () => {
    const plan = h.store.connection
      .prepare(
        `EXPLAIN QUERY PLAN SELECT w.src, w.target FROM wiki_links w JOIN nodes s ON s.id = w.src
         WHERE substr(w.target, length(rtrim(w.target, replace(w.target, '/', ''))) + 1) = ? COLLATE NOCASE
         AND s.deleted = 0 AND s.kind IS NOT NULL`,
      )
      .all('x') as { detail: string }[];
    expect(plan.map((p) => p.detail).join('\n')).toMatch(/USING (COVERING )?INDEX wiki_links_base/);
  });

  it('needs an existing node', () => {
    expect(() => wikiBacklinks(h.store, 'vault:nope')).toThrow(/not found/);
    expect(() => outgoingWikiLinks(h.store, 'vault:nope')).toThrow(/not found/);
  });
});
