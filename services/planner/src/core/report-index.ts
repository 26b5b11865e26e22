import { unitKey, type UnitProgress, type UnitProgressEntry } from '@meshwave/contracts';
import type { EntryChange } from './delta-chain.js';

export interface ClusterIndex {
  readonly byKey: Map<string, UnitProgressEntry>;
  readonly byNamespace: Map<string, UnitProgressEntry[]>;
}

// A cluster's report indexed once per report object: the planner keeps each report it wrote or read as one
// object until the next report of that cluster (ADR 0048), so a reconcile re-indexes only the clusters that
// reported since the last one.
const indexes = new WeakMap<UnitProgress, ClusterIndex>();

/** A cluster's report indexed by unit key and by namespace (once per report object). */
export function indexOfReport(report: UnitProgress): ClusterIndex {
  let index = indexes.get(report);
  if (index !== undefined) return index;
  const byKey = new Map<string, UnitProgressEntry>();
  const byNamespace = new Map<string, UnitProgressEntry[]>();
  for (const e of report.units) {
    byKey.set(unitKey(e), e);
    const list = byNamespace.get(e.namespace) ?? [];
    list.push(e);
    byNamespace.set(e.namespace, list);
  }
  indexes.set(report, (index = { byKey, byNamespace }));
  return index;
}

/** A report's index if it was built (a reconcile read it, or a delta moved it along), without building one. */
export function builtIndexOf(report: UnitProgress): ClusterIndex | undefined {
  return indexes.get(report);
}

/**
 * How a report was made from the one before it by a delta (ADR 0068): the keys the delta touched, and the same of
 * the report it followed (dropped past a bound, so a long chain keeps no more than `MAX_CHAIN` steps and
 * `MAX_KEYS` keys). `from` is the base report's identity (a number, so no old report is kept alive by it).
 */
interface Derivation {
  readonly from: number;
  readonly keys: readonly string[];
  readonly prev: Derivation | undefined;
  readonly depth: number;
  readonly size: number;
}

const MAX_CHAIN = 64;
const MAX_KEYS = 4096;
const identities = new WeakMap<UnitProgress, number>();
let lastIdentity = 0;
const derivations = new WeakMap<UnitProgress, Derivation>();

function identityOf(report: UnitProgress): number {
  let id = identities.get(report);
  if (id === undefined) identities.set(report, (id = ++lastIdentity));
  return id;
}

/**
 * Notes that `report` is `base` with `changes` applied (a progress delta, ADR 0048), so what was derived from
 * `base` can be brought to `report` by the changed units only (issue 15). The base's index, if built, becomes the
 * report's, changed in place: the base is superseded (a read of it indexes it again). Leaves outputs as they were:
 * anything not noted is derived from scratch.
 */
export function noteDerived(
  report: UnitProgress,
  base: UnitProgress,
  changes: readonly EntryChange<UnitProgressEntry>[],
): void {
  const keys = changes.map((c) => unitKey((c.after ?? c.before)!));
  const before = derivations.get(base);
  const chained = before !== undefined && before.depth < MAX_CHAIN && before.size + keys.length <= MAX_KEYS;
  derivations.set(report, {
    from: identityOf(base),
    keys,
    prev: chained ? before : undefined,
    depth: chained ? before.depth + 1 : 1,
    size: chained ? before.size + keys.length : keys.length,
  });
  const index = indexes.get(base);
  // (a report that repeats a key is indexed afresh: its index lists the key twice, the merged report once)
  if (index === undefined || index.byKey.size !== base.units.length) return;
  indexes.delete(base);
  for (const c of changes) moveEntry(index, c);
  indexes.set(report, index);
}

/** An index with one change applied as `mergeEntries` applies it (a new entry goes last, a replaced one stays put). */
function moveEntry(index: ClusterIndex, { before, after }: EntryChange<UnitProgressEntry>): void {
  const entry = (after ?? before)!;
  const list = index.byNamespace.get(entry.namespace) ?? [];
  const at = before === undefined ? -1 : list.indexOf(before);
  if (after === undefined) {
    index.byKey.delete(unitKey(entry));
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) index.byNamespace.delete(entry.namespace);
    return;
  }
  index.byKey.set(unitKey(after), after);
  if (at >= 0) list[at] = after;
  else {
    list.push(after);
    index.byNamespace.set(after.namespace, list);
  }
}

/**
 * The cluster-local unit keys (`namespace` or `namespace/kind/name`) whose entries may differ between `base` and
 * `report`, when `report` was made from `base` by noted deltas; undefined when that is not known (then everything
 * may differ).
 */
export function changedSince(base: UnitProgress, report: UnitProgress): ReadonlySet<string> | undefined {
  const keys = new Set<string>();
  if (base === report) return keys;
  const from = identities.get(base);
  if (from === undefined) return undefined;
  for (let d = derivations.get(report); d !== undefined; d = d.prev) {
    for (const k of d.keys) keys.add(k);
    if (d.from === from) return keys;
  }
  return undefined;
}
