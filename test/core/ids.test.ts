// Node ids: ULIDs, deterministic tag/journal/log ids and derived ids; none may contain '|' or
// whitespace (link ids join three of them with '|'), and dates must be real calendar days.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import {
  isLinkId,
  isNodeId,
  isUlid,
  isValidDate,
  journalId,
  kindOfDeterministicId,
  linkId,
  logId,
  normalizeTagName,
  randomHex,
  tagId,
  type Random,
} from '../../src/core/ids.js';
import { ulidFactory } from '../../src/core/ulid-factory.js';

const SEED = 0x1d5_0001;
const ULID = '01HZY3F0V3Z5KJ8Q9W2X4Y6Z7A';
const ULID2 = '01HZY3F0V3Z5KJ8Q9W2X4Y6Z7B';
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

function seeded(seed: number): Random {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

function thrownCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof HephError ? e.code : `foreign error: ${String(e)}`;
  }
  return 'did not throw';
}

describe('isNodeId', () => {
  it.each([
    ['a ULID', ULID],
    ['the smallest ULID', '00000000000000000000000000'],
    ['a tag', 'tag:work'],
    ['a tag with punctuation', 'tag:a/b.c-d_e'],
    ['a tag of digits', 'tag:2026'],
    ['a tag in another script', 'tag:日本語'],
    ['a tag with a lower-case accented letter', 'tag:café'],
    ['a tag of 64 characters', 'tag:' + 'a'.repeat(64)],
    ['a journal day', 'journal:2026-01-15'],
    ['a leap day', 'journal:2024-02-29'],
    ['a leap day in a 400-year', 'journal:2000-02-29'],
    ['a task log of a ULID', `log:${ULID}`],
    ['a task log of a derived id', 'log:obsidian:notes/a.md'],
    ['a derived id', 'obsidian:notes/Projects/Plan.md'],
    ['a short derived id', 'x:y'],
    ['a derived id with a 16-character prefix', 'abcdefghijklmnop:x'],
    ['a derived id of 200 characters after the prefix', 'x:' + 'a'.repeat(200)],
  ])('accepts %s', (_name, id) => {
    expect(isNodeId(id)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['a lower-case ULID', ULID.toLowerCase()],
    ['a ULID one short', ULID.slice(1)],
    ['a ULID with I', ULID.slice(0, -1) + 'I'],
    ['a ULID with L', ULID.slice(0, -1) + 'L'],
    ['a ULID with O', ULID.slice(0, -1) + 'O'],
    ['a ULID with U', ULID.slice(0, -1) + 'U'],
    ['a bare word', 'notes'],
    ['an empty tag', 'tag:'],
    ['an upper-case tag', 'tag:Work'],
    ['a tag with a space', 'tag:my work'],
    ['a tag with a bar', 'tag:a|b'],
    ['a tag of 65 characters', 'tag:' + 'a'.repeat(65)],
    ['a tag with a colon', 'tag:a:b'],
    ['February 30th', 'journal:2026-02-30'],
    ['February 29th of a common year', 'journal:2026-02-29'],
    ['February 29th of 2100', 'journal:2100-02-29'],
    ['month 13', 'journal:2026-13-01'],
    ['month 0', 'journal:2026-00-10'],
    ['day 0', 'journal:2026-01-00'],
    ['April 31st', 'journal:2026-04-31'],
    ['January 32nd', 'journal:2026-01-32'],
    ['an unpadded date', 'journal:2026-1-5'],
    ['a two-digit year', 'journal:26-01-05'],
    ['a date with a time', 'journal:2026-01-05T00:00'],
    ['an empty log', 'log:'],
    ['a log with a space', 'log:a b'],
    ['a log of a bare word', 'log:notes'],
    ['a bar', `${ULID}|x`],
    ['a derived id with a bar', 'x:a|b'],
    ['a derived id with a space', 'x:a b'],
    ['a derived id with a tab', 'x:a\tb'],
    ['a derived id with a trailing newline', 'x:ab\n'],
    ['a derived id with a no-break space', 'x:a\u00a0b'],
    ['a derived id with a line separator', 'x:a\u2028b'],
    ['a derived id with nothing after the colon', 'x:'],
    ['a derived id with 201 characters after the prefix', 'x:' + 'a'.repeat(201)],
    ['a derived id with an upper-case prefix', 'Obsidian:x'],
    ['a derived id with a leading digit', '1x:y'],
    ['a derived id with a 17-character prefix', 'abcdefghijklmnopq:x'],
    ['a leading space', ` ${ULID}`],
  ])('rejects %s', (_name, id) => {
    expect(isNodeId(id)).toBe(false);
  });

  it.each([undefined, null, 42, {}, [ULID]])('rejects the non-string %j', (v) => {
    expect(isNodeId(v)).toBe(false);
  });

  it('never accepts an id containing a bar or whitespace (fuzz)', () => {
    const bad = fc
      .tuple(
        fc.constantFrom('', 'tag:', 'log:', 'x:', 'journal:', `log:${ULID}`),
        fc.string(),
        fc.constantFrom('|', ' ', '\t', '\n', '\r', '\u00a0', '\u3000'),
        fc.string(),
      )
      .map(([a, b, c, d]) => a + b + c + d);
    fc.assert(
      fc.property(bad, (id) => {
        expect(isNodeId(id)).toBe(false);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });
});

describe('isValidDate', () => {
  it('agrees with the calendar for any year, month and day (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        (y, m, d) => {
          const s = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
          const date = new Date(0);
          date.setUTCFullYear(y, m - 1, d);
          const real =
            date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
          expect(isValidDate(s)).toBe(real);
        },
      ),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it.each(['2026-02-30', '2026-2-3', '2026/01/01', '20260101', ' 2026-01-01', '2026-01-01 '])(
    'rejects %j',
    (s) => {
      expect(isValidDate(s)).toBe(false);
    },
  );
});

describe('deterministic ids', () => {
  it('tagId normalises case and surrounding whitespace', () => {
    expect(tagId('work')).toBe('tag:work');
    expect(tagId('  Work ')).toBe('tag:work');
    expect(tagId('WORK')).toBe(tagId('work'));
    expect(tagId('\tProjects/Heph\n')).toBe('tag:projects/heph');
    expect(tagId('Ärger')).toBe('tag:ärger');
    expect(normalizeTagName('  MiXeD ')).toBe('mixed');
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['inner space', 'my tag'],
    ['a bar', 'a|b'],
    ['a colon', 'a:b'],
    ['a hash', '#work'],
    ['65 characters', 'a'.repeat(65)],
  ])('tagId rejects %s', (_name, name) => {
    expect(thrownCode(() => tagId(name))).toBe('invalid_params');
    try {
      tagId(name);
    } catch (e) {
      expect((e as HephError).details).toEqual({ field: 'name' });
      expect((e as HephError).message).toContain(JSON.stringify(name));
    }
  });

  it('every id tagId returns is a node id, and normalising again changes nothing (fuzz)', () => {
    const name = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 70 }),
      fc.stringMatching(/^\s{0,2}[A-Za-z0-9_./-]{1,66}\s{0,2}$/),
    );
    let accepted = 0;
    fc.assert(
      fc.property(name, (n) => {
        let id: string;
        try {
          id = tagId(n);
        } catch (e) {
          expect(e).toBeInstanceOf(HephError);
          return;
        }
        accepted++;
        expect(isNodeId(id)).toBe(true);
        expect(kindOfDeterministicId(id)).toBe('tag');
        expect(tagId(id.slice(4))).toBe(id);
        expect(tagId(n.toLowerCase())).toBe(id);
        // Case folding of ASCII names: upper and lower case name one tag.
        if (/^[\x20-\x7e]*$/.test(n)) expect(tagId(n.toUpperCase())).toBe(id);
      }),
      { seed: SEED, numRuns: 2000 },
    );
    expect(accepted).toBeGreaterThan(50);
  });

  it('journalId accepts calendar days and rejects impossible ones', () => {
    expect(journalId('2024-02-29')).toBe('journal:2024-02-29');
    expect(isNodeId(journalId('2026-12-31'))).toBe(true);
    for (const bad of ['2026-02-30', '2026-02-29', '2026-13-01', 'today', '2026-1-1']) {
      expect(thrownCode(() => journalId(bad))).toBe('invalid_params');
    }
  });

  it('logId and kindOfDeterministicId', () => {
    expect(logId(ULID)).toBe(`log:${ULID}`);
    expect(isNodeId(logId(ULID))).toBe(true);
    expect(kindOfDeterministicId('tag:x')).toBe('tag');
    expect(kindOfDeterministicId('journal:2026-01-01')).toBe('journal');
    expect(kindOfDeterministicId(logId(ULID))).toBe('doc');
    expect(kindOfDeterministicId(ULID)).toBe(undefined);
    expect(kindOfDeterministicId('obsidian:a.md')).toBe(undefined);
  });
});

describe('link ids', () => {
  it('joins src, type and dst and is recognised', () => {
    const id = linkId(ULID, 'parent', ULID2);
    expect(id).toBe(`${ULID}|parent|${ULID2}`);
    expect(isLinkId(id)).toBe(true);
    expect(isLinkId(linkId('tag:x', 'tagged', 'journal:2026-01-01'))).toBe(true);
    expect(linkId(ULID, 'parent', ULID2)).not.toBe(linkId(ULID2, 'parent', ULID));
  });

  it.each([
    ['two parts', `${ULID}|parent`],
    ['four parts', `${ULID}|parent|${ULID2}|x`],
    ['an unknown type', `${ULID}|friend|${ULID2}`],
    ['a bad src', `nope|parent|${ULID2}`],
    ['a bad dst', `${ULID}|parent|tag:Bad`],
    ['empty', ''],
  ])('isLinkId rejects %s', (_name, id) => {
    expect(isLinkId(id)).toBe(false);
  });

  it('rejects non-strings', () => {
    expect(isLinkId(42)).toBe(false);
    expect(isLinkId(undefined)).toBe(false);
  });
});

describe('seeded id sources', () => {
  it('ulidFactory makes valid ULIDs, monotonic within a millisecond, reproducible from the seed', () => {
    const make = ulidFactory(seeded(SEED));
    const ids = Array.from({ length: 1000 }, (_, i) => make(T0 + Math.floor(i / 300)));
    for (const id of ids) {
      expect(isUlid(id)).toBe(true);
      expect(isNodeId(id)).toBe(true);
    }
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    const again = ulidFactory(seeded(SEED));
    expect(Array.from({ length: 1000 }, (_, i) => again(T0 + Math.floor(i / 300)))).toEqual(ids);
    const other = ulidFactory(seeded(SEED + 1));
    expect(other(T0)).not.toBe(ids[0]);
  });

  it('randomHex gives the requested number of lower-case hex digits', () => {
    const r = seeded(SEED);
    const h = randomHex(r, 16);
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(randomHex(seeded(SEED), 16)).toBe(h);
    expect(randomHex(r, 0)).toBe('');
  });
});

describe('tag names in every script', () => {
  it('accepts combining marks and folds spellings to one NFC id', async () => {
    const { tagId, isNodeId } = await import('../../src/core/ids.js');
    expect(tagId('हिंदी')).toBe('tag:हिंदी');
    expect(tagId('Cafe\u0301')).toBe(tagId('café'));
    expect(tagId('Cafe\u0301')).toBe('tag:caf\u00e9');
    expect(isNodeId('tag:हिंदी')).toBe(true);
  });
});
