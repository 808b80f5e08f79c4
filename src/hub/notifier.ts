// Wakes long-polling pulls. Guarantees: every waiter registered before notify() is woken by it
// (all together); a wait ends at the first of notify(), its timeout, its signal aborting, or
// close(); a finished wait leaves no timer or listener behind; after close() waits end at once.

export type WaitEnd = 'notified' | 'timeout' | 'aborted' | 'closed';

export class CommitNotifier {
  private readonly waiters = new Set<(end: WaitEnd) => void>();
  private closed = false;

  /** Waiting pulls right now. */
  get waiting(): number {
    return this.waiters.size;
  }

  notify(): void {
    this.wake('notified');
  }

  /** Ends every wait (the hub is stopping) and every later one. */
  close(): void {
    this.closed = true;
    this.wake('closed');
  }

  wait(ms: number, signal: AbortSignal): Promise<WaitEnd> {
    if (this.closed) return Promise.resolve('closed');
    if (signal.aborted) return Promise.resolve('aborted');
    return new Promise<WaitEnd>((resolve) => {
      const finish = (end: WaitEnd): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiters.delete(finish);
        resolve(end);
      };
      const onAbort = (): void => finish('aborted');
      const timer = setTimeout(() => finish('timeout'), ms);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(finish);
    });
  }

  private wake(end: WaitEnd): void {
    const all = [...this.waiters];
    this.waiters.clear();
    for (const w of all) w(end);
  }
}
