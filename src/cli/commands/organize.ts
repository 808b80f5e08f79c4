// Tags and projects.

import { arg, flag, optArg, words, type Args } from '../args.js';
import type { Cli } from '../context.js';
import type { Output } from '../output.js';
import { rec, str } from '../wire.js';

export async function tag(cli: Cli, a: Args, verb: 'add' | 'rm' | 'list'): Promise<Output> {
  if (verb === 'list') {
    const id = optArg(a, 'id');
    return { kind: 'tags', data: await cli.call('tag.list', { ...(id !== undefined && { id }) }) };
  }
  const params = { id: arg(a, 'id'), name: arg(a, 'name') };
  return { kind: 'tags', data: await cli.call(verb === 'add' ? 'tag.add' : 'tag.remove', params) };
}

/** project.* methods take a full id: any id form, alias or title is resolved first. */
async function projectId(cli: Cli, ref: string): Promise<string> {
  return str(rec(await cli.call('node.resolve', { name: ref })), 'id');
}

export async function project(
  cli: Cli,
  a: Args,
  verb: 'add' | 'list' | 'show' | 'move' | 'rm',
): Promise<Output> {
  switch (verb) {
    case 'add': {
      const parent = optArg(a, 'parent');
      const data = await cli.call('project.create', {
        title: words(a, 'title').trim(),
        ...(parent !== undefined && { parent: await projectId(cli, parent) }),
      });
      return { kind: 'summary', heading: 'Created project', data };
    }
    case 'list':
      return { kind: 'projects', data: await cli.call('project.list', {}) };
    case 'show': {
      const data = await cli.call('project.get', { id: await projectId(cli, arg(a, 'id')) });
      return { kind: 'summary', heading: 'Project', data };
    }
    case 'move': {
      const to = optArg(a, 'parent');
      const parent = flag(a, 'top') || to === undefined ? null : await projectId(cli, to);
      const data = await cli.call('project.move', {
        id: await projectId(cli, arg(a, 'id')),
        parent,
      });
      return { kind: 'summary', heading: 'Moved project', data };
    }
    case 'rm': {
      const data = await cli.call('project.delete', { id: await projectId(cli, arg(a, 'id')) });
      return { kind: 'summary', heading: 'Moved project to the trash', data };
    }
  }
}
