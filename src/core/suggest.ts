// "Did you mean …?" for mistyped commands, options, choices, help topics and config keys: the
// candidates closest to what was typed by edit distance (adjacent swaps count as one edit, as in
// `nxet`), close enough to be a typo of it, or that it is a prefix of.

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidates `typed` is most likely a typo of (best first, at most three). */
export function closest(typed: string, candidates: readonly string[]): string[] {
  const t = typed.toLowerCase();
  if (t === '') return [];
  const limit = Math.max(1, Math.floor(t.length / 3));
  const scored = [...new Set(candidates)]
    .map((c) => {
      const d = editDistance(t, c.toLowerCase());
      // A prefix of a longer name (`sta` for `status`) is a likely abbreviation.
      return { c, d: c.toLowerCase().startsWith(t) && t.length >= 2 ? Math.min(d, 1) : d };
    })
    .filter((x) => x.d <= limit)
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c));
  const best = scored[0]?.d;
  return scored
    .filter((x) => x.d === best)
    .map((x) => x.c)
    .slice(0, 3);
}

/** ` Did you mean "x"?`, ` Did you mean "x" or "y"?`, or '' when nothing is close. */
export function didYouMean(
  typed: string,
  candidates: readonly string[],
  show = (c: string) => c,
): string {
  const found = closest(typed, candidates).map((c) => `"${show(c)}"`);
  if (found.length === 0) return '';
  const last = found.pop()!;
  return ` Did you mean ${found.length > 0 ? `${found.join(', ')} or ${last}` : last}?`;
}
