// Input checks for the model's entry points. Every method takes its arguments as untrusted (the
// RPC layer, the CLI and tests all call it) and rejects anything wrong with an invalid_params
// HephError whose `details.field` names the offending field, before it writes anything.

import { HephError } from '../core/errors.js';
import {
  ATTENTIONS,
  MAX_TITLE,
  type Attention,
  TASK_STATES,
  type TaskState,
} from '../core/fields.js';
import { isNodeId, isValidDate, normalizeTagName, tagId } from '../core/ids.js';
import { isPlainObject } from '../core/json.js';
import { normalizeRecurrence } from '../core/recur.js';

/** The longest body a model method accepts (the store's own limit). */
export const MAX_BODY = 16 * 1024 * 1024;
/** The longest log line. */
export const MAX_LOG_TEXT = 4000;

export function bad(field: string, message: string): HephError {
  return new HephError('invalid_params', `${field}: ${message}`, { field });
}

/** A plain object holding only `allowed` keys (undefined values are ignored). */
export function checkObject(
  v: unknown,
  field: string,
  allowed: readonly string[],
): Record<string, unknown> {
  if (v === undefined) return {};
  if (!isPlainObject(v)) throw bad(field, 'must be an object');
  for (const [k, x] of Object.entries(v)) {
    if (x !== undefined && !allowed.includes(k)) {
      const name = field === 'params' ? k : `${field}.${k}`;
      throw bad(name, `is not a known field here (expected ${allowed.join(', ')})`);
    }
  }
  return v;
}

export function checkId(v: unknown, field = 'id'): string {
  if (!isNodeId(v)) {
    const shown = typeof v === 'string' ? JSON.stringify(v.slice(0, 80)) : typeof v;
    throw bad(field, `${shown} is not a node id`);
  }
  return v;
}

export function checkDate(v: unknown, field: string): string {
  if (typeof v !== 'string' || !isValidDate(v)) throw bad(field, 'must be a date YYYY-MM-DD');
  return v;
}

export function checkOptionalDate(v: unknown, field: string): string | undefined {
  return v === undefined ? undefined : checkDate(v, field);
}

export function checkDateOrNull(v: unknown, field: string): string | null {
  return v === null ? null : checkDate(v, field);
}

export function checkTitle(v: unknown, field = 'title'): string {
  if (typeof v !== 'string') throw bad(field, 'must be a string');
  if (v.trim() === '') throw bad(field, 'must not be empty');
  if (/[\r\n]/.test(v)) throw bad(field, 'must be a single line');
  if (v.length > MAX_TITLE) throw bad(field, `must be at most ${MAX_TITLE} characters`);
  return v;
}

export function checkBody(v: unknown, field = 'body'): string {
  if (typeof v !== 'string') throw bad(field, 'must be a string');
  if (v.length > MAX_BODY) throw bad(field, `must be at most ${MAX_BODY} characters`);
  return v;
}

export function checkAttention(v: unknown, field = 'attention'): Attention {
  if (!(ATTENTIONS as readonly unknown[]).includes(v))
    throw bad(field, `must be one of ${ATTENTIONS.join(', ')}`);
  return v as Attention;
}

export function checkState(v: unknown, field = 'state'): TaskState {
  if (!(TASK_STATES as readonly unknown[]).includes(v))
    throw bad(field, `must be one of ${TASK_STATES.join(', ')}`);
  return v as TaskState;
}

/** A list of values each accepted by `check`; field names carry the index. */
export function checkList<T>(
  v: unknown,
  field: string,
  check: (x: unknown, field: string) => T,
  max = 1000,
): T[] {
  if (!Array.isArray(v)) throw bad(field, 'must be a list');
  if (v.length > max) throw bad(field, `must have at most ${max} entries`);
  return v.map((x, i) => check(x, `${field}[${i}]`));
}

/** A canonical RRULE, or null to clear; throws invalid_params naming `field`. */
export function checkRecurrence(v: unknown, field = 'recurrence'): string | null {
  if (v === null) return null;
  if (typeof v !== 'string')
    throw bad(field, 'must be an RRULE string such as FREQ=WEEKLY, or null');
  try {
    return normalizeRecurrence(v);
  } catch (e) {
    if (e instanceof HephError) throw new HephError('invalid_params', e.message, { field });
    throw e;
  }
}

/** A tag name, normalized (trimmed, lower case). */
export function checkTagName(v: unknown, field = 'name'): string {
  if (typeof v !== 'string') throw bad(field, 'must be a string');
  try {
    tagId(v);
  } catch (e) {
    if (e instanceof HephError) throw new HephError('invalid_params', e.message, { field });
    throw e;
  }
  return normalizeTagName(v);
}

export function checkInt(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw bad(field, `must be a whole number from ${min} to ${max}`);
  return v;
}

export function checkBoolean(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw bad(field, 'must be true or false');
  return v;
}

/** A one-line, non-empty text (a log entry, a project reference). */
export function checkLine(v: unknown, field: string, max: number): string {
  if (typeof v !== 'string') throw bad(field, 'must be a string');
  if (v.trim() === '') throw bad(field, 'must not be empty');
  if (/[\r\n]/.test(v)) throw bad(field, 'must be a single line');
  if (v.length > max) throw bad(field, `must be at most ${max} characters`);
  return v;
}
