/** Levenshtein distance between two strings. */
function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

const norm = (s: string): string => s.toLowerCase().replace(/[_-]/g, '');

/**
 * The candidates ordered by how close they are to `name`: those containing it first, then by edit distance
 * (ignoring case, `_` and `-`).
 */
export function nearestNames(name: string, candidates: readonly string[], count = candidates.length): string[] {
  const key = norm(name);
  return candidates
    .map((c, i) => ({ c, i, d: editDistance(key, norm(c)) - (norm(c).includes(key) && key.length > 0 ? key.length : 0) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, count)
    .map((e) => e.c);
}

/** The candidate closest to `name` (ignoring case, `_` and `-`), if it is close enough to be a typo. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(norm(name), norm(c));
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * "one of 'a', 'b', 'c'" for an error message: every choice when there are at most `limit`, otherwise the
 * `limit` nearest to `given` and how many there are in all (`more` says where to find the rest).
 */
export function describeChoices(what: string, given: string, choices: readonly string[], more?: string, limit = 12): string {
  if (choices.length === 0) return `${what} (there are none)`;
  const quote = (list: readonly string[]): string => list.map((c) => `'${c}'`).join(', ');
  if (choices.length <= limit) return `one of ${what}: ${quote(choices)}`;
  return `one of the ${choices.length} ${what}, e.g. the nearest: ${quote(nearestNames(given, choices, limit))}${more ? ` (${more})` : ''}`;
}
