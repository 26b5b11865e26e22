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
 * Where each entry of a merged list is, by key: kept with the list a delta made, so the next delta on it finds the
 * entries it names without keying the whole list again (ADR 0074). Moved to the new list by each merge (the list it
 * was made from is superseded: merging it again keys it afresh). Weak: a list no report holds takes its index along.
 */
const positions = new WeakMap<readonly unknown[], Map<string, number>>();

/** Each entry's position by key; undefined when two entries share a key (the merge then keys the list afresh). */
function positionsOf<E>(held: readonly E[], keyOf: (entry: E) => string): Map<string, number> | undefined {
  const known = positions.get(held);
  if (known !== undefined) return known;
  const at = new Map<string, number>();
  held.forEach((e, i) => at.set(keyOf(e), i));
  return at.size === held.length ? at : undefined;
}

/**
 * `held` with `removed` taken out and `upserted` put in (replacing an entry of the same key in place, new ones
 * after the rest), and what changed per entry. Costs the delta's entries, plus a copy of the list (and keying it
 * once when it was not made by a merge, or when the delta removes entries).
 */
export function mergeEntries<E, R>(
  held: readonly E[],
  upserted: readonly E[],
  removed: readonly R[],
  keyOf: (entry: E | R) => string,
): { readonly entries: E[]; readonly changes: EntryChange<E>[] } {
  const at = removed.length === 0 ? positionsOf(held, keyOf) : undefined;
  // (its result is keyed again by the next delta that follows it)
  if (at === undefined) return mergeByMap(held, upserted, removed, keyOf);
  positions.delete(held);
  const entries = held.slice();
  const changes: EntryChange<E>[] = [];
  for (const after of upserted) {
    const key = keyOf(after);
    const i = at.get(key);
    if (i === undefined) {
      at.set(key, entries.length);
      entries.push(after);
      changes.push({ after });
    } else {
      changes.push({ before: entries[i]!, after });
      entries[i] = after;
    }
  }
  positions.set(entries, at);
  return { entries, changes };
}

/** The merge by a map of the whole list: a delta that removes entries, or a list with a key twice. */
function mergeByMap<E, R>(
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
