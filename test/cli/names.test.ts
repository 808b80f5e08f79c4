// Names, links and vaults through the command line and a real daemon: a task is found once by
// its name and shows its note; renaming rewrites links and says how many notes it updated
// (--keep-links leaves them); export gives a vault back and names its collisions.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp.js';
import { json, ok, useDevice } from './helpers.js';

const device = useDevice();
const run = (args: string[], input?: string) => device.run(args, input);

describe('names, links and vaults on the command line', () => {
  it('shows a task once by its name, and its note with --body', async () => {
    ok(await run(['task', 'Buy oat milk', '--body', 'two litres\n']));
    const shown = ok(await run(['show', 'Buy oat milk', '--json']));
    expect(json(shown).node).toMatchObject({ kind: 'task', title: 'Buy oat milk' });
    expect(ok(await run(['show', 'Buy oat milk', '--body'])).stdout).toBe('two litres\n');
    // A note of the same name warns, and the name then lists both to choose from.
    const doc = ok(await run(['doc', 'Buy oat milk']));
    expect(doc.stderr).toMatch(/warning: a task titled "Buy oat milk" exists/);
    const amb = await run(['show', 'Buy oat milk']);
    expect(amb.code).not.toBe(0);
    expect(amb.stderr).toMatch(/names 2 items/);
    expect(amb.stderr).toMatch(/task {2}Buy oat milk/);
    expect(amb.stderr).toMatch(/doc {3}Buy oat milk/);
  });

  it('rewrites links on a rename and says so; --keep-links leaves them', async () => {
    ok(await run(['doc', 'Garden plan']));
    const linker = json(
      ok(await run(['doc', 'Spring', '--body', '-', '--json'], 'see [[Garden plan|the plan]]\n')),
    );
    const r = ok(await run(['edit', 'Garden plan', '--title', 'Garden map']));
    expect(r.stderr).toBe('heph: updated links in 1 note\n');
    expect(ok(await run(['get', linker.id, '--body'])).stdout).toBe(
      'see [[Garden map|the plan]]\n',
    );
    const kept = ok(await run(['edit', 'Garden map', '--title', 'Garden', '--keep-links']));
    expect(kept.stderr).toBe('');
    expect(ok(await run(['get', linker.id, '--body'])).stdout).toBe(
      'see [[Garden map|the plan]]\n',
    );
  });

  it('imports a vault and exports it back; colliding names are named', async () => {
    const t = tempDir('heph-cli-vault-');
    try {
      const src = join(t.dir, 'src');
      mkdirSync(join(src, 'sub'), { recursive: true });
      writeFileSync(join(src, 'Start.md'), '---\naliases: [Begin]\n---\nGo to [[Next]].\n');
      writeFileSync(join(src, 'sub', 'Next.md'), 'Back to [[Start]].\n');
      writeFileSync(join(src, 'sub', 'photo.jpg'), 'jpeg');
      expect(json(ok(await run(['import', src, '--json'])))).toMatchObject({
        created: 2,
        skipped: 1,
      });
      ok(await run(['doc', 'Todo list']));
      ok(await run(['doc', 'todo list']));
      const out = join(t.dir, 'out');
      const r = ok(await run(['export', out]));
      expect(r.stderr).toBe(
        'heph: "todo list" was written as todo list (2).md: another item has its name\n',
      );
      expect(readFileSync(join(out, 'Start.md'), 'utf8')).toBe(
        '---\naliases: [Begin]\n---\nGo to [[Next]].\n',
      );
      expect(readFileSync(join(out, 'sub', 'Next.md'), 'utf8')).toBe('Back to [[Start]].\n');
      expect(JSON.parse(readFileSync(join(out, '.heph', 'index.json'), 'utf8')).format).toBe(
        'heph-vault',
      );
    } finally {
      t.cleanup();
    }
  });
});
