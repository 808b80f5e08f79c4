// What the history methods answer (node.history, node.at, node.revert, undo, undo.list), as zod
// schemas published by rpc.methods beside their params (see results.ts).

import { z } from 'zod';
import { ATTENTIONS, TASK_STATES } from '../../core/fields.js';
import { LINK_TYPES, NODE_KINDS, type LinkType, type NodeKind } from '../../core/ids.js';
import { NodeResult } from './results.js';

const Iso = z.string().describe('ISO 8601 time');
const Day = z.string().describe('YYYY-MM-DD');

const Version = z.strictObject({
  version: z.string().describe('the id of the change’s last op on the node'),
  short_version: z.string().describe('the form heph history shows and accepts'),
  at: Iso,
  origin: z.string().describe('the replica that made it'),
  device: z
    .string()
    .describe('"this device", else the name of the device that made it, else its replica id'),
  change: z.string(),
  summary: z.string(),
});

export const HistoryResult = z.strictObject({
  id: z.string(),
  short_id: z.string(),
  title: z.string(),
  versions: z.array(Version),
  more: z.boolean().describe('older versions exist: ask again with before'),
});

export const NodeAtResult = z.strictObject({
  id: z.string(),
  short_id: z.string(),
  kind: z.enum(NODE_KINDS as [NodeKind, ...NodeKind[]]),
  title: z.string(),
  aliases: z.array(z.string()),
  body: z.string(),
  body_version: z.string(),
  deleted: z.boolean(),
  created: Iso,
  updated: Iso,
  extra: z.record(z.string(), z.unknown()),
  state: z.enum(TASK_STATES).optional(),
  attention: z.enum(ATTENTIONS).optional(),
  do_date: Day.nullable().optional(),
  late_on: Day.nullable().optional(),
  recurrence: z.string().nullable().optional(),
  version: z.string(),
  short_version: z.string(),
  at: Iso,
  device: z.string(),
  change: z.string(),
  conflicts: z.array(z.string()).describe('fields in conflict at that version'),
  body_conflict: z.boolean(),
  links: z.array(
    z.strictObject({
      type: z.enum(LINK_TYPES as [LinkType, ...LinkType[]]),
      dst: z.string(),
      dst_short_id: z.string().describe("the linked node's short id"),
    }),
  ),
});

export const RevertResult = z.strictObject({
  node: NodeResult,
  version: z.string(),
  short_version: z.string(),
  at: Iso,
  changed: z.array(z.string()).describe('what was written back; empty: nothing differed'),
});

const ChangeNode = z.strictObject({
  id: z.string(),
  title: z.string(),
  kind: z.string(),
  summary: z.string(),
});

const Skipped = z.strictObject({
  id: z.string(),
  title: z.string(),
  what: z.string().describe("a field, 'body' or 'link TYPE DST'"),
  reason: z.string(),
  device: z.string().optional(),
});

export const UndoResult = z.strictObject({
  undone: z.string().describe('the change taken back'),
  at: Iso,
  summary: z.string(),
  nodes: z.array(ChangeNode),
  skipped: z.array(Skipped).describe('left alone: changed since'),
});

export const UndoListResult = z.strictObject({
  changes: z.array(
    z.strictObject({
      change: z.string(),
      short_change: z.string(),
      at: Iso,
      summary: z.string(),
      nodes: z.array(ChangeNode),
      undoable: z.boolean(),
      skipped: z.array(Skipped),
    }),
  ),
});
