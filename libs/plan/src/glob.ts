/** Matches names against a glob: `*` any run of characters, `?` exactly one; the rest is literal. */
export type NameMatcher = (name: string) => boolean;

export function compileGlob(glob: string): NameMatcher {
  if (!/[*?]/.test(glob)) return (name) => name === glob;
  const body = glob
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.+()|{}[\]]/g, '\\$&')))
    .join('');
  const re = new RegExp(`^${body}$`);
  return (name) => re.test(name);
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
