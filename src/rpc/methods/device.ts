// This device's name, as every replica shows it for this device's changes (a synced register
// keyed by the replica id, see core/op.ts): set at first start from --device-name or the host
// name, by the hub's device.rename, or here.

import { z } from 'zod';
import { defineMethod, SOCKET_ONLY } from '../registry.js';
import type { Services } from './context.js';

export function deviceMethods(s: Services) {
  return [
    defineMethod({
      name: 'device.name',
      role: 'admin',
      surfaces: SOCKET_ONLY,
      summary:
        'Names this device: the name every device shows for its changes (in conflicts and ' +
        'history). Without `name`, says the name it has.',
      params: z.strictObject({
        name: z.string().optional().describe('1-100 characters on one line'),
      }),
      result: z.strictObject({
        replica: z.string().describe("this device's replica id"),
        name: z.string().nullable(),
      }),
      handler: (p) => {
        if (p.name !== undefined) s.store.setDeviceName(s.store.origin, p.name.trim());
        return { replica: s.store.origin, name: s.store.deviceName(s.store.origin) ?? null };
      },
    }),
  ];
}
