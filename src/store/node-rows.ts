// Row shapes of the nodes table and their conversion to the API's node view.

import { civilFromDays } from '../core/dates.js';
import { KNOWN_FIELDS, type KnownField } from '../core/fields.js';
import type { NodeKind } from '../core/ids.js';
import { canonicalJson, type Json } from '../core/json.js';
import { viewRegister, type RegisterState } from '../core/register.js';
import type { NodeView } from '../ports/store.js';

export interface NodeRow {
  id: string;
  kind: string | null;
  title: string;
  aliases: string;
  body: string | null;
  body_version: string | null;
  deleted: number;
  state: string | null;
  attention: string | null;
  do_date: string | null;
  late_on: string | null;
  recurrence: string | null;
  extra: string;
  conflicts: number;
  created_ms: number;
  updated_ms: number;
}

/** Columns of `nodes` that hold a known field's visible value. */
export const NODE_COLUMNS: readonly KnownField[] = KNOWN_FIELDS;

/** Every register of one node, keyed by field name. */
export type NodeRegs = Record<string, RegisterState>;

/**
 * A node's registers with each one's encoded form kept beside it, so a write re-encodes only
 * the field it changed. Encoding, per field: a register with one head and nothing pending (the
 * usual case) is just `"<head id>"` — its value is the visible value, already in the row's
 * column (or in `extra`); any other register is `[[["<head id>", <value>], …], ["<pending id>", …]]`
 * with values embedded as JSON. Compact rows matter: applying ops rewrites one row per op.
 */
export interface NodeState {
  /** Whether the node's row exists (so a write can be a plain UPDATE). */
  exists: boolean;
  regs: NodeRegs;
  /**
   * Each register's encoded form, or '' until it is encoded (encodeRegs does it when the row is
   * written): a batch that leaves rows pending then keeps one string less per field op alive.
   */
  frags: Record<string, string>;
  conflicts: number;
  /**
   * An upper bound of the row's created_ms when known (created_ms only ever decreases, so a
   * value read earlier stays one): a write whose op is not older need not set it, which spares
   * the update of the covering index that holds it.
   */
  created?: number;
}

export function encodeRegister(r: RegisterState): string {
  const only = r.heads[0];
  if (r.heads.length === 1 && r.pending.length === 0 && only) return '"' + only.id + '"';
  let s = '[[';
  for (let i = 0; i < r.heads.length; i++) {
    const h = r.heads[i] as { id: string; value: string };
    s += (i ? ',["' : '["') + h.id + '",' + h.value + ']';
  }
  s += '],[';
  for (let i = 0; i < r.pending.length; i++) s += (i ? ',"' : '"') + (r.pending[i] as string) + '"';
  return s + ']]';
}

export function encodeRegs(state: NodeState): string {
  let s = '{';
  let first = true;
  for (const f in state.frags) {
    let frag = state.frags[f] as string;
    if (frag === '') frag = state.frags[f] = encodeRegister(state.regs[f] as RegisterState);
    s += (first ? '"' : ',"') + f + '":' + frag;
    first = false;
  }
  return s + '}';
}

/** The row columns a compact register takes its value from. */
export type ValueRow = Pick<
  NodeRow,
  | 'kind'
  | 'title'
  | 'aliases'
  | 'deleted'
  | 'state'
  | 'attention'
  | 'do_date'
  | 'late_on'
  | 'recurrence'
  | 'extra'
>;

function visibleFromRow(field: string, row: ValueRow): string {
  switch (field) {
    case 'aliases':
      return canonicalJson(JSON.parse(row.aliases) as Json);
    case 'deleted':
      return row.deleted === 1 ? 'true' : 'false';
    case 'kind':
    case 'title':
    case 'state':
    case 'attention':
    case 'do_date':
    case 'late_on':
    case 'recurrence':
      return JSON.stringify(row[field]);
    default:
      return canonicalJson((JSON.parse(row.extra) as Record<string, Json>)[field] ?? null);
  }
}

export function decodeRegs(text: string, conflicts: number, row: ValueRow): NodeState {
  const raw = JSON.parse(text) as Record<string, string | [[string, Json][], string[]]>;
  const state: NodeState = { exists: true, regs: {}, frags: {}, conflicts };
  for (const [f, enc] of Object.entries(raw)) {
    const reg: RegisterState =
      typeof enc === 'string'
        ? { heads: [{ id: enc, value: visibleFromRow(f, row) }], pending: [] }
        : {
            heads: enc[0].map(([id, value]) => ({ id, value: canonicalJson(value) })),
            pending: enc[1],
          };
    state.regs[f] = reg;
    state.frags[f] = encodeRegister(reg);
  }
  return state;
}

export function countConflicts(regs: NodeRegs): number {
  let n = 0;
  for (const r of Object.values(regs)) if (viewRegister(r).conflict) n++;
  return n;
}

export function columnValue(field: KnownField, value: Json): string | number | null {
  switch (field) {
    case 'aliases':
      return JSON.stringify(value);
    case 'deleted':
      return value === true ? 1 : 0;
    default:
      return value as string | null;
  }
}

/** Date.prototype.toISOString's text, without a Date for the years 1970 to 9999: node views
 *  carry two of these and the Date route was most of the cost of turning a row into a view. */
export function isoOf(ms: number): string {
  if (!(ms >= 0 && ms < ISO_FAST_END) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  let t = ms - day * DAY_MS;
  const h = Math.floor(t / 3_600_000);
  t -= h * 3_600_000;
  const min = Math.floor(t / 60_000);
  t -= min * 60_000;
  const sec = Math.floor(t / 1000);
  const milli = t - sec * 1000;
  const { year: y, month: m, day: d } = civilFromDays(day);
  return (
    String(y).padStart(4, '0') +
    (m < 10 ? '-0' : '-') +
    m +
    (d < 10 ? '-0' : '-') +
    d +
    (h < 10 ? 'T0' : 'T') +
    h +
    (min < 10 ? ':0' : ':') +
    min +
    (sec < 10 ? ':0' : ':') +
    sec +
    (milli < 10 ? '.00' : milli < 100 ? '.0' : '.') +
    milli +
    'Z'
  );
}

const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00.000Z: from here toISOString writes a six-digit signed year. */
const ISO_FAST_END = 253_402_300_800_000;

/** JSON.parse, skipping the parser for the empty list and object most rows hold. */
function parseAliases(text: string): string[] {
  return text === '[]' ? [] : (JSON.parse(text) as string[]);
}

function parseExtra(text: string): Record<string, Json> {
  return text === '{}' ? {} : (JSON.parse(text) as Record<string, Json>);
}

export function toView(r: NodeRow): NodeView {
  const v: NodeView = {
    id: r.id,
    kind: r.kind as NodeKind,
    title: r.title,
    aliases: parseAliases(r.aliases),
    body: r.body ?? '',
    body_version: r.body_version ?? '',
    deleted: r.deleted === 1,
    created: isoOf(r.created_ms),
    updated: isoOf(r.updated_ms),
    created_ms: r.created_ms,
    updated_ms: r.updated_ms,
    extra: parseExtra(r.extra),
  };
  if (r.kind === 'task') {
    v.state = (r.state ?? 'outstanding') as NonNullable<NodeView['state']>;
    v.attention = (r.attention ?? 'white') as NonNullable<NodeView['attention']>;
    v.do_date = r.do_date;
    v.late_on = r.late_on;
    v.recurrence = r.recurrence;
  }
  return v;
}
