// "Today" is a calendar date in the user's time zone. This is the one place that turns an
// instant (epoch ms from the injected clock) into that date; everything else takes the date.

import { HephError } from '../core/errors.js';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        calendar: 'gregory',
        numberingSystem: 'latn',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
      });
    } catch {
      throw new HephError(
        'invalid_params',
        `timeZone ${JSON.stringify(timeZone)} is not an IANA time zone (such as Europe/Paris)`,
        { field: 'timeZone' },
      );
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * The last answer: asked on every write that takes a date, usually within the same second.
 * Zone offsets are whole seconds, so every instant of one UTC second has the same local date.
 */
let last: { timeZone: string; second: number; day: string } | undefined;

/** The calendar date ('YYYY-MM-DD') of the instant `epochMs` in `timeZone`. */
export function calendarDay(timeZone: string, epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (last !== undefined && last.second === second && last.timeZone === timeZone) return last.day;
  const parts = formatter(timeZone).formatToParts(epochMs);
  const part = (type: Intl.DateTimeFormatPartTypes): string =>
    parts.find((p) => p.type === type)?.value ?? '';
  const day = `${part('year').padStart(4, '0')}-${part('month')}-${part('day')}`;
  last = { timeZone, second, day };
  return day;
}

/** The zone of the running process. */
export function processTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** Throws invalid_params unless `timeZone` names a zone this runtime knows. */
export function checkTimeZone(timeZone: unknown): string {
  if (typeof timeZone !== 'string' || timeZone === '') {
    throw new HephError('invalid_params', 'timeZone must be an IANA time zone name', {
      field: 'timeZone',
    });
  }
  formatter(timeZone);
  return timeZone;
}
