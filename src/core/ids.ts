// Node and link identifiers. Content nodes and projects get ULIDs; tags, journals and task log
// docs get deterministic ids so that two offline replicas creating "the same" one converge on a
// single node. Link ids are deterministic from (src, type, dst) for the same reason.

import { HephError } from './errors.js';

export type NodeKind = 'doc' | 'task' | 'project' | 'tag' | 'journal';
export const NODE_KINDS: readonly NodeKind[] = ['doc', 'task', 'project', 'tag', 'journal'];

export type LinkType = 'wiki' | 'canonical-context' | 'log-of' | 'in-project' | 'tagged' | 'parent';
export const LINK_TYPES: readonly LinkType[] = [
  'wiki',
  'canonical-context',
  'log-of',
  'in-project',
  'tagged',
  'parent',
];

/**
 * Link types a node holds one of (a task's project, a project's parent), each by the field a
 * conflict between two of them is listed under: concurrent moves on two devices leave two live
 * links (links are an add-wins set), and that is a conflict like two values of one field.
 */
export const SINGLE_LINK_FIELDS = { 'in-project': 'project', parent: 'parent' } as const;
export type SingleLinkType = keyof typeof SINGLE_LINK_FIELDS;
export type SingleLinkField = (typeof SINGLE_LINK_FIELDS)[SingleLinkType];

export function isSingleLinkType(t: string): t is SingleLinkType {
  return Object.hasOwn(SINGLE_LINK_FIELDS, t);
}

/** The link type of a single-link field ('project' → 'in-project'), or undefined. */
export function singleLinkTypeOf(field: string): SingleLinkType | undefined {
  for (const [type, f] of Object.entries(SINGLE_LINK_FIELDS)) {
    if (f === field) return type as SingleLinkType;
  }
  return undefined;
}

export function isNodeKind(v: unknown): v is NodeKind {
  return typeof v === 'string' && (NODE_KINDS as readonly string[]).includes(v);
}

export function isLinkType(v: unknown): v is LinkType {
  return typeof v === 'string' && (LINK_TYPES as readonly string[]).includes(v);
}

const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const TAG_NAME_RE = /^[\p{Ll}\p{Lo}\p{Lm}\p{M}\p{N}_\-/.]{1,64}$/u;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
// Deterministic ids made from other data (for instance a note's path in an imported vault).
const DERIVED_RE = /^[a-z][a-z0-9]{0,15}:[^\s|]{1,200}$/u;

export function isUlid(s: string): boolean {
  return ULID_RE.test(s);
}

export function isValidDate(s: string): boolean {
  if (!DATE_RE.test(s)) return false;
  const [y, m, d] = s.split('-').map(Number) as [number, number, number];
  if (m < 1 || m > 12 || d < 1) return false;
  const days = [
    31,
    y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28,
    31,
    30,
    31,
    30,
    31,
    31,
    30,
    31,
    30,
    31,
  ];
  return d <= (days[m - 1] ?? 0);
}

export function isNodeId(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  if (ULID_RE.test(v)) return true;
  if (v.startsWith('tag:')) return TAG_NAME_RE.test(v.slice(4));
  if (v.startsWith('journal:')) return isValidDate(v.slice(8));
  if (v.startsWith('log:')) return ULID_RE.test(v.slice(4)) || DERIVED_RE.test(v.slice(4));
  return DERIVED_RE.test(v);
}

/** Trimmed, lower-cased and in Unicode NFC, so every spelling of one name is one tag. */
export function normalizeTagName(name: string): string {
  return name.trim().toLowerCase().normalize('NFC');
}

export function tagId(name: string): string {
  const n = normalizeTagName(name);
  if (!TAG_NAME_RE.test(n)) {
    throw new HephError(
      'invalid_params',
      `tag name ${JSON.stringify(name)} must be 1-64 letters, digits, '_', '-', '/' or '.'`,
      { field: 'name' },
    );
  }
  return `tag:${n}`;
}

export function journalId(date: string): string {
  if (!isValidDate(date)) {
    throw new HephError(
      'invalid_params',
      `date ${JSON.stringify(date)} is not a calendar date (YYYY-MM-DD)`,
      { field: 'date' },
    );
  }
  return `journal:${date}`;
}

export function logId(taskId: string): string {
  return `log:${taskId}`;
}

/** Kind implied by a deterministic id, if any. */
export function kindOfDeterministicId(id: string): NodeKind | undefined {
  if (id.startsWith('tag:')) return 'tag';
  if (id.startsWith('journal:')) return 'journal';
  if (id.startsWith('log:')) return 'doc';
  return undefined;
}

/** Node ids never contain '|', so the concatenation is unambiguous. */
export function linkId(src: string, type: LinkType, dst: string): string {
  return `${src}|${type}|${dst}`;
}

export function isLinkId(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const parts = v.split('|');
  return parts.length === 3 && isNodeId(parts[0]) && isLinkType(parts[1]) && isNodeId(parts[2]);
}

export interface Random {
  /** A float in [0, 1). */
  next(): number;
}

export function randomHex(random: Random, digits: number): string {
  let s = '';
  for (let i = 0; i < digits; i++) s += Math.floor(random.next() * 16).toString(16);
  return s;
}
