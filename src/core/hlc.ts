// Hybrid logical clock. Guarantees:
// - every stamp this clock issues is strictly greater than every stamp it issued or received
//   before, whatever the wall clock does (stalls, jumps back);
// - the string encoding is fixed-width, so comparing encoded stamps as strings (or bytes, or
//   with SQLite's ORDER BY) gives the same order as comparing (wall, counter, origin);
// - the counter never wraps: past MAX_COUNTER it carries into the millisecond.
// Pure: the wall clock is passed in as a number on every call.

import { HephError } from './errors.js';

export interface Hlc {
  readonly wall: number; // epoch milliseconds
  readonly counter: number; // 0..MAX_COUNTER
  readonly origin: string; // ORIGIN_LENGTH lowercase hex digits
}

export const MAX_COUNTER = 0xffff;
export const MAX_WALL = 2 ** 48 - 1;
export const ORIGIN_LENGTH = 16;
const WALL_DIGITS = 12;
const COUNTER_DIGITS = 4;
export const HLC_LENGTH = WALL_DIGITS + 1 + COUNTER_DIGITS + 1 + ORIGIN_LENGTH;

const HLC_RE = /^[0-9a-f]{12}-[0-9a-f]{4}-[0-9a-f]{16}$/;
const ORIGIN_RE = /^[0-9a-f]{16}$/;

export const DEFAULT_MAX_DRIFT_MS = 5 * 60 * 1000;

export function isOrigin(s: unknown): s is string {
  return typeof s === 'string' && ORIGIN_RE.test(s);
}

export function isHlcString(s: unknown): s is string {
  return typeof s === 'string' && s.length === HLC_LENGTH && HLC_RE.test(s);
}

export function encodeHlc(h: Hlc): string {
  if (!Number.isSafeInteger(h.wall) || h.wall < 0 || h.wall > MAX_WALL) {
    throw new HephError('invalid_op', `HLC wall time out of range: ${h.wall}`);
  }
  if (!Number.isInteger(h.counter) || h.counter < 0 || h.counter > MAX_COUNTER) {
    throw new HephError('invalid_op', `HLC counter out of range: ${h.counter}`);
  }
  if (!isOrigin(h.origin)) throw new HephError('invalid_op', `HLC origin is not 16 hex digits`);
  return (
    h.wall.toString(16).padStart(WALL_DIGITS, '0') +
    '-' +
    h.counter.toString(16).padStart(COUNTER_DIGITS, '0') +
    '-' +
    h.origin
  );
}

export function decodeHlc(s: string): Hlc {
  if (!isHlcString(s)) {
    throw new HephError(
      'invalid_op',
      `not an HLC stamp: ${JSON.stringify(String(s).slice(0, 60))}`,
    );
  }
  return {
    wall: parseInt(s.slice(0, WALL_DIGITS), 16),
    counter: parseInt(s.slice(WALL_DIGITS + 1, WALL_DIGITS + 1 + COUNTER_DIGITS), 16),
    origin: s.slice(WALL_DIGITS + 2 + COUNTER_DIGITS),
  };
}

export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0;
}

/** The origin part of an encoded stamp, without a full decode. */
export function originOf(s: string): string {
  return s.slice(WALL_DIGITS + 2 + COUNTER_DIGITS);
}

/** The wall-clock part of an encoded stamp, without a full decode. */
export function wallOf(s: string): number {
  return parseInt(s.slice(0, WALL_DIGITS), 16);
}

function carry(wall: number, counter: number): { wall: number; counter: number } {
  if (counter > MAX_COUNTER) return { wall: wall + 1, counter: 0 };
  return { wall, counter };
}

/** The next local stamp after `last`, given the wall clock reading `now`. */
export function tick(last: Hlc, now: number): Hlc {
  const t = carry(now > last.wall ? now : last.wall, now > last.wall ? 0 : last.counter + 1);
  if (t.wall > MAX_WALL) throw new HephError('internal', 'HLC wall time exhausted');
  return { wall: t.wall, counter: t.counter, origin: last.origin };
}

/**
 * Moves the local clock `last` past a received stamp. The result is greater than both, and its
 * origin stays the local one.
 */
export function receive(last: Hlc, remote: Hlc, now: number): Hlc {
  const wall = Math.max(now, last.wall, remote.wall);
  let counter: number;
  if (wall === last.wall && wall === remote.wall)
    counter = Math.max(last.counter, remote.counter) + 1;
  else if (wall === last.wall) counter = last.counter + 1;
  else if (wall === remote.wall) counter = remote.counter + 1;
  else counter = 0;
  const t = carry(wall, counter);
  return { wall: t.wall, counter: t.counter, origin: last.origin };
}

/** How far (ms) a stamp is ahead of the wall clock; zero or negative when it is not. */
export function driftAhead(stamp: Hlc, now: number): number {
  return stamp.wall - now;
}

/**
 * A stateful clock over the pure functions, for a replica. `persisted` is the high-water mark
 * loaded from storage, so a restart with the wall clock set back still moves forward.
 */
export class HlcClock {
  private last: Hlc;

  constructor(
    origin: string,
    private readonly wallClock: { now(): number },
    persisted?: Hlc,
  ) {
    if (!isOrigin(origin)) throw new HephError('invalid_params', 'origin must be 16 hex digits');
    this.last = persisted ? { ...persisted, origin } : { wall: 0, counter: 0, origin };
  }

  get origin(): string {
    return this.last.origin;
  }

  /** The highest stamp issued or received so far. */
  peek(): Hlc {
    return this.last;
  }

  now(): string {
    this.last = tick(this.last, this.wallClock.now());
    return encodeHlc(this.last);
  }

  observe(remote: Hlc): void {
    if (compareHlc(remote, this.last) > 0) {
      this.last = receive(this.last, remote, this.wallClock.now());
    }
  }

  /** Restores an earlier high-water mark (used when a transaction rolls back). */
  reset(to: Hlc): void {
    this.last = to;
  }

  wallNow(): number {
    return this.wallClock.now();
  }
}
