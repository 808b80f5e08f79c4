// Quick-add: one line of text to a new task's fields. Markers with a sigil (`!red`, `#Project`,
// `+tag`) are taken wherever they stand; words without one (dates, `every …`) are taken only from
// the end of the line, so a title such as "Call Monday Inc" keeps its words. Quoted text is
// always title. Dates are core/dates' one date language (parseDatePhrase). Nothing is guessed
// silently: words after `every`, `on` or `due` that stay in the title (they do not parse, or
// they stand before the end of the line), and an `in 3 days` before the end of the line, are
// named in `warnings`, and with `strict` the line is refused instead. The grammar is described for users in docs/model-rules.md.

import { assertDate, parseDatePhrase } from './dates.js';
import { HephError } from './errors.js';
import { ATTENTIONS, MAX_TITLE, type Attention } from './fields.js';
import { normalizeTagName, tagId } from './ids.js';
import { firstDoDate, recurrenceFromPhrase } from './recur.js';

export interface QuickAdd {
  title: string;
  attention: Attention | null;
  project: string | null;
  /** Lower-cased, without duplicates, in the order written. */
  tags: string[];
  do_date: string | null;
  late_on: string | null;
  /** Canonical RRULE text. */
  recurrence: string | null;
  /** Words after `every`, `on` or `due` that were kept in the title, and why. */
  warnings: string[];
}

export interface QuickAddOptions {
  /** Refuse the line instead of keeping unread `every`/`on`/`due` words in the title. */
  strict?: boolean;
}

interface Token {
  text: string;
  /** 'title': quoted text; 'project': the name in `#"…"`; undefined: a bare word. */
  quoted?: 'title' | 'project';
}

function fail(message: string): never {
  throw new HephError('invalid_params', `quick-add: ${message}`, { field: 'text' });
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i] ?? '')) {
      i++;
      continue;
    }
    const projectQuote = text.startsWith('#"', i);
    const open = projectQuote ? i + 1 : text[i] === '"' ? i : -1;
    const close = open < 0 ? -1 : text.indexOf('"', open + 1);
    if (close > 0) {
      out.push({ text: text.slice(open + 1, close), quoted: projectQuote ? 'project' : 'title' });
      i = close + 1;
      continue;
    }
    const m = /\S+/y;
    m.lastIndex = i;
    const word = m.exec(text)?.[0] ?? '';
    out.push({ text: word });
    i += word.length;
  }
  return out;
}

const ATTENTION_RE = /^!([a-z]+)$/i;
const NAME = String.raw`\p{L}[\p{L}\p{M}\p{N}_\-/.]*`;
const PROJECT_RE = new RegExp(`^#(${NAME})$`, 'u');
const TAG_RE = new RegExp(`^\\+(${NAME})$`, 'u');
/** The date a phrase of the date language stands for, or undefined when it is not one. */
function datePhrase(phrase: string, today: string): string | undefined {
  try {
    return parseDatePhrase(phrase, today);
  } catch (e) {
    if (e instanceof HephError) fail(e.message);
    throw e;
  }
}

interface Trailing {
  /** Index of the first token taken; tokens before it are title. */
  start: number;
  do_date: string | null;
  late_on: string | null;
  recurrence: string | null;
}

/** Bare (unquoted) words of the same phrase, longest first, that a date phrase can have. */
const DATE_PHRASE_LENGTHS = [3, 2, 1] as const;

/** `n` bare words from index `from`, joined by spaces; undefined when one is missing or quoted. */
function bareRun(bare: (i: number) => string | undefined, from: number, n: number) {
  const ws: string[] = [];
  for (let x = from; x < from + n; x++) {
    const w = bare(x);
    if (w === undefined) return undefined;
    ws.push(w);
  }
  return ws.join(' ');
}

/** Takes date and recurrence expressions off the end of `words` (bare words only). */
function takeTrailing(words: readonly Token[], today: string): Trailing {
  const out: Trailing = { start: words.length, do_date: null, late_on: null, recurrence: null };
  const bare = (i: number): string | undefined => {
    const t = words[i];
    return t === undefined || t.quoted !== undefined ? undefined : t.text.toLowerCase();
  };
  // The phrase each date came from, for error messages.
  const taken: { do_date?: string; late_on?: string } = {};
  let j = words.length;
  for (;;) {
    const w1 = bare(j - 1);
    const w2 = bare(j - 2);
    const w3 = bare(j - 3);
    if (w1 === undefined) break;
    // every N units | every <unit / weekday(s)>
    let rule: string | undefined;
    let len = 3;
    if (w3 === 'every' && w2 !== undefined) rule = recurrenceFromPhrase(`${w2} ${w1}`);
    if (rule === undefined && w2 === 'every') {
      rule = recurrenceFromPhrase(w1);
      len = 2;
    }
    if (rule !== undefined) {
      if (out.recurrence !== null) fail('two recurrences given; keep one "every …"');
      out.recurrence = rule;
      j -= len;
      continue;
    }
    // [on|due] (date word | next <weekday> | in N units)
    let date: string | undefined;
    for (const n of DATE_PHRASE_LENGTHS) {
      const p = bareRun(bare, j - n, n);
      date = p === undefined ? undefined : datePhrase(p, today);
      len = n;
      if (date !== undefined) break;
    }
    if (date === undefined) break;
    const prefix = bare(j - len - 1);
    const field = prefix === 'due' ? 'late_on' : 'do_date';
    if (prefix === 'on' || prefix === 'due') len++;
    const phrase = words
      .slice(j - len, j)
      .map((t) => t.text)
      .join(' ');
    const later = taken[field];
    if (later !== undefined) {
      fail(
        field === 'late_on'
          ? `two due dates given ("${phrase}" and "${later}"); keep one`
          : `two dates given ("${phrase}" and "${later}"); keep one, or quote title words ("…")`,
      );
    }
    taken[field] = phrase;
    out[field] = date;
    j -= len;
  }
  out.start = j;
  return out;
}

/**
 * Parses a quick-add line as of `today` (the user's calendar day). Throws invalid_params naming
 * the problem: an empty title, an impossible date, two attentions, two projects, two dates.
 */
export function parseQuickAdd(text: string, today: string, opts: QuickAddOptions = {}): QuickAdd {
  assertDate(today, 'today');
  let attention: Attention | null = null;
  let project: string | null = null;
  const tags: string[] = [];
  const words: Token[] = [];

  for (const token of tokenize(text)) {
    if (token.quoted === 'project') {
      const name = token.text.trim();
      if (name === '') fail('#"" names no project');
      if (project !== null) fail(`two projects given (#${project} and #${name}); keep one`);
      project = name;
      continue;
    }
    if (token.quoted === 'title') {
      words.push(token);
      continue;
    }
    const att = ATTENTION_RE.exec(token.text)?.[1]?.toLowerCase();
    if (att !== undefined && (ATTENTIONS as readonly string[]).includes(att)) {
      if (attention !== null) fail(`two attentions given (!${attention} and !${att}); keep one`);
      attention = att as Attention;
      continue;
    }
    const proj = PROJECT_RE.exec(token.text)?.[1];
    if (proj !== undefined) {
      if (project !== null) fail(`two projects given (#${project} and #${proj}); keep one`);
      project = proj;
      continue;
    }
    const tag = TAG_RE.exec(token.text)?.[1];
    if (tag !== undefined) {
      try {
        tagId(tag);
      } catch (e) {
        if (e instanceof HephError) fail(e.message);
        throw e;
      }
      const name = normalizeTagName(tag);
      if (!tags.includes(name)) tags.push(name);
      continue;
    }
    words.push(token);
  }

  const trailing = takeTrailing(words, today);
  const unread = unreadPhrases(words, trailing.start, today);
  if (opts.strict === true && unread[0] !== undefined) {
    fail(
      `${describe(unread[0])}; nothing was added (strict). Fix it, or quote the words to keep them in the title`,
    );
  }
  const title = words
    .slice(0, trailing.start)
    .map((t) => t.text.trim())
    .filter((t) => t !== '')
    .join(' ');
  if (title === '') fail('the title is empty; write what the task is (quote it if it is a date)');
  if (title.length > MAX_TITLE) fail(`the title is longer than ${MAX_TITLE} characters`);

  let doDate = trailing.do_date;
  if (trailing.recurrence !== null && doDate === null) {
    doDate = firstDoDate(trailing.recurrence, today);
  }
  return {
    title,
    attention,
    project,
    tags,
    do_date: doDate,
    late_on: trailing.late_on,
    recurrence: trailing.recurrence,
    warnings: unread.map((u) => `${describe(u)}; kept in the title`),
  };
}

const KEYWORDS = new Set(['every', 'on', 'due']);
/** Starts a date phrase (`in 3 days`) but is ordinary prose too ("Put it in the box"): warned
 *  about only where the phrase parses and stands before the end of the line. */
const IN = 'in';
/** How many words after a keyword that ends the title are taken as a failed date or rule. */
const MAX_UNREAD_WORDS = 4;

interface Unread {
  phrase: string;
  what: 'date' | 'recurrence';
  /** 'end': the words end the title, so they were tried and did not parse; 'middle': they
   *  would parse, but only the end of the line is read. */
  where: 'end' | 'middle';
}

function describe(u: Unread): string {
  const quoted = JSON.stringify(u.phrase);
  if (u.where === 'end') return `${quoted} is not a ${u.what}`;
  return `${quoted} is not at the end of the line, so it is not read as a ${u.what}`;
}

/** True when `f` returns a value for these words without throwing. */
function parses(f: () => string | undefined): boolean {
  try {
    return f() !== undefined;
  } catch {
    return false;
  }
}

/**
 * The `every …`, `on …` and `due …` phrases left in the title (tokens before `end`): ending the
 * title (at most MAX_UNREAD_WORDS words after the keyword), words that did not parse; before the
 * end, words that would have. An `in …` date phrase is named only before the end (at the end it
 * would have been read, so one left there is prose).
 */
function unreadPhrases(words: readonly Token[], end: number, today: string): Unread[] {
  const bare = (i: number): string | undefined => {
    const t = i < end ? words[i] : undefined;
    return t === undefined || t.quoted !== undefined ? undefined : t.text.toLowerCase();
  };
  // How many words from `from` make a date phrase (0: none).
  const datePhraseAt = (from: number): number => {
    for (const n of DATE_PHRASE_LENGTHS) {
      const p = bareRun(bare, from, n);
      if (p !== undefined && parses(() => parseDatePhrase(p, today))) return n;
    }
    return 0;
  };
  const out: Unread[] = [];
  for (let i = 0; i < end - 1; i++) {
    const k = bare(i);
    const w1 = bare(i + 1);
    if (k === undefined || w1 === undefined || !(KEYWORDS.has(k) || k === IN)) continue;
    const w2 = bare(i + 2);
    const phrase = (n: number) =>
      words
        .slice(i, i + n)
        .map((t) => t.text)
        .join(' ');
    // Words that would parse stand before the end (the end was read); words at the end that
    // are still here did not parse.
    let n = 0;
    if (k === 'every') {
      if (w2 !== undefined && parses(() => recurrenceFromPhrase(`${w1} ${w2}`))) n = 3;
      else if (parses(() => recurrenceFromPhrase(w1))) n = 2;
    } else if (k === IN) n = datePhraseAt(i);
    else if (datePhraseAt(i + 1) > 0) n = datePhraseAt(i + 1) + 1;
    const what = k === 'every' ? 'recurrence' : 'date';
    if (n > 0) {
      out.push({ phrase: phrase(n), what, where: 'middle' });
      i += n - 1; // its words are named once ("due in 3 days", not "in 3 days" again)
    } else if (k !== IN && end - i - 1 <= MAX_UNREAD_WORDS) {
      out.push({ phrase: phrase(end - i), what, where: 'end' });
    }
  }
  return out;
}
