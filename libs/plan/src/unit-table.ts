import { Granularity, type Inventory, type InventoryWorkload, type PlannedWorkload } from '@meshwave/contracts';
import type { CompiledSelector } from './selection.js';
import { hashParts } from './stable-hash.js';

/**
 * Units as parallel arrays (no object per unit: planning 100,000 of them is dominated by allocation otherwise).
 * A unit is a workload, or a namespace with its workloads under namespace granularity: unit u ranks by
 * `hashes[u]` (the stable hash of its key) and lives in cluster `cluster[u]`, namespace `namespace[u]`, with workloads `members[memberStart[u] .. memberStart[u + 1])`.
 */
export interface UnitTable {
  readonly granularity: string;
  readonly size: number;
  readonly hashes: Uint32Array;
  /** built in inventory order: reading them in hash order later touches only this array, not the workloads */
  readonly keys: readonly string[];
  readonly cluster: Int32Array;
  readonly namespace: readonly string[];
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
  keep: (cluster: number, workload: InventoryWorkload) => boolean,
): UnitTable {
  const hashes: number[] = [];
  const keys: string[] = [];
  const cluster: number[] = [];
  const namespace: string[] = [];
  const starts: number[] = [0];
  const members: InventoryWorkload[] = [];
  clusters.forEach((c, ci) => {
    if (granularity === Granularity.Workload) {
      for (const w of c.workloads) {
        if (!keep(ci, w)) continue;
        hashes.push(hashParts(seed, c.name, w.namespace, w.kind, w.name));
        keys.push(`${c.name}/${w.namespace}/${w.kind}/${w.name}`);
        cluster.push(ci);
        namespace.push(w.namespace);
        members.push(w);
        starts.push(members.length);
      }
      return;
    }
    const byNamespace = new Map<string, InventoryWorkload[]>();
    for (const w of c.workloads) {
      if (!keep(ci, w)) continue;
      const list = byNamespace.get(w.namespace);
      if (list === undefined) byNamespace.set(w.namespace, [w]);
      else list.push(w);
    }
    for (const [ns, list] of byNamespace) {
      hashes.push(hashParts(seed, c.name, ns));
      keys.push(`${c.name}/${ns}`);
      cluster.push(ci);
      namespace.push(ns);
      members.push(...list);
      starts.push(members.length);
    }
  });
  return {
    granularity,
    size: hashes.length,
    hashes: Uint32Array.from(hashes),
    keys,
    cluster: Int32Array.from(cluster),
    namespace,
    memberStart: Int32Array.from(starts),
    members,
  };
}

/**
 * Which units can move (1 where a member is on `from`) and the workloads each one moves. Hot loops walk units
 * in hash order, i.e. at random through memory: they read only typed arrays and arrays of references built
 * here in inventory order (object fields read at random cost a cache miss each).
 */
export function buildMovers(
  units: UnitTable,
  clusters: Inventory['clusters'],
  from: string,
): { movers: Movers; movable: Uint8Array } {
  const movers: Movers = { flat: [], start: new Int32Array(units.size + 1) };
  const movable = new Uint8Array(units.size);
  for (let u = 0; u < units.size; u++) {
    const cluster = clusters[units.cluster[u]!]!.name;
    for (let k = units.memberStart[u]!; k < units.memberStart[u + 1]!; k++) {
      const w = units.members[k]!;
      if (w.revision !== from) continue;
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
  for (let u = 0; u < units.size; u++) {
    if (!selector.matchesCluster(units.cluster[u]!) || !selector.matchesNamespace(units.namespace[u]!)) continue;
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
  order.forEach((u, r) => (rankIndex[u] = r));
  return (ids) => {
    if (ids.length < 2048) return [...ids].sort((a, b) => rankIndex[a]! - rankIndex[b]!);
    const mark = new Uint8Array(size);
    for (const u of ids) mark[u] = 1;
    const out: number[] = [];
    for (let r = 0; r < order.length; r++) if (mark[order[r]!] === 1) out.push(order[r]!);
    return out;
  };
}
