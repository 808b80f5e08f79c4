// `heph edit-body ID`: the body goes to a temp file, $VISUAL or $EDITOR edits it, and a changed
// file is saved with node.update and the body_version it was read at, so an edit that synced in
// while the editor was open is kept beside this one (the reply is the merged body).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HephError } from '../../core/errors.js';
import { arg, type Args } from '../args.js';
import type { Cli } from '../context.js';
import type { Output } from '../output.js';
import { rec, str } from '../wire.js';

export async function editBody(cli: Cli, a: Args): Promise<Output> {
  const editor = cli.env.VISUAL || cli.env.EDITOR;
  if (!editor) {
    throw new HephError(
      'invalid_params',
      'no editor: set $VISUAL or $EDITOR (for example EDITOR=nano)',
      { field: 'EDITOR' },
    );
  }
  const node = rec(await cli.call('node.get', { id: arg(a, 'id') }));
  const id = str(node, 'id');
  const before = str(node, 'body');
  const dir = mkdtempSync(join(tmpdir(), 'heph-edit-'));
  const safe =
    str(node, 'title')
      .replace(/[^\p{L}\p{N}_-]+/gu, '-')
      .slice(0, 40) || 'note';
  const file = join(dir, `${safe}.md`);
  writeFileSync(file, before, { mode: 0o600 });
  let keep = false;
  try {
    // Through the shell, so EDITOR may carry arguments ("code --wait").
    const r = spawnSync(`${editor} "$HEPH_EDIT_FILE"`, {
      shell: true,
      stdio: 'inherit',
      env: { ...cli.env, HEPH_EDIT_FILE: file },
    });
    if (r.error) throw new HephError('io', `cannot run editor ${editor}: ${r.error.message}`);
    if (r.status !== 0) {
      throw new HephError(
        'io',
        `editor ${editor} exited with ${r.status ?? r.signal ?? 'an error'}; nothing saved`,
      );
    }
    const after = readFileSync(file, 'utf8');
    if (after === before)
      return { kind: 'node', data: { ...node, changed: false }, verb: 'Unchanged:' };
    let data: Record<string, unknown>;
    try {
      data = rec(
        await cli.call('node.update', {
          id,
          body: after,
          base_version: str(node, 'body_version'),
        }),
      );
    } catch (e) {
      // Nothing was saved: the edit stays in its file.
      keep = true;
      const why = e instanceof Error ? e.message : String(e);
      throw new HephError(
        e instanceof HephError ? e.code : 'internal',
        `${why}; your version is in ${file}`,
        { id, file },
      );
    }
    const merged = str(data, 'body') !== after;
    return {
      kind: 'node',
      data: { ...data, changed: true, merged },
      verb: merged ? 'Saved (with changes made elsewhere meanwhile kept)' : 'Saved',
    };
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}
