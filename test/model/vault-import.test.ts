import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { isNodeId } from '../../src/core/ids.js';
import { search } from '../../src/model/search.js';
import { importVault, vaultNoteId } from '../../src/model/vault-import.js';
import { outgoingWikiLinks, wikiBacklinks } from '../../src/model/wiki.js';
import { tempDir } from '../helpers/temp.js';
import { openWikiStore, type WikiTestStore } from '../fixtures/wiki-store.js';

let h: WikiTestStore;
let vault: { dir: string; cleanup(): void };
beforeEach(() => {
  h = openWikiStore();
  vault = tempDir('heph-vault-');
});
afterEach(() => {
  h.close();
  vault.cleanup();
});

function write(rel: string, text: string | Buffer): string {
  const p = join(vault.dir, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

const WELCOME =
  '---\naliases:\n  - Start here\n  - "Home: page"\ncssclasses:\n  - wide\n---\n' +
  'See [[Sub/Topic]], [[topic#Part|the topic]], ![[diagram.png]] and ![[Topic]].\n' +
  '```\n[[In code]]\n```\n';

function smallVault() {
  write('Welcome.md', WELCOME);
  write('Sub/Topic.md', '---\naliases: Subject\ntitle: The Topic\n---\nBack to [[welcome]].');
  write('Other/Topic.md', 'Another topic. [[Topic]] is me; [[Start here]] is home.');
  write('Sub/Deeper/Note with spaces.md', 'Über [[Topic]] ermöglichen');
  write('Sub/diagram.png', Buffer.from([0x89, 0x50]));
  write('.obsidian/app.json', '{}');
  write('.obsidian/Hidden.md', 'not imported');
  write('Empty.md', '');
}

describe('vault import', () => {
  it('imports notes with path ids, file-name titles, aliases and exact bodies', () => {
    smallVault();
    const r = importVault(h.store, vault.dir);
    expect(r).toEqual({ created: 5, updated: 0, unchanged: 0, skipped: 1, errors: [] });
    const s = h.store;
    const welcome = s.getNode('vault:Welcome');
    expect(welcome).toMatchObject({
      kind: 'doc',
      title: 'Welcome',
      aliases: ['Start here', 'Home: page'],
      body: WELCOME,
      extra: { vault_path: 'Welcome.md' },
    });
    expect(s.getNode('vault:Sub/Topic')).toMatchObject({
      title: 'The Topic',
      aliases: ['Subject'],
    });
    expect(s.getNode('vault:Sub/Deeper/Note+with+spaces').title).toBe('Note with spaces');
    expect(s.getNode('vault:Empty').body).toBe('');
    expect(s.findNode('vault:.obsidian/Hidden')).toBeUndefined();

    // Links resolve like the vault editor: path, nearest duplicate name, alias; embeds and code
    // are not links.
    expect(outgoingWikiLinks(s, 'vault:Welcome')).toEqual([
      { target: 'Sub/Topic', node: { id: 'vault:Sub/Topic', kind: 'doc', title: 'The Topic' } },
      { target: 'topic', node: { id: 'vault:Other/Topic', kind: 'doc', title: 'Topic' } },
    ]);
    expect(outgoingWikiLinks(s, 'vault:Other/Topic').map((l) => l.node?.id)).toEqual([
      'vault:Other/Topic',
      'vault:Welcome',
    ]);
    expect(outgoingWikiLinks(s, 'vault:Sub/Deeper/Note+with+spaces')[0]?.node?.id).toBe(
      'vault:Sub/Topic',
    );
    // Ordered by title: "The Topic", then "Topic".
    expect(wikiBacklinks(s, 'vault:Welcome').map((b) => b.id)).toEqual([
      'vault:Sub/Topic',
      'vault:Other/Topic',
    ]);
    expect(search(s, { query: 'ermöglichen' }).map((x) => x.id)).toEqual([
      'vault:Sub/Deeper/Note+with+spaces',
    ]);
  });

  it('is idempotent, and updates in place what changed', () => {
    smallVault();
    importVault(h.store, vault.dir);
    const ops = h.store.opCount();
    const digest = h.store.digest();
    expect(importVault(h.store, vault.dir)).toEqual({
      created: 0,
      updated: 0,
      unchanged: 5,
      skipped: 1,
      errors: [],
    });
    expect(h.store.opCount()).toBe(ops);
    expect(h.store.digest()).toBe(digest);

    write('Empty.md', 'now with text');
    write('New.md', 'new');
    h.store.deleteNode('vault:Welcome');
    expect(importVault(h.store, vault.dir)).toMatchObject({ created: 1, updated: 2, unchanged: 3 });
    expect(h.store.getNode('vault:Empty').body).toBe('now with text');
    expect(h.store.getNode('vault:Welcome').deleted).toBe(false);
  });

  it('derives valid, deterministic ids from any path', () => {
    for (const p of [
      'a b/c|d.md',
      'tab\there.md',
      '100% + [x] #1 ^b `c` ~d.md',
      'ünïcödé/日本語.md',
      `${'long name '.repeat(30)}.md`,
      `${'é'.repeat(300)}.md`,
    ]) {
      const id = vaultNoteId(p);
      expect(isNodeId(id), `${p} → ${id}`).toBe(true);
      expect(id.length).toBeLessThanOrEqual(206);
      expect(vaultNoteId(p)).toBe(id);
    }
    expect(vaultNoteId('a b/c.md')).toBe('vault:a+b/c');
    expect(vaultNoteId('a+b.md')).toBe('vault:a%2Bb');
    expect(vaultNoteId(`${'x'.repeat(300)}.md`)).not.toBe(vaultNoteId(`${'x'.repeat(301)}.md`));
    // NFD file names (as some file systems store them) give the same id as NFC ones.
    expect(vaultNoteId('Cafe\u0301.md')).toBe(vaultNoteId('Café.md'));
  });

  describe('bad input stores nothing and names the path', () => {
    function expectRefused(run: () => unknown, code: string, path: string) {
      let err: unknown;
      try {
        run();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(HephError);
      expect((err as HephError).code).toBe(code);
      expect((err as HephError).message).toContain(path);
      expect((err as HephError).details.path).toBe(path);
      expect(h.store.opCount()).toBe(0);
    }

    it('a missing folder, or a file instead of one', () => {
      const missing = join(vault.dir, 'missing');
      expectRefused(() => importVault(h.store, missing), 'not_found', missing);
      const file = write('file.md', 'x');
      expectRefused(() => importVault(h.store, file), 'invalid_params', file);
    });

    it('invalid front matter, invalid fields, text that is not UTF-8', () => {
      write('Good.md', 'fine');
      const bad = write('Bad.md', '---\ntitle: "unterminated\n---\nbody');
      expectRefused(() => importVault(h.store, vault.dir), 'invalid_params', bad);
      writeFileSync(bad, '---\naliases: [ok, {"no": 1}]\n---\n');
      expectRefused(() => importVault(h.store, vault.dir), 'invalid_params', bad);
      writeFileSync(bad, Buffer.from([0x66, 0xff, 0xfe]));
      expectRefused(() => importVault(h.store, vault.dir), 'invalid_params', bad);
      // More text than one change may add (2.9 MiB of UTF-8; 1.6 M two-byte characters).
      writeFileSync(bad, 'é'.repeat(1_600_000));
      expectRefused(() => importVault(h.store, vault.dir), 'too_large', bad);
    });

    it('an unreadable file', () => {
      const p = write('Locked.md', 'secret');
      if (process.getuid?.() === 0) {
        // Root reads anything; a dangling link is the unreadable file here (it is skipped).
        symlinkSync(join(vault.dir, 'nowhere'), join(vault.dir, 'Dangling.md'));
        expect(importVault(h.store, vault.dir)).toMatchObject({ created: 1, skipped: 1 });
        return;
      }
      chmodSync(p, 0o000);
      expectRefused(() => importVault(h.store, vault.dir), 'io', p);
    });

    it('a heph file whose fields or links are invalid, or whose id is another kind here', () => {
      const p = write('x.md', '---\nid: tag:x\nkind: tag\ntitle: "two\\nlines"\n---\n');
      expectRefused(() => importVault(h.store, vault.dir), 'invalid_params', p);
      writeFileSync(p, '---\nid: tag:x\nkind: tag\nlinks:\n  - tagged tag:missing\n---\n');
      expectRefused(() => importVault(h.store, vault.dir), 'not_found', p);
      writeFileSync(p, '---\nid: tag:x\nkind: tag\nstate: done\n---\n');
      expectRefused(() => importVault(h.store, vault.dir), 'invalid_params', p);
    });

    it('with skipInvalid, imports the rest and reports the bad ones', () => {
      write('Good.md', 'fine');
      const bad = write('Bad.md', '---\n: nope\n---\n');
      const r = importVault(h.store, vault.dir, { skipInvalid: true });
      expect(r).toMatchObject({ created: 1, errors: [{ path: bad }] });
      expect(r.errors[0]?.message).toMatch(/line 1/);
    });
  });
});
