// Request bodies and queries at the hub's boundary. Guarantees: a body is text until it passes
// the nesting guard (deeper than maxDepth is refused before JSON.parse, so nothing that walks it
// later can overflow the stack) and JSON.parse; a parsed value is `unknown` until a zod schema
// accepts it, and a rejection names the first offending field as a dotted path.

import type { z } from 'zod';
import { HephError, invalid } from '../core/errors.js';
import { parseMessage } from '../protocol/json-rpc.js';

export const MAX_JSON_DEPTH = 64;

/** Parses a JSON body; throws invalid_params with the reason. */
export function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (text.trim() === '') throw invalid('body', 'is empty; expected a JSON document');
  const parsed = parseMessage(text, maxDepth);
  if (parsed.ok) return parsed.value;
  const reason = 'error' in parsed.response ? parsed.response.error.message : 'parse error';
  throw new HephError('invalid_params', `body is not valid JSON: ${reason}`, { field: 'body' });
}

/** Runs a schema on wire data; throws invalid_params naming the first bad field. */
export function parseWire<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (issue === undefined) throw invalid(what, 'rejected');
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) {
    path.push(issue.keys[0]);
    throw invalid(path.join('.'), 'unknown field');
  }
  throw invalid(path.length > 0 ? path.join('.') : what, issue.message);
}
