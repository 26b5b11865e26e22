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

/** Deltas of at most this many entries find them by a scan of the list; larger ones key the whole list. */
const MAX_SCANNED_CHANGES = 16;

/**
 * `held` with `removed` taken out and `upserted` put in (replacing an entry of the same key in place, new ones
 * after the rest), and what changed per entry. `heldByKey`: an index of `held` the caller already holds (the
 * planner's report index, ADR 0068): a small delta that removes nothing then keys only its own entries and finds
 * each replaced one by reference in a copy of the list, instead of keying the whole list (ADR 0074). Without it
 * (or for a larger delta) the held list is keyed once, as before.
 */
export function mergeEntries<E, R>(
  held: readonly E[],
  upserted: readonly E[],
  removed: readonly R[],
  keyOf: (entry: E | R) => string,
  heldByKey?: ReadonlyMap<string, E>,
): { readonly entries: E[]; readonly changes: EntryChange<E>[] } {
  if (
    heldByKey === undefined ||
    heldByKey.size !== held.length ||
    removed.length > 0 ||
    upserted.length > MAX_SCANNED_CHANGES
  )
    return mergeByMap(held, upserted, removed, keyOf);
  const entries = held.slice();
  const changes: EntryChange<E>[] = [];
  /** entries this delta put in, by key: a key upserted twice is replaced, as the map merge does */
  const added = new Map<string, number>();
  for (const after of upserted) {
    const key = keyOf(after);
    const known = added.get(key);
    const before = known === undefined ? heldByKey.get(key) : entries[known];
    const at = known ?? (before === undefined ? -1 : entries.indexOf(before));
    // an index that does not match the list (not the caller's to promise): merged by the map instead
    if (before !== undefined && at < 0) return mergeByMap(held, upserted, removed, keyOf);
    if (at < 0) {
      added.set(key, entries.length);
      entries.push(after);
      changes.push({ after });
      continue;
    }
    added.set(key, at);
    entries[at] = after;
    changes.push({ before: before!, after });
  }
  return { entries, changes };
}

/** The merge by a map of the whole held list. */
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
