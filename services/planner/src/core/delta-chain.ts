/**
 * The chain every delta report follows (ADR 0031 for inventory, ADR 0048 for progress and health): a delta names
 * the report it follows (`base`) and its own place (`seq`); the planner applies it only on top of the report it
 * holds. Shared by every kind of report, so the rules cannot drift between them.
 */

/** One entry's value before and after a delta (absent: it was not there, or is gone). */
export interface EntryChange<E> {
  readonly before?: E;
  readonly after?: E;
}

/**
 * Where a delta stands against the held report (undefined: none held) whose place `placeOf` gives (undefined: a
 * report from a sender that sends no deltas): `apply` on it, `stale` (the held one is as new or newer: a
 * redelivery) or a gap with why (the planner then asks for the whole report).
 */
export type ChainPosition<H> =
  | { readonly kind: 'apply'; readonly held: H }
  | { readonly kind: 'stale' }
  | { readonly kind: 'gap'; readonly reason: string };

export function chainPosition<H>(
  held: H | undefined,
  placeOf: (held: H) => number | undefined,
  delta: { readonly seq: number; readonly base: number },
  /** what the reasons call the report and its place: `['inventory', 'generation']` */
  [what, placeName]: readonly [string, string],
): ChainPosition<H> {
  const place = held === undefined ? undefined : placeOf(held);
  if (held === undefined || place === undefined)
    return { kind: 'gap', reason: `the planner holds no ${what} of this sender that a delta can follow` };
  if (delta.seq <= place) return { kind: 'stale' };
  if (delta.base !== place)
    return {
      kind: 'gap',
      reason: `a delta on ${placeName} ${delta.base} arrived; the planner holds ${placeName} ${place}`,
    };
  return { kind: 'apply', held };
}

/**
 * `held` with `removed` taken out and `upserted` put in (replacing an entry of the same key in place, new ones
 * after the rest), and what changed per entry. Costs the held list once plus the delta's entries.
 */
export function mergeEntries<E, R>(
  held: readonly E[],
  upserted: readonly E[],
  removed: readonly R[],
  keyOf: (entry: E | R) => string,
): { readonly entries: E[]; readonly changes: EntryChange<E>[] } {
  const byKey = new Map(held.map((e) => [keyOf(e), e]));
  const changes: EntryChange<E>[] = [];
  for (const ref of removed) {
    const key = keyOf(ref);
    const before = byKey.get(key);
    if (before === undefined) continue;
    byKey.delete(key);
    changes.push({ before });
  }
  for (const after of upserted) {
    const key = keyOf(after);
    const before = byKey.get(key);
    byKey.set(key, after);
    changes.push(before === undefined ? { after } : { before, after });
  }
  return { entries: [...byKey.values()], changes };
}
