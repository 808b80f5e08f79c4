// The op: the unit of change and of sync. Wire and storage form:
//   { id: <HLC>, kind: "node.set" | "body.update" | "link.add" | "link.remove" | "device.name"
//       | <unknown>,
//     target: <node id, link id, or (device.name) a replica id>, payload: { … } }
// The id is the op's identity: two ops with one id must have identical content. Unknown kinds
// are valid ops (stored and forwarded, not applied); unknown payload fields are ignored.
// A change (the ops of one local command) is named by its first op's id: every later op of it
// carries `payload.change` = that id (see changeOf).

import { HephError } from './errors.js';
import { isHlcString, isOrigin, originOf } from './hlc.js';
import { isLinkId, isLinkType, isNodeId, linkId } from './ids.js';
import { canonicalJson, isJson, isPlainObject, type Json } from './json.js';
import { validateFieldValue } from './fields.js';

export interface Op {
  readonly id: string;
  readonly kind: string;
  readonly target: string;
  readonly payload: { readonly [k: string]: Json };
}

/**
 * An edit of one of a node's body documents (see docs/ops-and-merge.md, Bodies): `doc` is ''
 * for the document `body.update` ops edit, else the branch a `body.init` started. `init` marks
 * the op that starts a branch (its update is the branch's deterministic first text).
 * `resolves` (body.edit only) lists branches a conflict resolution superseded, each with the
 * version of that branch the resolver saw. `imported` marks an edit an import made: the import
 * ops of a document, alone, hold the text the last import wrote (the base of the next one).
 */
export interface BodyOp {
  kind: 'body.update' | 'body.init' | 'body.edit';
  id: string;
  target: string;
  doc: string;
  init: boolean;
  update: string;
  resolves: [string, string[]][];
  imported: boolean;
}

export type KnownOp =
  | { kind: 'node.set'; id: string; target: string; field: string; value: Json; prev: string[] }
  | BodyOp
  | { kind: 'link.add'; id: string; target: string; src: string; dst: string; type: string }
  | { kind: 'link.remove'; id: string; target: string; observed: string[] }
  | DeviceNameOp;

/**
 * A device's name: a register keyed by the replica id (origin) it names, written like a node
 * field (`prev` = the heads the writer saw), so names merge like every other register.
 */
export interface DeviceNameOp {
  kind: 'device.name';
  id: string;
  /** The replica id named. */
  target: string;
  name: string;
  prev: string[];
}

export const MAX_DEVICE_NAME = 100;

/** Undefined when `name` can name a device, else what is wrong with it. */
export function deviceNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'must be a string';
  if (name.trim() === '') return 'must not be empty';
  if (name.length > MAX_DEVICE_NAME) return `must be at most ${MAX_DEVICE_NAME} characters`;
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'must be one line without control characters';
  return undefined;
}

export const KNOWN_KINDS = [
  'node.set',
  'body.update',
  'body.init',
  'body.edit',
  'link.add',
  'link.remove',
  'device.name',
] as const;

/** A body branch id: the first 32 hex digits of SHA-256 over the node id and the first text. */
export const BRANCH_RE = /^[0-9a-f]{32}$/;

const KIND_RE = /^[a-z][a-z0-9_-]{0,31}(\.[a-z][a-z0-9_-]{0,31}){0,3}$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
export const MAX_TARGET_LENGTH = 512;
export const MAX_PREV = 256;
/** Encoded payload size limit for one op (a body update carries a Yjs update). */
export const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;
/**
 * The most text one body change may add, in UTF-8 bytes: its Yjs update, in base64, then stays
 * under MAX_PAYLOAD_BYTES (a body can grow beyond it over several changes).
 */
export const MAX_BODY_CHANGE_BYTES = 3 * 1024 * 1024 - 64 * 1024;

function bad(id: unknown, message: string): HephError {
  const shown = typeof id === 'string' && id.length <= 64 ? id : '?';
  return new HephError('invalid_op', `op ${shown}: ${message}`, { id: shown });
}

/** Accepts an unknown value as an op (shape only), or throws `invalid_op` saying why. */
export function parseOp(v: unknown): Op {
  if (!isPlainObject(v)) throw bad(undefined, 'not an object');
  const { id, kind, target, payload } = v;
  if (!isHlcString(id))
    throw bad(id, 'id is not an HLC stamp (wwwwwwwwwwww-cccc-oooooooooooooooo)');
  if (typeof kind !== 'string' || !KIND_RE.test(kind))
    throw bad(id, 'kind is not a dotted lower-case name');
  if (typeof target !== 'string' || target.length === 0 || target.length > MAX_TARGET_LENGTH) {
    throw bad(id, `target must be a string of 1-${MAX_TARGET_LENGTH} characters`);
  }
  if (!isPlainObject(payload) || !isJson(payload, 16))
    throw bad(id, 'payload is not a JSON object (max depth 16)');
  return { id, kind, target, payload: payload };
}

/**
 * The change an op belongs to: the id of the change's first op. An op without a usable
 * `payload.change` (the first op of a change, an op from a version before changes, or a
 * malformed value) is a change of its own; a value is usable when it is an earlier stamp of the
 * same replica. Lenient on purpose: every replica reads the same answer from the same op.
 */
export function changeOf(op: Pick<Op, 'id' | 'payload'>): string {
  const c = op.payload.change;
  return isHlcString(c) && c < op.id && originOf(c) === originOf(op.id) ? c : op.id;
}

/** The content that must match when an id is seen twice. */
export function opContent(op: Op): string {
  return canonicalJson({ kind: op.kind, target: op.target, payload: op.payload });
}

export function isKnownKind(kind: string): boolean {
  return (KNOWN_KINDS as readonly string[]).includes(kind);
}

function stringList(id: string, v: unknown, name: string): string[] {
  if (!Array.isArray(v) || v.length > MAX_PREV || !v.every(isHlcString)) {
    throw bad(id, `payload.${name} must be a list of at most ${MAX_PREV} HLC stamps`);
  }
  return v;
}

/**
 * Interprets an op of a known kind, checking its payload; returns undefined for unknown kinds.
 * Throws `invalid_op` for a known kind with a malformed payload.
 */
export function interpretOp(op: Op): KnownOp | undefined {
  const p = op.payload;
  switch (op.kind) {
    case 'node.set': {
      if (!isNodeId(op.target)) throw bad(op.id, 'target is not a node id');
      if (typeof p.field !== 'string') throw bad(op.id, 'payload.field must be a string');
      if (!('value' in p)) throw bad(op.id, 'payload.value is missing');
      const err = validateFieldValue(p.field, p.value);
      if (err) throw bad(op.id, err);
      const prev = p.prev === undefined ? [] : stringList(op.id, p.prev, 'prev');
      return {
        kind: 'node.set',
        id: op.id,
        target: op.target,
        field: p.field,
        value: p.value,
        prev,
      };
    }
    case 'body.update':
    case 'body.init':
    case 'body.edit': {
      if (!isNodeId(op.target)) throw bad(op.id, 'target is not a node id');
      if (typeof p.update !== 'string' || !BASE64_RE.test(p.update) || p.update.length === 0) {
        throw bad(op.id, 'payload.update must be a non-empty base64 string');
      }
      if (p.update.length > MAX_PAYLOAD_BYTES) throw bad(op.id, 'payload.update is too large');
      let doc = '';
      if (op.kind !== 'body.update') {
        const b = p.branch;
        if (
          typeof b !== 'string' ||
          !(BRANCH_RE.test(b) || (b === '' && op.kind === 'body.edit'))
        ) {
          throw bad(op.id, 'payload.branch must be a branch id (32 hex digits)');
        }
        doc = b;
      }
      const resolves: [string, string[]][] = [];
      if (op.kind === 'body.edit' && p.resolves !== undefined) {
        if (!isPlainObject(p.resolves) || Object.keys(p.resolves).length > MAX_PREV) {
          throw bad(op.id, 'payload.resolves must map branch ids to versions');
        }
        for (const [branch, seen] of Object.entries(p.resolves)) {
          if (branch !== '' && !BRANCH_RE.test(branch)) {
            throw bad(op.id, 'payload.resolves must map branch ids to versions');
          }
          resolves.push([branch, stringList(op.id, seen, `resolves.${branch}`)]);
        }
      }
      // Only the base of a later import: anything but true is no mark, never a refusal.
      const imported = p.imported === true;
      return {
        kind: op.kind,
        id: op.id,
        target: op.target,
        doc,
        init: op.kind === 'body.init',
        update: p.update,
        resolves,
        imported,
      };
    }
    case 'link.add': {
      const { src, dst, type } = p;
      if (!isNodeId(src) || !isNodeId(dst))
        throw bad(op.id, 'payload.src and payload.dst must be node ids');
      if (!isLinkType(type)) throw bad(op.id, 'payload.type is not a link type');
      if (type === 'wiki') throw bad(op.id, 'wiki links are derived from bodies, never ops');
      if (op.target !== linkId(src, type, dst))
        throw bad(op.id, 'target is not the link id of src, type and dst');
      return { kind: 'link.add', id: op.id, target: op.target, src, dst, type };
    }
    case 'link.remove': {
      if (!isLinkId(op.target)) throw bad(op.id, 'target is not a link id');
      if (op.target.split('|')[1] === 'wiki')
        throw bad(op.id, 'wiki links are derived from bodies, never ops');
      const observed = stringList(op.id, p.observed, 'observed');
      return { kind: 'link.remove', id: op.id, target: op.target, observed };
    }
    case 'device.name': {
      if (!isOrigin(op.target)) throw bad(op.id, 'target is not a replica id (16 hex digits)');
      const problem = deviceNameProblem(p.name);
      if (problem !== undefined) throw bad(op.id, `payload.name ${problem}`);
      const prev = p.prev === undefined ? [] : stringList(op.id, p.prev, 'prev');
      return { kind: 'device.name', id: op.id, target: op.target, name: p.name as string, prev };
    }
    default:
      return undefined;
  }
}
