// Every entry point refuses bad input with a typed error naming the field, and stores nothing:
// the digest and the op count are unchanged.

import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Model } from '../../src/model/model.js';
import { expectRefused, openTestModel, TODAY, type TestModel } from './helpers.js';

let h: TestModel;
let task: string;
let recurring: string;
let doc: string;
let project: string;
let child: string;
const MISSING = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

beforeAll(() => {
  h = openTestModel();
  task = h.model.createTask({ title: 'T' }).task.id;
  recurring = h.model.createTask({ title: 'R', do_date: TODAY, recurrence: 'FREQ=DAILY' }).task.id;
  doc = h.store.createNode({ kind: 'doc', title: 'D' }).id;
  project = h.model.createProject({ title: 'P' }).id;
  child = h.model.createProject({ title: 'C', parent: project }).id;
  // One name under two parents: allowed, and a lookup by that name alone is ambiguous.
  h.model.createProject({ title: 'Dup' });
  h.model.createProject({ title: 'Dup', parent: project });
});
afterAll(() => h.close());

// Casts: these calls deliberately break the types, as wire data can.
const x = (v: unknown) => v as never;
type Case = [string, (m: Model) => unknown, string, string | undefined];

const cases = (): Case[] => [
  // createTask
  ['createTask: not an object', (m) => m.createTask(x('t')), 'invalid_params', 'params'],
  ['createTask: no title', (m) => m.createTask(x({})), 'invalid_params', 'title'],
  ['createTask: blank title', (m) => m.createTask({ title: '  ' }), 'invalid_params', 'title'],
  ['createTask: two-line title', (m) => m.createTask({ title: 'a\nb' }), 'invalid_params', 'title'],
  [
    'createTask: unknown field',
    (m) => m.createTask(x({ title: 't', colour: 1 })),
    'invalid_params',
    'colour',
  ],
  [
    'createTask: attention',
    (m) => m.createTask(x({ title: 't', attention: 'pink' })),
    'invalid_params',
    'attention',
  ],
  [
    'createTask: do_date',
    (m) => m.createTask({ title: 't', do_date: '2026-02-30' }),
    'invalid_params',
    'do_date',
  ],
  [
    'createTask: late_on',
    (m) => m.createTask(x({ title: 't', late_on: 5 })),
    'invalid_params',
    'late_on',
  ],
  [
    'createTask: recurrence',
    (m) => m.createTask({ title: 't', recurrence: 'FREQ=HOURLY' }),
    'invalid_params',
    'recurrence',
  ],
  [
    'createTask: recurrence type',
    (m) => m.createTask(x({ title: 't', recurrence: 7 })),
    'invalid_params',
    'recurrence',
  ],
  [
    'createTask: ended rule',
    (m) => m.createTask({ title: 't', recurrence: 'FREQ=DAILY;UNTIL=20200101' }),
    'invalid_params',
    'recurrence',
  ],
  ['createTask: body', (m) => m.createTask(x({ title: 't', body: 1 })), 'invalid_params', 'body'],
  [
    'createTask: one change adds more body than syncs',
    (m) => m.createTask({ title: 't', body: 'é'.repeat(1_600_000) }),
    'too_large',
    'body',
  ],
  [
    'createTask: tags not a list',
    (m) => m.createTask(x({ title: 't', tags: 'a' })),
    'invalid_params',
    'tags',
  ],
  [
    'createTask: bad tag',
    (m) => m.createTask({ title: 't', tags: ['ok', 'no spaces'] }),
    'invalid_params',
    'tags[1]',
  ],
  [
    'createTask: missing project',
    (m) => m.createTask({ title: 't', project: 'Nope' }),
    'not_found',
    'project',
  ],
  [
    'createTask: project is a doc',
    (m) => m.createTask({ title: 't', project: doc }),
    'invalid_params',
    'project',
  ],
  ['createTask: today', (m) => m.createTask({ title: 't' }, 'tomorrow'), 'invalid_params', 'today'],
  // getTask / updateTask
  ['getTask: not an id', (m) => m.getTask('x y'), 'invalid_params', 'id'],
  ['getTask: missing', (m) => m.getTask(MISSING), 'not_found', undefined],
  ['getTask: a doc', (m) => m.getTask(doc), 'invalid_params', 'id'],
  ['updateTask: bad id', (m) => m.updateTask(x(3), { title: 'x' }), 'invalid_params', 'id'],
  ['updateTask: empty patch', (m) => m.updateTask(task, {}), 'invalid_params', 'patch'],
  ['updateTask: patch not an object', (m) => m.updateTask(task, x([])), 'invalid_params', 'patch'],
  [
    'updateTask: state is not patchable',
    (m) => m.updateTask(task, x({ state: 'done' })),
    'invalid_params',
    'patch.state',
  ],
  ['updateTask: title', (m) => m.updateTask(task, { title: '' }), 'invalid_params', 'patch.title'],
  [
    'updateTask: attention',
    (m) => m.updateTask(task, x({ attention: 'RED' })),
    'invalid_params',
    'patch.attention',
  ],
  [
    'updateTask: do_date',
    (m) => m.updateTask(task, { do_date: '2026-13-01' }),
    'invalid_params',
    'patch.do_date',
  ],
  [
    'updateTask: late_on',
    (m) => m.updateTask(task, { late_on: '26-01-01' }),
    'invalid_params',
    'patch.late_on',
  ],
  [
    'updateTask: recurrence',
    (m) => m.updateTask(task, { recurrence: 'FREQ=WEEKLY;BYHOUR=9' }),
    'invalid_params',
    'patch.recurrence',
  ],
  [
    'updateTask: body',
    (m) => m.updateTask(task, x({ body: null })),
    'invalid_params',
    'patch.body',
  ],
  [
    'updateTask: today',
    (m) => m.updateTask(task, { title: 'x' }, '2026-1-1'),
    'invalid_params',
    'today',
  ],
  ['updateTask: a project', (m) => m.updateTask(project, { title: 'x' }), 'invalid_params', 'id'],
  // state changes
  ['completeTask: bad id', (m) => m.completeTask(''), 'invalid_params', 'id'],
  [
    'completeTask: today',
    (m) => m.completeTask(recurring, '2026-02-29'),
    'invalid_params',
    'today',
  ],
  ['completeTask: a doc', (m) => m.completeTask(doc), 'invalid_params', 'id'],
  ['skipTask: not recurring', (m) => m.skipTask(task), 'invalid_params', 'id'],
  ['skipTask: today', (m) => m.skipTask(recurring, x(20261122)), 'invalid_params', 'today'],
  ['dropTask: missing', (m) => m.dropTask(MISSING), 'not_found', undefined],
  ['reopenTask: bad id', (m) => m.reopenTask(x(null)), 'invalid_params', 'id'],
  ['deleteTask: a project', (m) => m.deleteTask(project), 'invalid_params', 'id'],
  ['setTaskProject: bad task', (m) => m.setTaskProject(x({}), project), 'invalid_params', 'id'],
  [
    'setTaskProject: missing project',
    (m) => m.setTaskProject(task, 'Nope'),
    'not_found',
    'project',
  ],
  [
    'setTaskProject: project type',
    (m) => m.setTaskProject(task, x(1)),
    'invalid_params',
    'project',
  ],
  // projects
  [
    'createProject: no title',
    (m) => m.createProject(x({ parent: project })),
    'invalid_params',
    'title',
  ],
  [
    'createProject: unknown field',
    (m) => m.createProject(x({ title: 'p', color: 'red' })),
    'invalid_params',
    'color',
  ],
  [
    'createProject: missing parent',
    (m) => m.createProject({ title: 'p', parent: 'Nope' }),
    'not_found',
    'parent',
  ],
  [
    'createProject: parent is a task',
    (m) => m.createProject({ title: 'p', parent: task }),
    'invalid_params',
    'parent',
  ],
  ['moveProject: a task', (m) => m.moveProject(task, null), 'invalid_params', 'id'],
  [
    'moveProject: parent missing',
    (m) => m.moveProject(child, x(undefined)),
    'invalid_params',
    'parent',
  ],
  ['moveProject: cycle', (m) => m.moveProject(project, child), 'cycle', undefined],
  ['getProject: a doc', (m) => m.getProject(doc), 'invalid_params', 'id'],
  ['deleteProject: missing', (m) => m.deleteProject(MISSING), 'not_found', undefined],
  // tags
  ['tagAdd: bad name', (m) => m.tagAdd(task, 'two words'), 'invalid_params', 'name'],
  ['tagAdd: empty name', (m) => m.tagAdd(task, ''), 'invalid_params', 'name'],
  ['tagAdd: name type', (m) => m.tagAdd(task, x(['a'])), 'invalid_params', 'name'],
  ['tagAdd: missing node', (m) => m.tagAdd(MISSING, 'a'), 'not_found', undefined],
  ['tagAdd: a tag', (m) => m.tagAdd('tag:x', 'a'), 'not_found', undefined],
  ['tagRemove: bad id', (m) => m.tagRemove('|', 'a'), 'invalid_params', 'id'],
  ['tagRemove: bad name', (m) => m.tagRemove(task, 'a b'), 'invalid_params', 'name'],
  ['tagList: bad id', (m) => m.tagList(x(5)), 'invalid_params', 'id'],
  // journals and logs
  ['openJournal: bad date', (m) => m.openJournal('2026-02-30'), 'invalid_params', 'date'],
  ['openJournal: date type', (m) => m.openJournal(x(20260101)), 'invalid_params', 'date'],
  ['logAppend: empty', (m) => m.logAppend(task, ' '), 'invalid_params', 'text'],
  ['logAppend: two lines', (m) => m.logAppend(task, 'a\nb'), 'invalid_params', 'text'],
  ['logAppend: too long', (m) => m.logAppend(task, 'x'.repeat(4001)), 'invalid_params', 'text'],
  ['logAppend: today', (m) => m.logAppend(task, 'ok', 'someday'), 'invalid_params', 'today'],
  ['logAppend: a doc', (m) => m.logAppend(doc, 'ok'), 'invalid_params', 'id'],
  ['logTail: n', (m) => m.logTail(task, 0), 'invalid_params', 'n'],
  ['logTail: n type', (m) => m.logTail(task, x('3')), 'invalid_params', 'n'],
  // lists and views
  ['next: not an object', (m) => m.next(x(5)), 'invalid_params', 'params'],
  ['next: limit', (m) => m.next({ limit: -1 }), 'invalid_params', 'limit'],
  ['next: limit type', (m) => m.next(x({ limit: '5' })), 'invalid_params', 'limit'],
  ['next: today', (m) => m.next({ today: '2026-11-31' }), 'invalid_params', 'today'],
  ['next: unknown field', (m) => m.next(x({ lmit: 5 })), 'invalid_params', 'lmit'],
  ['list: filter type', (m) => m.list(x({ filter: 'red' })), 'invalid_params', 'filter'],
  [
    'list: unknown filter',
    (m) => m.list(x({ filter: { colour: 'red' } })),
    'invalid_params',
    'filter.colour',
  ],
  [
    'list: attention_include',
    (m) => m.list(x({ filter: { attention_include: ['red', 'pink'] } })),
    'invalid_params',
    'filter.attention_include[1]',
  ],
  [
    'list: attention_exclude',
    (m) => m.list(x({ filter: { attention_exclude: 'red' } })),
    'invalid_params',
    'filter.attention_exclude',
  ],
  [
    'list: state',
    (m) => m.list(x({ filter: { state: 'open' } })),
    'invalid_params',
    'filter.state',
  ],
  [
    'list: state list',
    (m) => m.list(x({ filter: { state: ['done', 'x'] } })),
    'invalid_params',
    'filter.state[1]',
  ],
  [
    'list: actionable_today',
    (m) => m.list(x({ filter: { actionable_today: 'yes' } })),
    'invalid_params',
    'filter.actionable_today',
  ],
  ['list: project', (m) => m.list({ filter: { project: 'Nope' } }), 'not_found', 'filter.project'],
  ['list: today', (m) => m.list({ today: '' }), 'invalid_params', 'today'],
  ['view: unknown name', (m) => m.view(x('inbox')), 'invalid_params', 'name'],
  ['view: today', (m) => m.view('all', 'nope'), 'invalid_params', 'today'],
  // quick add, trash
  ['quickAdd: type', (m) => m.quickAdd(x(1)), 'invalid_params', 'text'],
  ['quickAdd: no title', (m) => m.quickAdd('tomorrow'), 'invalid_params', 'text'],
  ['quickAdd: two projects', (m) => m.quickAdd('a #X #Y'), 'invalid_params', 'text'],
  ['quickAdd: ambiguous project', (m) => m.quickAdd('a #Dup'), 'ambiguous', 'text'],
  ['quickAdd: today', (m) => m.quickAdd('a', '2026/11/22'), 'invalid_params', 'today'],
  ['restore: bad id', (m) => m.restore('no spaces allowed'), 'invalid_params', 'id'],
  ['restore: missing', (m) => m.restore(MISSING), 'not_found', undefined],
];

describe('bad input stores nothing', () => {
  it.each(cases().map((c) => [c[0], c] as const))('%s', (_name, [, fn, code, field]) => {
    expectRefused(h.store, () => fn(h.model), code, field);
  });
});
