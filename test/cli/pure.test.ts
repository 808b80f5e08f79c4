// The CLI's pure parts: the systemd unit renderer, date words, JSON-or-text values and the printer.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hephdNodeFlags, nodeFlagsMismatch } from '../../src/config/node-flags.js';
import { parseValue } from '../../src/cli/commands/admin.js';
import { parseDateArg, parseDateOrNone } from '../../src/cli/dates.js';
import { render } from '../../src/cli/output.js';
import { recurrencePhrase, taskLines } from '../../src/protocol/task-lines.js';
import { recurrenceFromPhrase } from '../../src/core/recur.js';
import { asFlags } from '../../src/cli/daemon-args.js';
import { closest, didYouMean, editDistance } from '../../src/core/suggest.js';
import { renderUnit, systemdQuote } from '../../src/cli/unit-file.js';

const SEED = Number(process.env.RENDER_SEED ?? 20261205);

describe('renderUnit', () => {
  it('renders a user unit that restarts hephd with absolute paths', () => {
    const unit = renderUnit({
      node: '/usr/bin/node',
      hephd: '/opt/heph/bin/hephd.js',
      args: ['--mode', 'local', '--socket', '/run/user/1000/heph/hephd.sock'],
    });
    expect(unit).toBe(
      [
        '[Unit]',
        'Description=heph daemon (notes and tasks)',
        '',
        '[Service]',
        'Type=simple',
        'ExecStart=/usr/bin/node --max-semi-space-size=4 /opt/heph/bin/hephd.js --mode local --socket /run/user/1000/heph/hephd.sock',
        'Restart=always',
        'RestartSec=2',
        '',
        '[Install]',
        'WantedBy=default.target',
        '',
      ].join('\n'),
    );
  });

  it('quotes spaces, quotes, backslashes, % specifiers and $ expansions', () => {
    expect(systemdQuote('/home/a b/heph.db')).toBe('"/home/a b/heph.db"');
    expect(systemdQuote('/x/100%')).toBe('/x/100%%');
    expect(systemdQuote('/x/$HOME')).toBe('/x/$$HOME');
    expect(systemdQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    const unit = renderUnit({
      node: '/n',
      hephd: '/h j/hephd.js',
      args: ['--db', '/d/50% off.db'],
    });
    expect(unit).toContain(
      'ExecStart=/n --max-semi-space-size=4 "/h j/hephd.js" --db "/d/50%% off.db"',
    );
  });
});

describe('date words', () => {
  const today = '2026-03-04'; // a Wednesday
  it('accepts dates, relative words, weekdays and offsets', () => {
    expect(parseDateArg('2026-12-31', today)).toBe('2026-12-31');
    expect(parseDateArg('today', today)).toBe(today);
    expect(parseDateArg('Tomorrow', today)).toBe('2026-03-05');
    expect(parseDateArg('yesterday', today)).toBe('2026-03-03');
    expect(parseDateArg('fri', today)).toBe('2026-03-06');
    expect(parseDateArg('wednesday', today)).toBe('2026-03-11'); // strictly after today
    expect(parseDateArg('+3d', today)).toBe('2026-03-07');
    expect(parseDateArg('+2w', today)).toBe('2026-03-18');
    expect(parseDateArg('+1m', today)).toBe('2026-04-04');
    expect(parseDateArg('-1y', today)).toBe('2025-03-04');
    expect(parseDateArg('in 3 days', today)).toBe('2026-03-07');
    expect(parseDateArg('in a week', today)).toBe('2026-03-11');
    expect(parseDateArg('next fri', today)).toBe('2026-03-06');
    expect(parseDateOrNone('none', today, '--do')).toBe(null);
  });
  it('refuses what is not a date, naming the flag', () => {
    expect(() => parseDateArg('2026-02-30', today, '--do')).toThrow(/--do/);
    expect(() => parseDateArg('someday', today, '--late-on')).toThrow(/--late-on/);
  });
});

describe('parseValue', () => {
  it('reads JSON when it parses, else keeps the text', () => {
    expect(parseValue('42')).toBe(42);
    expect(parseValue('"x"')).toBe('x');
    expect(parseValue('null')).toBe(null);
    expect(parseValue('["a"]')).toEqual(['a']);
    expect(parseValue('plain words')).toBe('plain words');
  });
});

describe('render', () => {
  const today = '2026-03-04';
  const data = {
    today: '2026-03-04',
    tasks: [
      {
        id: '01M82P44NEKDFTVQC8AHS2CBY5',
        title: 'Pay rent',
        state: 'outstanding',
        attention: 'red',
        do_date: null,
        late_on: '2026-03-01',
        recurrence: null,
      },
      {
        id: '01M82P45154GGXK5Z0YS79PTK7',
        short_id: 'ptk7ab',
        title: 'Call',
        state: 'outstanding',
        attention: 'white',
        do_date: '2026-03-05',
        late_on: null,
        recurrence: null,
      },
    ],
  };
  const out = { kind: 'tasks', data, empty: 'Nothing.' } as const;

  it('prints --json as one stable document, never coloured', () => {
    const s = render(out, { json: true, color: true, today: '2026-03-04' });
    expect(JSON.parse(s)).toEqual(data);
    expect(s).not.toContain('\x1b[');
  });

  it('prints tables with short ids, attention and relative dates; colour only when asked', () => {
    const plain = render(out, { json: false, color: false, today: '2026-03-04' });
    expect(plain).toBe(
      'ahs2cby5  red     Pay rent  · late 3d ago\nptk7ab    ' +
        '      ' +
        '  Call  · do tomorrow\n',
    );
    const coloured = render(out, { json: false, color: true, today: '2026-03-04' });
    expect(coloured).toContain('\x1b[31mred');
    expect(
      render(
        { kind: 'tasks', data: { tasks: [] }, empty: 'Nothing.' },
        { json: false, color: false, today: '2026-03-04' },
      ),
    ).toBe('Nothing.\n');
  });

  it('prints every part of a line: state, dates, recurrence and tags, in that order', () => {
    const task = {
      short_id: 'abc123',
      title: 'Water plants',
      state: 'done',
      attention: 'blue',
      do_date: '2026-03-02',
      late_on: '2026-03-10',
      recurrence: 'every week',
      tags: ['home', 'green'],
    };
    const one = (t: object, color: boolean) =>
      render({ kind: 'tasks', data: { tasks: [t] }, empty: '' }, { json: false, color, today });
    expect(one(task, false)).toBe(
      'abc123    blue    Water plants  · done  do 2d ago  late in 6d  ↻ every week  +home +green\n',
    );
    expect(one({ ...task, state: 'outstanding', late_on: '2026-03-03' }, true)).toBe(
      '\x1b[2mabc123  \x1b[0m  \x1b[34mblue  \x1b[0m  Water plants  \x1b[2m·\x1b[0m do 2d ago  ' +
        '\x1b[31m\x1b[1mlate yesterday\x1b[0m\x1b[0m  ↻ every week  +home +green\n',
    );
    expect(one({ ...task, state: 'dropped', do_date: null, late_on: null }, true)).toBe(
      '\x1b[2mabc123  \x1b[0m  \x1b[34mblue  \x1b[0m  Water plants  \x1b[2m·\x1b[0m ' +
        '\x1b[2mdropped\x1b[0m  ↻ every week  +home +green\n',
    );
  });

  it(`prints the daemon's lines of a list exactly as its object form (seed ${SEED})`, () => {
    const day = fc.constantFrom(
      '2026-03-01',
      '2026-03-04',
      '2026-03-05',
      '2026-03-09',
      '2026-04-30',
    );
    const task = fc.record({
      id: fc.stringMatching(/^[0-9A-Z]{26}$/),
      short_id: fc.string(),
      title: fc.string({ unit: 'grapheme' }),
      state: fc.constantFrom('outstanding', 'done', 'dropped'),
      attention: fc.constantFrom('red', 'orange', 'blue', 'white'),
      do_date: fc.option(day, { nil: null }),
      late_on: fc.option(day, { nil: null }),
      recurrence: fc.option(fc.constantFrom('FREQ=WEEKLY', 'every week', ''), { nil: null }),
    });
    fc.assert(
      fc.property(
        fc.array(task, { maxLength: 12 }),
        fc.option(fc.record({ title: fc.string(), short_id: fc.string() }), { nil: undefined }),
        fc.boolean(),
        (tasks, coming, color) => {
          const extra = coming === undefined ? {} : { coming };
          const shortOf = (id: string) => tasks.find((t) => t.id === id)!.short_id;
          const text = taskLines(tasks, shortOf, color, today);
          const lines = { today, count: tasks.length, text, ...extra };
          const opts = { json: false, color, today };
          expect(render({ kind: 'task-text', data: lines, empty: 'None.' }, opts)).toBe(
            render({ kind: 'tasks', data: { today, tasks, ...extra }, empty: 'None.' }, opts),
          );
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('prints a raw body exactly', () => {
    expect(
      render(
        { kind: 'raw', text: 'a\nb', data: {} },
        { json: false, color: false, today: '2026-03-04' },
      ),
    ).toBe('a\nb');
  });
});

describe('did you mean', () => {
  it('suggests the closest names: typos, swaps, prefixes; nothing when far', () => {
    const names = ['next', 'add', 'done', 'status', 'start', 'search', 'show', 'socket-path'];
    expect(closest('nxt', names)).toEqual(['next']);
    expect(closest('nxet', names)).toEqual(['next']); // an adjacent swap is one edit
    expect(closest('stauts', names)).toEqual(['status']);
    expect(closest('socket', names)).toEqual(['socket-path']);
    expect(closest('frobnicate', names)).toEqual([]);
    expect(closest('', names)).toEqual([]);
    expect(didYouMean('ad', ['add', 'and'])).toBe(' Did you mean "add" or "and"?');
    expect(didYouMean('jsn', ['json'], (n) => `--${n}`)).toBe(' Did you mean "--json"?');
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('kept daemon options in the unit', () => {
  it('renders them into ExecStart in a fixed order, quoted for systemd', () => {
    const flags = asFlags({
      'sync-interval': '45',
      'insecure-http': true,
      'hub-url': 'https://hub.example.org',
      'log-level': 'debug',
      'device-name': 'Work laptop',
    });
    expect(flags).toEqual([
      '--hub-url',
      'https://hub.example.org',
      '--log-level',
      'debug',
      '--sync-interval',
      '45',
      '--insecure-http',
      '--device-name',
      'Work laptop',
    ]);
    const unit = renderUnit({ node: '/n', hephd: '/h.js', args: ['--db', '/a b/x.db', ...flags] });
    expect(unit).toContain(
      'ExecStart=/n --max-semi-space-size=4 /h.js --db "/a b/x.db" --hub-url https://hub.example.org --log-level debug --sync-interval 45 --insecure-http --device-name "Work laptop"',
    );
  });
});

describe("hephd's node flags", () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const device = hephdNodeFlags('local');
  const hub = hephdNodeFlags('server');

  it('are one set for the device (local and client) and another for the hub', () => {
    expect(device).toEqual(['--max-semi-space-size=4']);
    expect(hephdNodeFlags('client')).toEqual(device);
    expect(hub).toEqual(['--max-semi-space-size=16']);
  });

  it('are the same in the hephd command, npm start and the unit', () => {
    const launcher = readFileSync(join(root, 'bin', 'hephd'), 'utf8');
    expect(launcher.split('\n')[0]).toBe('#!/bin/sh');
    expect(launcher).toContain(`\ndevice_flags='${device.join(' ')}'\n`);
    expect(launcher).toContain(`\nhub_flags='${hub.join(' ')}'\n`);
    // The entry it runs is no command of its own: run without the launcher, it has no flags.
    expect(readFileSync(join(root, 'bin', 'hephd.js'), 'utf8')).not.toMatch(/^#!/);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      scripts: { start: string };
    };
    expect(pkg.bin.hephd).toBe('bin/hephd');
    expect(pkg.scripts.start).toBe('bin/hephd --mode local');
    const unit = renderUnit({ node: '/n', hephd: '/h.js', args: ['--mode', 'local'] });
    expect(unit).toContain(`ExecStart=/n ${device.join(' ')} /h.js --mode local\n`);
  });

  it('are checked at start: from the command line, NODE_OPTIONS, or missing', () => {
    expect(nodeFlagsMismatch('server', ['--max-semi-space-size=16'], undefined)).toEqual([]);
    expect(nodeFlagsMismatch('server', [], '--max-semi-space-size=16')).toEqual([]);
    expect(nodeFlagsMismatch('server', [], '  --max_semi_space_size=16  ')).toEqual([]);
    expect(nodeFlagsMismatch('server', ['--max-semi-space-size', '16'], undefined)).toEqual([]);
    expect(nodeFlagsMismatch('local', ['--cpu-prof', '--max-semi-space-size=4'], '')).toEqual([]);
    // The command line is read after NODE_OPTIONS, as node reads them.
    expect(
      nodeFlagsMismatch('server', ['--max-semi-space-size=4'], '--max-semi-space-size=16'),
    ).toEqual(hub);
    expect(
      nodeFlagsMismatch('server', ['--max-semi-space-size=16'], '--max-semi-space-size=4'),
    ).toEqual([]);
    expect(nodeFlagsMismatch('server', ['--max-semi-space-size=4'], undefined)).toEqual(hub);
    expect(nodeFlagsMismatch('server', [], undefined)).toEqual(hub);
    expect(nodeFlagsMismatch('local', [], undefined)).toEqual(device);
    expect(nodeFlagsMismatch('local', ['--max-semi-space-size=16'], undefined)).toEqual(device);
  });
});

describe('tag output', () => {
  const plain = { json: false, color: false, today: '2026-12-05' };
  it('says there are no tags when the vault has none, and names a node’s own tags', () => {
    expect(render({ kind: 'tags', data: { tags: [] } }, plain)).toBe('No tags.\n');
    expect(
      render({ kind: 'tags', data: { id: '01M945E5HBPNVNF1DEQYW2W56Z', tags: [] } }, plain),
    ).toMatch(/^\S+: no tags\n$/);
    expect(
      render({ kind: 'tags', data: { id: '01M945E5HBPNVNF1DEQYW2W56Z', tags: ['home'] } }, plain),
    ).toMatch(/^\S+: \+home\n$/);
  });
});

describe('recurrence as words', () => {
  it(`reads back as the rule it names, for every phrase quick add takes (seed ${SEED})`, () => {
    const unit = fc.constantFrom('day', 'week', 'month', 'year');
    const day = fc.constantFrom('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun');
    const phrase = fc.oneof(
      unit,
      fc.tuple(fc.integer({ min: 2, max: 99 }), unit).map(([n, u]) => `${n} ${u}s`),
      fc.uniqueArray(day, { minLength: 1, maxLength: 7 }).map((d) => d.join(',')),
      fc.constantFrom('weekday', 'weekend'),
    );
    fc.assert(
      fc.property(phrase, (p) => {
        const rule = recurrenceFromPhrase(p)!;
        const words = recurrencePhrase(rule);
        expect(words).toMatch(/^every /);
        expect(recurrenceFromPhrase(words.slice('every '.length))).toBe(rule);
      }),
      { seed: SEED, numRuns: 300 },
    );
    expect(recurrencePhrase('FREQ=MONTHLY')).toBe('every month');
    expect(recurrencePhrase('FREQ=WEEKLY;INTERVAL=2')).toBe('every 2 weeks');
    expect(recurrencePhrase('FREQ=WEEKLY;BYDAY=MO,TH')).toBe('every mon,thu');
    expect(recurrencePhrase('FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR')).toBe('every weekday');
  });

  it('keeps a rule that says more than the words can', () => {
    for (const rule of [
      'FREQ=MONTHLY;BYMONTHDAY=1',
      'FREQ=WEEKLY;COUNT=3',
      'FREQ=MONTHLY;BYDAY=1MO',
      'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO',
      'FREQ=HOURLY',
      'FREQ=DAILY;INTERVAL=0',
      'FREQ=DAILY;FREQ=WEEKLY',
      'every week',
      '',
    ]) {
      expect(recurrencePhrase(rule)).toBe(rule);
    }
  });
});
