// A task's log doc (id `log:<task id>`, linked log → task with 'log-of'): one dated line per
// entry, `- YYYY-MM-DD text`. Entries are appended at the end of the body, so entries written on
// two devices at once both survive the body merge. Lines in other shapes (the user may edit the
// doc freely) are kept but are not entries.

import { logId } from '../core/ids.js';
import { MAX_TITLE } from '../core/fields.js';
import type { NodeView } from '../ports/store.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { appendText } from './append.js';
import { ensureNode, requireNode, type ModelContext } from './nodes.js';
import type { LogEntry } from './types.js';
import { checkInt, checkLine, MAX_LOG_TEXT } from './validate.js';

const ENTRY_RE = /^- (\d{4}-\d{2}-\d{2}) (.*)$/;

export function formatEntry(e: LogEntry): string {
  return `- ${e.date} ${e.text}`;
}

export function parseEntries(body: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of body.split(/\r\n|\n|\r/)) {
    const m = ENTRY_RE.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) out.push({ date: m[1], text: m[2] });
  }
  return out;
}

/** Appends an entry to the task's log doc, creating (or restoring) and linking the doc. */
export function appendToLog(store: SqliteStore, task: NodeView, entry: LogEntry): void {
  const id = logId(task.id);
  const { node } = ensureNode(store, id, 'doc', `Log: ${task.title}`.slice(0, MAX_TITLE));
  store.addLink(id, task.id, 'log-of');
  store.updateNode(id, { body: appendText(node.body, formatEntry(entry)) });
}

export function logAppend(
  ctx: ModelContext,
  taskId: unknown,
  text: unknown,
  today: unknown,
): LogEntry {
  const line = checkLine(text, 'text', MAX_LOG_TEXT).trim();
  const date = ctx.today(today);
  const task = requireNode(ctx.store, taskId, 'id', 'task');
  const entry = { date, text: line };
  ctx.store.transaction(() => appendToLog(ctx.store, task, entry));
  return entry;
}

export function logTail(ctx: ModelContext, taskId: unknown, n: unknown): LogEntry[] {
  const count = n === undefined ? 10 : checkInt(n, 'n', 1, 10_000);
  const task = requireNode(ctx.store, taskId, 'id', 'task', true);
  const log = ctx.store.findNode(logId(task.id));
  if (!log) return [];
  return parseEntries(log.body).slice(-count);
}
