// Change notifications for `events.subscribe`. Every committed change, local or merged from
// another device, becomes notifications on each subscribed connection whose topics include it.
// Subscriptions end with `events.unsubscribe` or when their connection closes.

import type { Logger } from '../ports/logger.js';
import type { Changes } from '../ports/store.js';
import type { SqliteStore } from '../store/sqlite-store.js';

export const TOPICS = [
  'node.changed',
  'task.changed',
  'link.changed',
  'conflict.changed',
  'sync.state',
] as const;
export type Topic = (typeof TOPICS)[number];

interface Subscription {
  id: string;
  topics: ReadonlySet<Topic>;
  connectionId: string;
  send(method: string, params: Record<string, unknown>): boolean;
}

export class EventHub {
  private readonly subs = new Map<string, Subscription>();
  private next = 1;
  private readonly off: () => void;

  constructor(
    private readonly store: SqliteStore,
    private readonly logger: Logger,
  ) {
    this.off = store.onChange((c) => this.publish(c));
  }

  subscribe(
    connectionId: string,
    topics: readonly Topic[] | undefined,
    send: (method: string, params: Record<string, unknown>) => boolean,
    signal: AbortSignal,
  ): string {
    const id = `sub-${this.next++}`;
    this.subs.set(id, { id, topics: new Set(topics ?? TOPICS), connectionId, send });
    signal.addEventListener('abort', () => this.subs.delete(id), { once: true });
    return id;
  }

  unsubscribe(connectionId: string, id: string): boolean {
    const s = this.subs.get(id);
    if (!s || s.connectionId !== connectionId) return false;
    this.subs.delete(id);
    return true;
  }

  count(): number {
    return this.subs.size;
  }

  /** Sends one notification to every subscriber of its topic. */
  emit(topic: Topic, params: Record<string, unknown>): void {
    for (const s of this.subs.values()) {
      if (!s.topics.has(topic)) continue;
      if (!s.send(topic, { subscription: s.id, ...params })) {
        this.logger.warn(
          { subscription: s.id },
          'dropped a subscriber that is gone or not reading',
        );
        this.subs.delete(s.id);
      }
    }
  }

  private publish(c: Changes): void {
    if (this.subs.size === 0) return;
    if (c.nodes.length > 0) {
      this.emit('node.changed', { ids: c.nodes });
      const tasks = c.nodes.filter((id) => this.store.findNode(id)?.kind === 'task');
      if (tasks.length > 0) this.emit('task.changed', { ids: tasks });
    }
    if (c.links.length > 0) this.emit('link.changed', { ids: c.links });
    if (c.conflicts) this.emit('conflict.changed', {});
  }

  close(): void {
    this.off();
    this.subs.clear();
  }
}
