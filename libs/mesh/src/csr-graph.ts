/**
 * An undirected weighted graph in compressed sparse row form (the layout METIS uses): the neighbours of vertex v
 * are adjncy[xadj[v] .. xadj[v+1]) with edge weights in adjwgt at the same positions. Every edge is stored in both
 * directions, there are no self-loops and no parallel edges. Typed arrays keep 100k-vertex graphs cheap.
 */
export interface CsrGraph {
  readonly n: number;
  readonly xadj: Int32Array;
  readonly adjncy: Int32Array;
  readonly adjwgt: Float64Array;
  /** vertex weights (pods) */
  readonly vwgt: Float64Array;
}

/**
 * Builds a CSR graph from an edge list. Both directions of a pair add up (A→B and B→A traffic is one
 * undirected edge), self-loops are dropped (traffic inside a unit never crosses a mesh).
 */
export function buildCsrGraph(
  n: number,
  vwgt: Float64Array,
  sources: Int32Array,
  targets: Int32Array,
  weights: Float64Array,
): CsrGraph {
  const m = sources.length;
  const degree = new Int32Array(n + 1);
  for (let e = 0; e < m; e++) {
    const s = sources[e]!;
    const t = targets[e]!;
    if (s === t) continue;
    degree[s]!++;
    degree[t]!++;
  }
  const xadj = new Int32Array(n + 1);
  for (let v = 0; v < n; v++) xadj[v + 1] = xadj[v]! + degree[v]!;
  const fill = xadj.slice(0, n);
  const adjncy = new Int32Array(xadj[n]!);
  const adjwgt = new Float64Array(xadj[n]!);
  for (let e = 0; e < m; e++) {
    const s = sources[e]!;
    const t = targets[e]!;
    if (s === t) continue;
    const w = weights[e]!;
    let p = fill[s]!++;
    adjncy[p] = t;
    adjwgt[p] = w;
    p = fill[t]!++;
    adjncy[p] = s;
    adjwgt[p] = w;
  }
  return mergeParallelEdges({ n, xadj, adjncy, adjwgt, vwgt });
}

/** Sums parallel edges into one, compacting the arrays in place order. */
function mergeParallelEdges(g: CsrGraph): CsrGraph {
  const { n, xadj, adjncy, adjwgt } = g;
  const slot = new Int32Array(n).fill(-1);
  const nx = new Int32Array(n + 1);
  let out = 0;
  for (let v = 0; v < n; v++) {
    const rowStart = out;
    for (let p = xadj[v]!; p < xadj[v + 1]!; p++) {
      const u = adjncy[p]!;
      const at = slot[u]!;
      if (at >= rowStart) {
        adjwgt[at] = adjwgt[at]! + adjwgt[p]!;
      } else {
        slot[u] = out;
        adjncy[out] = u;
        adjwgt[out] = adjwgt[p]!;
        out++;
      }
    }
    nx[v + 1] = out;
  }
  if (out === adjncy.length) return { ...g, xadj: nx };
  return { n, xadj: nx, adjncy: adjncy.slice(0, out), adjwgt: adjwgt.slice(0, out), vwgt: g.vwgt };
}

export function totalVertexWeight(g: CsrGraph): number {
  let s = 0;
  for (let v = 0; v < g.n; v++) s += g.vwgt[v]!;
  return s;
}

/** Sum of all edge weights (each undirected edge once). */
export function totalEdgeWeight(g: CsrGraph): number {
  let s = 0;
  for (let p = 0; p < g.adjwgt.length; p++) s += g.adjwgt[p]!;
  return s / 2;
}

/** Weight of the edges whose ends are in different parts (each counted once). */
export function edgeCut(g: CsrGraph, part: Int32Array): number {
  let cut = 0;
  for (let v = 0; v < g.n; v++) {
    const pv = part[v]!;
    for (let p = g.xadj[v]!; p < g.xadj[v + 1]!; p++) {
      const u = g.adjncy[p]!;
      if (u > v && part[u]! !== pv) cut += g.adjwgt[p]!;
    }
  }
  return cut;
}

export function partWeights(g: CsrGraph, part: Int32Array, k: number): Float64Array {
  const w = new Float64Array(k);
  for (let v = 0; v < g.n; v++) w[part[v]!] = w[part[v]!]! + g.vwgt[v]!;
  return w;
}

/** The subgraph induced by `vertices` (edges leaving the set are dropped); `vertices[i]` becomes vertex i. */
export function inducedSubgraph(g: CsrGraph, vertices: Int32Array, scratch: Int32Array): CsrGraph {
  // scratch maps an original vertex to its new index, -1 outside; restored to -1 before returning.
  const n = vertices.length;
  for (let i = 0; i < n; i++) scratch[vertices[i]!] = i;
  const xadj = new Int32Array(n + 1);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const v = vertices[i]!;
    for (let p = g.xadj[v]!; p < g.xadj[v + 1]!; p++) if (scratch[g.adjncy[p]!]! >= 0) m++;
    xadj[i + 1] = m;
  }
  const adjncy = new Int32Array(m);
  const adjwgt = new Float64Array(m);
  const vwgt = new Float64Array(n);
  let q = 0;
  for (let i = 0; i < n; i++) {
    const v = vertices[i]!;
    vwgt[i] = g.vwgt[v]!;
    for (let p = g.xadj[v]!; p < g.xadj[v + 1]!; p++) {
      const u = scratch[g.adjncy[p]!]!;
      if (u >= 0) {
        adjncy[q] = u;
        adjwgt[q] = g.adjwgt[p]!;
        q++;
      }
    }
  }
  for (let i = 0; i < n; i++) scratch[vertices[i]!] = -1;
  return { n, xadj, adjncy, adjwgt, vwgt };
}
