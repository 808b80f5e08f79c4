// Tells a caller when undici has written a request to its socket. A spoke asks for the next pull
// page before it applies the current one, so that the hub reads and sends it meanwhile; but the
// request is only made after a few turns of the event loop (the bearer is read from its stores,
// then undici's client starts the request on its next turn), and a page is applied in parts of
// tens of milliseconds with one turn between them. Measured on a first sync of 100,000 ops, the
// request reached the hub only as the page's last part ended, so the hub's 40 to 100 ms per page
// were spent while the spoke waited: 20 pages, 20 such waits. Awaiting this notification before
// applying costs a few idle turns instead.
//
// undici publishes every request it writes on the diagnostics channel
// 'undici:client:sendHeaders' ({ request: { origin, method, path }, … }); a waiter is matched by
// method, origin and path (a pull's path holds its cursor, so pages differ). The subscription is
// made while some waiter waits, and dropped when none does.

import * as channels from 'node:diagnostics_channel';

const CHANNEL = 'undici:client:sendHeaders';

interface SentMessage {
  request?: { origin?: unknown; method?: unknown; path?: unknown };
}

const waiting = new Map<string, (() => void)[]>();

function keyOf(method: unknown, origin: unknown, path: unknown): string {
  return `${String(method)} ${String(origin)}${String(path)}`;
}

function onSent(message: unknown): void {
  const r = (message as SentMessage).request;
  if (!r) return;
  const key = keyOf(r.method, r.origin, r.path);
  const list = waiting.get(key);
  const first = list?.shift();
  if (list?.length === 0) release(key);
  first?.();
}

function release(key: string): void {
  waiting.delete(key);
  if (waiting.size === 0) channels.unsubscribe(CHANNEL, onSent);
}

/**
 * Calls `sent` once undici writes the request `method origin+path`, or when the returned
 * function is called (the request settled first, or was never made): whichever comes first,
 * and at most once.
 */
export function whenSent(
  method: string,
  origin: string,
  path: string,
  sent: () => void,
): () => void {
  const key = keyOf(method, origin, path);
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    sent();
  };
  if (waiting.size === 0) channels.subscribe(CHANNEL, onSent);
  const list = waiting.get(key) ?? [];
  list.push(once);
  waiting.set(key, list);
  return () => {
    const l = waiting.get(key);
    const i = l?.indexOf(once) ?? -1;
    if (l && i >= 0) {
      l.splice(i, 1);
      if (l.length === 0) release(key);
    }
    once();
  };
}
