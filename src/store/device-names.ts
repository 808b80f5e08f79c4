// Device names: one register per replica id (see core/register.ts), read from that replica's
// `device.name` ops, which the index of ops by target finds (op-targets.ts). Guarantees:
// - a name is a function of the set of device.name ops held, whatever their order, like every
//   other register (the highest head shows; concurrent renames keep their heads until a later
//   rename supersedes them), so replicas holding the same ops show the same names;
// - nothing is materialized in a table: there is nothing to migrate and nothing for a rebuild to
//   redo. Registers read are cached until the store says a device.name op was applied or a
//   transaction rolled back (forget).

import type Database from 'better-sqlite3';
import { canonicalJson } from '../core/json.js';
import { interpretOp, type DeviceNameOp, type Op } from '../core/op.js';
import { applyWrite, EMPTY_REGISTER, viewRegister, type RegisterState } from '../core/register.js';
import { catchUpOpTargets, OPS_OF_TARGET } from './op-targets.js';

type Row = { id: string; payload: string };

/** The op a row holds, or undefined when it is malformed (a version that did not know the kind
 *  stored it unchecked): such an op names nothing, on every replica alike. */
function known(r: Row, origin: string): DeviceNameOp | undefined {
  try {
    const k = interpretOp({
      id: r.id,
      kind: 'device.name',
      target: origin,
      payload: JSON.parse(r.payload) as Op['payload'],
    });
    return k?.kind === 'device.name' ? k : undefined;
  } catch {
    return undefined;
  }
}

export class DeviceNames {
  private readonly byOrigin: Database.Statement;
  private readonly every: Database.Statement;
  private readonly cache = new Map<string, RegisterState>();

  constructor(private readonly db: Database.Database) {
    this.byOrigin = db.prepare(
      `SELECT o.id, o.payload FROM ${OPS_OF_TARGET}
       WHERE t.target = ? AND o.kind = 'device.name' ORDER BY o.id`,
    );
    this.every = db.prepare("SELECT DISTINCT target FROM oplog WHERE kind = 'device.name'");
  }

  /** The register of the device with replica id `origin` (empty when never named). */
  register(origin: string): RegisterState {
    let state = this.cache.get(origin);
    if (state === undefined) {
      state = EMPTY_REGISTER;
      catchUpOpTargets(this.db);
      const applied = new Set<string>();
      for (const r of this.byOrigin.iterate(origin) as IterableIterator<Row>) {
        const k = known(r, origin);
        if (k === undefined) continue;
        state = applyWrite(state, { id: k.id, value: canonicalJson(k.name), prev: k.prev }, (id) =>
          applied.has(id),
        );
        applied.add(k.id);
      }
      this.cache.set(origin, state);
    }
    return state;
  }

  /** The name shown for a replica, or undefined when it was never named. */
  name(origin: string): string | undefined {
    const v = viewRegister(this.register(origin)).visible;
    return v === undefined ? undefined : (JSON.parse(v) as string);
  }

  /** Every named replica's name (one scan of the log: for listings, not for hot paths). */
  all(): Map<string, string> {
    const out = new Map<string, string>();
    for (const origin of this.every.pluck().all() as string[]) {
      const n = this.name(origin);
      if (n !== undefined) out.set(origin, n);
    }
    return out;
  }

  forget(): void {
    this.cache.clear();
  }
}
