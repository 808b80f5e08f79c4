// What the bundled daemon gives lib0 (Yjs's helper library) for `lib0/webcrypto`
// (scripts/bundle-daemon.mjs): the same functions as lib0's own module for Node, except that
// small `getRandomValues` requests are served from a pool of cryptographic random bytes refilled
// 4 KB at a time. Yjs draws a random client id for every `new Y.Doc`, and the store makes one
// for each body document it loads or checks: one WebCrypto call (argument checks and a system
// call) per document was about 0.1 s of CPU in a new device's first sync of 100,000 ops.

import { randomFillSync, webcrypto } from 'node:crypto';

const POOL = 4096;
/** Requests up to this many bytes are served from the pool; larger ones go to WebCrypto. */
const MAX_POOLED = 256;
const pool = new Uint8Array(POOL);
let at = POOL;

export const subtle = webcrypto.subtle;

export function getRandomValues<T extends ArrayBufferView | null>(array: T): T {
  if (
    array === null ||
    !ArrayBuffer.isView(array) ||
    array instanceof DataView ||
    array instanceof Float32Array ||
    array instanceof Float64Array ||
    array.byteLength > MAX_POOLED
  ) {
    // WebCrypto's own checks and errors, for anything but a small integer array.
    return webcrypto.getRandomValues(array as never);
  }
  const n = array.byteLength;
  if (at + n > POOL) {
    randomFillSync(pool);
    at = 0;
  }
  new Uint8Array(array.buffer, array.byteOffset, n).set(pool.subarray(at, at + n));
  at += n;
  return array;
}
