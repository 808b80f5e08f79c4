// A minimal YAML front-matter reader and writer: enough for note properties, with no dependency.
// Reads top-level `key: value` pairs whose values are plain, single- or double-quoted scalars,
// block lists (`- item`), flow lists (`[a, "b"]`), JSON flow mappings, and `|`/`>` block
// strings. Plain scalars resolve to null (`null`, `~`, empty), booleans, numbers (decimal, no
// leading zeros) or strings. Nested block mappings are skipped (their key is left out) rather
// than refused, so a vault note's unrelated properties never stop an import. What is refused,
// with the line number: lines that are not `key: value`, unterminated quotes, bad escapes,
// unbalanced flow lists, duplicate keys, tab indentation.
// The writer quotes every string that would not read back as itself, so
// parse(serialize(x)) = x for strings, numbers, booleans, null, lists and JSON objects.

import { HephError } from '../core/errors.js';
import type { Json } from '../core/json.js';

export type FrontMatter = Record<string, Json>;

export interface SplitFile {
  /** The YAML between the fences. */
  yaml: string;
  /** Everything after the closing fence's line. */
  body: string;
}

const OPEN_RE = /^\uFEFF?---[ \t]*(\r?\n)/;
const CLOSE_RE = /^(?:---|\.\.\.)[ \t]*$/;

/** Splits a file into front matter and body; undefined when it has no (closed) front matter. */
export function splitFrontMatter(text: string): SplitFile | undefined {
  const open = OPEN_RE.exec(text);
  if (!open) return undefined;
  let pos = open[0].length;
  while (pos <= text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl;
    const line = text.slice(pos, end).replace(/\r$/, '');
    if (CLOSE_RE.test(line)) {
      return { yaml: text.slice(open[0].length, pos), body: nl < 0 ? '' : text.slice(nl + 1) };
    }
    if (nl < 0) return undefined;
    pos = nl + 1;
  }
  return undefined;
}

function fail(line: number, message: string): never {
  throw new HephError('invalid_params', `front matter line ${line}: ${message}`, { line });
}

const NUMBER_RE = /^[-+]?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$/;

function plainScalar(s: string): Json {
  if (s === '' || s === '~' || /^(?:null|Null|NULL)$/.test(s)) return null;
  if (/^(?:true|True|TRUE)$/.test(s)) return true;
  if (/^(?:false|False|FALSE)$/.test(s)) return false;
  if (NUMBER_RE.test(s)) {
    const n = Number(s);
    if (Number.isFinite(n) && (!/^[-+]?\d+$/.test(s) || Number.isSafeInteger(n))) return n;
  }
  return s;
}

/** Reads a quoted scalar starting at s[0]; returns the value and the index after it. */
function quoted(s: string, line: number): { value: string; end: number } {
  if (s[0] === "'") {
    let out = '';
    for (let i = 1; i < s.length; i++) {
      if (s[i] === "'") {
        if (s[i + 1] === "'") {
          out += "'";
          i++;
          continue;
        }
        return { value: out, end: i + 1 };
      }
      out += s[i];
    }
    return fail(line, 'unterminated single-quoted string');
  }
  for (let i = 1; i < s.length; i++) {
    if (s[i] === '\\') {
      i++;
      continue;
    }
    if (s[i] === '"') {
      try {
        return { value: JSON.parse(s.slice(0, i + 1)) as string, end: i + 1 };
      } catch {
        return fail(line, 'unsupported escape in double-quoted string');
      }
    }
  }
  return fail(line, 'unterminated double-quoted string');
}

function restIsComment(s: string, line: number): void {
  const rest = s.trim();
  if (rest !== '' && !rest.startsWith('#')) fail(line, `unexpected text after a value: ${rest}`);
}

/** Plain scalar text: up to a ` #` comment, trimmed. */
function plainText(s: string): string {
  const hash = s.search(/(^|[ \t])#/);
  return (hash < 0 ? s : s.slice(0, hash)).trim();
}

function flowList(s: string, line: number): Json[] {
  // s starts with '['.
  const items: Json[] = [];
  let i = 1;
  for (;;) {
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (i >= s.length) fail(line, 'unterminated flow list');
    if (s[i] === ']') {
      restIsComment(s.slice(i + 1), line);
      return items;
    }
    let value: Json;
    if (s[i] === '"' || s[i] === "'") {
      const q = quoted(s.slice(i), line);
      value = q.value;
      i += q.end;
    } else if (s[i] === '[' || s[i] === '{') {
      return fail(line, 'nested flow collections are not supported');
    } else {
      let j = i;
      while (j < s.length && s[j] !== ',' && s[j] !== ']') j++;
      value = plainScalar(s.slice(i, j).trim());
      i = j;
    }
    items.push(value);
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (s[i] === ',') i++;
    else if (s[i] !== ']') fail(line, 'expected , or ] in flow list');
  }
}

/** An inline value (after `key: ` or `- `). */
function inlineValue(s: string, line: number): Json {
  const t = s.trim();
  if (t.startsWith('"') || t.startsWith("'")) {
    const q = quoted(t, line);
    restIsComment(t.slice(q.end), line);
    return q.value;
  }
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      return JSON.parse(t) as Json;
    } catch {
      if (t.startsWith('{')) return fail(line, 'flow mappings must be written as JSON');
      return flowList(t, line);
    }
  }
  return plainScalar(plainText(t));
}

interface Line {
  no: number;
  text: string;
  indent: number;
}

const KEY_RE =
  /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{}[\],&*!|>%@`-][^:]*?|-[^\s:][^:]*?)[ \t]*:(?:[ \t]+(.*)|[ \t]*)$/;

function keyText(raw: string, line: number): string {
  if (raw.startsWith('"') || raw.startsWith("'")) return quoted(raw, line).value;
  return raw;
}

function blockScalar(header: string, lines: Line[], line: number): string {
  const m = /^([|>])([-+]?)[ \t]*(#.*)?$/.exec(header);
  if (!m) return fail(line, `unsupported block scalar header ${header}`);
  const nonBlank = lines.filter((l) => l.text.trim() !== '');
  const indent = Math.min(...nonBlank.map((l) => l.indent));
  const texts = lines.map((l) => (l.text.trim() === '' ? '' : l.text.slice(indent)));
  while (texts.length > 0 && texts[texts.length - 1] === '') texts.pop();
  let out =
    m[1] === '|'
      ? texts.join('\n')
      : texts.reduce(
          (acc, t, i) => (i === 0 ? t : acc + (t === '' ? '\n' : acc.endsWith('\n') ? t : ' ' + t)),
          '',
        );
  if (m[2] !== '-' && out !== '') out += '\n';
  return out;
}

/** Parses front-matter YAML (the text between the fences). */
export function parseFrontMatter(yaml: string): FrontMatter {
  const lines: Line[] = yaml.split(/\r?\n/).map((text, i) => {
    const indent = /^[ ]*/.exec(text)?.[0].length ?? 0;
    return { no: i + 1, text, indent };
  });
  const out: FrontMatter = {};
  let i = 0;
  const blank = (l: Line): boolean => l.text.trim() === '' || l.text.trim().startsWith('#');
  while (i < lines.length) {
    const l = lines[i] as Line;
    if (/^[ ]*\t/.test(l.text) && l.text.trim() !== '') fail(l.no, 'tabs may not indent YAML');
    if (blank(l)) {
      i++;
      continue;
    }
    if (l.indent > 0) fail(l.no, 'unexpected indentation');
    const m = KEY_RE.exec(l.text);
    if (!m) fail(l.no, 'expected "key: value"');
    const key = keyText(m[1] ?? '', l.no);
    if (Object.hasOwn(out, key)) fail(l.no, `duplicate key ${JSON.stringify(key)}`);
    const rest = (m[2] ?? '').trim();
    i++;
    // The lines that belong to this key: indented ones, and `- ` items at column 0.
    const block: Line[] = [];
    while (i < lines.length) {
      const n = lines[i] as Line;
      if (n.text.trim() === '' || n.indent > 0 || /^-(?:[ \t]|$)/.test(n.text)) {
        block.push(n);
        i++;
      } else break;
    }
    while (block.length > 0 && (block[block.length - 1] as Line).text.trim() === '') {
      block.pop();
    }
    for (const b of block) {
      if (/^[ ]*\t/.test(b.text) && b.text.trim() !== '') fail(b.no, 'tabs may not indent YAML');
    }
    if (rest.startsWith('|') || rest.startsWith('>')) {
      out[key] = blockScalar(rest, block, l.no);
      continue;
    }
    const content = block.filter((b) => !blank(b));
    if (rest !== '' && !rest.startsWith('#')) {
      if (content.length > 0) {
        const first = content[0] as Line;
        // A plain scalar continued on indented lines folds into one line.
        if (/^["'[{]/.test(rest))
          fail(first.no, 'multi-line quoted or flow values are not supported');
        out[key] = plainScalar(
          [plainText(rest), ...content.map((b) => plainText(b.text))].join(' '),
        );
      } else {
        out[key] = inlineValue(rest, l.no);
      }
      continue;
    }
    if (content.length === 0) {
      out[key] = null;
      continue;
    }
    const first = content[0] as Line;
    if (!/^[ ]*-(?:[ \t]|$)/.test(first.text)) continue; // a nested mapping: skipped
    const itemIndent = first.indent;
    const items: Json[] = [];
    let nested = false;
    for (const b of content) {
      const item = /^[ ]*-(?:[ \t]+(.*)|[ \t]*)$/.exec(b.text);
      if (b.indent === itemIndent && item) {
        const v = item[1] ?? '';
        if (/^[^\s"'[{#][^:]*:(?:[ \t]|$)/.test(v)) nested = true;
        else items.push(inlineValue(v, b.no));
      } else if (b.indent > itemIndent) {
        nested = true;
      } else {
        fail(b.no, 'list items must line up');
      }
    }
    if (!nested) out[key] = items;
  }
  return out;
}

// Scalars that must be quoted to read back as the same string.
const INDICATOR_START = /^[-?:,[\]{}#&*!|>'"%@`~\s]/;
const UNSAFE_CHARS = /[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]/;

function quoteString(s: string): string {
  return JSON.stringify(s).replace(
    /[\x7f-\x9f\u2028\u2029\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function scalarText(v: string | number | boolean | null): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new HephError('invalid_params', 'numbers must be finite');
    return String(v);
  }
  const plain =
    v !== '' &&
    !INDICATOR_START.test(v) &&
    !/\s$/.test(v) &&
    !UNSAFE_CHARS.test(v) &&
    !/:(?:\s|$)/.test(v) &&
    !/\s#/.test(v) &&
    !/[[\]{},]/.test(v) &&
    plainScalar(v) === v;
  return plain ? v : quoteString(v);
}

function valueText(v: Json, indent: string): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return ' []';
    return v
      .map((item) => {
        const t =
          item !== null && typeof item === 'object' ? JSON.stringify(item) : scalarText(item);
        return `\n${indent}- ${t}`;
      })
      .join('');
  }
  if (v !== null && typeof v === 'object') return ' ' + quoteJson(v);
  return ' ' + scalarText(v);
}

function quoteJson(v: Json): string {
  return JSON.stringify(v).replace(
    /[\x7f-\x9f\u2028\u2029\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Front matter with its fences, keys in the given order, ending with a newline. */
export function serializeFrontMatter(data: FrontMatter): string {
  let out = '---\n';
  for (const [key, value] of Object.entries(data)) {
    out += `${scalarText(key)}:${valueText(value, '  ')}\n`;
  }
  return out + '---\n';
}
