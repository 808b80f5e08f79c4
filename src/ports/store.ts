// The store port: what everything above the storage layer may use. The SQLite store implements
// it; a shared contract test suite (test/store/contract.ts) runs against every implementation.

import type { ErrorCode } from '../core/errors.js';
import type { Attention, TaskState } from '../core/fields.js';
import type { LinkType, NodeKind } from '../core/ids.js';
import type { Json } from '../core/json.js';
import type { Op } from '../core/op.js';

export interface TaskFields {
  state: TaskState;
  attention: Attention;
  do_date: string | null;
  late_on: string | null;
  recurrence: string | null;
}

export interface NodeView extends Partial<TaskFields> {
  id: string;
  kind: NodeKind;
  title: string;
  aliases: string[];
  body: string;
  /**
   * The body's version: the highest body op id of each replica that wrote to it (',' joined; ''
   * before any). An editor sends it back as `base_version` with its save.
   */
  body_version: string;
  deleted: boolean;
  created: string; // ISO time of the node's earliest op
  updated: string; // ISO time of its latest op
  created_ms: number;
  updated_ms: number;
  extra: Record<string, Json>;
}

export interface NodeInput extends Partial<TaskFields> {
  kind: NodeKind;
  /** Only for deterministic ids (tag:…, journal:…, log:…, derived); others get a ULID. */
  id?: string;
  title?: string;
  body?: string;
  aliases?: string[];
  extra?: Record<string, Json>;
}

export interface NodePatch extends Partial<TaskFields> {
  title?: string;
  body?: string;
  /**
   * The body_version the body was read at: the save is then merged as an edit made from that
   * version, so what synced in meanwhile is kept.
   */
  base_version?: string;
  aliases?: string[];
  extra?: Record<string, Json>;
}

export interface ListQuery {
  kind?: NodeKind;
  /** 'live' (default) hides deleted nodes; 'trash' shows only deleted ones; 'all' both. */
  scope?: 'live' | 'trash' | 'all';
  limit?: number;
  offset?: number;
  /**
   * List items as people see them: a task's context doc is part of its task, not an item of its
   * own, and is left out. Without it every node is listed.
   */
  items?: boolean;
}

export interface LinkView {
  id: string;
  src: string;
  dst: string;
  type: LinkType;
}

export interface ConflictHead {
  op: string; // HLC of the op holding this value
  origin: string; // replica that wrote it
  at: string; // ISO time of the write
  value: Json;
  /** A body conflict's heads are documents: the branch ('' for the first document). */
  branch?: string;
}

export interface ConflictView {
  target: string;
  field: string;
  heads: ConflictHead[];
  /**
   * A project's parent in a loop of parents (X under Y and Y under X): the projects of the
   * loop, this one first, each under the next and the last under this one.
   */
  cycle?: string[];
}

export interface Refusal {
  id: string;
  code: ErrorCode;
  message: string;
  origin?: string;
  ahead_ms?: number;
}

export interface ApplyResult {
  applied: Op[];
  duplicates: number;
  refused: Refusal[];
}

export interface ApplyOptions {
  /** Refuse ops stamped more than this many ms ahead of the local clock (the hub sets this). */
  maxDriftMs?: number;
  /**
   * Turns each element of the input into the op to check, just before it is checked and
   * applied (a pulled page's wire form). What it throws is not a refusal: it is thrown, and
   * the call's transaction rolls back.
   */
  decode?: (raw: unknown) => unknown;
}

export interface Changes {
  nodes: string[];
  links: string[];
  conflicts: boolean;
}

export interface Store {
  readonly origin: string;
  createNode(input: NodeInput): NodeView;
  getNode(id: string): NodeView;
  findNode(id: string): NodeView | undefined;
  updateNode(id: string, patch: NodePatch): NodeView;
  deleteNode(id: string): NodeView;
  restoreNode(id: string): NodeView;
  listNodes(query?: ListQuery): NodeView[];
  resolveNode(name: string): NodeView;
  addLink(src: string, dst: string, type: LinkType): LinkView;
  removeLink(src: string, dst: string, type: LinkType): void;
  links(src: string, type?: LinkType): LinkView[];
  backlinks(dst: string, type?: LinkType): LinkView[];
  opsSince(cursor: number, limit?: number): { ops: Op[]; cursor: number; more: boolean };
  applyOps(ops: readonly unknown[], options?: ApplyOptions): ApplyResult;
  conflicts(): ConflictView[];
  resolveConflict(target: string, field: string, value: Json): NodeView;
  digest(): string;
  rebuild(): void;
  opCount(): number;
  /** Runs `fn` in one transaction: all of its writes commit together or not at all. */
  transaction<T>(fn: () => T): T;
  onChange(listener: (c: Changes) => void): () => void;
  close(): void;
}
