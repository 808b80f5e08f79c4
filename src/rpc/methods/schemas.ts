// Param pieces shared by several namespaces. The model checks values in depth (dates exist,
// recurrences parse); these schemas give rpc.methods and the docs the shape of each param.

import { z } from 'zod';
import { ATTENTIONS, TASK_STATES } from '../../core/fields.js';

export const DateParam = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');
export const Today = DateParam.optional().describe(
  "the user's local day; defaults to the daemon's",
);
export const Attention = z.enum(ATTENTIONS);
export const State = z.enum(TASK_STATES);
export const Recurrence = z
  .string()
  .min(1)
  .max(1000)
  .describe('an RFC 5545 RRULE, e.g. FREQ=MONTHLY');
/** A title: one line, not empty or only whitespace (lookups and links could never find it). */
export const Title = z
  .string()
  .max(1024)
  .refine((t) => t.trim() !== '', 'must not be empty')
  .refine((t) => !/[\r\n]/.test(t), 'must be a single line');
export const TagName = z.string().min(1).max(64);
export const BaseVersion = z
  .string()
  .max(100_000)
  .describe(
    'the body_version the body was read at: the save is merged as an edit made from it, so ' +
      'what synced in meanwhile is kept (editors must send it)',
  );

/** Drops undefined members, so optional params pass through exactOptionalPropertyTypes. */
export function defined<T extends Record<string, unknown>>(
  o: T,
): { [K in keyof T]: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]: Exclude<T[K], undefined> };
}

/** A node's aliases (the whole list: it replaces the one there). */
export const Aliases = z.array(z.string().min(1).max(1024)).max(100);
