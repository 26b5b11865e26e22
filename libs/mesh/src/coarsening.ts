import type { CsrGraph } from './csr-graph.js';
import type { SeededRandom } from './random.js';

/** Marks a vertex that may go to any part; otherwise `fixed[v]` is the part it must be in. */
export const FREE = -1;

/** The graphs of a coarsening run, finest first; cmaps[i] maps a vertex of graphs[i] to its vertex in graphs[i+1]. */
export interface CoarseningHierarchy {
  readonly graphs: CsrGraph[];
  readonly fixed: Int32Array[];
  readonly cmaps: Int32Array[];
}

/** A level is not worth keeping when it removes less than 15% of the vertices (METIS's COARSEN_FRACTION). */
const MIN_REDUCTION = 0.85;

/**
 * Coarsens by repeated heavy-edge matching until at most `coarsenTo` vertices remain or matching stops paying.
 * Contracting the heaviest edges first hides them inside coarse vertices, so the partition found on the small
 * graph already avoids cutting them. No coarse vertex grows beyond `maxVertexWeight` (keeps the coarse graph
 * balanceable) and two vertices fixed to different parts never merge.
 */
export function coarsen(
  graph: CsrGraph,
  fixed: Int32Array,
  coarsenTo: number,
  maxVertexWeight: number,
  rng: SeededRandom,
): CoarseningHierarchy {
  const graphs = [graph];
  const fixeds = [fixed];
  const cmaps: Int32Array[] = [];
  let g = graph;
  let f = fixed;
  while (g.n > coarsenTo) {
    const match = matchHeavyEdges(g, f, maxVertexWeight, rng);
    const { coarse, cmap, coarseFixed } = contract(g, f, match);
    if (coarse.n > MIN_REDUCTION * g.n) {
      if (coarse.n < g.n) {
        graphs.push(coarse);
        fixeds.push(coarseFixed);
        cmaps.push(cmap);
      }
      break;
    }
    graphs.push(coarse);
    fixeds.push(coarseFixed);
    cmaps.push(cmap);
    g = coarse;
    f = coarseFixed;
  }
  return { graphs, fixed: fixeds, cmaps };
}

function compatible(fixed: Int32Array, a: number, b: number): boolean {
  const fa = fixed[a]!;
  const fb = fixed[b]!;
  return fa === FREE || fb === FREE || fa === fb;
}

/**
 * Heavy-edge matching: visit vertices from low to high degree (random order within a degree, so low-degree
 * vertices find a partner before hubs take them) and match each with its unmatched neighbour over the heaviest
 * edge. Power-law graphs leave many leaves unmatched around hubs; those are then paired two hops apart
 * (leaves of the same hub), as METIS's 2-hop matching does, so that coarsening keeps shrinking the graph.
 */
export function matchHeavyEdges(
  g: CsrGraph,
  fixed: Int32Array,
  maxVertexWeight: number,
  rng: SeededRandom,
): Int32Array {
  const { n, xadj, adjncy, adjwgt, vwgt } = g;
  const match = new Int32Array(n).fill(-1);
  const order = visitOrderByDegree(g, rng);
  let unmatched = 0;
  for (let i = 0; i < n; i++) {
    const u = order[i]!;
    if (match[u]! >= 0) continue;
    let best = -1;
    let bestW = -1;
    const wu = vwgt[u]!;
    for (let p = xadj[u]!; p < xadj[u + 1]!; p++) {
      const v = adjncy[p]!;
      if (match[v]! >= 0 || adjwgt[p]! <= bestW) continue;
      if (wu + vwgt[v]! > maxVertexWeight || !compatible(fixed, u, v)) continue;
      best = v;
      bestW = adjwgt[p]!;
    }
    if (best >= 0) {
      match[u] = best;
      match[best] = u;
    } else unmatched++;
  }
  if (unmatched > 0.1 * n) matchTwoHops(g, fixed, maxVertexWeight, match, order);
  for (let u = 0; u < n; u++) if (match[u]! < 0) match[u] = u;
  return match;
}

function visitOrderByDegree(g: CsrGraph, rng: SeededRandom): Int32Array {
  const n = g.n;
  const perm = rng.permutation(n);
  // Counting sort by (capped) degree keeps it linear; the random permutation breaks ties.
  const cap = 64;
  const count = new Int32Array(cap + 2);
  for (let v = 0; v < n; v++) count[Math.min(cap, g.xadj[v + 1]! - g.xadj[v]!) + 1]!++;
  for (let d = 1; d < cap + 2; d++) count[d] = count[d]! + count[d - 1]!;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = perm[i]!;
    const d = Math.min(cap, g.xadj[v + 1]! - g.xadj[v]!);
    order[count[d]!++] = v;
  }
  return order;
}

function matchTwoHops(
  g: CsrGraph,
  fixed: Int32Array,
  maxVertexWeight: number,
  match: Int32Array,
  order: Int32Array,
): void {
  const { n, xadj, adjncy, vwgt } = g;
  // Pass 1 pairs low-degree vertices sharing a neighbour; pass 2 pairs the rest (isolated vertices too).
  for (const maxDegree of [2, Infinity]) {
    for (let i = 0; i < n; i++) {
      const hub = order[i]!;
      let pending = -1;
      for (let p = xadj[hub]!; p < xadj[hub + 1]!; p++) {
        const v = adjncy[p]!;
        if (match[v]! >= 0 || xadj[v + 1]! - xadj[v]! > maxDegree) continue;
        if (pending < 0) {
          pending = v;
        } else if (vwgt[pending]! + vwgt[v]! <= maxVertexWeight && compatible(fixed, pending, v)) {
          match[pending] = v;
          match[v] = pending;
          pending = -1;
        }
      }
    }
  }
  let pending = -1;
  for (let i = 0; i < n; i++) {
    const v = order[i]!;
    if (match[v]! >= 0 || xadj[v + 1]! !== xadj[v]!) continue;
    if (pending < 0) pending = v;
    else if (vwgt[pending]! + vwgt[v]! <= maxVertexWeight && compatible(fixed, pending, v)) {
      match[pending] = v;
      match[v] = pending;
      pending = -1;
    }
  }
}

/** Merges each matched pair into one coarse vertex; parallel edges add up, the pair's own edge disappears. */
export function contract(
  g: CsrGraph,
  fixed: Int32Array,
  match: Int32Array,
): { coarse: CsrGraph; cmap: Int32Array; coarseFixed: Int32Array } {
  const { n, xadj, adjncy, adjwgt, vwgt } = g;
  const cmap = new Int32Array(n).fill(-1);
  const firstOf = new Int32Array(n);
  let cn = 0;
  for (let v = 0; v < n; v++) {
    if (cmap[v]! >= 0) continue;
    const u = match[v]!;
    cmap[v] = cn;
    cmap[u] = cn;
    firstOf[cn] = v;
    cn++;
  }
  const cxadj = new Int32Array(cn + 1);
  const cadj = new Int32Array(adjncy.length);
  const cw = new Float64Array(adjncy.length);
  const cvwgt = new Float64Array(cn);
  const cfixed = new Int32Array(cn);
  const slot = new Int32Array(cn).fill(-1);
  let out = 0;
  for (let c = 0; c < cn; c++) {
    const v = firstOf[c]!;
    const u = match[v]!;
    const rowStart = out;
    cvwgt[c] = u === v ? vwgt[v]! : vwgt[v]! + vwgt[u]!;
    cfixed[c] = fixed[v]! !== FREE ? fixed[v]! : fixed[u]!;
    for (let member = v, round = 0; round < (u === v ? 1 : 2); round++, member = u) {
      for (let p = xadj[member]!; p < xadj[member + 1]!; p++) {
        const cu = cmap[adjncy[p]!]!;
        if (cu === c) continue;
        const at = slot[cu]!;
        if (at >= rowStart) cw[at] = cw[at]! + adjwgt[p]!;
        else {
          slot[cu] = out;
          cadj[out] = cu;
          cw[out] = adjwgt[p]!;
          out++;
        }
      }
    }
    cxadj[c + 1] = out;
  }
  return {
    coarse: { n: cn, xadj: cxadj, adjncy: cadj.slice(0, out), adjwgt: cw.slice(0, out), vwgt: cvwgt },
    cmap,
    coarseFixed: cfixed,
  };
}

/** Carries a coarse partition down one level. */
export function projectPartition(coarsePart: Int32Array, cmap: Int32Array): Int32Array {
  const part = new Int32Array(cmap.length);
  for (let v = 0; v < cmap.length; v++) part[v] = coarsePart[cmap[v]!]!;
  return part;
}
