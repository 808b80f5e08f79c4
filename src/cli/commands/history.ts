// History commands: heph history, heph show ID --at VERSION, heph revert, heph undo [--list].

import { arg, flag, optArg, optInt, type Args } from '../args.js';
import type { Cli } from '../context.js';
import type { Output } from '../output.js';
import { rec, recs, str } from '../wire.js';
import { titles } from './nodes.js';

export async function history(cli: Cli, a: Args): Promise<Output> {
  const limit = optInt(a, 'limit');
  const before = optArg(a, 'before');
  const data = await cli.call('node.history', {
    id: arg(a, 'id'),
    ...(limit !== undefined && { limit }),
    ...(before !== undefined && { before }),
  });
  return { kind: 'history', data };
}

/** `heph show ID --at VERSION`: the node as it was, with the typed links it had then. */
export async function showAt(cli: Cli, a: Args, version: string): Promise<Output> {
  const node = rec(await cli.call('node.at', { id: arg(a, 'id'), version }));
  const id = str(node, 'id');
  const links = recs(node, 'links').map((l) => ({
    src: id,
    dst: l.dst,
    dst_short_id: l.dst_short_id,
    type: l.type,
  }));
  const ends = links.map((l) => l.dst).filter((x): x is string => typeof x === 'string');
  return {
    kind: 'show',
    data: {
      node,
      ...(node.kind === 'task' && { task: node }),
      links,
      titles: await titles(cli, ends),
    },
  };
}

export async function revert(cli: Cli, a: Args): Promise<Output> {
  const data = await cli.call('node.revert', { id: arg(a, 'id'), version: arg(a, 'to') });
  return { kind: 'reverted', data };
}

export async function undo(cli: Cli, a: Args): Promise<Output> {
  const change = optArg(a, 'change');
  const limit = optInt(a, 'limit');
  if (flag(a, 'list')) {
    return { kind: 'undo-list', data: await cli.call('undo.list', { limit: limit ?? 10 }) };
  }
  const data = await cli.call('undo', change === undefined ? {} : { change });
  return { kind: 'undone', data };
}
