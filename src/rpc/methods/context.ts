import type { DaemonConfig } from '../../config/config.js';
import type { EventHub } from '../../daemon/events.js';
import type { Model } from '../../model/model.js';
import type { Clock } from '../../ports/clock.js';
import type { SqliteStore } from '../../store/sqlite-store.js';
import type { RpcContext } from '../registry.js';

/** What the daemon's method handlers share: built once in the composition root. */
export interface Services {
  store: SqliteStore;
  model: Model;
  events: EventHub;
  config: DaemonConfig;
  clock: Clock;
  version: string;
  startedMs: number;
}

export type DaemonContext = RpcContext;
