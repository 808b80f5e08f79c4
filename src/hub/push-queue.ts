// Group commit for pushes. Guarantees: every push submitted while the event loop was busy is
// applied in one store transaction with the others (one fsync for the group instead of one per
// push), each with its own result; a push's promise settles only after the transaction that holds
// it committed (or failed, and then nothing of the group was stored); each push's ops are still
// applied all-or-nothing, and one push's refused ops never affect another push.

import type { ApplyResult } from '../ports/store.js';
import type { SqliteStore } from '../store/sqlite-store.js';

interface Pending {
  ops: readonly unknown[];
  resolve(r: ApplyResult): void;
  reject(e: unknown): void;
}

export type ApplyGroup = (groups: readonly (readonly unknown[])[]) => ApplyResult[];

/** Applies each push of a group in one transaction of `store`. */
export function applyInOneTransaction(store: SqliteStore, maxDriftMs: number): ApplyGroup {
  return (groups) =>
    store.transaction(() => groups.map((ops) => store.applyOps(ops, { maxDriftMs })));
}

export class PushQueue {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(private readonly apply: ApplyGroup) {}

  submit(ops: readonly unknown[]): Promise<ApplyResult> {
    return new Promise<ApplyResult>((resolve, reject) => {
      this.pending.push({ ops, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the poll phase: every request whose body arrived meanwhile joins this group.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const group = this.pending;
    this.pending = [];
    let results: ApplyResult[];
    try {
      results = this.apply(group.map((p) => p.ops));
    } catch (e) {
      for (const p of group) p.reject(e);
      return;
    }
    group.forEach((p, i) => p.resolve(results[i]!));
  }
}
