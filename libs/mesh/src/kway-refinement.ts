import { FREE } from './coarsening.js';
import type { CsrGraph } from './csr-graph.js';
import { GainHeap } from './gain-heap.js';

/**
 * Per-vertex connectivity of a k-way partition: `internal[v]` is the weight of v's edges inside its part,
 * `external[v]` the weight leaving it. A vertex is on the boundary when external > 0.
 */
interface KwayState {
  readonly part: Int32Array;
  readonly weights: Float64Array;
  readonly internal: Float64Array;
  readonly external: Float64Array;
}

function initState(g: CsrGraph, part: Int32Array, k: number): KwayState {
  const { n, xadj, adjncy, adjwgt, vwgt } = g;
  const weights = new Float64Array(k);
  const internal = new Float64Array(n);
  const external = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    const pv = part[v]!;
    weights[pv] = weights[pv]! + vwgt[v]!;
    let id = 0;
    let ed = 0;
    for (let p = xadj[v]!; p < xadj[v + 1]!; p++) {
      if (part[adjncy[p]!] === pv) id += adjwgt[p]!;
      else ed += adjwgt[p]!;
    }
    internal[v] = id;
    external[v] = ed;
  }
  return { part, weights, internal, external };
}

/** Scratch for summing a vertex's edge weight per neighbouring part without clearing a k-sized array each time. */
class PartConnectivity {
  readonly weight: Float64Array;
  readonly parts: Int32Array;
  private readonly present: Uint8Array;
  count = 0;
  constructor(k: number) {
    this.weight = new Float64Array(k);
    this.parts = new Int32Array(k);
    this.present = new Uint8Array(k);
  }

  collect(g: CsrGraph, part: Int32Array, v: number): void {
    this.reset();
    for (let p = g.xadj[v]!; p < g.xadj[v + 1]!; p++) {
      const q = part[g.adjncy[p]!]!;
      if (this.present[q] === 0) {
        this.present[q] = 1;
        this.parts[this.count++] = q;
      }
      this.weight[q] = this.weight[q]! + g.adjwgt[p]!;
    }
  }

  /**
   * Of the collected parts other than `from`, the one the vertex connects to most that still has room for `vw`
   * under `limit` (ties: the lighter part); −1 when none has room.
   */
  bestWithRoom(weights: Float64Array, from: number, vw: number, limit: number): number {
    let best = -1;
    let bestConn = -1;
    for (let i = 0; i < this.count; i++) {
      const q = this.parts[i]!;
      if (q === from || weights[q]! + vw > limit) continue;
      const c = this.weight[q]!;
      if (c > bestConn || (c === bestConn && weights[q]! < weights[best]!)) {
        best = q;
        bestConn = c;
      }
    }
    return best;
  }

  reset(): void {
    for (let i = 0; i < this.count; i++) {
      this.weight[this.parts[i]!] = 0;
      this.present[this.parts[i]!] = 0;
    }
    this.count = 0;
  }
}

function moveVertex(g: CsrGraph, s: KwayState, v: number, to: number, connTo: number): void {
  const { part, weights, internal, external } = s;
  const from = part[v]!;
  const degree = internal[v]! + external[v]!;
  part[v] = to;
  weights[from] = weights[from]! - g.vwgt[v]!;
  weights[to] = weights[to]! + g.vwgt[v]!;
  internal[v] = connTo;
  external[v] = degree - connTo;
  for (let p = g.xadj[v]!; p < g.xadj[v + 1]!; p++) {
    const u = g.adjncy[p]!;
    const w = g.adjwgt[p]!;
    const pu = part[u]!;
    if (pu === from) {
      internal[u] = internal[u]! - w;
      external[u] = external[u]! + w;
    } else if (pu === to) {
      internal[u] = internal[u]! + w;
      external[u] = external[u]! - w;
    }
  }
}

/**
 * Greedy k-way boundary refinement (the scheme METIS uses while uncoarsening): boundary vertices are visited
 * best gain first; each moves to the adjacent part it is most connected to when that lowers the cut (or keeps it
 * and evens out the weights) and the part stays within `limit`. A vertex is looked at once per pass.
 * Repeats until a pass moves nothing or `passes` run out. Fixed vertices never move.
 */
export function refineKway(
  g: CsrGraph,
  part: Int32Array,
  fixed: Int32Array,
  k: number,
  limit: number,
  passes: number,
  localSearchRounds = 0,
): void {
  const s = initState(g, part, k);
  balanceKway(g, s, fixed, k, limit);
  greedyRefine(g, s, fixed, k, limit, passes);
  if (localSearchRounds > 0) localizedFm(g, s, fixed, k, limit, localSearchRounds);
  // Refinement never overloads a part, but a balancing pass that could not finish leaves one for the next level.
}

/** Mirror of the upper limit below the average: refinement must not drain a part to feed its neighbours. */
function minPartWeight(weights: Float64Array, k: number, limit: number): number {
  let total = 0;
  for (let q = 0; q < k; q++) total += weights[q]!;
  const average = total / k;
  return limit > 0 ? (average * average) / limit : 0;
}

function greedyRefine(g: CsrGraph, s: KwayState, fixed: Int32Array, k: number, limit: number, passes: number): void {
  const { part } = s;
  const { n, vwgt } = g;
  const { weights, internal, external } = s;
  const heap = new GainHeap(n);
  const conn = new PartConnectivity(k);
  const visited = new Int32Array(n).fill(-1);
  const minWeight = minPartWeight(weights, k, limit);
  let pops = 0;
  for (let pass = 0; pass < passes; pass++) {
    for (let v = 0; v < n; v++) {
      if (external[v]! > 0 && fixed[v] === FREE) heap.insert(v, external[v]! - internal[v]!);
    }
    let moves = 0;
    let gained = 0;
    while (heap.length > 0) {
      const v = heap.pop();
      pops++;
      // Once looked at, a vertex waits for the next pass: re-scoring a hub after each neighbour's move is quadratic.
      visited[v] = pass;
      const from = part[v]!;
      const vw = vwgt[v]!;
      if (internal[v]! > 0 && weights[from]! - vw < minWeight) continue;
      conn.collect(g, part, v);
      const best = conn.bestWithRoom(weights, from, vw, limit);
      if (best < 0) continue;
      const bestConn = conn.weight[best]!;
      const id = conn.weight[from]!;
      // A positive gain always helps. Zero-gain moves even out the weights, and every other one is taken
      // regardless: sliding a border along a plateau (grids, meshes) is what lets later moves find gains.
      if (bestConn < id || (bestConn === id && weights[best]! + vw >= weights[from]! && pops % 2 === 1)) continue;
      moveVertex(g, s, v, best, bestConn);
      moves++;
      gained += bestConn - id;
      for (let p = g.xadj[v]!; p < g.xadj[v + 1]!; p++) {
        const u = g.adjncy[p]!;
        if (fixed[u] !== FREE || visited[u] === pass) continue;
        if (external[u]! > 0) {
          if (heap.has(u)) heap.update(u, external[u]! - internal[u]!);
          else heap.insert(u, external[u]! - internal[u]!);
        } else if (heap.has(u)) heap.remove(u);
      }
    }
    conn.reset();
    if (moves === 0 || gained === 0) break;
  }
}

/**
 * Moves vertices out of parts heavier than `limit`, each time the move that cuts the least extra traffic: to an
 * adjacent part with room, or else to the lightest part. Stale heap entries are re-scored when popped.
 * Always succeeds when every free vertex is lighter than the slack between the average and the limit.
 */
function balanceKway(g: CsrGraph, s: KwayState, fixed: Int32Array, k: number, limit: number): void {
  const { part, weights, internal } = s;
  const isOver = (): boolean => weights.some((w) => w > limit);
  if (!isOver()) return;
  const { n, vwgt } = g;
  const heap = new GainHeap(n);
  const conn = new PartConnectivity(k);
  const lightest = (): number => {
    let best = 0;
    for (let q = 1; q < k; q++) if (weights[q]! < weights[best]!) best = q;
    return best;
  };
  // best move of v: [target, gain]; target −1 when no part can take it
  const bestMove = (v: number): [number, number] => {
    const from = part[v]!;
    const vw = vwgt[v]!;
    conn.collect(g, part, v);
    let best = -1;
    let bestConn = -1;
    for (let i = 0; i < conn.count; i++) {
      const q = conn.parts[i]!;
      if (q === from || weights[q]! + vw > limit) continue;
      if (conn.weight[q]! > bestConn) {
        best = q;
        bestConn = conn.weight[q]!;
      }
    }
    conn.reset();
    if (best < 0) {
      const l = lightest();
      if (l === from || weights[l]! + vw > limit) return [-1, -Infinity];
      return [l, -internal[v]!];
    }
    return [best, bestConn - internal[v]!];
  };
  for (let round = 0; round < 4 && isOver(); round++) {
    for (let v = 0; v < n; v++) {
      if (fixed[v] !== FREE || weights[part[v]!]! <= limit) continue;
      const [target, gain] = bestMove(v);
      if (target >= 0) heap.insert(v, gain);
    }
    while (heap.length > 0) {
      const key = heap.topGain();
      const v = heap.pop();
      if (weights[part[v]!]! <= limit) continue;
      const [target, gain] = bestMove(v);
      if (target < 0) continue;
      if (gain < key) {
        heap.insert(v, gain);
        continue;
      }
      moveVertex(g, s, v, target, exactConnection(g, part, v, target));
    }
  }
}

function exactConnection(g: CsrGraph, part: Int32Array, v: number, q: number): number {
  let c = 0;
  for (let p = g.xadj[v]!; p < g.xadj[v + 1]!; p++) if (part[g.adjncy[p]!] === q) c += g.adjwgt[p]!;
  return c;
}

/** Final check used by callers: heaviest part weight. */
export function heaviestPart(weights: Float64Array): number {
  let m = 0;
  for (const w of weights) m = Math.max(m, w);
  return m;
}

/** A local search gives up after this many moves without a new best. */
const LOCAL_STALL_LIMIT = 64;
/** Hubs are left to the greedy pass: re-scoring them after every neighbour's move would be quadratic. */
const LOCAL_MAX_DEGREE = 64;

/**
 * Localized k-way Fiduccia–Mattheyses: from each boundary vertex in turn, run a small FM search that may move
 * vertices at a loss (to get over the ridges greedy refinement stops at), grows along the neighbours of what it
 * moved, and is rolled back to its best point. Every vertex is touched at most once per round, so a round costs
 * about one sweep over the boundary. Moves respect the balance limit, so the result stays feasible.
 */
function localizedFm(g: CsrGraph, s: KwayState, fixed: Int32Array, k: number, limit: number, rounds: number): void {
  const { n, xadj, adjncy, vwgt } = g;
  const { part, weights, external } = s;
  const minWeight = minPartWeight(weights, k, limit);
  const heap = new GainHeap(n);
  const conn = new PartConnectivity(k);
  const target = new Int32Array(n);
  const touched = new Int32Array(n).fill(-1);
  const undoVertex: number[] = [];
  const undoPart: number[] = [];

  // Best move of v under the balance limits: sets target[v], returns the gain (−Infinity when none).
  const score = (v: number): number => {
    const from = part[v]!;
    const vw = vwgt[v]!;
    if (weights[from]! - vw < minWeight) return -Infinity;
    conn.collect(g, part, v);
    const best = conn.bestWithRoom(weights, from, vw, limit);
    const gain = best < 0 ? -Infinity : conn.weight[best]! - conn.weight[from]!;
    conn.reset();
    target[v] = best;
    return gain;
  };
  const movable = (v: number, round: number): boolean =>
    fixed[v] === FREE && touched[v] !== round && xadj[v + 1]! - xadj[v]! <= LOCAL_MAX_DEGREE;

  for (let round = 0; round < rounds; round++) {
    let improvement = 0;
    const seeds: number[] = [];
    for (let v = 0; v < n; v++) if (external[v]! > 0) seeds.push(v);
    for (const seed of seeds) {
      if (!movable(seed, round) || external[seed]! <= 0) continue;
      const g0 = score(seed);
      if (g0 === -Infinity) continue;
      heap.insert(seed, g0);
      let current = 0;
      let best = 0;
      let bestLength = 0;
      let sinceBest = 0;
      undoVertex.length = 0;
      undoPart.length = 0;
      while (heap.length > 0 && sinceBest < LOCAL_STALL_LIMIT) {
        const v = heap.pop();
        const gain = score(v);
        const to = target[v]!;
        if (to < 0) continue;
        undoVertex.push(v);
        undoPart.push(part[v]!);
        moveVertex(g, s, v, to, exactConnection(g, part, v, to));
        touched[v] = round;
        current += gain;
        if (current > best) {
          best = current;
          bestLength = undoVertex.length;
          sinceBest = 0;
        } else sinceBest++;
        for (let p = xadj[v]!; p < xadj[v + 1]!; p++) {
          const u = adjncy[p]!;
          if (!movable(u, round)) continue;
          if (external[u]! > 0) {
            const gu = score(u);
            if (gu === -Infinity) {
              if (heap.has(u)) heap.remove(u);
            } else if (heap.has(u)) heap.update(u, gu);
            else heap.insert(u, gu);
          } else if (heap.has(u)) heap.remove(u);
        }
      }
      heap.clear();
      for (let i = undoVertex.length - 1; i >= bestLength; i--) {
        const v = undoVertex[i]!;
        moveVertex(g, s, v, undoPart[i]!, exactConnection(g, part, v, undoPart[i]!));
      }
      improvement += best;
    }
    if (improvement <= 0) break;
  }
}
