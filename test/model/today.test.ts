import { describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { Model } from '../../src/model/model.js';
import { calendarDay, processTimeZone } from '../../src/model/today.js';
import { ManualClock } from '../../src/ports/clock.js';
import { openTestStore } from '../helpers/store.js';

describe('calendarDay', () => {
  it.each([
    ['UTC', Date.UTC(2026, 10, 22, 23, 59), '2026-11-22'],
    ['America/New_York', Date.UTC(2026, 10, 22, 3), '2026-11-21'],
    ['Pacific/Kiritimati', Date.UTC(2026, 10, 22, 11), '2026-11-23'],
    ['Asia/Kolkata', Date.UTC(2026, 11, 31, 18, 30), '2027-01-01'],
    ['Europe/London', Date.UTC(2026, 2, 29, 0, 30), '2026-03-29'], // DST starts that night
  ])('%s at %d is %s', (zone, ms, day) => {
    expect(calendarDay(zone, ms)).toBe(day);
  });

  it('refuses an unknown zone with invalid_params naming timeZone', () => {
    expect(() => calendarDay('Mars/Olympus', 0)).toThrow(HephError);
    const t = openTestStore();
    try {
      let err: unknown;
      try {
        new Model(t.store, { clock: new ManualClock(), timeZone: 'Mars/Olympus' });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'invalid_params', details: { field: 'timeZone' } });
    } finally {
      t.close();
    }
  });

  it("defaults to the process's zone", () => {
    const t = openTestStore();
    try {
      const m = new Model(t.store, { clock: t.clock });
      expect(m.timeZone).toBe(processTimeZone());
      expect(m.today()).toBe(calendarDay(processTimeZone(), t.clock.now()));
    } finally {
      t.close();
    }
  });
});
