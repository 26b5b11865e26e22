/** Matches names against a glob: `*` any run of characters, `?` exactly one; the rest is literal. */
export type NameMatcher = (name: string) => boolean;

/**
 * Whether `name` matches `glob`, by greedy matching with one backtrack point: on a mismatch, the most recent
 * `*` absorbs one more character and matching resumes after it. Earlier stars never need revisiting (whatever
 * they could absorb, the later star can too), so the work is at most |glob| × |name| steps, whatever the glob.
 * A regular expression compiled from the glob backtracks once per star: 14 stars blocked the event loop for
 * seconds (ADR 0013).
 */
export function matchGlob(glob: string, name: string): boolean {
  let g = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    const c = glob[g];
    if (c === '*') {
      star = g++;
      resume = n;
    } else if (c !== undefined && (c === '?' || c === name[n])) {
      g++;
      n++;
    } else if (star >= 0) {
      g = star + 1;
      n = ++resume;
    } else return false;
  }
  while (glob[g] === '*') g++;
  return g === glob.length;
}

export function compileGlob(glob: string): NameMatcher {
  if (!/[*?]/.test(glob)) return (name) => name === glob;
  return (name) => matchGlob(glob, name);
}

/** Any of the globs matches; an absent list matches everything. */
export function compileGlobs(globs: readonly string[] | undefined): NameMatcher {
  if (globs === undefined) return () => true;
  const matchers = globs.map(compileGlob);
  return (name) => matchers.some((m) => m(name));
}

/** Every required label is present with the same value. */
export function labelsMatch(
  required: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (required === undefined) return true;
  for (const key in required) if (labels[key] !== required[key]) return false;
  return true;
}
