// Markdown extraction for wiki links and checklist items. Wiki links are derived on every replica
// from the merged body, so this must be a deterministic function of the text alone: the same
// body yields the same links, in document order, on every device. Text inside fenced code blocks
// and inline code spans is never a link; `![[…]]` embeds are not links. Unchecking checklist
// items changes only the `x` inside each box and leaves every other byte as it was.

import { changedLines } from './text-diff.js';

export interface WikiLink {
  /** The note being linked to (an id or a title), trimmed; never empty. */
  target: string;
  /** Display text after `|`, trimmed; absent when missing or blank. */
  label?: string;
  /** Heading (or `^block`) after `#`, trimmed; absent when missing or blank. */
  heading?: string;
}

export interface Checkbox {
  /** 0-based line number in the body. */
  line: number;
  checked: boolean;
  /** The item's text after the box, trimmed. */
  text: string;
}

interface Line {
  index: number;
  start: number;
  /** End of the line's content, before its terminator. */
  end: number;
}

function splitLines(body: string): Line[] {
  const out: Line[] = [];
  const re = /\r\n|\n|\r/g;
  let start = 0;
  let index = 0;
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    out.push({ index: index++, start, end: m.index });
    start = m.index + m[0].length;
  }
  out.push({ index, start, end: body.length });
  return out;
}

// Fences may be indented by any amount (indented code blocks are not recognised, so a fence
// inside a nested list item still counts) and may sit inside block quotes.
const FENCE_OPEN_RE = /^[ \t]*(?:>[ \t]*)*(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE_RE = /^[ \t]*(?:>[ \t]*)*(`{3,}|~{3,})[ \t]*$/;

/** Calls `visit` for every line outside fenced code blocks. An unclosed fence runs to the end. */
function forEachProseLine(body: string, visit: (text: string, line: Line) => void): void {
  let fence: string | null = null;
  for (const line of splitLines(body)) {
    const text = body.slice(line.start, line.end);
    if (fence !== null) {
      const close = FENCE_CLOSE_RE.exec(text)?.[1];
      if (close !== undefined && close[0] === fence[0] && close.length >= fence.length) {
        fence = null;
      }
      continue;
    }
    const open = FENCE_OPEN_RE.exec(text);
    const marker = open?.[1];
    // A backtick fence's info string may not contain backticks: "```js```" is inline code.
    if (marker !== undefined && !(marker[0] === '`' && (open?.[2] ?? '').includes('`'))) {
      fence = marker;
      continue;
    }
    visit(text, line);
  }
}

// Link text may not contain brackets, backticks or line breaks.
const LINK_RE = /\[\[([^[\]`\r\n]*)\]\]/y;
const ASCII_PUNCT_RE = /[!-/:-@[-`{-~]/;

function runLength(text: string, i: number, ch: string): number {
  let j = i;
  while (text[j] === ch) j++;
  return j - i;
}

/** Index just past the code span opened by `len` backticks at `i`, or -1 when it never closes. */
function codeSpanEnd(text: string, i: number, len: number): number {
  let j = i + len;
  while (j < text.length) {
    const k = text.indexOf('`', j);
    if (k < 0) return -1;
    const run = runLength(text, k, '`');
    if (run === len) return k + run;
    j = k + run;
  }
  return -1;
}

function matchLink(text: string, at: number): RegExpExecArray | null {
  LINK_RE.lastIndex = at;
  return LINK_RE.exec(text);
}

function parseLinkText(raw: string): WikiLink | undefined {
  const bar = raw.indexOf('|');
  let dest = bar < 0 ? raw : raw.slice(0, bar);
  const label = bar < 0 ? '' : raw.slice(bar + 1).trim();
  // Inside a markdown table the pipe is written `\|`; the backslash belongs to the syntax.
  if (bar >= 0 && dest.endsWith('\\')) dest = dest.slice(0, -1);
  const hash = dest.indexOf('#');
  const target = (hash < 0 ? dest : dest.slice(0, hash)).trim();
  const heading = hash < 0 ? '' : dest.slice(hash + 1).trim();
  if (target === '') return undefined;
  const link: WikiLink = { target };
  if (label !== '') link.label = label;
  if (heading !== '') link.heading = heading;
  return link;
}

/** A wiki link (or embed) and where it sits in the body. */
export interface WikiLinkSpan extends WikiLink {
  /** Whether it is an embed, `![[…]]` (not a link; a rename rewrites it all the same). */
  embed: boolean;
  /** Offset of its opening `[[`. */
  start: number;
  /** Offset just past its closing `]]`. */
  end: number;
  /** Offsets of the target (trimmed) within the body. */
  targetStart: number;
  targetEnd: number;
}

function scanLine(text: string, offset: number, out: WikiLinkSpan[]): void {
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\' && ASCII_PUNCT_RE.test(text[i + 1] ?? '')) {
      i += 2;
    } else if (c === '`') {
      const len = runLength(text, i, '`');
      const end = codeSpanEnd(text, i, len);
      i = end < 0 ? i + len : end;
    } else if ((c === '[' || c === '!') && text.startsWith('[[', c === '!' ? i + 1 : i)) {
      const embed = c === '!';
      const at = embed ? i + 1 : i;
      const m = matchLink(text, at);
      if (m) {
        const raw = m[1] ?? '';
        const link = parseLinkText(raw);
        if (link) {
          const lead = raw.length - raw.trimStart().length;
          const targetStart = offset + at + 2 + lead;
          out.push({
            ...link,
            embed,
            start: offset + at,
            end: offset + at + m[0].length,
            targetStart,
            targetEnd: targetStart + link.target.length,
          });
        }
        i = at + m[0].length;
      } else {
        i = at + 1;
      }
    } else {
      i += 1;
    }
  }
}

/** Every wiki link and embed in the body, in document order, with where each sits. */
export function wikiLinkSpans(body: string): WikiLinkSpan[] {
  const out: WikiLinkSpan[] = [];
  forEachProseLine(body, (text, line) => scanLine(text, line.start, out));
  return out;
}

/** Every wiki link in the body (embeds are not links), in document order, duplicates included. */
export function extractWikiLinks(body: string): WikiLink[] {
  const out: WikiLink[] = [];
  for (const s of wikiLinkSpans(body)) {
    if (s.embed) continue;
    const link: WikiLink = { target: s.target };
    if (s.label !== undefined) link.label = s.label;
    if (s.heading !== undefined) link.heading = s.heading;
    out.push(link);
  }
  return out;
}

/** Whether a span may hold a link (`[[`) or a fence line (three backticks or tildes). */
function mayHoldLinkOrFence(span: string): boolean {
  return span.includes('[[') || span.includes('```') || span.includes('~~~');
}

/**
 * Whether the wiki-link targets of `after` may differ from those of `before` (as a set, as
 * extractWikiLinks finds them). False only when they cannot: the texts differ within lines that
 * hold no fence line in either text (so every line keeps its place in or out of code) and whose
 * link targets, read as prose, are the same set in both. Costs one pass over the text shared
 * at both ends and a scan of the changed lines, not an extraction of the whole body.
 */
export function wikiTargetsMayDiffer(before: string, after: string): boolean {
  if (before === after) return false;
  const { start, endBefore, endAfter } = changedLines(before, after);
  const was = before.slice(start, endBefore);
  const now = after.slice(start, endAfter);
  // The usual edit touches no link and no fence: both sets are empty, and no line is split up.
  if (!mayHoldLinkOrFence(was) && !mayHoldLinkOrFence(now)) return false;
  const targets = (span: string): Set<string> | undefined => {
    const out: WikiLinkSpan[] = [];
    for (const line of splitLines(span)) {
      const text = span.slice(line.start, line.end);
      if (FENCE_OPEN_RE.test(text)) return undefined;
      scanLine(text, line.start, out);
    }
    return new Set(out.filter((l) => !l.embed).map((l) => l.target));
  };
  const a = targets(was);
  const b = targets(now);
  if (a === undefined || b === undefined || a.size !== b.size) return true;
  for (const t of a) if (!b.has(t)) return true;
  return false;
}

// A list item (bullet `-`, `*`, `+` or ordered `1.` / `1)`), possibly indented or quoted,
// whose text starts with a box `[ ]`, `[x]` or `[X]` followed by whitespace or the line end.
const CHECKBOX_RE = /^([ \t]*(?:>[ \t]*)*(?:[-*+]|\d{1,9}[.)])[ \t]+\[)([ xX])\](?=[ \t]|$)/;

/** Checklist items outside fenced code, in document order. */
export function extractTaskCheckboxes(body: string): Checkbox[] {
  const out: Checkbox[] = [];
  forEachProseLine(body, (text, line) => {
    const m = CHECKBOX_RE.exec(text);
    if (!m) return;
    out.push({ line: line.index, checked: m[2] !== ' ', text: text.slice(m[0].length).trim() });
  });
  return out;
}

/** Unchecks every checked checklist item outside fenced code; every other byte is kept. */
export function uncheckBoxes(body: string): string {
  const positions: number[] = [];
  forEachProseLine(body, (text, line) => {
    const m = CHECKBOX_RE.exec(text);
    if (m?.[1] !== undefined && m[2] !== ' ') positions.push(line.start + m[1].length);
  });
  if (positions.length === 0) return body;
  let out = '';
  let from = 0;
  for (const p of positions) {
    out += body.slice(from, p) + ' ';
    from = p + 1;
  }
  return out + body.slice(from);
}
