// Task commands: quick add, what is next, state changes, create, edit, lists, views and logs.

import { HephError } from '../../core/errors.js';
import { arg, flag, many, optArg, optInt, words, type Args } from '../args.js';
import type { Cli } from '../context.js';
import type { Output } from '../output.js';
import { rec, str } from '../wire.js';

export async function add(cli: Cli, a: Args): Promise<Output> {
  const text = words(a, 'text').trim();
  if (!text)
    throw new HephError('invalid_params', 'say what to add: heph add "Pay rent tomorrow !red"', {
      field: 'text',
    });
  const data = await cli.call('add', {
    text,
    today: cli.today,
    ...(flag(a, 'strict') && { strict: true }),
    ...(flag(a, 'dry-run') && { dry_run: true }),
  });
  // Words kept in the title are said on stderr, so they reach a person even under --json.
  (await import('./nodes.js')).warn(cli, data);
  return { kind: 'added', data };
}

export async function next(cli: Cli, a: Args): Promise<Output> {
  const limit = optInt(a, 'n');
  const params = { ...(limit !== undefined && { limit }), today: cli.today };
  const empty = 'Nothing to do now.';
  // --json prints the full form; people see the lines, which the daemon renders: a long list
  // travels as one string, printed as it came (src/protocol/task-lines.ts renders both ways).
  if (flag(a, 'json')) return { kind: 'tasks', data: await cli.call('next', params), empty };
  let data: unknown;
  try {
    data = await cli.call('next', { ...params, form: 'lines', ...(cli.color && { color: true }) });
  } catch (e) {
    // A daemon from before the lines form (not restarted since an upgrade) refuses the field.
    if (!(e instanceof HephError && e.code === 'invalid_params' && e.details.field === 'form')) {
      throw e;
    }
    return { kind: 'tasks', data: await cli.call('next', params), empty };
  }
  return { kind: 'task-text', data: rec(data), empty };
}

const VERBS = {
  done: ['task.done', 'Done:'],
  skip: ['task.skip', 'Skipped:'],
  drop: ['task.drop', 'Dropped:'],
  reopen: ['task.reopen', 'Reopened:'],
} as const;

export async function change(cli: Cli, a: Args, verb: keyof typeof VERBS): Promise<Output> {
  const [method, label] = VERBS[verb];
  const id = arg(a, 'id');
  const withToday = verb === 'done' || verb === 'skip';
  const data = await cli.call(method, { id, ...(withToday && { today: cli.today }) });
  if (withToday) return { kind: 'completed', data, verb: label };
  return { kind: 'task', data, verb: label };
}

/** RRULE text, a quick-add phrase ("every month", "2 weeks", "mon,thu"), or none. */
export async function recurrence(input: string): Promise<string | null> {
  const t = input.trim();
  if (/^(none|never|clear)$/i.test(t)) return null;
  if (/^(RRULE:)?FREQ=/i.test(t)) return t.replace(/^RRULE:/i, '');
  const { recurrenceFromPhrase } = await import('../../core/recur.js');
  const rule = recurrenceFromPhrase(t.replace(/^every\s+/i, ''));
  if (rule === undefined) {
    throw new HephError(
      'invalid_params',
      `--recur: ${JSON.stringify(input)} is not a recurrence (try "every week", "2 months", "mon,thu" or an RRULE such as FREQ=MONTHLY)`,
      { field: 'recurrence' },
    );
  }
  return rule;
}

/** The task fields given as flags, in wire form. */
async function taskFields(cli: Cli, a: Args): Promise<Record<string, unknown>> {
  const f: Record<string, unknown> = {};
  const title = optArg(a, 'title');
  if (title !== undefined) f.title = title;
  const att = optArg(a, 'attention');
  if (att !== undefined) f.attention = att;
  const doDate = optArg(a, 'do');
  const late = optArg(a, 'late-on');
  if (doDate !== undefined || late !== undefined) {
    const { parseDateOrNone } = await import('../dates.js'); // only when dates are given
    if (doDate !== undefined) f.do_date = parseDateOrNone(doDate, cli.today, '--do');
    if (late !== undefined) f.late_on = parseDateOrNone(late, cli.today, '--late-on');
  }
  const recur = optArg(a, 'recur');
  if (recur !== undefined) f.recurrence = await recurrence(recur);
  const body = optArg(a, 'body');
  if (body !== undefined) f.body = body;
  return f;
}

export async function task(cli: Cli, a: Args): Promise<Output> {
  const title = words(a, 'title').trim();
  const fields = await taskFields(cli, a);
  const project = optArg(a, 'project');
  const tags = many(a, 'tag');
  const data = await cli.call('task.create', {
    ...fields,
    title,
    ...(project !== undefined && { project }),
    ...(tags.length > 0 && { tags }),
    today: cli.today,
  });
  (await import('./nodes.js')).warn(cli, data);
  return { kind: 'task', data, verb: 'Created' };
}

export async function edit(cli: Cli, a: Args): Promise<Output> {
  const node = rec(await cli.call('node.get', { id: arg(a, 'id') }));
  const id = str(node, 'id');
  const fields = await taskFields(cli, a);
  const aliases = many(a, 'alias');
  // --project P gives a string, --no-project gives false.
  const project = a.project === false ? false : optArg(a, 'project');
  if (node.kind !== 'task') {
    const taskOnly = Object.keys(fields).filter((k) => k !== 'title' && k !== 'body');
    if (taskOnly.length > 0 || project !== undefined) {
      throw new HephError(
        'invalid_params',
        `${id} is a ${String(node.kind)}, not a task; only --title and --alias apply`,
        { field: taskOnly[0] ?? 'project' },
      );
    }
    if (Object.keys(fields).length === 0 && aliases.length === 0) throw nothingToChange();
    const data = await cli.call('node.update', {
      id,
      ...fields,
      ...(aliases.length > 0 && { aliases }),
      ...(flag(a, 'keep-links') && { update_links: false }),
    });
    (await import('./nodes.js')).linksNote(cli, data);
    return { kind: 'node', data, verb: 'Updated' };
  }
  if (Object.keys(fields).length === 0 && project === undefined && aliases.length === 0)
    throw nothingToChange();
  // One call, so the edit is one change: all of it is written, or (a project that does not
  // exist, say) none of it, and `heph undo` takes all of it back.
  const updated = await cli.call('task.update', {
    id,
    ...fields,
    ...(project !== undefined && { project: project === false ? null : project }),
    ...(aliases.length > 0 && { aliases }),
    today: cli.today,
    ...(flag(a, 'keep-links') && { update_links: false }),
  });
  (await import('./nodes.js')).linksNote(cli, updated);
  return { kind: 'task', data: await cli.call('task.get', { id }), verb: 'Updated' };
}

function nothingToChange(): HephError {
  return new HephError(
    'invalid_params',
    'nothing to change: give --title, --do, --late-on, --attention, --project/--no-project, --recur or --alias',
  );
}

export async function list(cli: Cli, a: Args): Promise<Output> {
  const filter: Record<string, unknown> = {};
  const inc = many(a, 'attention');
  if (inc.length) filter.attention_include = inc;
  const exc = many(a, 'not');
  if (exc.length) filter.attention_exclude = exc;
  const state = many(a, 'state');
  if (state.length) filter.state = state.length === 1 ? state[0] : state;
  if (flag(a, 'actionable')) filter.actionable_today = true;
  const project = optArg(a, 'project');
  if (project !== undefined) filter.project = project;
  const data = await cli.call('list', {
    ...(Object.keys(filter).length > 0 && { filter }),
    today: cli.today,
  });
  return { kind: 'tasks', data, empty: 'No tasks.' };
}

export async function view(cli: Cli, a: Args): Promise<Output> {
  const name = optArg(a, 'name');
  return {
    kind: 'views',
    data: await cli.call('view', { ...(name !== undefined && { name }), today: cli.today }),
  };
}

export async function log(cli: Cli, a: Args): Promise<Output> {
  const id = arg(a, 'id');
  const text = words(a, 'text').trim();
  if (text)
    return { kind: 'log', data: await cli.call('log.append', { id, text, today: cli.today }) };
  const n = optInt(a, 'n');
  return { kind: 'log', data: await cli.call('log.tail', { id, ...(n !== undefined && { n }) }) };
}
