// Node fields and the values each may hold. Known fields are checked strictly everywhere (local
// writes and ops from other devices alike); other well-named fields are kept as opaque JSON so
// that a newer version's fields survive a round trip through an older replica.

import { isNodeKind, isValidDate } from './ids.js';
import { canonicalJson, isJson } from './json.js';

export const TASK_STATES = ['outstanding', 'done', 'dropped'] as const;
export type TaskState = (typeof TASK_STATES)[number];
export const ATTENTIONS = ['white', 'orange', 'red', 'blue'] as const;
export type Attention = (typeof ATTENTIONS)[number];

export const MAX_TITLE = 1024;
export const MAX_ALIASES = 100;
export const MAX_EXTRA_VALUE_BYTES = 64 * 1024;
const FIELD_RE = /^[a-z][a-z0-9_]{0,63}$/;

/** Fields stored as their own columns. */
export const KNOWN_FIELDS = [
  'kind',
  'title',
  'aliases',
  'deleted',
  'state',
  'attention',
  'do_date',
  'late_on',
  'recurrence',
] as const;
export type KnownField = (typeof KNOWN_FIELDS)[number];

export const TASK_FIELDS = ['state', 'attention', 'do_date', 'late_on', 'recurrence'] as const;

export function isKnownField(f: string): f is KnownField {
  return (KNOWN_FIELDS as readonly string[]).includes(f);
}

function line(v: unknown, max: number, allowEmpty: boolean): string | undefined {
  if (typeof v !== 'string') return 'must be a string';
  if (!allowEmpty && v.trim() === '') return 'must not be empty';
  if (v.length > max) return `must be at most ${max} characters`;
  if (/[\r\n]/.test(v)) return 'must be a single line';
  return undefined;
}

function withField(field: string, msg: string | undefined): string | undefined {
  return msg === undefined ? undefined : `${field} ${msg}`;
}

/** Returns undefined when `value` is acceptable for `field`, else a message naming the field. */
export function validateFieldValue(field: string, value: unknown): string | undefined {
  if (!FIELD_RE.test(field))
    return `field name ${JSON.stringify(field.slice(0, 70))} is not a lower-case identifier`;
  switch (field) {
    case 'kind':
      return isNodeKind(value) ? undefined : 'kind must be one of doc, task, project, tag, journal';
    case 'title':
      return withField('title', line(value, MAX_TITLE, true));
    case 'aliases': {
      if (!Array.isArray(value) || value.length > MAX_ALIASES)
        return `aliases must be a list of at most ${MAX_ALIASES} names`;
      for (const a of value) {
        const m = line(a, MAX_TITLE, false);
        if (m) return `each alias ${m}`;
      }
      return undefined;
    }
    case 'deleted':
      return typeof value === 'boolean' ? undefined : 'deleted must be true or false';
    case 'state':
      return (TASK_STATES as readonly unknown[]).includes(value)
        ? undefined
        : `state must be one of ${TASK_STATES.join(', ')}`;
    case 'attention':
      return (ATTENTIONS as readonly unknown[]).includes(value)
        ? undefined
        : `attention must be one of ${ATTENTIONS.join(', ')}`;
    case 'do_date':
    case 'late_on':
      return value === null || (typeof value === 'string' && isValidDate(value))
        ? undefined
        : `${field} must be a calendar date YYYY-MM-DD or null`;
    case 'recurrence':
      return value === null ? undefined : withField('recurrence', line(value, 1000, false));
    default:
      if (!isJson(value, 16)) return `${field} must be JSON data`;
      if (canonicalJson(value).length > MAX_EXTRA_VALUE_BYTES) return `${field} is too large`;
      return undefined;
  }
}
