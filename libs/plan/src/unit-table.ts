import {
  Granularity,
  resolveRevision,
  type Inventory,
  type InventoryWorkload,
  type PlannedWorkload,
} from '@meshwave/contracts';
import type { CompiledSelector } from './selection.js';
import { hashWithSeed } from './stable-hash.js';

/**
 * Units as parallel arrays (no object per unit: planning 100,000 of them is dominated by allocation otherwise).
 * A unit is a workload, or a namespace with its workloads under namespace granularity: unit u ranks by
 * `hashes[u]` (the stable hash of its key) and lives in cluster `cluster[u]`, namespace `namespaceNames[namespaceId[u]]`, with workloads `members[memberStart[u] .. memberStart[u + 1])`.
 */
export interface UnitTable {
  readonly granularity: string;
  readonly size: number;
  readonly hashes: Uint32Array;
  /** built in inventory order: reading them in hash order later touches only this array, not the workloads */
  readonly keys: readonly string[];
  readonly cluster: Int32Array;
  /** the unit's namespace as an index into `namespaceNames`: selectors decide once per distinct namespace */
  readonly namespaceId: Int32Array;
  readonly namespaceNames: readonly string[];
  readonly memberStart: Int32Array;
  readonly members: readonly InventoryWorkload[];
}

/** The workloads each unit moves, flattened: unit u moves flat[start[u]] up to flat[start[u + 1]]. */
export interface Movers {
  readonly flat: PlannedWorkload[];
  readonly start: Int32Array;
}

export function buildUnits(
  clusters: Inventory['clusters'],
  granularity: string,
  seed: number,
  /** whether a workload joins a unit; `namespace` is its namespace's index in the table's `namespaceNames` */
  keep: (cluster: number, workload: InventoryWorkload, namespace: number) => boolean,
): UnitTable {
  // Sized for the largest case (a unit per workload) and cut to size at the end: no growing arrays to copy.
  const capacity = clusters.reduce((n, c) => n + c.workloads.length, 0);
  const hashes = new Uint32Array(capacity);
  const cluster = new Int32Array(capacity);
  const namespaceId = new Int32Array(capacity);
  const starts = new Int32Array(capacity + 1);
  const keys: string[] = [];
  const members: InventoryWorkload[] = [];
  const ids = new Map<string, number>();
  const namespaceNames: string[] = [];
  const idOf = (ns: string): number => {
    let id = ids.get(ns);
    if (id === undefined) {
      id = namespaceNames.push(ns) - 1;
      ids.set(ns, id);
    }
    return id;
  };
  const add = (key: string, ci: number, ns: number): void => {
    const u = keys.length;
    hashes[u] = hashWithSeed(seed, key);
    keys.push(key);
    cluster[u] = ci;
    namespaceId[u] = ns;
    starts[u + 1] = members.length;
  };
  for (let ci = 0; ci < clusters.length; ci++) {
    const c = clusters[ci]!;
    if (granularity === Granularity.Workload) {
      for (const w of c.workloads) {
        const ns = idOf(w.namespace);
        if (!keep(ci, w, ns)) continue;
        members.push(w);
        add(`${c.name}/${w.namespace}/${w.kind}/${w.name}`, ci, ns);
      }
      continue;
    }
    const byNamespace = new Map<string, InventoryWorkload[]>();
    for (const w of c.workloads) {
      if (!keep(ci, w, idOf(w.namespace))) continue;
      const list = byNamespace.get(w.namespace);
      if (list === undefined) byNamespace.set(w.namespace, [w]);
      else list.push(w);
    }
    for (const [ns, list] of byNamespace) {
      for (const w of list) members.push(w);
      add(`${c.name}/${ns}`, ci, idOf(ns));
    }
  }
  const size = keys.length;
  return {
    granularity,
    size,
    hashes: hashes.subarray(0, size),
    keys,
    cluster: cluster.subarray(0, size),
    namespaceId: namespaceId.subarray(0, size),
    namespaceNames,
    memberStart: starts.subarray(0, size + 1),
    members,
  };
}

/**
 * Which units can move (1 where a member is on `from`, directly or through a revision tag of its cluster that
 * points to `from`) and the workloads each one moves. A tag move (`tag`) moves only the members labelled with
 * that tag: the others' labels name a revision, which only a relabel could change. Hot loops walk units
 * in hash order, i.e. at random through memory: they read only typed arrays and arrays of references built
 * here in inventory order (object fields read at random cost a cache miss each).
 */
export function buildMovers(
  units: UnitTable,
  clusters: Inventory['clusters'],
  from: string,
  tag?: string,
): { movers: Movers; movable: Uint8Array } {
  const movers: Movers = { flat: [], start: new Int32Array(units.size + 1) };
  const movable = new Uint8Array(units.size);
  for (let u = 0; u < units.size; u++) {
    const { name: cluster, tags } = clusters[units.cluster[u]!]!;
    for (let k = units.memberStart[u]!; k < units.memberStart[u + 1]!; k++) {
      const w = units.members[k]!;
      if (resolveRevision(tags, w.revision) !== from) continue;
      if (tag !== undefined && w.revision !== tag) continue;
      movers.flat.push({ cluster, namespace: w.namespace, kind: w.kind, name: w.name });
      movable[u] = 1;
    }
    movers.start[u + 1] = movers.flat.length;
  }
  return { movers, movable };
}

/** 1 for every unit the selector holds: a unit matches when any of its workloads does. */
export function matchUnits(selector: CompiledSelector, units: UnitTable): Uint8Array {
  const out = new Uint8Array(units.size);
  const checksWorkloads = selector.checksWorkloads;
  const namespaceMatches = units.namespaceNames.map((ns) => selector.matchesNamespace(ns));
  for (let u = 0; u < units.size; u++) {
    if (!selector.matchesCluster(units.cluster[u]!) || !namespaceMatches[units.namespaceId[u]!]) continue;
    if (!checksWorkloads) {
      out[u] = 1;
      continue;
    }
    for (let k = units.memberStart[u]!; k < units.memberStart[u + 1]!; k++) {
      if (selector.matchesWorkload(units.members[k]!)) {
        out[u] = 1;
        break;
      }
    }
  }
  return out;
}

/** Indices 0..n-1 ordered by `hashes` (stable LSD radix sort, two 16-bit digits): linear time, no comparator. */
function radixSortByHash(hashes: Uint32Array): Int32Array {
  const n = hashes.length;
  let src = new Int32Array(n);
  for (let i = 0; i < n; i++) src[i] = i;
  let dst = new Int32Array(n);
  const counts = new Int32Array(65_536);
  for (const shift of [0, 16]) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(hashes[i]! >>> shift) & 0xffff]!++;
    let sum = 0;
    for (let d = 0; d < 65_536; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const idx = src[i]!;
      dst[counts[(hashes[idx]! >>> shift) & 0xffff]!++] = idx;
    }
    [src, dst] = [dst, src];
  }
  return src;
}

/** Unit indices ordered by (stable hash, key): independent of inventory order. */
export function rankUnits(units: UnitTable): Int32Array {
  const n = units.size;
  const hashes = units.hashes;
  const order = radixSortByHash(hashes);
  // Equal hashes are ordered by key, never by inventory position.
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && hashes[order[j]!] === hashes[order[i]!]) j++;
    if (j - i > 1) {
      const run = Array.from(order.subarray(i, j)).sort((a, b) => (units.keys[a]! < units.keys[b]! ? -1 : 1));
      order.set(run, i);
    }
    i = j;
  }
  return order;
}

/**
 * Puts unit ids in rank order: large selections by one pass over `order`, small ones by a comparator sort.
 */
export function rankSorter(order: Int32Array, size: number): (ids: readonly number[]) => number[] {
  const rankIndex = new Int32Array(size);
  for (let r = 0; r < order.length; r++) rankIndex[order[r]!] = r;
  return (ids) => {
    if (ids.length < 2048) return [...ids].sort((a, b) => rankIndex[a]! - rankIndex[b]!);
    const mark = new Uint8Array(size);
    for (const u of ids) mark[u] = 1;
    const out: number[] = [];
    for (let r = 0; r < order.length; r++) if (mark[order[r]!] === 1) out.push(order[r]!);
    return out;
  };
}
