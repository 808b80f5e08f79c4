// Quick add: one line of text to a task (core/quick-add parses it). The project named by
// `#Name` is found by id or title among live projects and created when there is none; the whole
// capture (project, task, context doc, tags) commits in one transaction.

import { parseQuickAdd } from '../core/quick-add.js';
import type { ModelContext } from './nodes.js';
import { findProject } from './projects.js';
import { insertTask, type NewTask } from './tasks.js';
import type { QuickAddResult } from './types.js';
import { checkLine } from './validate.js';

/** Longest quick-add line. */
export const MAX_QUICK_ADD = 4096;

export function quickAdd(ctx: ModelContext, text: unknown, today: unknown): QuickAddResult {
  const line = checkLine(text, 'text', MAX_QUICK_ADD);
  const day = ctx.today(today);
  const q = parseQuickAdd(line, day);
  const existing = q.project === null ? null : findProject(ctx.store, q.project, 'text', true);
  return ctx.store.transaction(() => {
    let project = existing;
    let created = false;
    if (q.project !== null && project === null) {
      const n = ctx.store.createNode({ kind: 'project', title: q.project });
      project = { id: n.id, title: n.title };
      created = true;
    }
    const t: NewTask = {
      title: q.title,
      body: undefined,
      attention: q.attention ?? undefined,
      do_date: q.do_date,
      late_on: q.late_on,
      recurrence: q.recurrence,
      project,
      tags: q.tags,
    };
    const r = insertTask(ctx.store, t);
    return { ...r, project, created_project: created };
  });
}
