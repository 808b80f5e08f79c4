// Quick add: one line of text to a task (core/quick-add parses it). The project named by
// `#Name` is found by id or title among live projects and created when there is none; the whole
// capture (project, task, context doc, tags) commits in one transaction. Words the parser kept in
// the title come back as warnings (or, strict, refuse the line); a dry run returns the same
// reading and writes nothing.

import { parseQuickAdd } from '../core/quick-add.js';
import { sameTitleWarning } from './names.js';
import type { ModelContext } from './nodes.js';
import { findProject } from './projects.js';
import { insertTask, type NewTask } from './tasks.js';
import type { QuickAddPreview, QuickAddResult } from './types.js';
import { checkLine } from './validate.js';

/** Longest quick-add line. */
export const MAX_QUICK_ADD = 4096;

export interface QuickAddOptions {
  /** Refuse the line instead of keeping unread `every`/`on`/`due` words in the title. */
  strict?: boolean;
}

/** The line as the parser reads it, and the live project it names (null: none, or new). */
function read(ctx: ModelContext, text: unknown, today: unknown, opts: QuickAddOptions) {
  const line = checkLine(text, 'text', MAX_QUICK_ADD);
  const q = parseQuickAdd(line, ctx.today(today), { strict: opts.strict === true });
  const existing = q.project === null ? null : findProject(ctx.store, q.project, 'text', true);
  return { q, existing };
}

/** What quickAdd would create, without writing anything. */
export function previewQuickAdd(
  ctx: ModelContext,
  text: unknown,
  today: unknown,
  opts: QuickAddOptions = {},
): QuickAddPreview {
  const { q, existing } = read(ctx, text, today, opts);
  return {
    dry_run: true,
    task: {
      title: q.title,
      state: 'outstanding',
      attention: q.attention ?? 'white',
      do_date: q.do_date,
      late_on: q.late_on,
      recurrence: q.recurrence,
      tags: q.tags,
    },
    project: existing ?? (q.project === null ? null : { id: null, title: q.project }),
    created_project: q.project !== null && existing === null,
    warnings: q.warnings,
  };
}

export function quickAdd(
  ctx: ModelContext,
  text: unknown,
  today: unknown,
  opts: QuickAddOptions = {},
): QuickAddResult {
  const { q, existing } = read(ctx, text, today, opts);
  const warning = sameTitleWarning(ctx.store, q.title);
  const r = ctx.store.transaction((): QuickAddResult => {
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
    return { ...insertTask(ctx.store, t), project, created_project: created, warnings: q.warnings };
  });
  return warning === undefined ? r : { ...r, warnings: [...r.warnings, warning] };
}
