import type { DaemonConfig } from '../../config/config.js';
import type { EventHub } from '../../daemon/events.js';
import { History } from '../../model/history.js';
import { Model } from '../../model/model.js';
import { Undo } from '../../model/undo.js';
import type { Clock } from '../../ports/clock.js';
import type { SqliteStore } from '../../store/sqlite-store.js';
import type { SyncService } from '../../sync/sync-service.js';
import type { RpcContext } from '../registry.js';

/** What the daemon's method handlers share: built once in the composition root. */
export interface Services {
  store: SqliteStore;
  model: Model;
  /** Node history, node.at and revert; undo of this replica's own changes. */
  history: History;
  undo: Undo;
  events: EventHub;
  config: DaemonConfig;
  clock: Clock;
  version: string;
  startedMs: number;
  /** A spoke's sync with its hub; absent when the daemon has no hub. */
  sync?: SyncService;
}

export type DaemonContext = RpcContext;

/** The services of one store: its model (in the configured time zone) beside it. */
export function createServices(
  store: SqliteStore,
  events: EventHub,
  config: DaemonConfig,
  deps: { clock: Clock; version: string; startedMs?: number; sync?: SyncService | undefined },
): Services {
  const history = new History(store, {
    ownDevice: config.mode === 'local' ? 'this device' : undefined,
  });
  return {
    store,
    history,
    undo: new Undo(history),
    model: new Model(store, {
      clock: deps.clock,
      ...(config.timeZone !== undefined && { timeZone: config.timeZone }),
    }),
    events,
    config,
    clock: deps.clock,
    version: deps.version,
    startedMs: deps.startedMs ?? deps.clock.now(),
    ...(deps.sync && { sync: deps.sync }),
  };
}
