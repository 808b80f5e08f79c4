// Failed authentications, limited per client address with a token bucket. Guarantees: each
// address may fail `burst` times at once and then `perMinute` times a minute; only failures
// spend tokens, so a client that presents a valid token is never slowed; IPv6 clients are
// grouped by /64 (one host usually holds a whole /64); memory is bounded (at most `maxClients`
// buckets; full buckets are forgotten first). Time comes from the injected clock only.

import { isIPv6 } from 'node:net';
import { systemClock, type Clock } from '../ports/clock.js';

export interface FailureLimiterOptions {
  clock?: Clock;
  /** Failures allowed at once (default 10). */
  burst?: number;
  /** Failures allowed per minute once the burst is spent (default 10). */
  perMinute?: number;
  /** Most addresses tracked (default 10 000). */
  maxClients?: number;
}

export interface FailureLimiter {
  /** Whole seconds this address must wait before a failure is answered again; 0 when it may. */
  retryAfterSec(address: string): number;
  /** Spends one token for a failed authentication; returns retryAfterSec after it. */
  recordFailure(address: string): number;
}

/** The bucket key for a client address: IPv4 as is (also when IPv4-mapped), IPv6 by /64. */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
    : h;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

interface Bucket {
  tokens: number;
  at: number;
}

export function createFailureLimiter(o: FailureLimiterOptions = {}): FailureLimiter {
  const clock = o.clock ?? systemClock;
  const burst = o.burst ?? 10;
  const perMs = (o.perMinute ?? 10) / 60_000;
  const maxClients = o.maxClients ?? 10_000;
  if (!(burst >= 1) || !(perMs > 0) || !(maxClients >= 1)) {
    throw new TypeError('burst, perMinute and maxClients must be positive');
  }
  const buckets = new Map<string, Bucket>();

  function current(key: string): Bucket | undefined {
    const b = buckets.get(key);
    if (b === undefined) return undefined;
    const now = clock.now();
    b.tokens = Math.min(burst, b.tokens + Math.max(0, now - b.at) * perMs);
    b.at = now;
    if (b.tokens >= burst) {
      buckets.delete(key);
      return undefined;
    }
    return b;
  }

  function wait(b: Bucket | undefined): number {
    return b === undefined || b.tokens >= 1 ? 0 : Math.ceil((1 - b.tokens) / perMs / 1000);
  }

  // Forgets full buckets, then the oldest, down to 90 % so eviction does not run per request.
  function evict(): void {
    for (const key of [...buckets.keys()]) current(key);
    const target = Math.floor(maxClients * 0.9);
    for (const key of buckets.keys()) {
      if (buckets.size <= target) return;
      buckets.delete(key);
    }
  }

  return {
    retryAfterSec: (address) => wait(current(clientKey(address))),
    recordFailure(address) {
      const key = clientKey(address);
      let b = current(key);
      if (b === undefined) {
        if (buckets.size >= maxClients) evict();
        b = { tokens: burst, at: clock.now() };
        buckets.set(key, b);
      }
      b.tokens = Math.max(0, b.tokens - 1);
      return wait(b);
    },
  };
}
