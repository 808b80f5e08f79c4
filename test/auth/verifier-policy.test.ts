// The pure parts of hub auth: the owner policy table and the failure rate limiter.

import { describe, expect, it } from 'vitest';
import {
  createOwnerPolicy,
  decide,
  identityKey,
  parseAllowUsers,
  type Identity,
  type OwnerPolicyConfig,
} from '../../src/auth/owners.js';
import { clientKey, createFailureLimiter } from '../../src/auth/rate-limit.js';
import { bearerChallenge } from '../../src/auth/verifier.js';
import { HephError } from '../../src/core/errors.js';
import { ManualClock } from '../../src/ports/clock.js';

const ISS = 'https://id.example';
const id = (sub: string, iss = ISS): Identity => ({ iss, sub });

describe('owner policy', () => {
  type Row = [string, Omit<OwnerPolicyConfig, 'issuer'>, Identity | undefined, Identity, string];
  // [case, config, claimed owner, who signs in, expected: owner/owner+claim/user/deny]
  const table: Row[] = [
    ['unclaimed hub: first identity claims it', {}, undefined, id('alice'), 'owner+claim'],
    ['claimed hub: the owner', {}, id('alice'), id('alice'), 'owner'],
    ['claimed hub: someone else', {}, id('alice'), id('bob'), 'deny'],
    ['same sub from another issuer', {}, id('alice'), id('alice', 'https://evil'), 'deny'],
    ['claimed by a sub of another issuer', {}, id('alice', 'https://old'), id('alice'), 'deny'],
    ['pinned owner, unclaimed', { owner: 'alice' }, undefined, id('alice'), 'owner+claim'],
    ['pinned owner, claimed by them', { owner: 'alice' }, id('alice'), id('alice'), 'owner'],
    ['pinned owner overrides a claim', { owner: 'alice' }, id('bob'), id('alice'), 'owner+claim'],
    ['pinned owner: the old claimant', { owner: 'alice' }, id('bob'), id('bob'), 'deny'],
    ['pinned owner: a stranger cannot claim', { owner: 'alice' }, undefined, id('eve'), 'deny'],
    ['allow-users *: another user', { allowUsers: '*' }, id('alice'), id('bob'), 'user'],
    ['allow-users list: listed', { allowUsers: ['bob'] }, id('alice'), id('bob'), 'user'],
    ['allow-users list: not listed', { allowUsers: ['bob'] }, id('alice'), id('eve'), 'deny'],
    [
      'allow-users list, unclaimed: listed claims',
      { allowUsers: ['bob'] },
      undefined,
      id('bob'),
      'owner+claim',
    ],
    [
      'allow-users list, unclaimed: stranger',
      { allowUsers: ['bob'] },
      undefined,
      id('eve'),
      'deny',
    ],
    [
      'allow-users *, unclaimed: anyone claims',
      { allowUsers: '*' },
      undefined,
      id('eve'),
      'owner+claim',
    ],
    [
      'pinned + allow-users: listed user',
      { owner: 'alice', allowUsers: ['bob'] },
      undefined,
      id('bob'),
      'user',
    ],
    [
      'allow-users from another issuer',
      { allowUsers: '*' },
      id('alice'),
      id('bob', 'https://evil'),
      'deny',
    ],
  ];
  for (const [name, config, claimed, who, expected] of table) {
    it(name, () => {
      const d = decide({ issuer: ISS, ...config }, claimed, who);
      const got = !d.allow ? 'deny' : `${d.access.role}${d.claim ? '+claim' : ''}`;
      expect(got).toBe(expected);
      if (d.allow) expect(d.access.identity).toEqual(who);
    });
  }

  it('parses --allow-users', () => {
    expect(parseAllowUsers('*')).toBe('*');
    expect(parseAllowUsers(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(() => parseAllowUsers('a,*')).toThrow(HephError);
  });

  it('keys identities by (iss, sub) without ambiguity', () => {
    expect(identityKey(id('a|b', 'x'))).not.toBe(identityKey(id('b', 'x|a')));
  });

  it('persists a claim once, and a failed persist claims nothing', async () => {
    const stored: Identity[] = [];
    let fail = true;
    const p = createOwnerPolicy(
      { issuer: ISS },
      {
        persist: (o) => {
          if (fail) throw new Error('disk full');
          stored.push(o);
        },
      },
    );
    await expect(p.authorize(id('alice'))).rejects.toThrow('disk full');
    expect(p.owner()).toBeUndefined();
    fail = false;
    await expect(p.authorize(id('bob'))).resolves.toEqual({ role: 'owner', identity: id('bob') });
    await p.authorize(id('bob'));
    expect(stored).toEqual([id('bob')]);
    await expect(p.authorize(id('alice'))).rejects.toMatchObject({ code: 'forbidden' });
    expect(p.owner()).toEqual(id('bob'));
  });
});

describe('failure rate limiter', () => {
  it('allows a burst, then refills at the configured rate', () => {
    const clock = new ManualClock();
    const l = createFailureLimiter({ clock, burst: 3, perMinute: 6 });
    expect(l.retryAfterSec('1.2.3.4')).toBe(0);
    expect(l.recordFailure('1.2.3.4')).toBe(0);
    expect(l.recordFailure('1.2.3.4')).toBe(0);
    expect(l.recordFailure('1.2.3.4')).toBe(10);
    expect(l.retryAfterSec('1.2.3.4')).toBe(10);
    expect(l.retryAfterSec('1.2.3.5')).toBe(0);
    clock.advance(4000);
    expect(l.retryAfterSec('1.2.3.4')).toBe(6);
    // Failing while limited keeps the bucket empty, never negative.
    expect(l.recordFailure('1.2.3.4')).toBe(10);
    clock.advance(10_000);
    expect(l.retryAfterSec('1.2.3.4')).toBe(0);
    clock.advance(60_000);
    expect(l.recordFailure('1.2.3.4')).toBe(0);
  });

  it('groups IPv6 by /64 and IPv4-mapped addresses with IPv4', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:DB8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('192.0.2.1')).toBe('192.0.2.1');
    const l = createFailureLimiter({ clock: new ManualClock(), burst: 1 });
    l.recordFailure('2001:db8:1:2::1');
    expect(l.retryAfterSec('2001:db8:1:2::ffff')).toBeGreaterThan(0);
    expect(l.retryAfterSec('2001:db8:1:3::1')).toBe(0);
  });

  it('tracks at most maxClients addresses', () => {
    const clock = new ManualClock();
    const l = createFailureLimiter({ clock, burst: 1, maxClients: 100 });
    for (let i = 0; i < 1000; i++) l.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    // The newest are remembered, the oldest were forgotten.
    expect(l.retryAfterSec('10.0.3.231')).toBeGreaterThan(0);
    expect(l.retryAfterSec('10.0.0.0')).toBe(0);
  });
});

describe('bearer challenge', () => {
  it('drops characters RFC 6750 does not allow in error_description', () => {
    expect(bearerChallenge('invalid_token', 'a "quoted" \\ value\n')).toBe(
      'Bearer error="invalid_token", error_description="a quoted  value"',
    );
  });
});
