import type { ServiceGraph } from '@meshwave/contracts';
import { FREE } from './coarsening.js';
import { buildCsrGraph, type CsrGraph } from './csr-graph.js';
import { MeshError, MeshErrorCode } from './errors.js';

/**
 * The graph the partitioner actually sees: every set of nodes that must share a mesh (same namespace, same
 * group, same `groupBy` label value, same pinned mesh) contracted into one vertex up front, so no later step can
 * split it. `fixed[u]` is the mesh index a unit is pinned to, or −1.
 */
export interface UnitGraph {
  readonly graph: CsrGraph;
  /** node index (in ServiceGraph.nodes order) → unit vertex */
  readonly unitOf: Int32Array;
  readonly fixed: Int32Array;
}

/** Namespace a node lives in: its `namespace`, or its id when the node is a namespace. */
export function namespaceOf(node: { id: string; namespace?: string | undefined }): string {
  return node.namespace ?? node.id;
}

export function contractUnits(
  sg: ServiceGraph,
  pinIndex: (mesh: string) => number | undefined,
  groupBy: string | undefined,
): UnitGraph {
  const n = sg.nodes.length;
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x]! !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  const union = (a: number, b: number): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  const firstWith = new Map<string, number>();
  const together = (key: string, i: number): void => {
    const first = firstWith.get(key);
    if (first === undefined) firstWith.set(key, i);
    else union(first, i);
  };
  const pinOf = new Int32Array(n).fill(FREE);
  sg.nodes.forEach((node, i) => {
    together(`ns\u0000${namespaceOf(node)}`, i);
    if (node.group !== undefined) together(`group\u0000${node.group}`, i);
    const label = groupBy === undefined ? undefined : node.labels?.[groupBy];
    if (label !== undefined) together(`label\u0000${label}`, i);
    if (node.pinned !== undefined) {
      const mesh = pinIndex(node.pinned);
      if (mesh === undefined) {
        throw new MeshError(
          MeshErrorCode.Infeasible,
          `node "${node.id}" is pinned to "${node.pinned}", which is not one of the meshes`,
          { node: node.id, pinned: node.pinned },
          { path: `graph.nodes[${i}].pinned` },
        );
      }
      pinOf[i] = mesh;
      // Everything pinned to one mesh ends up there anyway: one vertex is simpler than many fixed ones.
      together(`pin\u0000${mesh}`, i);
    }
  });

  const unitOfRoot = new Int32Array(n).fill(-1);
  const unitOf = new Int32Array(n);
  let units = 0;
  for (let i = 0; i < n; i++) {
    const r = find(i);
    if (unitOfRoot[r] === -1) unitOfRoot[r] = units++;
    unitOf[i] = unitOfRoot[r]!;
  }
  const fixed = new Int32Array(units).fill(FREE);
  const pinnedBy: (string | undefined)[] = new Array<string | undefined>(units);
  const vwgt = new Float64Array(units);
  sg.nodes.forEach((node, i) => {
    const u = unitOf[i]!;
    vwgt[u] = vwgt[u]! + node.weight;
    const pin = pinOf[i]!;
    if (pin === FREE) return;
    if (fixed[u] !== FREE && fixed[u] !== pin) {
      throw new MeshError(
        MeshErrorCode.Infeasible,
        `nodes "${pinnedBy[u]}" and "${node.id}" must share a mesh (same namespace or group) but are pinned to different meshes`,
        { nodes: [pinnedBy[u], node.id] },
      );
    }
    fixed[u] = pin;
    pinnedBy[u] = node.id;
  });

  const indexOf = new Map<string, number>();
  sg.nodes.forEach((node, i) => indexOf.set(node.id, i));
  const m = sg.edges.length;
  const sources = new Int32Array(m);
  const targets = new Int32Array(m);
  const weights = new Float64Array(m);
  sg.edges.forEach((e, j) => {
    sources[j] = unitOf[indexOf.get(e.source)!]!;
    targets[j] = unitOf[indexOf.get(e.target)!]!;
    weights[j] = e.weight;
  });
  return { graph: buildCsrGraph(units, vwgt, sources, targets, weights), unitOf, fixed };
}
