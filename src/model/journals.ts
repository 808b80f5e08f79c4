// Journals: one node per day with the deterministic id `journal:<YYYY-MM-DD>`, so two devices
// opening the same day offline converge on one node. Opening is idempotent: an existing, live
// journal is returned without writing anything.

import { journalId } from '../core/ids.js';
import { ensureNode, type ModelContext } from './nodes.js';
import type { JournalView, OpenJournalResult } from './types.js';
import { checkDate } from './validate.js';

export function openJournal(ctx: ModelContext, date: unknown): OpenJournalResult {
  const day = date === undefined ? ctx.today(undefined) : checkDate(date, 'date');
  const r = ctx.store.transaction(() => ensureNode(ctx.store, journalId(day), 'journal', day));
  const n = r.node;
  const journal: JournalView = {
    id: n.id,
    date: day,
    title: n.title,
    body: n.body,
    body_version: n.body_version,
    created: n.created,
    updated: n.updated,
  };
  return { journal, created: r.created, restored: r.restored };
}
