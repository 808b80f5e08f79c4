// The Heph-Device-Facts header a daemon sends with its first request after each start: what it
// encodes reads back the same, and bad or oversized values are left out, never stored.

import { describe, expect, it } from 'vitest';
import { encodeDeviceFacts, parseDeviceFacts } from '../../src/protocol/sync.js';

describe('Heph-Device-Facts', () => {
  it('round-trips the facts a daemon reports', () => {
    const facts = {
      platform: 'linux',
      arch: 'x64',
      cpus: 8,
      memory_bytes: 16_777_216_000,
      version: '0.1.0 beta',
    };
    expect(parseDeviceFacts(encodeDeviceFacts(facts))).toEqual(facts);
  });

  it('leaves out what is not a fact, and holds nothing for nothing', () => {
    expect(
      parseDeviceFacts('platform=&arch=a%0Ab&cpus=-1&memory_bytes=1e9&version=' + 'v'.repeat(101)),
    ).toBeUndefined();
    expect(parseDeviceFacts('cpus=4&unknown=1')).toEqual({ cpus: 4 });
    expect(parseDeviceFacts('x'.repeat(1001))).toBeUndefined();
    expect(parseDeviceFacts(undefined)).toBeUndefined();
    expect(parseDeviceFacts(['cpus=4'])).toBeUndefined();
  });
});
