// Quick-add: one line of text to a new task's fields. Markers with a sigil (`!red`, `#Project`,
// `+tag`) are taken wherever they stand; words without one (dates, `every …`) are taken only from
// the end of the line, so a title such as "Call Monday Inc" keeps its words. Quoted text is
// always title. The grammar is described for users in docs/model-rules.md.

import { addDays, addMonths, assertDate, nextWeekday, parseWeekdayName } from './dates.js';
import { HephError } from './errors.js';
import { ATTENTIONS, MAX_TITLE, type Attention } from './fields.js';
import { isValidDate, normalizeTagName, tagId } from './ids.js';
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
const RELATIVE_RE = /^\+(\d{1,4})([dwmy])$/i;
const ISO_RE = /^\d{4}-\d{2}-\d{2}$/;

/** The date a single date word stands for, or undefined when the word is not one. */
function dateWord(word: string, today: string): string | undefined {
  const w = word.toLowerCase();
  if (w === 'today') return today;
  if (w === 'tomorrow') return addDays(today, 1);
  const wd = parseWeekdayName(w);
  if (wd !== undefined) return nextWeekday(today, wd);
  const rel = RELATIVE_RE.exec(w);
  if (rel) {
    const n = Number(rel[1]);
    switch (rel[2]) {
      case 'd':
        return addDays(today, n);
      case 'w':
        return addDays(today, 7 * n);
      case 'm':
        return addMonths(today, n);
      default:
        return addMonths(today, 12 * n);
    }
  }
  if (ISO_RE.test(w)) {
    if (!isValidDate(w)) fail(`${w} is not a calendar date`);
    return w;
  }
  return undefined;
}

interface Trailing {
  /** Index of the first token taken; tokens before it are title. */
  start: number;
  do_date: string | null;
  late_on: string | null;
  recurrence: string | null;
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
    // [on|due] (date word | next <weekday>)
    const date = dateWord(w1, today);
    if (date === undefined) break;
    len = w2 === 'next' && parseWeekdayName(w1) !== undefined ? 2 : 1;
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
export function parseQuickAdd(text: string, today: string): QuickAdd {
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
  };
}
