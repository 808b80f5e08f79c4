// The owner's admin token, held by hephd in memory only, for a short while after a sign-in (like
// sudo's timestamp): `heph device …` reuses it instead of asking the owner to sign in for every
// command, and a stolen laptop holds no standing admin power. Guarantees: a token is held for at
// most ADMIN_HOLD_MS after it was handed over (less when it expires sooner), by the injected
// clock; a token past its time is never answered and is dropped when asked for; nothing here is
// written anywhere (no file, no database, no log line).

import type { Clock } from '../ports/clock.js';
import { hubKey } from './token-store.js';

export const ADMIN_HOLD_MS = 15 * 60_000;

export interface HeldAdmin {
  token: string;
  /** Epoch ms after which it is no longer answered. */
  until: number;
}

export class AdminTokens {
  private readonly held = new Map<string, HeldAdmin>();

  constructor(private readonly clock: Clock) {}

  /**
   * Holds `token` for `hub`; `expiresAt` (epoch ms) shortens the hold. Returns when it ends, or
   * undefined when the token has already expired (nothing is held).
   */
  hold(hub: string, token: string, expiresAt?: number): number | undefined {
    const now = this.clock.now();
    const until = Math.min(now + ADMIN_HOLD_MS, expiresAt ?? Infinity);
    if (until <= now) return undefined;
    this.held.set(hubKey(hub), { token, until });
    return until;
  }

  /** The token held for `hub`, while its time lasts. */
  get(hub: string): HeldAdmin | undefined {
    const key = hubKey(hub);
    const h = this.held.get(key);
    if (h === undefined) return undefined;
    if (this.clock.now() >= h.until) {
      this.held.delete(key);
      return undefined;
    }
    return h;
  }

  /** Forgets the token of `hub` (sign-out); true when one was held. */
  forget(hub: string): boolean {
    return this.held.delete(hubKey(hub));
  }
}
