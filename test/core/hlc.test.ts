// The HLC must stay strictly monotonic whatever the wall clock does, across restarts, and its
// string encoding must sort (as JS strings and under SQLite's ORDER BY) exactly like compareHlc.

import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import {
  compareHlc,
  decodeHlc,
  DEFAULT_MAX_DRIFT_MS,
  driftAhead,
  encodeHlc,
  HLC_LENGTH,
  HlcClock,
  isHlcString,
  isOrigin,
  MAX_COUNTER,
  MAX_WALL,
  originOf,
  receive,
  tick,
  wallOf,
  type Hlc,
} from '../../src/core/hlc.js';

const SEED = 0x5eed_41c;
const ORIGIN = '0123456789abcdef';
const OTHER = 'fedcba9876543210';
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 60 * 60 * 1000;

/** A fake wall clock read from a script of values; the last value repeats forever. */
function scriptedClock(values: readonly number[]): { now(): number } {
  let i = 0;
  return {
    now() {
      const v = values[Math.min(i, values.length - 1)];
      i++;
      if (v === undefined) throw new Error('empty clock script');
      return v;
    },
  };
}

/** Small deterministic PRNG (mulberry32) for long scripted clocks. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A misbehaving wall clock: mostly creeps forward, often repeats its last value, steps back and
 * forth by a few ms, and at set points jumps back an hour (and later forward again).
 */
function stutteringClock(seed: number): { now(): number; readings: number[] } {
  const rnd = prng(seed);
  let t = T0;
  let calls = 0;
  const readings: number[] = [];
  return {
    readings,
    now() {
      calls++;
      if (calls === 20_000 || calls === 60_000) t -= HOUR;
      else if (calls === 45_000) t += 2 * HOUR;
      else {
        const r = rnd();
        if (r < 0.4) {
          // stutter: same value again
        } else if (r < 0.55) t -= 1 + Math.floor(rnd() * 5);
        else if (r < 0.7) t += 1 + Math.floor(rnd() * 5);
        else t += Math.floor(rnd() * 2);
      }
      readings.push(t);
      return t;
    },
  };
}

/** The HephError code `fn` throws, or a marker when it throws something else or nothing. */
function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof HephError ? e.code : `foreign error: ${String(e)}`;
  }
  return 'did not throw';
}

function expectStrictlyIncreasing(stamps: readonly string[]): void {
  for (let i = 1; i < stamps.length; i++) {
    const a = stamps[i - 1]!;
    const b = stamps[i]!;
    if (!(a < b)) throw new Error(`stamp ${i} not greater as string: ${a} then ${b}`);
    if (compareHlc(decodeHlc(a), decodeHlc(b)) >= 0) {
      throw new Error(`stamp ${i} not greater by compareHlc: ${a} then ${b}`);
    }
  }
}

const hexDigits = (n: number) =>
  fc
    .array(fc.constantFrom(...'0123456789abcdef'), { minLength: n, maxLength: n })
    .map((ds) => ds.join(''));

/** Stamps biased towards ties in wall and counter so that every comparison level is exercised. */
const hlcArb: fc.Arbitrary<Hlc> = fc.record({
  wall: fc.oneof(
    fc.constantFrom(0, 1, 15, 16, 255, 256, T0, T0 + 1, MAX_WALL - 1, MAX_WALL),
    fc.integer({ min: 0, max: MAX_WALL }),
  ),
  counter: fc.oneof(
    fc.constantFrom(0, 1, 9, 10, 15, 16, 255, 256, MAX_COUNTER - 1, MAX_COUNTER),
    fc.integer({ min: 0, max: MAX_COUNTER }),
  ),
  origin: fc.oneof(
    fc.constantFrom(ORIGIN, OTHER, '0000000000000000', 'ffffffffffffffff'),
    hexDigits(16),
  ),
});

describe('encodeHlc / decodeHlc', () => {
  it('round-trips and is fixed width', () => {
    fc.assert(
      fc.property(hlcArb, (h) => {
        const s = encodeHlc(h);
        expect(s).toHaveLength(HLC_LENGTH);
        expect(isHlcString(s)).toBe(true);
        expect(decodeHlc(s)).toEqual(h);
        expect(wallOf(s)).toBe(h.wall);
        expect(originOf(s)).toBe(h.origin);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it('encodes known values exactly', () => {
    expect(HLC_LENGTH).toBe(34);
    expect(encodeHlc({ wall: 0, counter: 0, origin: ORIGIN })).toBe(
      '000000000000-0000-0123456789abcdef',
    );
    expect(encodeHlc({ wall: MAX_WALL, counter: MAX_COUNTER, origin: OTHER })).toBe(
      'ffffffffffff-ffff-fedcba9876543210',
    );
    expect(encodeHlc({ wall: 0x19bc2f3a4b5, counter: 0xa, origin: ORIGIN })).toBe(
      '019bc2f3a4b5-000a-0123456789abcdef',
    );
  });

  it('string order equals compareHlc order', () => {
    fc.assert(
      fc.property(hlcArb, hlcArb, (a, b) => {
        const sa = encodeHlc(a);
        const sb = encodeHlc(b);
        const byString = sa < sb ? -1 : sa > sb ? 1 : 0;
        expect(byString).toBe(compareHlc(a, b));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it.each([
    ['wall -1', { wall: -1, counter: 0, origin: ORIGIN }],
    ['wall past 48 bits', { wall: MAX_WALL + 1, counter: 0, origin: ORIGIN }],
    ['fractional wall', { wall: 1.5, counter: 0, origin: ORIGIN }],
    ['NaN wall', { wall: Number.NaN, counter: 0, origin: ORIGIN }],
    ['infinite wall', { wall: Number.POSITIVE_INFINITY, counter: 0, origin: ORIGIN }],
    ['counter -1', { wall: 0, counter: -1, origin: ORIGIN }],
    ['counter past 16 bits', { wall: 0, counter: MAX_COUNTER + 1, origin: ORIGIN }],
    ['fractional counter', { wall: 0, counter: 0.5, origin: ORIGIN }],
    ['short origin', { wall: 0, counter: 0, origin: '0123' }],
    ['upper-case origin', { wall: 0, counter: 0, origin: '0123456789ABCDEF' }],
  ])('encodeHlc rejects %s', (_name, h) => {
    expect(errorCode(() => encodeHlc(h))).toBe('invalid_op');
  });

  const good = '019bc2f3a4b5-000a-0123456789abcdef';
  it.each([
    ['empty', ''],
    ['one short', good.slice(1)],
    ['one long', good + '0'],
    ['upper-case wall', '019BC2F3A4B5-000a-0123456789abcdef'],
    ['upper-case origin', '019bc2f3a4b5-000a-0123456789ABCDEF'],
    ['colon separators', '019bc2f3a4b5:000a:0123456789abcdef'],
    ['no separators, same length', '019bc2f3a4b50000a00123456789abcdef'],
    ['separator moved', '019bc2f3a4b50-00a-0123456789abcdef'],
    ['non-hex digit', '019bc2f3a4g5-000a-0123456789abcdef'],
    ['space', '019bc2f3a4b5-000a-0123456789abcde '],
    ['sign', '-19bc2f3a4b5-000a-0123456789abcdef'],
    ['trailing newline', good + '\n'],
  ])('rejects a bad string: %s', (_name, s) => {
    expect(isHlcString(s)).toBe(false);
    expect(errorCode(() => decodeHlc(s))).toBe('invalid_op');
  });

  it('isHlcString accepts a good stamp and rejects non-strings', () => {
    expect(isHlcString(good)).toBe(true);
    for (const v of [undefined, null, 34, {}, [good]]) expect(isHlcString(v)).toBe(false);
    expect(isOrigin(ORIGIN)).toBe(true);
    expect(isOrigin('0123456789abcdeg')).toBe(false);
  });
});

describe('tick and receive', () => {
  const at = (wall: number, counter: number, origin = ORIGIN): Hlc => ({ wall, counter, origin });

  it('tick follows a wall clock that moves forward and counts when it does not', () => {
    expect(tick(at(100, 7), 200)).toEqual(at(200, 0));
    expect(tick(at(100, 7), 100)).toEqual(at(100, 8));
    expect(tick(at(100, 7), 50)).toEqual(at(100, 8));
  });

  it('tick carries a full counter into the next millisecond', () => {
    expect(tick(at(100, MAX_COUNTER), 100)).toEqual(at(101, 0));
    expect(tick(at(100, MAX_COUNTER), 0)).toEqual(at(101, 0));
  });

  it('tick refuses to run past the largest wall time', () => {
    expect(() => tick(at(MAX_WALL, MAX_COUNTER), 0)).toThrow(HephError);
  });

  const cases: [string, Hlc, Hlc, number][] = [
    ['remote far ahead', at(T0, 3), at(T0 + 10 * HOUR, 5, OTHER), T0],
    ['remote far behind', at(T0, 3), at(T0 - HOUR, 9, OTHER), T0],
    ['wall clock ahead of both', at(T0, 3), at(T0 - 5, 9, OTHER), T0 + 10],
    ['equal walls, remote counter higher', at(T0, 3), at(T0, 9, OTHER), T0],
    ['equal walls, local counter higher', at(T0, 9), at(T0, 3, OTHER), T0],
    ['equal walls, equal counters', at(T0, 4), at(T0, 4, OTHER), T0],
    ['equal walls, equal counters, wall clock behind', at(T0, 4), at(T0, 4, OTHER), T0 - HOUR],
    ['equal walls, remote counter full', at(T0, 2), at(T0, MAX_COUNTER, OTHER), T0],
    ['equal walls, local counter full', at(T0, MAX_COUNTER), at(T0, 2, OTHER), T0],
    ['remote ahead with full counter', at(T0, 2), at(T0 + 5, MAX_COUNTER, OTHER), T0],
    ['remote with smaller origin, same wall and counter', at(T0, 4, OTHER), at(T0, 4), T0],
  ];
  it.each(cases)('receive moves past both stamps: %s', (_name, local, remote, now) => {
    const r = receive(local, remote, now);
    expect(compareHlc(r, local)).toBeGreaterThan(0);
    expect(compareHlc(r, remote)).toBeGreaterThan(0);
    expect(r.origin).toBe(local.origin);
    expect(r.counter).toBeLessThanOrEqual(MAX_COUNTER);
    expect(r.wall).toBeGreaterThanOrEqual(now);
    // And the result is a valid, encodable stamp whose string also sorts after both.
    expect(encodeHlc(r) > encodeHlc(remote)).toBe(true);
    expect(encodeHlc(r) > encodeHlc(local)).toBe(true);
  });

  it('receive carries an overflowing counter into the millisecond', () => {
    expect(receive(at(T0, 2), at(T0, MAX_COUNTER, OTHER), T0)).toEqual(at(T0 + 1, 0));
    expect(receive(at(T0, MAX_COUNTER), at(T0, MAX_COUNTER, OTHER), T0 - 1)).toEqual(at(T0 + 1, 0));
    expect(receive(at(T0, 0), at(T0 + 9, MAX_COUNTER, OTHER), T0)).toEqual(at(T0 + 10, 0));
  });

  it('receive takes the wall clock when it is ahead of both', () => {
    expect(receive(at(T0, 8), at(T0 + 1, 8, OTHER), T0 + 2)).toEqual(at(T0 + 2, 0));
  });

  it('receive is greater than both inputs for any inputs', () => {
    fc.assert(
      fc.property(
        hlcArb.filter((h) => h.wall < MAX_WALL),
        hlcArb.filter((h) => h.wall < MAX_WALL),
        fc.integer({ min: 0, max: MAX_WALL - 1 }),
        (local, remote, now) => {
          const r = receive(local, remote, now);
          expect(compareHlc(r, local)).toBeGreaterThan(0);
          expect(compareHlc(r, remote)).toBeGreaterThan(0);
          expect(r.origin).toBe(local.origin);
          expect(isHlcString(encodeHlc(r))).toBe(true);
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe('HlcClock', () => {
  it('issues 100,000 strictly increasing stamps from a clock that jumps back an hour and stutters', () => {
    const clock = stutteringClock(SEED);
    const hlc = new HlcClock(ORIGIN, clock);
    const stamps: string[] = [];
    for (let i = 0; i < 100_000; i++) stamps.push(hlc.now());
    expectStrictlyIncreasing(stamps);

    // The script really did misbehave: it went back an hour, and repeated values.
    const r = clock.readings;
    let backJumps = 0;
    let repeats = 0;
    let smallBacksteps = 0;
    for (let i = 1; i < r.length; i++) {
      const d = r[i]! - r[i - 1]!;
      if (d <= -HOUR + 10) backJumps++;
      else if (d === 0) repeats++;
      else if (d < 0) smallBacksteps++;
    }
    expect(backJumps).toBe(2);
    expect(repeats).toBeGreaterThan(10_000);
    expect(smallBacksteps).toBeGreaterThan(1_000);
    // Never behind the wall clock it read.
    for (let i = 0; i < stamps.length; i += 97) {
      expect(wallOf(stamps[i]!)).toBeGreaterThanOrEqual(r[i]!);
    }
    // After the forward jump it follows the wall clock again (counter resets), rather than
    // staying stuck counting in the old millisecond.
    const jump = r.findIndex((v, i) => i > 0 && v - r[i - 1]! > HOUR);
    expect(jump).toBeGreaterThan(0);
    expect(decodeHlc(stamps[jump]!)).toEqual({ wall: r[jump], counter: 0, origin: ORIGIN });
  });

  it('stays strictly increasing under any clock and any observed remote stamps', () => {
    const step = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({ read: fc.integer({ min: T0 - 2 * HOUR, max: T0 + HOUR }) }),
      },
      { weight: 1, arbitrary: fc.record({ remote: hlcArb.filter((h) => h.wall < T0 + 3 * HOUR) }) },
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 300 }), (steps) => {
        let reading = T0;
        const hlc = new HlcClock(ORIGIN, { now: () => reading });
        let floor: Hlc | undefined; // highest stamp issued or observed so far
        let lastIssued: string | undefined;
        for (const s of steps) {
          if ('remote' in s) {
            hlc.observe(s.remote);
            if (!floor || compareHlc(s.remote, floor) > 0) floor = s.remote;
          } else {
            reading = s.read;
            const stamp = hlc.now();
            const h = decodeHlc(stamp);
            if (floor) expect(compareHlc(h, floor)).toBeGreaterThan(0);
            if (lastIssued !== undefined) expect(stamp > lastIssued).toBe(true);
            expect(h.origin).toBe(ORIGIN);
            lastIssued = stamp;
            floor = h;
          }
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('70,000 stamps under a frozen clock: the counter carries, never wraps, no duplicates', () => {
    const hlc = new HlcClock(ORIGIN, { now: () => T0 });
    const stamps: string[] = [];
    for (let i = 0; i < 70_000; i++) stamps.push(hlc.now());
    expect(new Set(stamps).size).toBe(70_000);
    expectStrictlyIncreasing(stamps);
    expect(decodeHlc(stamps[0]!)).toEqual({ wall: T0, counter: 0, origin: ORIGIN });
    expect(decodeHlc(stamps[MAX_COUNTER]!)).toEqual({
      wall: T0,
      counter: MAX_COUNTER,
      origin: ORIGIN,
    });
    expect(decodeHlc(stamps[MAX_COUNTER + 1]!)).toEqual({
      wall: T0 + 1,
      counter: 0,
      origin: ORIGIN,
    });
    expect(decodeHlc(stamps[69_999]!)).toEqual({
      wall: T0 + 1,
      counter: 69_999 - (MAX_COUNTER + 1),
      origin: ORIGIN,
    });
  });

  it('after a restart with the clock set back an hour, new stamps exceed all old ones', () => {
    let reading = T0;
    const first = new HlcClock(ORIGIN, { now: () => reading });
    const old: string[] = [];
    for (let i = 0; i < 500; i++) {
      if (i % 7 === 0) reading++;
      old.push(first.now());
    }
    // It has also seen a remote stamp from slightly in the future.
    first.observe({ wall: reading + 2000, counter: 17, origin: OTHER });
    old.push(first.now());
    // The high-water mark is persisted as a string, as storage would.
    const persisted = encodeHlc(first.peek());
    const maxOld = old.reduce((a, b) => (a > b ? a : b));
    expect(persisted).toBe(maxOld);

    const backThen = reading - HOUR;
    const restarted = new HlcClock(ORIGIN, { now: () => backThen }, decodeHlc(persisted));
    const fresh: string[] = [];
    for (let i = 0; i < 500; i++) fresh.push(restarted.now());
    expectStrictlyIncreasing([maxOld, ...fresh]);
    for (const s of fresh) expect(originOf(s)).toBe(ORIGIN);

    // Control: without the persisted mark, the set-back clock would issue smaller stamps.
    const amnesiac = new HlcClock(ORIGIN, { now: () => backThen });
    expect(amnesiac.now() < maxOld).toBe(true);
  });

  it('a restart whose persisted mark came from another origin keeps the local origin and still moves past it', () => {
    const persisted: Hlc = { wall: T0, counter: 5, origin: 'ffffffffffffffff' };
    const hlc = new HlcClock(ORIGIN, scriptedClock([T0 - HOUR]), persisted);
    const s = hlc.now();
    expect(originOf(s)).toBe(ORIGIN);
    expect(compareHlc(decodeHlc(s), persisted)).toBeGreaterThan(0);
  });

  it('observe of an older stamp changes nothing; of a newer one moves past it', () => {
    const hlc = new HlcClock(ORIGIN, scriptedClock([T0]));
    const a = hlc.now();
    hlc.observe({ wall: T0 - 1, counter: 99, origin: OTHER });
    expect(encodeHlc(hlc.peek())).toBe(a);
    const remote = { wall: T0 + HOUR, counter: 3, origin: OTHER };
    hlc.observe(remote);
    expect(hlc.peek()).toEqual({ wall: T0 + HOUR, counter: 4, origin: ORIGIN });
    expect(hlc.now() > encodeHlc(remote)).toBe(true);
  });

  it('reset restores an earlier high-water mark', () => {
    const hlc = new HlcClock(ORIGIN, scriptedClock([T0]));
    hlc.now();
    const mark = hlc.peek();
    const b = hlc.now();
    hlc.reset(mark);
    expect(hlc.now()).toBe(b);
  });

  it('rejects a bad origin', () => {
    expect(() => new HlcClock('xyz', scriptedClock([T0]))).toThrow(HephError);
    expect(() => new HlcClock(ORIGIN.toUpperCase(), scriptedClock([T0]))).toThrow(HephError);
  });
});

describe('drift', () => {
  it('the default limit is five minutes', () => {
    expect(DEFAULT_MAX_DRIFT_MS).toBe(300_000);
  });

  it('driftAhead is exactly at the limit at 300,000 ms and just over it at 300,001 ms', () => {
    const now = T0;
    const atLimit = driftAhead({ wall: now + 300_000, counter: MAX_COUNTER, origin: OTHER }, now);
    const over = driftAhead({ wall: now + 300_001, counter: 0, origin: OTHER }, now);
    const under = driftAhead({ wall: now + 299_999, counter: 0, origin: OTHER }, now);
    expect(atLimit).toBe(300_000);
    expect(over).toBe(300_001);
    expect(under).toBe(299_999);
    expect(atLimit > DEFAULT_MAX_DRIFT_MS).toBe(false);
    expect(under > DEFAULT_MAX_DRIFT_MS).toBe(false);
    expect(over > DEFAULT_MAX_DRIFT_MS).toBe(true);
  });

  it('driftAhead is zero or negative for stamps not ahead of the clock', () => {
    expect(driftAhead({ wall: T0, counter: 5, origin: OTHER }, T0)).toBe(0);
    expect(driftAhead({ wall: T0 - HOUR, counter: 0, origin: OTHER }, T0)).toBe(-HOUR);
  });
});

describe('SQLite ORDER BY id', () => {
  it('orders random stamps exactly as compareHlc does', () => {
    const db = new Database(':memory:');
    try {
      db.exec('CREATE TABLE oplog (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID');
      const insert = db.prepare('INSERT INTO oplog (id) VALUES (?)');
      const clear = db.prepare('DELETE FROM oplog');
      const select = db.prepare<[], { id: string }>('SELECT id FROM oplog ORDER BY id');
      let runs = 0;
      fc.assert(
        fc.property(
          fc.uniqueArray(hlcArb, {
            minLength: 2000,
            maxLength: 4000,
            selector: (h) => encodeHlc(h),
          }),
          (stamps) => {
            runs++;
            clear.run();
            db.transaction(() => {
              for (const h of stamps) insert.run(encodeHlc(h));
            })();
            const fromSql = select.all().map((r) => r.id);
            const expected = stamps
              .slice()
              .sort(compareHlc)
              .map((h) => encodeHlc(h));
            expect(fromSql).toEqual(expected);
          },
        ),
        { seed: SEED, numRuns: 4 },
      );
      expect(runs).toBe(4);
    } finally {
      db.close();
    }
  });
});
