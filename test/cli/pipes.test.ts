// Journals and notes from pipes: text is read from standard input only when the user writes `-`
// (a CLI spawned with an open pipe never waits on it), and empty input changes nothing.

import { spawnSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addDays } from '../../src/core/dates.js';
import { heph, HEPH, json, localToday, ok, useDevice } from './helpers.js';

const device = useDevice();
const run = (args: string[], input?: string) => device.run(args, input);
/** Standard input left open and never written: a command that read it would hang. */
const runOpen = (args: string[]) => heph(args, { env: device.env, openStdin: true });

async function body(id: string): Promise<string> {
  return ok(await run(['get', id, '--body'])).stdout;
}

describe('heph journal add', () => {
  it("adds a line to today's journal, or another day's with --date", async () => {
    const today = localToday();
    const first = ok(await runOpen(['journal', 'add', 'met', 'Anna']));
    expect(first.stdout).toBe(`Added to the journal for ${today} (new)\n`);
    ok(await runOpen(['journal', 'add', 'then lunch']));
    expect(await body(`journal:${today}`)).toBe('met Anna\nthen lunch\n');
    const j = json(ok(await runOpen(['journal', 'add', 'late entry', '--date', '-1d', '--json'])));
    expect(j.journal).toMatchObject({ date: addDays(today, -1), body: 'late entry\n' });
    expect((await run(['journal', 'add', 'x', '--date', 'someday'])).code).toBe(2);
  });

  it('reads the lines from stdin with -, and an empty input changes nothing', async () => {
    const date = '2031-05-06';
    ok(await run(['journal', 'add', '-', '--date', date], 'line one\nline two\n'));
    expect(await body(`journal:${date}`)).toBe('line one\nline two\n');
    const before = json(ok(await run(['status', '--json']))).ops;
    for (const empty of ['', '  \n\n']) {
      const r = ok(await run(['journal', 'add', '-', '--date', '2031-05-07'], empty));
      expect(r.stdout).toMatch(/^Nothing added: the input was empty/);
    }
    const j = json(ok(await run(['journal', 'add', '-', '--json'], '')));
    expect(j).toEqual({ changed: false });
    expect(json(ok(await run(['status', '--json']))).ops).toBe(before);
    const nodes = json(ok(await run(['nodes', '--kind', 'journal', '--json']))).nodes as {
      id: string;
    }[];
    expect(nodes.map((n) => n.id)).not.toContain('journal:2031-05-07');
  });
});

describe('heph doc', () => {
  it('--append - adds stdin to a note; --append TEXT adds the text', async () => {
    const created = json(ok(await runOpen(['doc', 'Piped note', '--body', '# Piped', '--json'])));
    ok(await run(['doc', 'Piped note', '--append', '-'], 'from a pipe\n'));
    ok(await runOpen(['doc', 'Piped note', '--append', 'typed']));
    expect(await body(created.id)).toBe('# Piped\nfrom a pipe\ntyped\n');
    const empty = ok(await run(['doc', 'Piped note', '--append', '-'], ''));
    expect(empty.stdout).toMatch(/^Nothing added/);
    expect(await body(created.id)).toBe('# Piped\nfrom a pipe\ntyped\n');
  });

  it('refuses to append to a note that does not exist, or with --body', async () => {
    // The note is looked up before any input is read.
    const missing = await runOpen(['doc', 'No such note', '--append', '-']);
    expect(missing.code).toBe(3);
    expect((await run(['doc', 'Redirected', '--json'])).code).toBe(0); // an empty pipe is fine
    const listed = json(ok(await run(['nodes', '--kind', 'doc', '--json']))).nodes as {
      title: string;
    }[];
    expect(listed.filter((n) => n.title === 'No such note')).toEqual([]);
    const both = await runOpen(['doc', 'Piped note', '--append', 'x', '--body', 'y']);
    expect(both.code).toBe(2);
  });

  it('reads the body from stdin only with --body -, never from an open pipe', async () => {
    const fromPipe = json(
      ok(await run(['doc', 'From stdin', '--body', '-', '--json'], 'piped body')),
    );
    expect(await body(fromPipe.id)).toBe('piped body');
    // Without `-` an open, silent stdin is not read: the command returns at once.
    const plain = json(ok(await runOpen(['doc', 'No body', '--json'])));
    expect(await body(plain.id)).toBe('');
  });

  it('says how when a file is redirected in without --body -, and creates nothing', () => {
    const file = join(device.home.dir, 'notes.md');
    writeFileSync(file, '# Notes\n');
    const fd = openSync(file, 'r');
    try {
      const r = spawnSync(process.execPath, [HEPH, 'doc', 'Redirected'], {
        env: device.env,
        stdio: [fd, 'pipe', 'pipe'],
        encoding: 'utf8',
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/heph doc TITLE --body - < FILE/);
    } finally {
      closeSync(fd);
    }
  });
});

describe('a reader that stops early', () => {
  it('`heph next | head -1` ends quietly: no stack trace, exit status 0', async () => {
    const { connect } = await import('../../src/transport/socket-client.js');
    const c = await connect(device.env.HEPH_SOCKET!);
    try {
      // More than a pipe holds (64 KB), so heph is still writing when head has gone (red
      // tasks are never cut from next).
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 2000; i++)
        calls.push(
          c.call('task.create', {
            title: `Long list task ${i} `.padEnd(60, '.'),
            attention: 'red',
          }),
        );
      await Promise.all(calls);
    } finally {
      await c.close();
    }
    const r = spawnSync(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${HEPH}" next | head -1; echo "heph exit \${PIPESTATUS[0]}" >&2`,
      ],
      { env: device.env, encoding: 'utf8' },
    );
    expect(r.stdout).toMatch(/Long list task/);
    expect(r.stdout.split('\n')).toHaveLength(2);
    expect(r.stderr).toBe('heph exit 0\n');
  });
});

describe('input a command does not read', () => {
  it('more than a pipe holds, given to a command that exits without reading it: its result stands', async () => {
    const r = await heph(['--version'], { env: device.env, input: 'x'.repeat(1 << 20) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\d+\.\d+\.\d+/);
  });
});
