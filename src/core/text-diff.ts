// Turns "old text → new text" into a short list of splices, so a whole-buffer save touches only
// what changed and concurrent edits elsewhere in the text survive a merge. Lines are diffed
// with Myers' algorithm; each changed block is then narrowed to its changed characters (line by
// line where a block replaces as many lines as it had).
// Guarantees: applying the splices (in the order returned: from the end of the text towards the
// start) to `before` gives exactly `after`; no splice boundary splits a UTF-16 surrogate pair.

export interface Splice {
  readonly index: number; // UTF-16 offset in the text as it is when this splice is applied
  readonly remove: number; // UTF-16 code units to delete
  readonly insert: string;
}

/** Above this many line edits the diff falls back to one splice (keeps saves fast). */
const MAX_EDIT_DISTANCE = 1000;

function splitLines(s: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) === 10) {
      out.push(s.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < s.length) out.push(s.slice(start));
  return out;
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Narrows a replaced block to the characters that differ. */
function narrow(index: number, a: string, b: string): Splice | undefined {
  if (a === b) return undefined;
  let p = 0;
  const maxP = Math.min(a.length, b.length);
  while (p < maxP && a.charCodeAt(p) === b.charCodeAt(p)) p++;
  if (p > 0 && isHigh(a.charCodeAt(p - 1))) p--;
  let s = 0;
  const maxS = Math.min(a.length, b.length) - p;
  while (s < maxS && a.charCodeAt(a.length - 1 - s) === b.charCodeAt(b.length - 1 - s)) s++;
  if (s > 0 && isLow(a.charCodeAt(a.length - s))) s--;
  return { index: index + p, remove: a.length - p - s, insert: b.slice(p, b.length - s) };
}

interface Block {
  aStart: number;
  aEnd: number;
  bStart: number;
  bEnd: number;
}

/** Myers diff over lines; returns changed blocks in ascending order, or undefined if too far apart. */
function lineBlocks(a: string[], b: string[]): Block[] | undefined {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EDIT_DISTANCE);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  outer: for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x: number;
      if (k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number))) {
        x = v[offset + k + 1] as number;
      } else {
        x = (v[offset + k - 1] as number) + 1;
      }
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break outer;
      }
    }
  }
  if (!found) return undefined;
  // Walk back through the trace collecting matched (diagonal) runs.
  const matches: [number, number][] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d] as Int32Array;
    const k = x - y;
    let prevK: number;
    if (k === -d || (k !== d && (vd[offset + k - 1] as number) < (vd[offset + k + 1] as number))) {
      prevK = k + 1;
    } else {
      prevK = k - 1;
    }
    const prevX = d === 0 ? 0 : (vd[offset + prevK] as number);
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      matches.push([x, y]);
    }
    if (d > 0) {
      x = prevX;
      y = prevY;
    }
  }
  matches.reverse();
  const blocks: Block[] = [];
  let ai = 0;
  let bi = 0;
  for (const [mx, my] of [...matches, [n, m] as [number, number]]) {
    if (mx > ai || my > bi) blocks.push({ aStart: ai, aEnd: mx, bStart: bi, bEnd: my });
    ai = mx + 1;
    bi = my + 1;
  }
  return blocks;
}

/** Splices that turn `before` into `after`, last position first. */
export function diffText(before: string, after: string): Splice[] {
  if (before === after) return [];
  // What the line diff below would return, without its quadratic search (a first text).
  if (before === '' || after === '') return [{ index: 0, remove: before.length, insert: after }];
  const a = splitLines(before);
  const b = splitLines(after);
  const blocks = lineBlocks(a, b);
  if (!blocks) {
    const one = narrow(0, before, after);
    return one ? [one] : [];
  }
  const aOffsets = [0];
  for (const line of a) aOffsets.push((aOffsets[aOffsets.length - 1] as number) + line.length);
  const out: Splice[] = [];
  for (let i = blocks.length - 1; i >= 0; i--) {
    const blk = blocks[i] as Block;
    if (blk.aEnd - blk.aStart === blk.bEnd - blk.bStart) {
      // As many lines changed as replace them: each line is narrowed on its own, so a splice
      // never spans a line that stayed in place around it (what another replica typed between
      // two of these lines then stays a line of its own).
      for (let l = blk.aEnd - blk.aStart - 1; l >= 0; l--) {
        const s = narrow(
          aOffsets[blk.aStart + l] as number,
          a[blk.aStart + l] as string,
          b[blk.bStart + l] as string,
        );
        if (s) out.push(s);
      }
      continue;
    }
    const oldText = a.slice(blk.aStart, blk.aEnd).join('');
    const newText = b.slice(blk.bStart, blk.bEnd).join('');
    const s = narrow(aOffsets[blk.aStart] as number, oldText, newText);
    if (s) out.push(s);
  }
  return out;
}

/**
 * diffText for a save (a person's edit): the lines both texts start and end with are set aside
 * first, so a small change costs about one pass over the text, not a line split of all of it;
 * and each splice that only inserts or only removes is moved to where a person would have made
 * it (alignSplices). Same guarantees as diffText. It may pick other splices than diffText would,
 * so an edit that every device must make alike (store/body-crdt, sameEditEverywhere) uses
 * diffText.
 */
export function diffEdit(before: string, after: string): Splice[] {
  if (before === after) return [];
  const { start, endBefore, endAfter } = changedLines(before, after);
  if (start === 0 && endBefore === before.length && endAfter === after.length) {
    return alignSplices(before, diffText(before, after));
  }
  const splices = diffText(before.slice(start, endBefore), after.slice(start, endAfter)).map(
    (s) => ({ index: s.index + start, remove: s.remove, insert: s.insert }),
  );
  return alignSplices(before, splices);
}

/** How far a splice may slide each way while it is being aligned. */
const MAX_SLIDE = 256;

/**
 * How good a place between characters `l` and `r` is for an edit to start or end (higher is
 * better; the scores of diff-match-patch's semantic cleanup): the edge of the text, a line
 * break, the end of a sentence, a space, punctuation, inside a word.
 */
function boundaryScore(l: number, r: number): number {
  if (Number.isNaN(l) || Number.isNaN(r)) return 6;
  const c1 = String.fromCharCode(l);
  const c2 = String.fromCharCode(r);
  const word1 = /[\p{L}\p{N}\p{M}]/u.test(c1);
  const word2 = /[\p{L}\p{N}\p{M}]/u.test(c2);
  const space1 = !word1 && /\s/.test(c1);
  const space2 = !word2 && /\s/.test(c2);
  if ((space1 && (l === 10 || l === 13)) || (space2 && (r === 10 || r === 13))) return 4;
  if (!word1 && !space1 && space2) return 3;
  if (space1 || space2) return 2;
  if (!word1 || !word2) return 1;
  return 0;
}

/**
 * Moves each splice that only inserts or only removes to the best of the places where it gives
 * the same text. A character diff picks the rightmost of them, which can split what a person
 * typed: typing " [x] " after "a" in "a [y]" comes out as "[x]  [" typed inside "a [y]", so a
 * device that concurrently deletes "a [y]" would take the "[" of "[x]" with it. Here the place
 * whose two ends are the best boundaries wins (the rightmost of equals, as before), so what was
 * typed or removed as words stays one piece. A splice never slides past its neighbours, nor to
 * a place that splits a surrogate pair. Splices are as diffText returns them: last first.
 */
export function alignSplices(before: string, splices: readonly Splice[]): Splice[] {
  const out: Splice[] = [];
  for (let i = 0; i < splices.length; i++) {
    const s = splices[i] as Splice;
    const lower =
      i + 1 < splices.length
        ? (splices[i + 1] as Splice).index + (splices[i + 1] as Splice).remove
        : 0;
    const upper = i > 0 ? (splices[i - 1] as Splice).index : before.length;
    if (s.remove === 0 && s.insert.length > 0) out.push(alignInsert(before, s, lower, upper));
    else if (s.insert === '' && s.remove > 0) out.push(alignRemove(before, s, lower, upper));
    else out.push(s);
  }
  return out;
}

/** An insertion of `t` at `p` slid within [lower, upper]. */
function alignInsert(before: string, s: Splice, lower: number, upper: number): Splice {
  const p = s.index;
  const t = s.insert;
  const len = t.length;
  // The text after the insertion, read without building it.
  const at = (q: number): number =>
    q < 0 || q >= before.length + len
      ? NaN
      : q < p
        ? before.charCodeAt(q)
        : q < p + len
          ? t.charCodeAt(q - p)
          : before.charCodeAt(q - len);
  const best = bestPlace(at, p, len, lower, upper);
  if (best === p) return s;
  let insert = '';
  for (let q = best; q < best + len; q++) insert += String.fromCharCode(at(q));
  return { index: best, remove: 0, insert };
}

/** A removal of before[p, p + r) slid within [lower, upper]. */
function alignRemove(before: string, s: Splice, lower: number, upper: number): Splice {
  const at = (q: number): number => (q < 0 || q >= before.length ? NaN : before.charCodeAt(q));
  const best = bestPlace(at, s.index, s.remove, lower, upper - s.remove);
  return best === s.index ? s : { index: best, remove: s.remove, insert: '' };
}

/**
 * Where the span [p, p + len) of the text `at` reads is best placed among the starts in
 * [min, max] that leave the same text outside it (each step moves one character from one end of
 * the span to the other): the start whose two ends score best, the rightmost of equals, never
 * one that splits a surrogate pair.
 */
function bestPlace(
  at: (q: number) => number,
  p: number,
  len: number,
  min: number,
  max: number,
): number {
  let lo = p;
  while (lo > min && p - lo < MAX_SLIDE && at(lo - 1) === at(lo - 1 + len)) lo--;
  let hi = p;
  while (hi < max && hi - p < MAX_SLIDE && at(hi) === at(hi + len)) hi++;
  let best = p;
  let bestScore = -1;
  for (let q = lo; q <= hi && lo < hi; q++) {
    if (splitsPair(at(q - 1), at(q)) || splitsPair(at(q + len - 1), at(q + len))) continue;
    const score = boundaryScore(at(q - 1), at(q)) + boundaryScore(at(q + len - 1), at(q + len));
    if (score >= bestScore) {
      best = q;
      bestScore = score;
    }
  }
  return best;
}

/** True when a boundary between these two code units would split a surrogate pair. */
function splitsPair(l: number, r: number): boolean {
  return isHigh(l) && isLow(r);
}

const BLOCK = 1024;

/**
 * The whole lines in which two texts differ: [start, endBefore) of `before` and
 * [start, endAfter) of `after`. Before `start` the texts are the same and `start` begins a line
 * (it is 0 or follows a \n); after the ends they are the same, and each end is the end of the
 * text or follows a \n that both texts share there.
 */
export function changedLines(
  before: string,
  after: string,
): { start: number; endBefore: number; endAfter: number } {
  const max = Math.min(before.length, after.length);
  // Whole blocks first: comparing two slices is one memory comparison, much faster than a loop
  // over characters (which would dominate a one-character save of a long note).
  let p = 0;
  while (p + BLOCK <= max && before.slice(p, p + BLOCK) === after.slice(p, p + BLOCK)) p += BLOCK;
  while (p < max && before.charCodeAt(p) === after.charCodeAt(p)) p++;
  let s = 0;
  const maxS = max - p;
  const a = before.length;
  const b = after.length;
  while (
    s + BLOCK <= maxS &&
    before.slice(a - s - BLOCK, a - s) === after.slice(b - s - BLOCK, b - s)
  ) {
    s += BLOCK;
  }
  while (s < maxS && before.charCodeAt(a - 1 - s) === after.charCodeAt(b - 1 - s)) s++;
  const start = p === 0 ? 0 : before.lastIndexOf('\n', p - 1) + 1;
  // The same text ends both: its first \n ends the changed lines in both.
  const nl = before.indexOf('\n', before.length - s);
  const kept = nl === -1 ? 0 : before.length - nl - 1;
  return { start, endBefore: before.length - kept, endAfter: after.length - kept };
}

/** Applies splices as returned by diffText. */
export function applySplices(text: string, splices: readonly Splice[]): string {
  let t = text;
  for (const s of splices) t = t.slice(0, s.index) + s.insert + t.slice(s.index + s.remove);
  return t;
}
