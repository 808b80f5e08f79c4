// The `heph` command line end to end: the built CLI against a real daemon on a temp socket.

import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addDays } from '../../src/core/dates.js';
import { baseEnv, heph, json, localToday, ok, str, useDevice } from './helpers.js';

const device = useDevice();
const run = (...a: Parameters<typeof device.run>) => device.run(...a);

describe('heph', () => {
  it('prints its version and help, and refuses unknown commands with exit 2', async () => {
    const [v, h, bad, badFlag] = await Promise.all([
      run(['--version']),
      run(['--help']),
      run(['frobnicate']),
      run(['next', '--bogus']),
    ]);
    expect(ok(v).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(ok(h).stdout).toContain('heph add');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^heph: .*frobnicate/);
    expect(badFlag.code).toBe(2);
  });

  it('quick-adds end to end, says when a project was created, and ranks what is next', async () => {
    const today = localToday();
    const r = json(
      ok(await run(['add', 'Pay rent tomorrow !red #Home +bills every month', '--json'])),
    );
    expect(r.task.title).toBe('Pay rent');
    expect(r.task.attention).toBe('red');
    expect(r.task.do_date).toBe(addDays(today, 1));
    expect(r.task.recurrence).toBe('FREQ=MONTHLY');
    expect(r.task.tags).toEqual(['bills']);
    expect(r.created_project).toBe(true);
    expect(r.project.title).toBe('Home');
    // The project's short id, as every list shows it: in the reply and in the line printed.
    const homeShort = str(json(ok(await run(['get', r.project.id, '--json']))).short_id);
    expect(homeShort).toMatch(/^[0-9a-z]{6,}$/);
    expect(r.project.short_id).toBe(homeShort);

    const first = ok(await run(['add', 'Water the plants !orange #Garden']));
    expect(first.stdout).toMatch(/Added .*Water the plants/);
    const garden = str(json(ok(await run(['project', 'show', 'Garden', '--json']))).short_id);
    expect(first.stdout).toContain(`Created project Garden (${garden})\n`);
    const second = ok(await run(['add', 'Prune', 'roses', '#Garden']));
    expect(second.stdout).toMatch(/In project Garden/);
    expect(second.stdout).not.toMatch(/Created project/);

    const next = json(ok(await run(['next', '--json'])));
    expect(next.today).toBe(today); // the CLI sends the user's local day
    const titles = (next.tasks as { title: string }[]).map((t) => t.title);
    expect(titles).toEqual(['Water the plants', 'Prune roses']); // orange first; rent is tomorrow
    const human = ok(await run(['next', '-n', '1'])).stdout;
    expect(human).toMatch(/^\S+\s+orange\s+Water the plants/);
    expect(human.split('\n').filter(Boolean)).toHaveLength(1);
    expect(human).not.toContain('\x1b['); // no colour off a terminal

    const id = (next.tasks as { id: string }[])[0]!.id;
    const short = str(json(ok(await run(['get', id, '--json']))).short_id);
    expect(short.length).toBeLessThan(id.length);
    const done = json(ok(await run(['done', short, '--json'])));
    expect(done.task.state).toBe('done');
  });

  it('shows the short id every list shows in tag, links, backlinks and show', async () => {
    const t = json(ok(await run(['task', 'Book the ferry', '--json']))).task;
    const d = json(ok(await run(['doc', 'Ferry times', '--json'])));
    const [T, D] = [str(t.short_id), str(d.short_id)];
    const ctx = str(json(ok(await run(['get', str(t.context), '--json']))).short_id);
    expect(t.context_short_id).toBe(ctx);
    // Short ids are suffixes of at least 6 characters; 8 characters is what the old lines showed.
    for (const s of [T, D, ctx]) expect(s).toMatch(/^[0-9a-z]{6,7}$/);

    expect(ok(await run(['tag', 'add', T, 'boats'])).stdout).toBe(`${T}: +boats\n`);
    expect(json(ok(await run(['tag', 'add', T, 'sea', '--json']))).short_id).toBe(T);
    expect(ok(await run(['tag', 'rm', T, 'sea'])).stdout).toBe(`${T}: +boats\n`);
    const linked = json(ok(await run(['link', 'add', D, T, 'parent', '--json'])));
    expect([linked.src_short_id, linked.dst_short_id]).toEqual([D, T]);

    const links = ok(await run(['links', D])).stdout;
    expect(links).toMatch(new RegExp(`^parent +${T} +Book the ferry$`, 'm'));
    const back = ok(await run(['backlinks', T])).stdout;
    expect(back).toMatch(new RegExp(`^parent +${D} +Ferry times$`, 'm'));
    const shown = ok(await run(['show', T])).stdout;
    expect(shown).toMatch(new RegExp(`^context: +${ctx}$`, 'm'));
    expect(shown).toMatch(new RegExp(`^canonical-context +${ctx} +Book the ferry$`, 'm'));
    expect(shown).toMatch(new RegExp(`^parent +${D} +Ferry times$`, 'm'));
    const asJson = json(ok(await run(['links', D, '--json'])));
    expect(asJson.links).toEqual([expect.objectContaining({ src_short_id: D, dst_short_id: T })]);
    // A version's links too (heph show --at).
    const versions = json(ok(await run(['history', D, '--json']))).versions as {
      version: string;
    }[];
    const at = ok(await run(['show', D, '--at', versions[0]!.version])).stdout;
    expect(at).toMatch(new RegExp(`^parent +${T} +Book the ferry$`, 'm'));
  });

  it('gives every command --json output that parses', async () => {
    const dir = mkdtempSync(join(device.home.dir, 'x-'));
    ok(await run(['project', 'add', 'Work']));
    const t = json(
      ok(
        await run([
          'task',
          'Write report',
          '--do',
          'today',
          '--late-on',
          '+3d',
          '-a',
          'orange',
          '--project',
          'Work',
          '--tag',
          'w',
          '--recur',
          'every week',
          '--json',
        ]),
      ),
    );
    const T = str(t.task.id);
    expect(t.task.late_on).toBe(addDays(localToday(), 3));
    expect(t.task.recurrence).toBe('FREQ=WEEKLY');
    const D = str(
      json(
        ok(
          await run(
            ['doc', 'Meeting notes', '--alias', 'mn', '--body', '-', '--json'],
            `See [[${T}]]`,
          ),
        ),
      ).id,
    );

    const reads = [
      ['next'],
      ['list'],
      ['list', '--attention', 'orange', '--state', 'outstanding'],
      ['list', '--actionable', '--not', 'blue'],
      ['list', '--project', 'Work'],
      ['view'],
      ['view', 'actionable'],
      ['show', T],
      ['show', D],
      ['get', T],
      ['get', D, '--body'],
      ['links', D],
      ['backlinks', T],
      ['search', 'report'],
      ['tag', 'list'],
      ['tag', 'list', T],
      ['project', 'list'],
      ['project', 'show', 'Work'],
      ['nodes'],
      ['nodes', '--kind', 'task', '-n', '5'],
      ['resolve', 'mn'],
      ['conflicts'],
      ['trash'],
      ['status'],
      ['sync', 'status'],
      ['methods'],
      ['call', 'status'],
      ['call', 'node.get', JSON.stringify({ id: T })],
      ['log', T],
      ['journal'],
      ['journal', '2026-01-01'],
    ];
    const results = await Promise.all(reads.map((a) => run([...a, '--json'])));
    results.forEach((r, i) => {
      expect(r.code, `${reads[i]!.join(' ')}: ${r.stderr}`).toBe(0);
      json(r);
    });
    expect(json(results[0]!).tasks).toBeDefined();
    expect((json(results[11]!).wiki as { node: { id: string } }[]).map((w) => w.node.id)).toContain(
      T,
    );

    // Three independent chains, each in order, run side by side.
    const chains = [
      [
        ['edit', T, '--title', 'Write the report', '--do', 'none'],
        ['edit', T, '--no-project'],
        ['edit', T, '--project', 'Work', '-a', 'red'],
        ['tag', 'add', T, 'x'],
        ['tag', 'rm', T, 'x'],
        ['log', T, 'drafted', 'the', 'intro'],
        ['skip', T],
        ['done', T],
        ['reopen', T],
        ['drop', T],
        ['reopen', T],
      ],
      [
        ['edit', D, '--title', 'Meeting notes (Mon)', '--alias', 'mn', '--alias', 'notes'],
        ['link', 'add', D, T, 'parent'],
        ['link', 'rm', D, T, 'parent'],
        ['rm', D],
        ['restore', D],
      ],
      [
        ['project', 'add', 'Sub', '--parent', 'Work'],
        ['project', 'move', 'Sub', '--top'],
        ['project', 'move', 'Sub', 'Work'],
        ['project', 'rm', 'Sub'],
        ['add', 'Something else'],
      ],
    ];
    await Promise.all(
      chains.map(async (chain) => {
        for (const a of chain) {
          const r = await run([...a, '--json']);
          expect(r.code, `${a.join(' ')}: ${r.stderr}`).toBe(0);
          json(r);
        }
      }),
    );
    // After the edits: an import of an older export would write the old values back.
    for (const a of [
      ['export', join(dir, 'out')],
      ['import', join(dir, 'out')],
      ['backup', join(dir, 'copy.db')],
    ]) {
      const r = await run([...a, '--json']);
      expect(r.code, `${a.join(' ')}: ${r.stderr}`).toBe(0);
      json(r);
    }
    const after = json(ok(await run(['get', T, '--json'])));
    expect(after.title).toBe('Write the report');
    expect(after.do_date).not.toBe(null); // the skip and done rolled it forward
    expect(after.attention).toBe('red');
    const log = json(ok(await run(['log', T, '--json'])));
    expect((log.entries as { text: string }[]).map((e) => e.text)).toContain('drafted the intro');
    expect(json(ok(await run(['get', D, '--json']))).aliases).toEqual(['mn', 'notes']);
  }, 120_000); // ~60 processes: generous for a loaded machine

  it('exits with the code from the error table, with one line on stderr', async () => {
    const [missing, ambiguousArgs, unknownMethod, nothing, badDate] = await Promise.all([
      run(['done', 'no-such-task']),
      run(['call', 'status', '[1]']),
      run(['call', 'no.such.method']),
      run(['edit', 'Home']),
      run(['task', 'X', '--do', 'someday']),
    ]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^heph: no node matches "no-such-task".*\n$/);
    expect(missing.stdout).toBe('');
    expect(ambiguousArgs.code).toBe(2);
    expect(unknownMethod.code).toBe(7);
    expect(nothing.code).toBe(2);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toMatch(/--do/);
  });

  it('says in one line that the daemon is not running, exit 5', async () => {
    const r = await heph(['next'], {
      env: baseEnv({ ...device.home.env, HEPH_SOCKET: join(device.home.dir, 'none.sock') }),
    });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^heph: hephd is not running .*`heph daemon start`\n$/);
    expect(r.stdout).toBe('');
  });

  it('round-trips a body byte for byte through doc --body - < file and get --body', async () => {
    const body = 'Ünïcödé ✓ 🎉 — 日本語\n\n  indented\r\nwindows line\ttab\nno newline at the end';
    const file = join(device.home.dir, 'notes.md');
    writeFileSync(file, body);
    const created = json(
      ok(await run(['doc', 'Round trip', '--body', '-', '--json'], readFileSync(file))),
    );
    const got = ok(await run(['get', str(created.id), '--body']));
    expect(Buffer.compare(got.out, Buffer.from(body, 'utf8'))).toBe(0);
    const asJson = json(ok(await run(['get', str(created.short_id), '--body', '--json'])));
    expect(asJson.body).toBe(body);
    const empty = json(ok(await run(['doc', 'Empty', '--body', '-', '--json'], '')));
    expect(ok(await run(['get', str(empty.id), '--body'])).stdout).toBe('');
  });

  it('edits a body in $EDITOR and saves it only when it changed', async () => {
    const created = json(ok(await run(['doc', 'Edit me', '--body', '-', '--json'], 'before ✓')));
    const id = str(created.id);
    const script = join(device.home.dir, 'editor.sh');
    writeFileSync(
      script,
      `#!/bin/sh\n[ "$(cat "$1")" = "before ✓" ] || exit 9\nprintf 'after ✓\\nline 2' > "$1"\n`,
    );
    chmodSync(script, 0o755);
    const saved = ok(await run(['edit-body', id], '', { EDITOR: script }));
    expect(saved.stdout).toMatch(/^Saved/);
    expect(ok(await run(['get', id, '--body'])).stdout).toBe('after ✓\nline 2');
    const same = json(ok(await run(['edit-body', id, '--json'], '', { VISUAL: 'true' })));
    expect(same.changed).toBe(false);
    const failing = await run(['edit-body', id], '', { EDITOR: 'false' });
    expect(failing.code).toBe(8);
    const none = await run(['edit-body', id]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/\$EDITOR/);
    expect(ok(await run(['get', id, '--body'])).stdout).toBe('after ✓\nline 2');
  });

  it('keeps an edit that arrived while $EDITOR was open, beside the one saved', async () => {
    const created = json(
      ok(await run(['doc', 'Shared note', '--body', '-', '--json'], 'one\ntwo\nthree\n')),
    );
    const id = str(created.id);
    const { HEPH } = await import('./helpers.js');
    // While "the editor" is open, another client changes the last line; then the user's edit of
    // the first line is saved.
    const script = join(device.home.dir, 'busy-editor.sh');
    writeFileSync(
      script,
      `#!/bin/sh
"${process.execPath}" "${HEPH}" call node.update '{"id":"${id}","body":"one\\ntwo\\nthree, from elsewhere\\n"}' >/dev/null || exit 9
printf 'one, from the editor\ntwo\nthree\n' > "$1"
`,
    );
    chmodSync(script, 0o755);
    const saved = json(ok(await run(['edit-body', id, '--json'], '', { EDITOR: script })));
    expect(saved).toMatchObject({ changed: true, merged: true });
    expect(ok(await run(['get', id, '--body'])).stdout).toBe(
      'one, from the editor\ntwo\nthree, from elsewhere\n',
    );
  });

  it('streams events as JSON lines until interrupted', async () => {
    const { spawn } = await import('node:child_process');
    const { HEPH } = await import('./helpers.js');
    const child = spawn(process.execPath, [HEPH, 'events', 'task.changed'], {
      env: device.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    while (!err.includes('listening')) await new Promise((r) => setTimeout(r, 20));
    ok(await run(['add', 'Evented task']));
    while (!out.includes('\n')) await new Promise((r) => setTimeout(r, 20));
    const first = JSON.parse(out.split('\n')[0]!) as { method: string };
    expect(first.method).toBe('task.changed');
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('has a command for every RPC method', async () => {
    const covered = new Set([
      // everyday verbs and their methods
      'add',
      'next',
      'task.done',
      'task.skip',
      'task.drop',
      'task.reopen',
      'task.create',
      'task.get',
      'task.update',
      'task.set_project',
      'task.delete',
      'list',
      'view',
      'log.append',
      'log.tail',
      'node.get',
      'node.create',
      'node.update',
      'node.delete',
      'node.restore',
      'node.list',
      'node.resolve',
      'trash',
      'journal.open',
      'journal.append',
      'node.append',
      'search',
      'link.add',
      'link.remove',
      'link.list',
      'link.backlinks',
      'wiki.links',
      'wiki.backlinks',
      'tag.add',
      'tag.remove',
      'tag.list',
      'project.create',
      'project.get',
      'project.move',
      'project.delete',
      'project.list',
      'conflicts.list',
      'conflicts.resolve',
      'export',
      'import',
      'backup',
      // the data halves of export and import, which a client-mode daemon runs them on
      // (`heph call` reaches them)
      'export.nodes',
      'import.notes',
      // what an editor completes and follows [[links]] with (`heph call` reaches them)
      'wiki.complete',
      'wiki.resolve',
      'status',
      'rpc.methods',
      'events.subscribe',
      'events.unsubscribe',
      'sync.now',
      'sync.status',
      // heph device name; heph auth enroll of a revoked device
      'device.name',
      'sync.rejoin',
      'repair.check',
      'repair.run',
      'doctor.check',
      // heph history, show --at, revert, undo [--list]
      'node.history',
      'node.at',
      'node.revert',
      'undo',
      'undo.list',
      // heph auth login and heph device …: the sign-in hephd holds for 15 minutes
      'auth.hold_admin',
      'auth.admin_call',
      'auth.admin_token',
    ]);
    const methods = (json(ok(await run(['methods', '--json']))).methods as { name: string }[]).map(
      (m) => m.name,
    );
    expect(methods.filter((m) => !covered.has(m))).toEqual([]);
  });
});
