// Appending text to a body: notes and journals fed from pipes, and task log entries. The read and
// the write happen in one transaction in the daemon, so nothing that lands in between (a sync, a
// second append) is overwritten; the body change is a Yjs insert at the end, so an append made on
// another device at the same time survives the merge beside this one.

import type { NodeView } from '../ports/store.js';
import { requireNode, type ModelContext } from './nodes.js';
import { bad, checkBody } from './validate.js';

/** `body` with `text` added on a line of its own, ending in a newline. */
export function appendText(body: string, text: string): string {
  const sep = body === '' || body.endsWith('\n') ? '' : '\n';
  return body + sep + text + (text.endsWith('\n') ? '' : '\n');
}

export function checkAppend(v: unknown): string {
  const text = checkBody(v, 'text');
  if (text.trim() === '') throw bad('text', 'is empty; there is nothing to append');
  return text;
}

export function appendToNode(ctx: ModelContext, id: unknown, text: unknown): NodeView {
  const t = checkAppend(text);
  return ctx.store.transaction(() => {
    const n = requireNode(ctx.store, id, 'id');
    return ctx.store.updateNode(n.id, { body: appendText(n.body, t) });
  });
}
