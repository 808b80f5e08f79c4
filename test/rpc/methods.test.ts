/* eslint-disable @typescript-eslint/no-explicit-any -- JSON-RPC replies are read loosely here */
// Every daemon method through the real registry and dispatcher (no socket): good calls work,
// and bad params get -32602 naming the field, with nothing stored.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setup, type Env } from './env.js';
import { render } from '../../src/cli/output.js';

describe('daemon methods', () => {
  let env: Env;
  beforeEach(() => {
    env = setup();
  });
  afterEach(() => env.cleanup());

  it('lists every method with a param schema', async () => {
    const r = await env.call('rpc.methods');
    const names = (r.result.methods as { name: string; params: object }[]).map((m) => m.name);
    for (const n of [
      'node.get',
      'node.create',
      'node.update',
      'node.delete',
      'node.restore',
      'node.list',
      'trash',
      'task.create',
      'task.done',
      'task.skip',
      'task.drop',
      'task.set_project',
      'add',
      'next',
      'list',
      'view',
      'project.create',
      'project.move',
      'tag.add',
      'journal.open',
      'log.append',
      'log.tail',
      'search',
      'export',
      'import',
      'backup',
      'conflicts.list',
      'conflicts.resolve',
      'status',
      'events.subscribe',
      'rpc.methods',
    ]) {
      expect(names).toContain(n);
    }
  });

  it('next in rows and lines holds what the object form holds, in its order, for any limit', async () => {
    const specs = [
      { title: 'Late white', late_on: '2026-11-20' },
      { title: 'Red one', attention: 'red' },
      { title: 'Orange', attention: 'orange', recurrence: 'FREQ=WEEKLY', do_date: '2026-11-21' },
      { title: 'Red late', attention: 'red', late_on: '2026-11-21' },
      { title: 'White' },
      { title: 'Red two', attention: 'red' },
      { title: 'Not yet', attention: 'red', do_date: '2026-12-01' },
    ];
    const ids: string[] = [];
    for (const p of specs) ids.push((await env.call('task.create', p)).result.task.id);
    const same = async (params: Record<string, unknown>) => {
      const objects = (await env.call('next', params)).result;
      const rows = (await env.call('next', { ...params, form: 'rows' })).result;
      expect(rows.rows).toEqual(
        objects.tasks.map((t: any) => [
          t.short_id,
          t.title,
          t.state,
          t.attention,
          t.do_date,
          t.late_on,
          t.recurrence,
        ]),
      );
      expect(rows.today).toBe(objects.today);
      expect(rows.coming).toEqual(objects.coming);
      // The lines form: the text the CLI prints for the object form, with and without colour.
      for (const color of [false, true]) {
        const lines = (
          await env.call('next', { ...params, form: 'lines', ...(color && { color }) })
        ).result;
        expect(lines.count).toBe(objects.tasks.length);
        expect(lines.today).toBe(objects.today);
        expect(lines.coming).toEqual(objects.coming);
        const opts = { json: false, color, today: params.today as string };
        expect(render({ kind: 'task-text', data: lines, empty: 'None.' }, opts)).toBe(
          render({ kind: 'tasks', data: objects, empty: 'None.' }, opts),
        );
        expect(lines.text.split('\n').length).toBe(Math.max(1, objects.tasks.length));
      }
      return objects;
    };
    // Red tasks past the limit are kept.
    expect((await same({ today: '2026-11-23', limit: 1 })).tasks).toHaveLength(4);
    await same({ today: '2026-11-23', limit: 3 });
    await same({ today: '2026-11-23' });
    await same({ today: '2026-12-01' });
    // Nothing next: both forms name the task that is coming.
    for (const id of ids.slice(0, -1)) await env.call('task.drop', { id });
    const none = await same({ today: '2026-11-23' });
    expect(none).toMatchObject({ tasks: [], coming: { title: 'Not yet' } });
  });

  it('search and the project methods give the short id node.get gives', async () => {
    const project = (await env.call('project.create', { title: 'Garden' })).result;
    const doc = (await env.call('node.create', { kind: 'doc', title: 'Garden plan' })).result;
    const shortOf = async (id: string) => (await env.call('node.get', { id })).result.short_id;
    const [ps, ds] = [await shortOf(project.id), await shortOf(doc.id)];
    expect(ps).toMatch(/^[0-9a-z]{6,}$/);
    expect(project.short_id).toBe(ps);
    expect((await env.call('project.get', { id: ps })).result.short_id).toBe(ps);
    expect((await env.call('project.list')).result.projects).toEqual([
      expect.objectContaining({ id: project.id, short_id: ps }),
    ]);
    const hits = (await env.call('search', { query: 'garden' })).result.results;
    expect(hits.map((h: any) => [h.id, h.short_id]).sort()).toEqual(
      [
        [project.id, ps],
        [doc.id, ds],
      ].sort(),
    );
    expect((await env.call('project.delete', { id: ps })).result.short_id).toBe(ps);
  });

  it('runs a day of work through the methods', async () => {
    const added = await env.call('add', {
      text: 'Pay rent tomorrow !red #Home +bills every month',
      today: '2026-11-22',
    });
    expect(added.error).toBeUndefined();
    const task = added.result.task;
    expect(task).toMatchObject({
      title: 'Pay rent',
      attention: 'red',
      do_date: '2026-11-23',
      recurrence: 'FREQ=MONTHLY',
    });
    expect(added.result.created_project).toBe(true);
    const next = await env.call('next', { today: '2026-11-23' });
    expect(next.result.tasks.map((t: { id: string }) => t.id)).toEqual([task.id]);
    const short = (await env.call('node.get', { id: task.id })).result.short_id as string;
    // The row form: the same task as an array of the fields a list prints, named once.
    const rows = await env.call('next', { today: '2026-11-23', form: 'rows' });
    expect(rows.result).toEqual({
      today: '2026-11-23',
      columns: ['short_id', 'title', 'state', 'attention', 'do_date', 'late_on', 'recurrence'],
      rows: [[short, 'Pay rent', 'outstanding', 'red', '2026-11-23', null, 'FREQ=MONTHLY']],
    });
    expect((await env.call('next', { today: '2026-11-23', form: 'table' })).error.message).toMatch(
      /^form: /,
    );
    // The lines form: the task as `heph next` prints it.
    const lines = await env.call('next', { today: '2026-11-23', form: 'lines' });
    expect(lines.result).toEqual({
      today: '2026-11-23',
      count: 1,
      text: `${short.padEnd(8)}  red     Pay rent  · do today  ↻ every month`,
    });
    // Colour belongs to the lines form only, and is a boolean.
    for (const bad of [
      { color: true },
      { form: 'rows', color: false },
      { form: 'lines', color: 1 },
    ]) {
      const r = await env.call('next', { today: '2026-11-23', ...bad });
      expect(r.error).toMatchObject({ code: -32602, data: { field: 'color' } });
    }
    expect(short.length).toBeGreaterThanOrEqual(6);
    const done = await env.call('task.done', { id: short, today: '2026-11-23' });
    expect(done.result).toMatchObject({ rolled: true, next_do_date: '2026-12-23' });
    const doc = await env.call('node.create', {
      kind: 'doc',
      title: 'Rent notes',
      body: 'about [[Pay rent]]',
    });
    expect((await env.call('wiki.links', { id: doc.result.id })).result.links[0].node.id).toBe(
      task.id,
    );
    expect((await env.call('search', { query: 'notes' })).result.results[0].id).toBe(doc.result.id);
    await env.call('node.delete', { id: doc.result.id });
    expect((await env.call('trash')).result.nodes.map((n: { id: string }) => n.id)).toEqual([
      doc.result.id,
    ]);
    await env.call('node.restore', { id: doc.result.id });
    const status = (await env.call('status')).result;
    expect(status).toMatchObject({ mode: 'local', replica_id: env.store.origin, conflicts: 0 });
    // The digest is computed only when asked for (it reads every node).
    expect(status).not.toHaveProperty('digest');
    const withDigest = (await env.call('status', { digest: true })).result;
    expect(withDigest.digest).toBe(env.store.digest());
  });

  it('makes each writing command one change, however many ops it writes', async () => {
    const pendingChanges = () => env.store.countOwnChangesSince(0);
    const pendingOps = () => env.store.countOwnOpsSince(0);
    const one = async (method: string, params: unknown): Promise<any> => {
      const [c0, o0] = [pendingChanges(), pendingOps()];
      const r = await env.call(method, params);
      expect(r.error, method).toBeUndefined();
      expect(pendingChanges() - c0, `${method}: changes`).toBe(1);
      expect(pendingOps() - o0, `${method}: ops`).toBeGreaterThan(0);
      return r.result;
    };
    const today = '2026-11-22';
    const added = await one('add', {
      text: 'Pay rent tomorrow !red #Home +bills every month',
      today,
    });
    const id = added.task.id as string;
    await one('task.done', { id, today: '2026-11-23' });
    await one('task.skip', { id, today: '2026-11-23' });
    await one('task.update', { id, title: 'Pay the rent', late_on: '2026-12-30' });
    const other = await one('task.create', { title: 'Call the plumber', tags: ['house'], today });
    await one('task.set_project', { id: other.task.id, project: 'Home' });
    const doc = await one('node.create', {
      kind: 'doc',
      title: 'Notes',
      body: 'about [[Pay the rent]]',
    });
    await one('node.update', { id: doc.id, body: 'about [[Pay the rent]] and more' });
    await one('tag.add', { id: doc.id, name: 'later' });
    await one('link.add', { src: doc.id, dst: id, type: 'parent' });
    await one('project.create', { title: 'Garden' });
    await one('project.move', { id: 'Garden', parent: 'Home' });
    await one('journal.open', { date: '2026-11-22' });
    await one('log.append', { id, text: 'called the landlord', today });
    await one('node.delete', { id: doc.id });
    await one('node.restore', { id: doc.id });
    // The first op of a change carries no change id; every later one names it.
    const ops = env.store.opsSince(0, 10_000).ops;
    const firsts = ops.filter((o) => o.payload.change === undefined);
    expect(firsts).toHaveLength(pendingChanges());
    for (const o of ops) {
      if (o.payload.change !== undefined)
        expect(firsts.map((f) => f.id)).toContain(o.payload.change);
    }
  });

  it('link.backlinks with type wiki gives the notes wiki.backlinks gives, as links', async () => {
    const create = async (title: string, body = '', aliases?: string[]) =>
      (await env.call('node.create', { kind: 'doc', title, body, ...(aliases && { aliases }) }))
        .result.id as string;
    const target = await create('Garden plan', '', ['Plan']);
    const byTitle = await create('Seeds', 'see [[Garden plan]] and again [[Garden plan|it]]');
    const byAlias = await create('Tools', 'for the [[Plan]]');
    const byId = await create('Log', `[[${target}]]`);
    const gone = await create('Old', 'was about [[Garden plan]]');
    await env.call('node.delete', { id: gone });
    const inCode = await create('Code', '`[[Garden plan]]`');
    const typed = await create('Parent');
    expect((await env.call('link.add', { src: typed, dst: target, type: 'parent' })).error).toBe(
      undefined,
    );

    const wiki = (await env.call('link.backlinks', { id: 'Garden plan', type: 'wiki' })).result;
    const short = async (id: string) =>
      (await env.call('node.get', { id })).result.short_id as string;
    const expected = await Promise.all(
      [byTitle, byAlias, byId].map(async (src) => ({
        id: `${src}|wiki|${target}`,
        src,
        dst: target,
        type: 'wiki',
        src_short_id: await short(src),
        dst_short_id: await short(target),
      })),
    );
    expect(wiki.links).toEqual(expected.sort((a, b) => (a.id < b.id ? -1 : 1)));
    const sources = (await env.call('wiki.backlinks', { id: target })).result.backlinks.map(
      (b: { id: string }) => b.id,
    );
    expect(wiki.links.map((l: { src: string }) => l.src).sort()).toEqual([...sources].sort());
    expect(sources).not.toContain(gone);
    expect(sources).not.toContain(inCode);

    // Without a type: the typed links, as before (the CLI asks wiki.backlinks separately).
    const all = (await env.call('link.backlinks', { id: target })).result.links;
    expect(all).toEqual([
      {
        id: `${typed}|parent|${target}`,
        src: typed,
        dst: target,
        type: 'parent',
        src_short_id: await short(typed),
        dst_short_id: await short(target),
      },
    ]);
    expect((await env.call('link.backlinks', { id: byTitle, type: 'wiki' })).result.links).toEqual(
      [],
    );
  });

  it('streams change events to a subscriber until it unsubscribes', async () => {
    const sub = (await env.call('events.subscribe', { topics: ['node.changed', 'task.changed'] }))
      .result.subscription;
    const t = (await env.call('task.create', { title: 'Watch me' })).result.task;
    expect(
      env.notes.some((n) => n.method === 'task.changed' && JSON.stringify(n.params).includes(t.id)),
    ).toBe(true);
    expect(env.notes.some((n) => n.method === 'node.changed')).toBe(true);
    expect((await env.call('events.unsubscribe', { subscription: sub })).result).toEqual({
      unsubscribed: true,
    });
    const before = env.notes.length;
    await env.call('task.create', { title: 'Unwatched' });
    expect(env.notes.length).toBe(before);
    expect((await env.call('events.unsubscribe', { subscription: sub })).error.data.code).toBe(
      'not_found',
    );
  });

  const bad: [string, unknown, string][] = [
    ['node.get', {}, 'id'],
    ['node.get', { id: 5 }, 'id'],
    ['node.create', { kind: 'note', title: 'x' }, 'kind'],
    ['node.create', { kind: 'doc', title: 7 }, 'title'],
    ['node.create', { kind: 'doc', title: 'x', extra_field: 1 }, 'extra_field'],
    ['node.update', { id: 'x', aliases: 'one' }, 'aliases'],
    ['node.list', { limit: 0 }, 'limit'],
    ['node.list', { scope: 'gone' }, 'scope'],
    ['task.create', { title: '' }, 'title'],
    ['task.create', { title: 'x', do_date: 'tomorrow' }, 'do_date'],
    ['task.create', { title: 'x', attention: 'green' }, 'attention'],
    ['task.create', { title: 'x', tags: [''] }, 'tags.0'],
    ['task.update', { id: 'x', late_on: '2026/01/01' }, 'late_on'],
    ['task.done', { id: 'x', today: 'monday' }, 'today'],
    ['task.set_project', { id: 'x' }, 'project'],
    ['add', { text: '' }, 'text'],
    ['next', { limit: -1 }, 'limit'],
    ['list', { filter: { state: 'finished' } }, 'filter.state'],
    ['list', { filter: { colour: 'red' } }, 'filter.colour'],
    ['view', { name: 'someday' }, 'name'],
    ['project.create', { title: 'P', parent: '' }, 'parent'],
    ['project.move', { id: 'x' }, 'parent'],
    ['tag.add', { id: 'x', name: '' }, 'name'],
    ['journal.open', { date: '22.11.2026' }, 'date'],
    ['log.append', { id: 'x', text: '' }, 'text'],
    ['log.tail', { id: 'x', n: 0 }, 'n'],
    ['search', { query: 5 }, 'query'],
    ['search', { query: 'x', kinds: ['note'] }, 'kinds.0'],
    ['export', { dir: '' }, 'dir'],
    ['import', {}, 'dir'],
    ['backup', { path: 3 }, 'path'],
    ['conflicts.resolve', { target: 'x', field: 'title' }, 'value'],
    ['link.add', { src: 'a', dst: 'b', type: 'wiki' }, 'type'],
    ['events.subscribe', { topics: ['everything'] }, 'topics.0'],
    ['status', { verbose: true }, 'verbose'],
  ];

  it.each(bad)(
    '%s %j → invalid params naming %s, nothing stored',
    async (method, params, field) => {
      await env.call('task.create', { title: 'existing' });
      const digest = env.store.digest();
      const ops = env.store.opCount();
      const r = await env.call(method, params);
      expect(r.error?.code).toBe(-32602);
      expect(r.error?.data?.field).toBe(field);
      expect(r.error?.message).toContain(field);
      expect(env.store.digest()).toBe(digest);
      expect(env.store.opCount()).toBe(ops);
    },
  );

  it('answers application errors with a stable code and stores nothing', async () => {
    const digest = env.store.digest();
    const cases: [string, unknown, string][] = [
      ['node.get', { id: 'no such note' }, 'not_found'],
      ['task.done', { id: '01KAAAAAAAAAAAAAAAAAAAAAAA' }, 'not_found'],
      ['export', { dir: 'relative/dir' }, 'invalid_params'],
      ['import', { dir: '/definitely/not/here' }, 'not_found'],
      ['backup', { path: 'relative.db' }, 'invalid_params'],
      ['conflicts.resolve', { target: 'nothing', field: 'title', value: 'x' }, 'not_found'],
    ];
    for (const [method, params, code] of cases) {
      const r = await env.call(method, params);
      expect([method, r.error?.data?.code]).toEqual([method, code]);
    }
    expect(env.store.digest()).toBe(digest);
  });

  it('import.notes stores notes read elsewhere; export.nodes pages them back', async () => {
    const note = (over: Record<string, unknown> = {}) => ({
      path: '/elsewhere/a.md',
      id: 'vault:a',
      kind: 'doc',
      title: 'A',
      aliases: [],
      body: 'body of a\n',
      task: {},
      extra: { vault_path: 'a.md' },
      links: [],
      ...over,
    });
    const task = note({
      path: '/elsewhere/t.md',
      id: 'vault:t',
      kind: 'task',
      title: 'T',
      extra: {},
      task: { state: 'outstanding', attention: 'red' },
      links: [{ type: 'canonical-context', dst: 'vault:a' }],
    });
    const r = await env.call('import.notes', { notes: [note(), task] });
    expect(r.result).toEqual({ created: 2, updated: 0, unchanged: 0, skipped: 0, errors: [] });
    expect(env.store.getNode('vault:t').attention).toBe('red');
    expect(env.store.links('vault:t').map((l) => l.dst)).toEqual(['vault:a']);
    const again = await env.call('import.notes', { notes: [note(), task] });
    expect(again.result).toMatchObject({ created: 0, unchanged: 2 });

    // vault:a is the task's note: it is part of the task, not listed apart.
    const first = await env.call('export.nodes', { limit: 1 });
    expect(first.result.nodes).toEqual([]);
    expect(first.result.next).toBe('vault:a');
    const second = await env.call('export.nodes', { after: first.result.next, limit: 1 });
    expect(second.result.nodes).toMatchObject([
      {
        id: 'vault:t',
        body: 'body of a\n',
        note: { id: 'vault:a', aliases: [], links: [] },
        links: [{ type: 'canonical-context', dst: 'vault:a' }],
      },
    ]);
    expect(second.result.next).toBeNull();
  });

  it('import.notes refuses a bad note by index and path, and stores nothing', async () => {
    const good = {
      path: '/x/good.md',
      id: 'vault:good',
      kind: 'doc',
      title: 'Good',
      aliases: [],
      body: '',
      task: {},
      extra: {},
      links: [],
    };
    const digest = env.store.digest();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ id: 'not an id' }, /notes\[1\] \(\/x\/bad\.md\): id is not a node id/],
      [{ task: { state: 'done' } }, /state is a task field/],
      [{ kind: 'task', task: { colour: 'red' } }, /task\.colour is not a task field/],
      [{ extra: { title: 'x' } }, /extra\.title is a known field/],
      [{ links: [{ type: 'wiki', dst: 'vault:good' }] }, /is not "<type> <id>"/],
      [{ id: 'vault:good' }, /has the same id \(vault:good\) as \/x\/good\.md/],
      [{ title: 'x'.repeat(5000) }, /title/],
    ];
    for (const [over, message] of bad) {
      const r = await env.call('import.notes', {
        notes: [good, { ...good, path: '/x/bad.md', id: 'vault:bad', ...over }],
      });
      expect(r.error?.data?.code).toBe('invalid_params');
      expect(r.error?.message).toMatch(message);
    }
    // Shape errors are caught by the schema.
    for (const params of [
      { notes: [{ ...good, kind: 'folder' }] },
      { notes: [{ ...good, surprise: 1 }] },
      { notes: 'all of them' },
      {},
    ]) {
      expect((await env.call('import.notes', params)).error?.code).toBe(-32602);
    }
    // A link to a node that is nowhere stops the whole call.
    const r = await env.call('import.notes', {
      notes: [
        good,
        {
          ...good,
          path: '/x/l.md',
          id: 'vault:l',
          links: [{ type: 'parent', dst: 'vault:nowhere' }],
        },
      ],
    });
    expect(r.error?.data?.code).toBe('not_found');
    expect(env.store.digest()).toBe(digest);
    for (const params of [{ limit: 0 }, { limit: 1001 }, { after: 5 }, { extra: true }]) {
      expect((await env.call('export.nodes', params)).error?.code).toBe(-32602);
    }
  });
});

describe('naming nodes', () => {
  let env: Env;
  beforeEach(() => {
    env = setup();
  });
  afterEach(() => env.cleanup());

  it('finds the task by its title (its context doc is part of it), and projects by name', async () => {
    await env.call('project.create', { title: 'Home' });
    const t = (await env.call('task.create', { title: 'Pay rent', project: 'Home' })).result.task;
    expect(t.short_id).toBe(t.id.slice(-t.short_id.length).toLowerCase());
    expect((await env.call('node.get', { id: 'Pay rent' })).result.id).toBe(t.id);
    expect((await env.call('node.resolve', { name: 'Pay rent' })).result.id).toBe(t.id);
    const done = await env.call('task.done', { id: 'Pay rent' });
    expect(done.result.task.id).toBe(t.id);
    const home = (await env.call('project.get', { id: 'Home' })).result;
    expect((await env.call('project.get', { id: home.id.slice(-8) })).result.id).toBe(home.id);
    const next = (await env.call('list', { filter: { state: 'done' } })).result.tasks;
    expect(next[0].short_id).toBeDefined();
  });

  it('lists the candidates of an ambiguous name with kind, title, project and short id', async () => {
    await env.call('project.create', { title: 'Home' });
    const t = (await env.call('task.create', { title: 'Pay rent', project: 'Home' })).result;
    const created = await env.call('node.create', { kind: 'doc', title: 'Pay rent' });
    // A new note of a title another item has is made, with a warning saying so.
    expect(created.result.warnings).toEqual([
      `a task titled "Pay rent" exists (${t.task.short_id}): [[Pay rent]] and lookups by this title now find more than one`,
    ]);
    const doc = created.result;
    const r = await env.call('node.get', { id: 'Pay rent' });
    expect(r.error.data.code).toBe('ambiguous');
    expect(r.error.data.candidates).toEqual([
      {
        id: t.task.id,
        short_id: t.task.short_id,
        kind: 'task',
        title: 'Pay rent',
        place: 'in Home',
      },
      { id: doc.id, short_id: doc.short_id, kind: 'doc', title: 'Pay rent', place: null },
    ]);
    expect(r.error.message).toBe(
      '"Pay rent" names 2 items; give the short id of the one you mean:\n' +
        `  task  Pay rent  in Home  ${t.task.short_id}\n` +
        `  doc   Pay rent           ${doc.short_id}`,
    );
    // The context doc is never a candidate, and a task method still means the task.
    expect(r.error.data.ids).not.toContain(t.context);
    expect((await env.call('task.get', { id: 'Pay rent' })).result.id).toBe(t.task.id);
  });

  it('refuses an empty or blank title at every method that sets one, storing nothing', async () => {
    const n = (await env.call('node.create', { kind: 'doc', title: 'Fine' })).result;
    const t = (await env.call('task.create', { title: 'Task' })).result.task;
    const digest = env.store.digest();
    const cases: [string, Record<string, unknown>][] = [
      ['node.create', { kind: 'doc', title: '' }],
      ['node.create', { kind: 'doc', title: '   ' }],
      ['node.create', { kind: 'project', title: '\t' }],
      ['node.update', { id: n.id, title: ' ' }],
      ['task.create', { title: '  ' }],
      ['task.update', { id: t.id, title: ' ' }],
      ['project.create', { title: ' ' }],
      ['conflicts.resolve', { target: n.id, field: 'title', value: '  ' }],
    ];
    for (const [method, params] of cases) {
      const r = await env.call(method, params);
      expect([method, r.error?.data?.code], JSON.stringify(params)).toEqual([
        method,
        'invalid_params',
      ]);
      expect(r.error.message).toMatch(/title|value/);
    }
    expect(env.store.digest()).toBe(digest);
  });
});
