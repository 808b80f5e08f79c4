// Journals: one node per day with the deterministic id `journal:<YYYY-MM-DD>`, so two devices
// opening the same day offline converge on one node. Opening is idempotent: an existing, live
// journal is returned without writing anything.

import { journalId } from '../core/ids.js';
import type { NodeView } from '../ports/store.js';
import { appendText, checkAppend } from './append.js';
import { ensureNode, type ModelContext } from './nodes.js';
import type { JournalView, OpenJournalResult } from './types.js';
import { checkDate } from './validate.js';

function journalView(n: NodeView, day: string): JournalView {
  return {
    id: n.id,
    date: day,
    title: n.title,
    body: n.body,
    body_version: n.body_version,
    created: n.created,
    updated: n.updated,
  };
}

function dayOf(ctx: ModelContext, date: unknown): string {
  return date === undefined ? ctx.today(undefined) : checkDate(date, 'date');
}

export function openJournal(ctx: ModelContext, date: unknown): OpenJournalResult {
  const day = dayOf(ctx, date);
  const r = ctx.store.transaction(() => ensureNode(ctx.store, journalId(day), 'journal', day));
  return { journal: journalView(r.node, day), created: r.created, restored: r.restored };
}

/** Appends text to a day's journal (today by default), creating or restoring it first. */
export function appendJournal(ctx: ModelContext, date: unknown, text: unknown): OpenJournalResult {
  const t = checkAppend(text);
  const day = dayOf(ctx, date);
  return ctx.store.transaction(() => {
    const r = ensureNode(ctx.store, journalId(day), 'journal', day);
    const n = ctx.store.updateNode(r.node.id, { body: appendText(r.node.body, t) });
    return { journal: journalView(n, day), created: r.created, restored: r.restored };
  });
}
