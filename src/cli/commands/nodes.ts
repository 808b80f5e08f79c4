// Node commands: show, get, doc, journal, search, links, typed links, lists, rm, trash, restore.

import { HephError } from '../../core/errors.js';
import { arg, flag, many, optArg, optInt, words, type Args } from '../args.js';
import type { Cli } from '../context.js';
import { parseDateArg } from '../dates.js';
import type { Output } from '../output.js';
import { isRec, rec, recs, str, type Rec } from '../wire.js';

/** Prints a reply's `warnings` on stderr (never part of --json output's document). */
export function warn(cli: Cli, data: unknown): void {
  const ws = isRec(data) && Array.isArray(data.warnings) ? data.warnings : [];
  for (const w of ws) if (typeof w === 'string') cli.note(`heph: warning: ${w}`);
}

/** Says on stderr how many notes a rename rewrote links in, and how many links it kept. */
export function linksNote(cli: Cli, data: unknown): void {
  if (!isRec(data)) return;
  const n = data.links_updated;
  if (typeof n === 'number' && n > 0) {
    cli.note(`heph: updated links in ${n} note${n === 1 ? '' : 's'}`);
  }
  const kept = data.links_kept;
  if (typeof kept === 'number' && kept > 0) {
    cli.note(
      `heph: warning: kept ${kept} link${kept === 1 ? '' : 's'} as written: a link cannot ` +
        'name a title with [ ] | # ^ or a backtick',
    );
  }
}

/** Titles of the nodes at the other end of links, fetched in one pipelined batch. */
export async function titles(cli: Cli, ids: Iterable<string>): Promise<Record<string, string>> {
  const unique = [...new Set(ids)].slice(0, 200);
  const got = await Promise.all(
    unique.map((id) =>
      cli.call('node.get', { id }).then(
        (n) => (isRec(n) && typeof n.title === 'string' ? n.title : ''),
        () => '',
      ),
    ),
  );
  return Object.fromEntries(unique.map((id, i) => [id, got[i] ?? '']));
}

function ends(links: Rec[]): string[] {
  return links.flatMap((l) => [l.src, l.dst]).filter((x): x is string => typeof x === 'string');
}

export async function show(cli: Cli, a: Args): Promise<Output> {
  const at = optArg(a, 'at');
  if (at !== undefined) return (await import('./history.js')).showAt(cli, a, at);
  if (flag(a, 'body')) return get(cli, a);
  const node = rec(await cli.call('node.get', { id: arg(a, 'id') }));
  const id = str(node, 'id');
  const [task, out, back, wiki, wikiBack, open] = await Promise.all([
    node.kind === 'task' ? cli.call('task.get', { id }) : Promise.resolve(undefined),
    cli.call('link.list', { id }),
    cli.call('link.backlinks', { id }),
    cli.call('wiki.links', { id }),
    cli.call('wiki.backlinks', { id }),
    // A daemon of an earlier version takes no target: the node is then shown without them.
    cli.call('conflicts.list', { target: id }).catch(() => undefined),
  ]);
  const links = recs(rec(out), 'links');
  const backlinks = recs(rec(back), 'links');
  const project = isRec(task) && typeof task.project === 'string' ? [task.project] : [];
  const found = open === undefined ? [] : recs(rec(open), 'conflicts');
  const conflicts = [...new Set(found.map((c) => str(c, 'field')))];
  const data = {
    node,
    ...(task !== undefined && { task }),
    conflicts,
    links,
    backlinks,
    wiki: recs(rec(wiki), 'links'),
    wiki_backlinks: recs(rec(wikiBack), 'backlinks'),
    titles: await titles(
      cli,
      [...ends(links), ...ends(backlinks), ...project].filter((x) => x !== id),
    ),
  };
  return { kind: 'show', data };
}

export async function get(cli: Cli, a: Args): Promise<Output> {
  const node = rec(await cli.call('node.get', { id: arg(a, 'id') }));
  if (flag(a, 'body')) {
    const body = str(node, 'body');
    return { kind: 'raw', text: body, data: { id: node.id, short_id: node.short_id, body } };
  }
  return { kind: 'show', data: node };
}

/** TEXT, or standard input when TEXT is `-` (read only then). */
async function textOrStdin(cli: Cli, text: string): Promise<string> {
  return text === '-' ? cli.readStdin() : text;
}

function unchanged(what: string): Output {
  const text = `Nothing added: the input was empty, so ${what} is unchanged\n`;
  return { kind: 'raw', text, data: { changed: false } };
}

export async function doc(cli: Cli, a: Args): Promise<Output> {
  const title = words(a, 'title').trim();
  const append = optArg(a, 'append');
  const given = optArg(a, 'body');
  const aliases = many(a, 'alias');
  if (append !== undefined) {
    if (given !== undefined || aliases.length > 0) {
      throw new HephError(
        'invalid_params',
        '--append adds to an existing note: leave out --body and --alias',
        { field: 'append' },
      );
    }
    // The note first: a wrong name fails before any input is read.
    const id = str(rec(await cli.call('node.resolve', { name: title })), 'id');
    const text = await textOrStdin(cli, append);
    if (text.trim() === '') return unchanged(`"${title}"`);
    return { kind: 'node', data: await cli.call('node.append', { id, text }), verb: 'Appended to' };
  }
  if (given === undefined && cli.stdinIsFile()) {
    throw new HephError(
      'invalid_params',
      'standard input is read only when asked for: heph doc TITLE --body - < FILE',
      { field: 'body' },
    );
  }
  const body = given === undefined ? '' : await textOrStdin(cli, given);
  const data = await cli.call('node.create', {
    kind: 'doc',
    title,
    body,
    ...(aliases.length > 0 && { aliases }),
  });
  warn(cli, data);
  return { kind: 'node', data, verb: 'Created' };
}

/** The `date` argument as a calendar date (today when not given); `label` names it in errors. */
function journalDate(cli: Cli, a: Args, label: string): string {
  const d = optArg(a, 'date');
  return d === undefined ? cli.today : parseDateArg(d, cli.today, label);
}

export async function journal(cli: Cli, a: Args): Promise<Output> {
  return {
    kind: 'journal',
    data: await cli.call('journal.open', { date: journalDate(cli, a, 'date') }),
  };
}

/** `heph journal add TEXT` / `heph journal add -`: text at the end of a day's journal. */
export async function journalAdd(cli: Cli, a: Args): Promise<Output> {
  const date = journalDate(cli, a, '--date');
  const text = await textOrStdin(cli, words(a, 'text'));
  if (text.trim() === '') return unchanged(`the journal for ${date}`);
  const data = rec(await cli.call('journal.append', { date, text }));
  const note = data.created === true ? ' (new)' : data.restored === true ? ' (restored)' : '';
  return { kind: 'raw', text: `Added to the journal for ${date}${note}\n`, data };
}

export async function search(cli: Cli, a: Args): Promise<Output> {
  const query = words(a, 'query');
  const limit = optInt(a, 'limit');
  const kinds = many(a, 'kind');
  const data = await cli.call('search', {
    query,
    ...(limit !== undefined && { limit }),
    ...(kinds.length > 0 && { kinds }),
  });
  return { kind: 'search', data };
}

export async function links(cli: Cli, a: Args): Promise<Output> {
  const id = str(rec(await cli.call('node.resolve', { name: arg(a, 'id') })), 'id');
  const [out, wiki] = await Promise.all([
    cli.call('link.list', { id }),
    cli.call('wiki.links', { id }),
  ]);
  const ls = recs(rec(out), 'links');
  return {
    kind: 'links',
    data: {
      id,
      links: ls,
      wiki: recs(rec(wiki), 'links'),
      titles: await titles(
        cli,
        ends(ls).filter((x) => x !== id),
      ),
    },
  };
}

export async function backlinks(cli: Cli, a: Args): Promise<Output> {
  const id = str(rec(await cli.call('node.resolve', { name: arg(a, 'id') })), 'id');
  const [back, wiki] = await Promise.all([
    cli.call('link.backlinks', { id }),
    cli.call('wiki.backlinks', { id }),
  ]);
  const ls = recs(rec(back), 'links');
  return {
    kind: 'links',
    data: {
      id,
      links: ls,
      wiki: recs(rec(wiki), 'backlinks'),
      titles: await titles(
        cli,
        ends(ls).filter((x) => x !== id),
      ),
    },
  };
}

export async function link(cli: Cli, a: Args, verb: 'add' | 'rm'): Promise<Output> {
  const params = { src: arg(a, 'src'), dst: arg(a, 'dst'), type: arg(a, 'type') };
  const data = await cli.call(verb === 'add' ? 'link.add' : 'link.remove', params);
  return {
    kind: 'summary',
    heading: verb === 'add' ? 'Linked' : 'Unlinked',
    data: verb === 'add' ? data : { ...params, ...rec(data) },
  };
}

export async function nodes(cli: Cli, a: Args): Promise<Output> {
  const kind = optArg(a, 'kind');
  const limit = optInt(a, 'limit');
  const scope = flag(a, 'trash') ? 'trash' : flag(a, 'all') ? 'all' : undefined;
  const data = await cli.call('node.list', {
    ...(kind !== undefined && { kind }),
    ...(scope !== undefined && { scope }),
    ...(limit !== undefined && { limit }),
  });
  return { kind: 'nodes', data, empty: 'No nodes.' };
}

export async function resolve(cli: Cli, a: Args): Promise<Output> {
  return {
    kind: 'node',
    data: await cli.call('node.resolve', { name: words(a, 'name') }),
    verb: 'Found',
  };
}

export async function rm(cli: Cli, a: Args): Promise<Output> {
  const node = rec(await cli.call('node.get', { id: arg(a, 'id') }));
  const id = str(node, 'id');
  if (node.deleted === true)
    throw new HephError('not_found', `${id} is already in the trash`, { id });
  const method =
    node.kind === 'task'
      ? 'task.delete'
      : node.kind === 'project'
        ? 'project.delete'
        : 'node.delete';
  const data = rec(await cli.call(method, { id }));
  return { kind: 'node', data: { kind: node.kind, ...data }, verb: 'Moved to the trash:' };
}

export async function trash(cli: Cli, a: Args): Promise<Output> {
  const limit = optInt(a, 'limit');
  return {
    kind: 'nodes',
    data: await cli.call('trash', { ...(limit !== undefined && { limit }) }),
    empty: 'The trash is empty.',
  };
}

export async function restore(cli: Cli, a: Args): Promise<Output> {
  const data = rec(await cli.call('node.restore', { id: words(a, 'name') }));
  // A name shared with a live node is said on stderr, so it reaches a person even under --json.
  if (typeof data.note === 'string') cli.note(`heph: note: ${data.note}`);
  return {
    kind: 'node',
    data,
    verb: data.restored === false ? 'Not in the trash, nothing to restore:' : 'Restored',
  };
}
