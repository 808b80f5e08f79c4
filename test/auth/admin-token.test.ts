import { describe, expect, it } from 'vitest';
import { ADMIN_HOLD_MS, AdminTokens } from '../../src/auth/admin-token.js';
import { ManualClock } from '../../src/ports/clock.js';

describe('the admin sign-in held in memory', () => {
  const hub = 'https://hub.example.org';

  it('holds for 15 minutes, or until the token expires when that comes first', () => {
    const clock = new ManualClock(1_800_000_000_000);
    const tokens = new AdminTokens(clock);
    expect(tokens.hold(hub, 'a', undefined)).toBe(clock.now() + ADMIN_HOLD_MS);
    expect(tokens.hold(hub, 'b', clock.now() + 60_000)).toBe(clock.now() + 60_000);
    clock.advance(59_999);
    expect(tokens.get(hub)?.token).toBe('b');
    clock.advance(1);
    expect(tokens.get(hub)).toBeUndefined();
  });

  it('holds nothing for a token that has already expired', () => {
    const clock = new ManualClock(1_800_000_000_000);
    const tokens = new AdminTokens(clock);
    expect(tokens.hold(hub, 'live')).toBeDefined();
    expect(tokens.hold(hub, 'stale', clock.now())).toBeUndefined();
    // The one held before stays; the stale one never replaces it.
    expect(tokens.get(hub)?.token).toBe('live');
  });
});
