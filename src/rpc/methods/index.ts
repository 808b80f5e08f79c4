// Every namespace of the daemon's JSON-RPC methods. The socket, the CLI and docs/rpc-methods.md
// all come from this one list.

import { backupMethods } from './backup.js';
import { conflictMethods } from './conflicts.js';
import { contentMethods } from './content.js';
import { deviceMethods } from './device.js';
import type { Services } from './context.js';
import { eventMethods } from './events.js';
import { historyMethods } from './history.js';
import { linkMethods } from './link.js';
import { nodeMethods } from './node.js';
import { organizeMethods } from './organize.js';
import { repairMethods } from './repair.js';
import { statusMethods } from './status.js';
import { syncMethods } from './sync.js';
import { taskMethods } from './task.js';
import type { MethodDef } from '../registry.js';

export type { DaemonContext, Services } from './context.js';

export function buildNamespaces(s: Services) {
  return [
    nodeMethods(s),
    historyMethods(s),
    taskMethods(s),
    organizeMethods(s),
    linkMethods(s),
    contentMethods(s),
    conflictMethods(s),
    statusMethods(s),
    eventMethods(s),
    backupMethods(s),
    syncMethods(s),
    deviceMethods(s),
    repairMethods(s),
  ];
}

/** Every method without services behind it, for names, schemas and summaries only: client mode
 *  and the hub route calls elsewhere. Calling a handler of these fails loudly. */
export function methodShapes(): MethodDef[] {
  // The namespace builders only capture their services in handlers, which callers replace.
  const none = new Proxy(
    {},
    {
      get(_t, key) {
        throw new Error(`no services behind this method list (${String(key)})`);
      },
    },
  ) as Services;
  return buildNamespaces(none).flat();
}
