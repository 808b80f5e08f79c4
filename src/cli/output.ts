// The one place the CLI prints results. Commands return an Output: the data (what --json prints,
// as one JSON document, never coloured) and a kind that says how to show it to people (short
// ids, attention colours, dates relative to today). Colour is decided by the caller: only on a
// terminal, without NO_COLOR and without --no-color.

import { historyLines, revertedLines, undoListLines, undoneLines, when } from './history-output.js';
import { syncedLines, syncStatusLines } from './sync-output.js';
import { isRec, type Rec } from './wire.js';
import { lineOf, relative, styles, text, type Styles } from '../protocol/task-lines.js';

export type { Styles };

export type Output = (
  | { kind: 'tasks'; data: unknown; empty: string }
  /** A task list the daemon rendered (`next` with form "lines"): its text printed as it came. */
  | { kind: 'task-text'; data: unknown; empty: string }
  | { kind: 'task'; data: unknown; verb: string }
  | { kind: 'added'; data: unknown }
  | { kind: 'completed'; data: unknown; verb: string }
  | { kind: 'node'; data: unknown; verb: string }
  | { kind: 'nodes'; data: unknown; empty: string }
  | { kind: 'show'; data: unknown }
  | { kind: 'raw'; text: string; data: unknown }
  | { kind: 'journal'; data: unknown }
  | { kind: 'log'; data: unknown }
  | { kind: 'projects'; data: unknown }
  | { kind: 'tags'; data: unknown }
  | { kind: 'search'; data: unknown }
  | { kind: 'links'; data: unknown }
  | { kind: 'conflicts'; data: unknown }
  | { kind: 'views'; data: unknown }
  | { kind: 'methods'; data: unknown }
  | { kind: 'summary'; heading: string; data: unknown }
  | { kind: 'synced'; data: unknown }
  | { kind: 'repair'; data: unknown; check: boolean }
  | { kind: 'sync-status'; data: unknown; details: boolean }
  | { kind: 'json'; data: unknown }
  | { kind: 'doctor'; data: unknown }
  | { kind: 'history'; data: unknown }
  | { kind: 'reverted'; data: unknown }
  | { kind: 'undone'; data: unknown }
  | { kind: 'undo-list'; data: unknown }
  | { kind: 'none' }
) & {
  /** The exit code when the command succeeded in running but reports a failure (doctor, and
   *  daemon status when the daemon is not running). */
  exit?: number;
};

export interface PrintOptions {
  json: boolean;
  color: boolean;
  /** The user's local day, for relative dates. */
  today: string;
}

/** The text to write to stdout for an output ('' for nothing). */
export function render(out: Output, opts: PrintOptions): string {
  if (out.kind === 'none') return '';
  if (opts.json) {
    return JSON.stringify(out.data, null, 2) + '\n';
  }
  if (out.kind === 'raw') return out.text;
  const s = styles(opts.color);
  const text = human(out, s, opts.today);
  return text === '' || text.endsWith('\n') ? text : text + '\n';
}

// ---- values --------------------------------------------------------------------------------

/** The short id a result carries, or a short form of a ULID (its last 8 characters). */
export function shortId(r: Rec): string {
  if (typeof r.short_id === 'string') return r.short_id;
  const id = text(r.id);
  return /^[0-9A-Z]{26}$/.test(id) ? id.slice(-8).toLowerCase() : id;
}

/** How many lines of each version of a body `heph conflicts` shows. */
const BODY_PREVIEW_LINES = 6;

function shorten(id: string): string {
  return /^[0-9A-Z]{26}$/.test(id) ? id.slice(-8).toLowerCase() : id;
}

function withRelative(date: string, today: string): string {
  const r = relative(date, today);
  return r === date ? date : `${date} (${r})`;
}

function taskLine(t: Rec, s: Styles, today: string): string {
  return lineOf(
    {
      shortId: shortId(t),
      attention: t.attention,
      title: t.title,
      state: t.state,
      doDate: t.do_date,
      lateOn: t.late_on,
      recurrence: t.recurrence,
      tags: t.tags,
    },
    s,
    today,
  );
}

function field(o: Rec, key: string): unknown {
  return o[key];
}

function items(o: unknown, key: string): Rec[] {
  if (!isRec(o)) return [];
  const v = o[key];
  return Array.isArray(v) ? v.filter(isRec) : [];
}

/** A list in a summary, as a person reads it: `none`, or `a, b` (objects stay JSON). */
function listed(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  if (v.length === 0) return 'none';
  return v.every((x) => typeof x === 'string' || typeof x === 'number') ? v.join(', ') : v;
}

function kv(rows: [string, unknown][], s: Styles): string {
  const shown = rows.filter(([, v]) => v !== undefined && v !== null && v !== '');
  const w = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${s.dim((k + ':').padEnd(w + 1))} ${text(v)}`).join('\n');
}

/** A summary's fields as `key: value` lines, a nested record's fields indented under its key
 *  (a person reads them, not its JSON). */
function summaryLines(r: Rec, s: Styles): string[] {
  const rows = Object.entries(r)
    .map(([k, v]): [string, unknown] => [k.replace(/_/g, ' '), listed(v)])
    .filter(([, v]) => v !== undefined && v !== null && v !== '');
  const w = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.flatMap(([k, v]) =>
    isRec(v)
      ? [s.dim(`${k}:`), ...summaryLines(v, s).map((l) => '  ' + l)]
      : [`${s.dim((k + ':').padEnd(w + 1))} ${text(v)}`],
  );
}

function nodeLine(n: Rec, s: Styles): string {
  const kind = typeof n.kind === 'string' ? n.kind : '';
  return `${s.dim(shortId(n).padEnd(8))}  ${kind.padEnd(7)}  ${text(n.title)}`;
}

// ---- renderers -----------------------------------------------------------------------------

function human(out: Exclude<Output, { kind: 'none' | 'raw' }>, s: Styles, today: string): string {
  const d = out.data;
  const r: Rec = isRec(d) ? d : {};
  switch (out.kind) {
    case 'tasks':
    case 'task-text': {
      const lines =
        out.kind === 'tasks'
          ? items(d, 'tasks')
              .map((t) => taskLine(t, s, today))
              .join('\n')
          : text(r.text);
      if (lines !== '') return lines;
      if (!('coming' in r)) return out.empty;
      const c = isRec(r.coming) ? r.coming : undefined;
      if (c === undefined) {
        return `${out.empty} Nothing is scheduled either; add a task: heph add "Call the plumber tomorrow"`;
      }
      const when = typeof c.do_date === 'string' ? ` (${relative(c.do_date, today)})` : '';
      return `${out.empty} Next up: ${text(c.title)}${when}  ${s.dim(shortId(c))}`;
    }
    case 'task':
      return `${out.verb} ${taskLine(isRec(r.task) ? r.task : r, s, today)}`;
    case 'added': {
      const t = isRec(r.task) ? r.task : {};
      const dry = r.dry_run === true;
      const lines = [`${dry ? 'Would add' : 'Added'} ${taskLine(t, s, today)}`];
      const p = r.project;
      if (isRec(p)) {
        if (r.created_project !== true) lines.push(`In project ${text(p.title)}`);
        else if (dry) lines.push(`Would create project ${text(p.title)}`);
        else lines.push(`Created project ${text(p.title)} (${shortId(p)})`);
      }
      if (dry) lines.push(s.dim('(dry run: nothing was added)'));
      return lines.join('\n');
    }
    case 'completed': {
      const t = isRec(r.task) ? r.task : {};
      if (r.rolled === true) {
        const next = typeof r.next_do_date === 'string' ? r.next_do_date : 'its next date';
        return `${out.verb} ${text(t.title)}; next on ${next} (${shortId(t)})`;
      }
      return `${out.verb} ${taskLine(t, s, today)}`;
    }
    case 'node':
      return `${out.verb} ${nodeLine(r, s)}`;
    case 'nodes': {
      const nodes = items(d, 'nodes');
      return nodes.length === 0 ? out.empty : nodes.map((n) => nodeLine(n, s)).join('\n');
    }
    case 'show':
      return show(r, s, today);
    case 'journal': {
      const j = isRec(r.journal) ? r.journal : {};
      const note = r.created === true ? ' (new)' : r.restored === true ? ' (restored)' : '';
      const body = text(j.body);
      return `${s.bold(`Journal ${text(j.date)}`)}${note}  ${s.dim(text(j.id))}${body ? '\n\n' + body : ''}`;
    }
    case 'log': {
      if (Array.isArray(r.entries)) {
        const e = items(d, 'entries');
        return e.length === 0
          ? 'No log entries.'
          : e.map((x) => `${s.dim(text(x.date))}  ${text(x.text)}`).join('\n');
      }
      return `Logged ${s.dim(text(r.date))}  ${text(r.text)}`;
    }
    case 'projects': {
      const ps = items(d, 'projects');
      if (ps.length === 0) return 'No projects.';
      const byId = new Map(ps.map((p) => [text(p.id), p]));
      const depth = (p: Rec): number => {
        let n = 0;
        let cur: Rec | undefined = p;
        while (cur && typeof cur.parent === 'string' && n < 32) {
          cur = byId.get(cur.parent);
          n++;
        }
        return n;
      };
      const lines: string[] = [];
      const walk = (parent: string | null) => {
        for (const p of ps.filter((x) => (x.parent ?? null) === parent)) {
          lines.push(
            `${s.dim(shortId(p).padEnd(8))}  ${'  '.repeat(depth(p))}${text(p.title)}  ${s.dim(`${text(p.outstanding)}/${text(p.tasks)} open`)}`,
          );
          walk(text(p.id));
        }
      };
      walk(null);
      // Projects whose parent is not in the list (deleted parent) still show.
      for (const p of ps) {
        if (typeof p.parent === 'string' && !byId.has(p.parent)) {
          lines.push(`${s.dim(shortId(p).padEnd(8))}  ${text(p.title)}`);
        }
      }
      return lines.join('\n');
    }
    case 'tags': {
      // One node's tags (tag.list with an id, tag.add, tag.remove); else every tag's count.
      if (
        typeof r.id === 'string' &&
        Array.isArray(r.tags) &&
        r.tags.every((t) => typeof t === 'string')
      ) {
        const tags = r.tags;
        const removed = r.removed === false ? ' (it did not have that tag)' : '';
        return `${shortId(r)}: ${tags.length ? tags.map((t) => `+${t}`).join(' ') : 'no tags'}${removed}`;
      }
      const tags = items(d, 'tags');
      if (tags.length === 0) return 'No tags.';
      return tags
        .map((t) => `+${text(t.name)}${t.count !== undefined ? '  ' + s.dim(text(t.count)) : ''}`)
        .join('\n');
    }
    case 'search': {
      const res = items(d, 'results');
      if (res.length === 0) return 'No matches.';
      return res
        .map((x) => {
          const snip = text(x.snippet).replace(/\s+/g, ' ').trim();
          return `${nodeLine(x, s)}${snip ? '\n' + ' '.repeat(10) + s.dim(snip) : ''}`;
        })
        .join('\n');
    }
    case 'links':
      return linkLines(r, s) || 'No links.';
    case 'conflicts': {
      const cs = items(d, 'conflicts');
      if (cs.length === 0) return 'No conflicts.';
      // Every project of a loop has its own conflict listed: their titles name the loop.
      const titles = new Map(cs.map((c) => [text(c.target), text(c.title)]));
      const blocks = cs.map((c) => {
        const body = c.field === 'body';
        // A node in two projects (or under two parents): each head is a project, named.
        const project = c.field === 'project' || c.field === 'parent';
        const id = typeof c.short_id === 'string' ? c.short_id : shorten(text(c.target));
        const name = c.title ? `${text(c.title)} (${id})` : id;
        const heads = items(c, 'heads').map((h) => {
          const from = s.dim(`from ${text(h.device ?? h.origin)} at ${text(h.at)}`);
          if (project) {
            const id = typeof h.short_id === 'string' ? h.short_id : shorten(text(h.value));
            return `    ${h.title ? `${text(h.title)} (${id})` : id}  ${from}`;
          }
          if (!body) return `    ${JSON.stringify(h.value)}  ${from}`;
          // A body's versions are texts: shown as their first lines, never as one JSON string.
          const lines = text(h.value).replace(/\n$/, '').split('\n');
          const shown = lines.slice(0, BODY_PREVIEW_LINES).map((l) => `      ${l}`);
          const more = lines.length - shown.length;
          return [
            `    ${lines.length} line${lines.length === 1 ? '' : 's'}  ${from}`,
            ...shown,
            ...(more > 0 ? [s.dim(`      … ${more} more`)] : []),
          ].join('\n');
        });
        // Projects under each other: the loop, so the one value shown is understood.
        const loop = Array.isArray(c.cycle) ? c.cycle.map(text) : [];
        const named = [...loop, loop[0] ?? ''].map((id) => titles.get(id) || shorten(id));
        const note = loop.length > 0 ? `  ${s.dim(`loop: ${named.join(' under ')}`)}` : '';
        return [`${name} ${s.bold(text(c.field))}${note}`, ...heads].join('\n');
      });
      return [
        ...blocks,
        s.dim(
          'Keep one value: heph conflicts resolve ID FIELD VALUE (for body, VALUE - reads the text from standard input; for project and parent, VALUE is the project to keep, or null)',
        ),
      ].join('\n');
    }
    case 'views': {
      if (Array.isArray(r.views)) {
        return items(d, 'views')
          .map((v) => `${text(v.name).padEnd(12)} ${s.dim(text(v.description))}`)
          .join('\n');
      }
      const tasks = items(d, 'tasks');
      return tasks.length === 0 ? 'No tasks.' : tasks.map((t) => taskLine(t, s, today)).join('\n');
    }
    case 'methods': {
      const ms = items(d, 'methods');
      const w = Math.max(0, ...ms.map((m) => text(m.name).length));
      return ms.map((m) => `${text(m.name).padEnd(w)}  ${s.dim(text(m.summary))}`).join('\n');
    }
    case 'summary':
      return [out.heading, ...summaryLines(r, s).map((l) => '  ' + l)].join('\n');
    case 'synced':
      return syncedLines(r);
    case 'repair': {
      const found = items(d, 'doubled');
      if (found.length === 0) return 'No doubled bodies.';
      const line = (x: Rec) =>
        `  ${s.dim(shortId(x).padEnd(8))}  ${text(x.title)}  ${s.dim(`${text(x.copies)} copies of ${typeof x.length === 'number' ? x.length.toLocaleString('en-US') : text(x.length)} characters`)}${x.fixable === false ? '  (edited since: fix by hand)' : ''}`;
      const fixable = found.filter((x) => x.fixable !== false).length;
      if (out.check) {
        const head = `${found.length} ${found.length === 1 ? 'note has' : 'notes have'} a doubled body:`;
        const tail =
          fixable > 0
            ? `\nRun \`heph repair\` to make ${fixable === 1 ? 'it' : 'them'} single.`
            : '';
        return [head, ...found.map(line)].join('\n') + tail;
      }
      const left = found.filter((x) => x.fixable === false);
      return [
        `Repaired ${text(r.fixed)} ${r.fixed === 1 ? 'note' : 'notes'}.`,
        ...(left.length > 0
          ? ['Left as they are (edited since they were doubled):', ...left.map(line)]
          : []),
      ].join('\n');
    }
    case 'sync-status':
      return syncStatusLines(r, out.details, s);
    case 'json':
      return JSON.stringify(d, null, 2);
    case 'doctor':
      return doctorLines(r, s);
    case 'history':
      return historyLines(r, s, today);
    case 'reverted':
      return revertedLines(r, s, today);
    case 'undone':
      return undoneLines(r, s, today);
    case 'undo-list':
      return undoListLines(r, s, today);
  }
}

function doctorLines(r: Rec, s: Styles): string {
  const checks = items(r, 'checks');
  const w = Math.max(0, ...checks.map((c) => text(c.check).length));
  const mark = (v: unknown) =>
    v === 'ok' ? s.green('ok  ') : v === 'warn' ? s.yellow('warn') : s.red(s.bold('FAIL'));
  const lines = checks.flatMap((c) => [
    `${mark(c.verdict)}  ${text(c.check).padEnd(w)}  ${text(c.message)}`,
    ...(c.verdict !== 'ok' && typeof c.fix === 'string'
      ? [`${' '.repeat(w + 8)}${s.dim('fix:')} ${c.fix}`]
      : []),
  ]);
  const failed = typeof r.failed === 'number' ? r.failed : 0;
  const warnings = typeof r.warnings === 'number' ? r.warnings : 0;
  const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  const verdict =
    failed > 0
      ? `${plural(failed, 'check')} failed${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''}`
      : warnings > 0
        ? `No failures; ${plural(warnings, 'warning')}`
        : 'All checks passed';
  return [...lines, '', verdict].join('\n');
}

function linkLines(r: Rec, s: Styles): string {
  const lines: string[] = [];
  const titles = isRec(r.titles) ? r.titles : {};
  const name = (id: string, short: unknown) => {
    const t = titles[id];
    const shown = typeof short === 'string' ? short : shorten(id);
    return `${s.dim(shown.padEnd(8))}  ${typeof t === 'string' ? t : ''}`;
  };
  for (const l of items(r, 'links')) {
    const out = text(l.src) === text(r.id);
    const other = name(out ? text(l.dst) : text(l.src), out ? l.dst_short_id : l.src_short_id);
    lines.push(`${text(l.type).padEnd(17)}  ${other}`);
  }
  for (const w of items(r, 'wiki')) {
    const n = isRec(w.node) ? w.node : undefined;
    const target = text(w.target ?? w.title);
    if (n) lines.push(`${'wiki'.padEnd(17)}  ${s.dim(shortId(n).padEnd(8))}  ${text(n.title)}`);
    else if (typeof w.id === 'string') {
      lines.push(`${'wiki'.padEnd(17)}  ${s.dim(shortId(w).padEnd(8))}  ${text(w.title)}`);
    } else lines.push(`${'wiki'.padEnd(17)}  ${s.dim('(unresolved)')}  [[${target}]]`);
  }
  return lines.join('\n');
}

function show(r: Rec, s: Styles, today: string): string {
  const node = isRec(r.node) ? r.node : r; // `heph get` gives the node alone
  const task = isRec(r.task) ? r.task : undefined;
  const out: string[] = [];
  out.push(`${s.bold(text(node.title))}  ${s.dim(`${text(node.kind)} ${shortId(node)}`)}`);
  const rows: [string, unknown][] = [['id', node.id]];
  // Fields now in conflict (heph show): one line, named as heph status and heph conflicts do.
  const open = node === r ? [] : Array.isArray(r.conflicts) ? r.conflicts.map(text) : [];
  if (open.length > 0) rows.push(['conflicts', `${open.join(', ')} to resolve (heph conflicts)`]);
  // heph show --at: the version shown, and what was unsettled then.
  if (typeof node.short_version === 'string') {
    rows.push(['version', `${node.short_version} (${when(node.at, today)}, ${text(node.device)})`]);
    if (Array.isArray(node.conflicts) && node.conflicts.length > 0) {
      rows.push(['conflicts', `${node.conflicts.map(text).join(', ')} (then)`]);
    }
    if (node.body_conflict === true) rows.push(['body', 'in conflict then']);
  }
  if (task) {
    rows.push(
      ['state', task.state],
      ['attention', task.attention],
      ['do', typeof task.do_date === 'string' ? withRelative(task.do_date, today) : null],
      ['late on', typeof task.late_on === 'string' ? withRelative(task.late_on, today) : null],
      ['recurs', task.recurrence],
      [
        'project',
        isRec(r.titles) && typeof task.project === 'string'
          ? (r.titles[task.project] ?? task.project)
          : task.project,
      ],
      [
        'tags',
        Array.isArray(task.tags) && task.tags.length
          ? task.tags.map((t) => `+${text(t)}`).join(' ')
          : null,
      ],
      [
        'context',
        typeof task.context_short_id === 'string'
          ? task.context_short_id
          : typeof task.context === 'string'
            ? shorten(task.context)
            : null,
      ],
      ['log', typeof task.log === 'string' ? task.log : null],
    );
  }
  const aliases = field(node, 'aliases');
  if (Array.isArray(aliases) && aliases.length)
    rows.push(['aliases', aliases.map(text).join(', ')]);
  rows.push(['updated', node.updated]);
  if (node.deleted === true) rows.push(['deleted', 'yes (in the trash)']);
  out.push(kv(rows, s));
  const body = text(task ? task.body : node.body);
  if (body.trim()) out.push('', body.replace(/\n+$/, ''));
  // Text an earlier version kept in the task itself, beside its note.
  const own = task ? text(task.own_body) : '';
  if (own.trim()) out.push('', s.dim('Also in the task itself:'), own.replace(/\n+$/, ''));
  const links = linkLines({ ...r, id: node.id, links: r.links ?? [], wiki: r.wiki ?? [] }, s);
  if (links) out.push('', s.bold('Links'), links);
  const back = linkLines(
    { id: node.id, titles: r.titles, links: r.backlinks ?? [], wiki: r.wiki_backlinks ?? [] },
    s,
  );
  if (back) out.push('', s.bold('Backlinks'), back);
  return out.join('\n');
}
