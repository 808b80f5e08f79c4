// heph history, show --at, revert, undo and restore by name: the built CLI against a real daemon
// on a temp socket and database, read as a person reads them and as --json.

import { describe, expect, it } from 'vitest';
import { json, ok, str, useDevice, type Run } from './helpers.js';

const device = useDevice();
const run = (...a: Parameters<typeof device.run>) => device.run(...a);

interface Version {
  version: string;
  short_version: string;
  summary: string;
  device: string;
}

async function versions(id: string): Promise<Version[]> {
  return json(ok(await run(['history', id, '--json', '-n', '100']))).versions as Version[];
}

/** Fails unless the command failed with `code`, naming `message` on stderr. */
function refused(r: Run, code: number, message: RegExp): void {
  expect(r.code, r.stdout + r.stderr).toBe(code);
  expect(r.stderr).toMatch(message);
  expect(r.stdout).toBe('');
}

describe('heph history, show --at and revert', () => {
  it('lists versions, shows an old one, and writes it back as a new change', async () => {
    const created = json(
      ok(await run(['doc', 'Garden plan', '--body', 'beans\npeas\n', '--json'])),
    );
    const id = str(created.id);
    ok(await run(['edit', id, '--title', 'Garden']));
    ok(await run(['call', 'node.update', JSON.stringify({ id, body: 'beans\nleeks\nchard\n' })]));

    const human = ok(await run(['history', 'Garden'])).stdout.split('\n');
    expect(human[0]).toMatch(/^Garden\s+\S+$/);
    expect(human[1]).toMatch(/^[0-9a-f]{6,}\s+today \d\d:\d\d\s+this device\s+\+2 −1 lines$/);
    expect(human[2]).toMatch(/title: "Garden plan" → "Garden"$/);
    expect(human[3]).toMatch(/created doc "Garden plan"$/);

    const vs = await versions(id);
    expect(vs).toHaveLength(3);
    const first = vs[2]!;
    // Paging: one at a time, with the next page named on the human form.
    const page = ok(await run(['history', id, '-n', '1'])).stdout;
    expect(page).toContain(`--before ${vs[0]!.short_version}`);
    const older = json(
      ok(await run(['history', id, '--before', vs[0]!.short_version, '-n', '1', '--json'])),
    );
    expect(older.versions.map((v: Version) => v.version)).toEqual([vs[1]!.version]);

    const then = ok(await run(['show', id, '--at', first.short_version])).stdout;
    expect(then).toMatch(/^Garden plan\s+doc/);
    expect(then).toMatch(new RegExp(`version: +${first.short_version} \\(today`));
    expect(then).toContain('beans\npeas');
    const thenJson = json(ok(await run(['show', id, '--at', first.version, '--json'])));
    expect(thenJson.node).toMatchObject({ title: 'Garden plan', body: 'beans\npeas\n' });
    // Showing an old version changes nothing.
    expect(await versions(id)).toEqual(vs);

    const reverted = ok(await run(['revert', id, first.short_version])).stdout;
    expect(reverted).toMatch(
      new RegExp(`^Reverted "Garden plan" \\(\\S+\\) to ${first.short_version} .*title, body`),
    );
    const now = json(ok(await run(['get', id, '--json'])));
    expect(now).toMatchObject({ title: 'Garden plan', body: 'beans\npeas\n' });
    const after = await versions(id);
    expect(after).toHaveLength(4);
    expect(after[0]!.summary).toMatch(
      new RegExp(
        `^reverted to ${first.short_version}: title: "Garden" → "Garden plan", \\+1 −2 lines$`,
      ),
    );
    const again = ok(await run(['revert', id, first.short_version])).stdout;
    expect(again).toMatch(/^Nothing to write back: "Garden plan" .* already is as it was/);
    expect(await versions(id)).toEqual(after);
  });

  it('refuses an unknown node, a malformed or foreign version, with nothing changed', async () => {
    const a = str(json(ok(await run(['doc', 'Alpha', '--json']))).id);
    const b = str(json(ok(await run(['doc', 'Beta', '--json']))).id);
    const before = await versions(a);
    const foreign = (await versions(b))[0]!;

    const [unknown, malformed, other, otherFull, at, before2, zero, missing] = await Promise.all([
      run(['revert', 'Nowhere', before[0]!.short_version]),
      run(['revert', a, 'zz']),
      run(['revert', a, foreign.short_version]),
      run(['revert', a, foreign.version]),
      run(['show', a, '--at', 'not-a-version!']),
      run(['history', a, '--before', 'xyz']),
      run(['history', a, '-n', '0']),
      run(['revert', a]),
    ]);
    refused(unknown, 3, /no node matches/);
    refused(malformed, 2, /"zz" is not a version/);
    refused(other, 2, /no version of .* matches/);
    refused(otherFull, 2, /is a change of .*, not of/);
    refused(at, 2, /is not a version/);
    refused(before2, 2, /before: .* is not a version/);
    refused(zero, 2, /--limit must be a positive whole number/);
    refused(missing, 2, /not enough arguments: heph revert <id> <to>/);
    expect(await versions(a)).toEqual(before);
    expect(await versions(b)).toHaveLength(1);
  });
});

describe('heph undo', () => {
  it('takes back heph add, then an edit, and lists what it can take back', async () => {
    const added = json(ok(await run(['add', 'Buy seeds !orange', '--json'])));
    const task = str(added.task.id);
    const context = str(added.context);
    ok(await run(['edit', task, '--title', 'Buy bean seeds']));

    const list = ok(await run(['undo', '--list', '-n', '2']))
      .stdout.trimEnd()
      .split('\n');
    expect(list[0]).toBe('Changes heph undo takes back, the next one first:');
    expect(list[1]).toMatch(
      /^[0-9a-f]{6,}\s+today \d\d:\d\d\s+"Buy bean seeds": title: "Buy seeds" → "Buy bean seeds"$/,
    );
    expect(list[2]).toMatch(/created task "Buy seeds"/);
    expect(list).toHaveLength(3);

    expect(ok(await run(['undo'])).stdout).toMatch(
      /^Undid the change of today \d\d:\d\d: "Buy bean seeds": title: "Buy seeds" → "Buy bean seeds"/,
    );
    expect(json(ok(await run(['get', task, '--json']))).title).toBe('Buy seeds');

    const undone = json(ok(await run(['undo', '--json'])));
    expect(undone.summary).toMatch(/^created task "Buy seeds"/);
    expect(undone.skipped).toEqual([]);
    const trash = json(ok(await run(['trash', '--json']))).nodes.map((n: { id: string }) => n.id);
    // The task and its context doc went together; the trash lists the item once, the task.
    expect(trash).toContain(task);
    const doc = json(ok(await run(['call', 'node.get', JSON.stringify({ id: context })])));
    expect(doc.deleted).toBe(true);
    // The undo is itself in the history, as a change of this device.
    expect((await versions(task))[0]!.summary).toBe('undo: moved to trash');
  });

  it('says when a change named is not one it can take back', async () => {
    refused(await run(['undo', 'zz']), 2, /change: "zz" is not a version/);
    refused(await run(['undo', '--list', '-n', '-1']), 2, /--limit must be a positive/);
  });
});

describe('heph restore NAME', () => {
  it('brings back a node in the trash by its title, and says when a live one shares it', async () => {
    const home = str(json(ok(await run(['doc', 'Home', 'page', '--json']))).id);
    ok(await run(['rm', 'Home page']));
    const back = await run(['restore', 'Home', 'page']);
    expect(ok(back).stdout).toMatch(/^Restored \S+\s+doc\s+Home page/);
    expect(back.stderr).toBe('');
    expect(json(ok(await run(['get', home, '--json']))).deleted).toBe(false);

    ok(await run(['rm', home]));
    const fresh = str(json(ok(await run(['doc', 'Home', 'page', '--json']))).id);
    const both = await run(['restore', 'Home page', '--json']);
    expect(json(ok(both))).toMatchObject({ id: home, restored: true });
    expect(both.stderr).toContain(`heph: note: "Home page" also names ${fresh}`);

    const live = ok(await run(['restore', fresh])).stdout;
    expect(live).toMatch(/^Not in the trash, nothing to restore:/);
    refused(await run(['restore', 'Nowhere']), 3, /no node matches "Nowhere"/);
  });
});

describe('completion and help', () => {
  it('offers a node’s versions, the changes undo can take, and the trash', async () => {
    const id = str(json(ok(await run(['doc', 'Completed', '--json']))).id);
    ok(await run(['edit', id, '--title', 'Completed note']));
    const vs = await versions(id);
    const offered = ok(await run(['__complete', 'revert', id, ''])).stdout;
    expect(offered.split('\n')[0]).toBe(`${vs[0]!.short_version}\t${vs[0]!.summary}`);
    const at = ok(await run(['__complete', 'show', id, '--at', ''])).stdout;
    expect(at).toContain(vs[1]!.short_version);
    const changes = ok(await run(['__complete', 'undo', ''])).stdout;
    expect(changes.split('\n')[0]).toMatch(/^[0-9a-f]{6,}\t"Completed note": title/);
    ok(await run(['rm', id]));
    expect(ok(await run(['__complete', 'restore', ''])).stdout).toContain(
      'Completed note (in the trash)',
    );
    const help = ok(await run(['--help'])).stdout;
    expect(help).toMatch(/History and undo\n\s+history .*\n\s+revert .*\n\s+undo /);
    const typo = await run(['histroy', id]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('history');
  });
});
