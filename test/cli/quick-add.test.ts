// Quick add and `heph next` as a newcomer meets them: every date form of `heph help dates`, words
// kept in the title said on stderr, --strict and --dry-run, the syntax in --help, and a `next`
// that says what is coming instead of dead-ending.

import { describe, expect, it } from 'vitest';
import { addDays, addMonths } from '../../src/core/dates.js';
import { render } from '../../src/cli/output.js';
import {
  baseEnv,
  heph,
  json,
  localToday,
  ok,
  startDaemon,
  tempHome,
  useDevice,
} from './helpers.js';

const device = useDevice();
const run = (args: string[]) => device.run(args);

async function titles(): Promise<string[]> {
  const r = json(ok(await run(['list', '--json'])));
  return (r.tasks as { title: string }[]).map((t) => t.title);
}

describe('heph add', () => {
  it('reads every form of the date table, bare, after "on" and after "due"', async () => {
    const today = localToday();
    const cases: [string, string, string][] = [
      ['Overdue thing due yesterday', 'late_on', addDays(today, -1)],
      ['Past thing -2d', 'do_date', addDays(today, -2)],
      ['Earlier thing on -1w', 'do_date', addDays(today, -7)],
      ['Soon thing +3d', 'do_date', addDays(today, 3)],
      ['Dated thing due 2030-01-31', 'late_on', '2030-01-31'],
    ];
    for (const [line, field, date] of cases) {
      const r = json(ok(await run(['add', line, '--json'])));
      expect(r.task[field], line).toBe(date);
      expect(r.task.title).toMatch(/^(Overdue|Past|Earlier|Soon|Dated) thing$/);
      expect(r.warnings).toEqual([]);
    }
    // Unquoted words too: -2d is a word of the line, not an option.
    const bare = json(ok(await run(['add', 'Filed', 'late', 'due', '-2d', '--json'])));
    expect(bare.task).toMatchObject({ title: 'Filed late', late_on: addDays(today, -2) });
  });

  it('reads "in 3 days" and the like as dates, in quick add and in --do/--late-on', async () => {
    const today = localToday();
    const cases: [string, string, string][] = [
      ['Paint the fence in 3 days', 'do_date', addDays(today, 3)],
      ['Paint the gate in 2 weeks', 'do_date', addDays(today, 14)],
      ['Paint the shed in a week', 'do_date', addDays(today, 7)],
      ['Paint the door in 1 month', 'do_date', addMonths(today, 1)],
      ['Paint the roof due in 10 days', 'late_on', addDays(today, 10)],
    ];
    for (const [line, field, date] of cases) {
      const r = json(ok(await run(['add', line, '--json'])));
      expect([r.task.title, r.task[field], r.warnings], line).toEqual([
        line.replace(/ (due )?in .*$/, ''),
        date,
        [],
      ]);
    }
    // Before the end of the line it is title, and heph says so (--strict refuses it).
    const mid = ok(await run(['add', 'Read in 3 days book']));
    expect(mid.stdout).toMatch(/^Added .*Read in 3 days book/);
    expect(mid.stderr).toBe(
      'heph: warning: "in 3 days" is not at the end of the line, so it is not read as a date; kept in the title\n',
    );
    expect((await run(['add', 'Read in 3 days book', '--strict'])).code).toBe(2);
    // "in" as prose is left alone, without a warning.
    const prose = ok(await run(['add', 'Put it in the box']));
    expect(prose.stderr).toBe('');
    // The flags take the same phrases.
    const id = json(ok(await run(['task', 'Flagged thing', '--json']))).task.short_id;
    const edited = json(
      ok(await run(['edit', id, '--do', 'in 2 weeks', '--late-on', 'in a month', '--json'])),
    );
    expect(edited).toMatchObject({ do_date: addDays(today, 14), late_on: addMonths(today, 1) });
    const next = json(ok(await run(['edit', id, '--do', 'next fri', '--json'])));
    expect(next.do_date).toBe(json(ok(await run(['add', 'Fri thing fri', '--json']))).task.do_date);
    const bad = await run(['edit', id, '--do', 'in 3 dayz']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^heph: --do: "in 3 dayz" is not a date \(.*in 3 days/);
    const topic = ok(await run(['help', 'dates'])).stdout;
    expect(topic).toMatch(/in 3 days, in 2 weeks/);
    expect(topic).toMatch(/next fri/);
  });

  it('keeps words it cannot read in the title and says so on stderr, also with --json', async () => {
    const human = ok(await run(['add', 'Water the ferns every fortnite']));
    expect(human.stdout).toMatch(/^Added .*Water the ferns every fortnite/);
    expect(human.stderr).toBe(
      'heph: warning: "every fortnite" is not a recurrence; kept in the title\n',
    );
    const r = ok(await run(['add', 'Pay the fine due someday', '--json']));
    expect(json(r).warnings).toEqual(['"due someday" is not a date; kept in the title']);
    expect(json(r).task.title).toBe('Pay the fine due someday');
    expect(r.stderr).toContain('"due someday" is not a date');
    expect(await titles()).toContain('Pay the fine due someday');
  });

  it('--strict refuses such a line (exit 2) and adds nothing', async () => {
    const r = await run(['add', 'Strictly every fortnite', '--strict']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^heph: .*"every fortnite" is not a recurrence; nothing was added/);
    expect(r.stdout).toBe('');
    expect(await titles()).not.toContain('Strictly every fortnite');
    const fine = json(ok(await run(['add', 'Strictly every week', '--strict', '--json'])));
    expect(fine.task.recurrence).toBe('FREQ=WEEKLY');
  });

  it('--dry-run shows what would be added, and adds nothing', async () => {
    const before = await titles();
    const r = ok(await run(['add', 'Dry run task tomorrow !red #Nowhere +x', '--dry-run']));
    expect(r.stdout).toMatch(/^Would add .*red .*Dry run task/);
    expect(r.stdout).toMatch(/Would create project Nowhere/);
    expect(r.stdout).toMatch(/nothing was added/);
    const j = json(ok(await run(['add', 'Dry run task tomorrow #Nowhere', '--dry-run', '--json'])));
    expect(j).toMatchObject({
      dry_run: true,
      task: { title: 'Dry run task', do_date: addDays(localToday(), 1) },
      project: { id: null, title: 'Nowhere' },
      created_project: true,
    });
    expect(await titles()).toEqual(before);
    const projects = json(ok(await run(['project', 'list', '--json']))).projects as unknown[];
    expect(projects).toEqual([]);
  });

  it('--help shows the whole syntax with examples; heph help quick-add at length', async () => {
    const help = ok(await run(['add', '--help'])).stdout;
    for (const part of ['!red', '#Project', '+tag', 'due DATE', 'every', '--strict', '--dry-run']) {
      expect(help).toContain(part);
    }
    expect(help).toContain('heph add "Pay rent tomorrow !red #Home +bills every month"');
    const topic = ok(await run(['help', 'quick-add'])).stdout;
    expect(topic.length).toBeGreaterThan(help.length);
    expect(topic).toMatch(/Quoting/);
    expect(topic).toMatch(/--strict refuses the line/);
  });
});

describe('heph next', () => {
  it('says what is coming when nothing is next, and what to do when nothing is', async () => {
    const h = tempHome();
    const d = await startDaemon(h.dir);
    try {
      const e = baseEnv({ ...h.env, HEPH_SOCKET: d.socket });
      const empty = ok(await heph(['next'], { env: e }));
      expect(empty.stdout).toMatch(/^Nothing to do now\. Nothing is scheduled either; add a task/);
      ok(await heph(['add', 'Pay rent tomorrow'], { env: e }));
      ok(await heph(['add', 'Parked soon tomorrow !blue'], { env: e }));
      ok(await heph(['add', 'Later thing +5d'], { env: e }));
      const r = ok(await heph(['next'], { env: e }));
      expect(r.stdout).toMatch(/^Nothing to do now\. Next up: Pay rent \(tomorrow\)/);
      const j = json(ok(await heph(['next', '--json'], { env: e })));
      expect(j.tasks).toEqual([]);
      expect(j.coming).toMatchObject({ title: 'Pay rent', do_date: addDays(localToday(), 1) });
    } finally {
      await d.stop();
      h.cleanup();
    }
  });

  it('prints from the row form exactly what the full form shows, which --json keeps', async () => {
    for (const line of [
      'Pay rent due yesterday !red +Home',
      'Call the plumber today !orange',
      'Water plants every day',
      'Parked idea !blue',
      'Plain thing',
      'Soon thing due +3d',
    ])
      ok(await run(['add', line]));
    const full = json(ok(await run(['next', '--json'])));
    // --json: every task an object with its id and creation time, as before.
    // (The device is shared with the tests above, whose tasks are listed too.)
    expect(full.tasks.length).toBeGreaterThanOrEqual(6);
    for (const t of full.tasks)
      expect(Object.keys(t).sort()).toEqual([
        'attention',
        'created',
        'do_date',
        'id',
        'late_on',
        'recurrence',
        'short_id',
        'state',
        'title',
      ]);
    const printed = ok(await run(['next'])).stdout;
    const today = localToday();
    expect(printed).toBe(
      render(
        { kind: 'tasks', data: full, empty: 'Nothing to do now.' },
        { json: false, color: false, today },
      ),
    );
    expect(printed).toMatch(/Pay rent {2}· late yesterday/);
    const two = ok(await run(['next', '-n', '2'])).stdout;
    expect(two.split('\n').slice(0, 2).join('\n')).toBe(printed.split('\n').slice(0, 2).join('\n'));
  });
});
