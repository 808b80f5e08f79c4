import { z } from 'zod';
import { repairDoubled } from '../../model/repair.js';
import { defineMethod, EVERYWHERE } from '../registry.js';
import * as R from './results.js';
import type { Services } from './context.js';

export function repairMethods(s: Services) {
  return [
    defineMethod({
      name: 'repair.check',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary:
        'Lists bodies an earlier version doubled (a note created on two devices with the same ' +
        'first text); changes nothing.',
      params: z.strictObject({}),
      result: R.RepairResult,
      handler: () => repairDoubled(s.store, false),
    }),
    defineMethod({
      name: 'repair.run',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Makes each doubled body single again, as ordinary edits (one change) that sync.',
      params: z.strictObject({}),
      result: R.RepairResult,
      handler: () => repairDoubled(s.store, true),
    }),
  ];
}
