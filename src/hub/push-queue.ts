// Group commit for pushes. Guarantees: every push submitted while the event loop was busy, or
// while the previous group was being stored, goes to the hub store in one append (one
// transaction, one fsync) with the others, whatever their owners, each with its own result; a
// push's promise settles only after the append that holds it resolved (all of the group is
// durable) or rejected (none of it is stored); one push's refused ops never affect another push.

import type { AppendRequest, AppendResult, HubStore } from '../ports/hub-store.js';

interface Pending {
  push: AppendRequest;
  resolve(r: AppendResult): void;
  reject(e: unknown): void;
}

export class PushQueue {
  private pending: Pending[] = [];
  private scheduled = false;
  private storing = false;

  constructor(private readonly store: Pick<HubStore, 'append'>) {}

  submit(push: AppendRequest): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ push, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.storing || this.pending.length === 0) return;
    this.scheduled = true;
    // After the poll phase: every request whose body arrived meanwhile joins this group.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const group = this.pending;
    this.pending = [];
    this.storing = true;
    try {
      const results = await this.store.append(group.map((p) => p.push));
      group.forEach((p, i) => p.resolve(results[i]!));
    } catch (e) {
      for (const p of group) p.reject(e);
    } finally {
      this.storing = false;
      this.schedule();
    }
  }
}
