import { FREE, coarsen, projectPartition } from './coarsening.js';
import { inducedSubgraph, totalVertexWeight, type CsrGraph } from './csr-graph.js';
import { GainHeap } from './gain-heap.js';
import type { SeededRandom } from './random.js';

/** Coarsest size of a bisection's own multilevel hierarchy. */
const BISECTION_COARSEN_TO = 40;
/** Graph-growing starts tried on the coarsest graph of each bisection; the best cut wins. */
const GROWING_TRIES = 4;
const FM_PASSES = 10;

/** Limits of a two-way split: side s may weigh at most maxWeight[s]; target[s] is its ideal weight. */
interface BisectionBalance {
  readonly target: readonly [number, number];
  readonly maxWeight: readonly [number, number];
}

/**
 * Splits a graph in two, side 0 getting about `fraction0` of the weight, by a multilevel scheme of its own:
 * coarsen, grow several candidate halves on the coarsest graph, keep the best, refine with Fiduccia–Mattheyses
 * on every level back up. `fixedSide[v]` is 0 or 1 for vertices that must be on that side, FREE otherwise.
 */
export function multilevelBisect(
  g: CsrGraph,
  fixedSide: Int32Array,
  fraction0: number,
  imbalance: number,
  rng: SeededRandom,
): Int32Array {
  const total = totalVertexWeight(g);
  const balance = bisectionBalance(total, total * fraction0, imbalance);
  const hierarchy = coarsen(g, fixedSide, BISECTION_COARSEN_TO, (1.5 * total) / BISECTION_COARSEN_TO, rng);
  const levels = hierarchy.graphs.length;
  const coarsest = hierarchy.graphs[levels - 1]!;
  let side = initialBisection(coarsest, hierarchy.fixed[levels - 1]!, balance, rng);
  for (let level = levels - 2; level >= 0; level--) {
    side = projectPartition(side, hierarchy.cmaps[level]!);
    refineBisection(hierarchy.graphs[level]!, side, hierarchy.fixed[level]!, balance);
  }
  return side;
}

/** Side 0 ideally weighs t0 (the caller's own arithmetic, kept bit for bit), side 1 the rest. */
function bisectionBalance(total: number, t0: number, imbalance: number): BisectionBalance {
  return { target: [t0, total - t0], maxWeight: [t0 * (1 + imbalance), (total - t0) * (1 + imbalance)] };
}

function initialBisection(
  g: CsrGraph,
  fixedSide: Int32Array,
  balance: BisectionBalance,
  rng: SeededRandom,
): Int32Array {
  let best: Int32Array | undefined;
  let bestScore: BisectionScore | undefined;
  for (let t = 0; t < GROWING_TRIES; t++) {
    const side = growBisection(g, fixedSide, balance, rng);
    refineBisection(g, side, fixedSide, balance);
    const score = scoreBisection(g, side, balance);
    if (bestScore === undefined || betterScore(score, bestScore)) {
      best = side;
      bestScore = score;
    }
  }
  return best!;
}

interface BisectionScore {
  readonly overweight: number;
  readonly cut: number;
}

function scoreBisection(g: CsrGraph, side: Int32Array, balance: BisectionBalance): BisectionScore {
  const w = [0, 0];
  let cut = 0;
  for (let v = 0; v < g.n; v++) {
    const s = side[v]!;
    w[s]! += g.vwgt[v]!;
    for (let p = g.xadj[v]!; p < g.xadj[v + 1]!; p++) {
      if (side[g.adjncy[p]!]! !== s) cut += g.adjwgt[p]!;
    }
  }
  const overweight = Math.max(0, w[0]! - balance.maxWeight[0]) + Math.max(0, w[1]! - balance.maxWeight[1]);
  return { overweight, cut: cut / 2 };
}

function betterScore(a: BisectionScore, b: BisectionScore): boolean {
  if (a.overweight !== b.overweight) return a.overweight < b.overweight;
  return a.cut < b.cut;
}

/**
 * Greedy graph growing: start side 0 from a random vertex (plus the vertices fixed to it) and keep adding the
 * boundary vertex whose move cuts the least traffic, until side 0 reaches its target weight.
 */
function growBisection(g: CsrGraph, fixedSide: Int32Array, balance: BisectionBalance, rng: SeededRandom): Int32Array {
  const { n, xadj, adjncy, adjwgt, vwgt } = g;
  const side = new Int32Array(n).fill(1);
  const heap = new GainHeap(n);
  // gain of moving v into side 0 = (weight to side 0) − (weight to side 1)
  const gain = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    let s = 0;
    for (let p = xadj[v]!; p < xadj[v + 1]!; p++) s += adjwgt[p]!;
    gain[v] = -s;
  }
  let w0 = 0;
  const moveToZero = (v: number): void => {
    side[v] = 0;
    w0 += vwgt[v]!;
    for (let p = xadj[v]!; p < xadj[v + 1]!; p++) {
      const u = adjncy[p]!;
      gain[u] = gain[u]! + 2 * adjwgt[p]!;
      if (side[u] === 1 && fixedSide[u] === FREE) {
        if (heap.has(u)) heap.update(u, gain[u]!);
        else heap.insert(u, gain[u]!);
      }
    }
  };
  for (let v = 0; v < n; v++) if (fixedSide[v] === 0) moveToZero(v);
  const free: number[] = [];
  for (let v = 0; v < n; v++) if (fixedSide[v] === FREE) free.push(v);
  const target = balance.target[0];
  while (w0 < target) {
    let v = -1;
    while (heap.length > 0) {
      const top = heap.pop();
      if (w0 + vwgt[top]! <= balance.maxWeight[0]) {
        v = top;
        break;
      }
    }
    if (v < 0) {
      // The grown region has no more reachable boundary (disconnected graph): jump to a random free vertex.
      const candidates = free.filter((u) => side[u] === 1 && w0 + vwgt[u]! <= balance.maxWeight[0]);
      if (candidates.length === 0) break;
      v = candidates[rng.nextInt(candidates.length)]!;
    }
    moveToZero(v);
  }
  return side;
}

/**
 * A two-way split under refinement: the sides, their weights, the cut, and each vertex's internal (same side) and
 * external (other side) edge weight, all kept current as vertices flip.
 */
class TwoWayState {
  readonly weight = [0, 0];
  cut = 0;
  readonly internal: Float64Array;
  readonly external: Float64Array;

  constructor(
    readonly g: CsrGraph,
    readonly side: Int32Array,
    readonly balance: BisectionBalance,
  ) {
    const { n, xadj, adjncy, adjwgt, vwgt } = g;
    this.internal = new Float64Array(n);
    this.external = new Float64Array(n);
    let cut = 0;
    for (let v = 0; v < n; v++) {
      const s = side[v]!;
      this.weight[s]! += vwgt[v]!;
      let id = 0;
      let ed = 0;
      for (let p = xadj[v]!; p < xadj[v + 1]!; p++) {
        if (side[adjncy[p]!] === s) id += adjwgt[p]!;
        else ed += adjwgt[p]!;
      }
      this.internal[v] = id;
      this.external[v] = ed;
      cut += ed;
    }
    this.cut = cut / 2;
  }

  /** Weight over the limits, both sides together; 0 when balanced. */
  overweight(): number {
    const { weight: w, balance } = this;
    return Math.max(0, w[0]! - balance.maxWeight[0]) + Math.max(0, w[1]! - balance.maxWeight[1]);
  }

  /** Distance of side 0 from its ideal weight: the tie-breaker between states of equal cut. */
  deviation(): number {
    return Math.abs(this.weight[0]! - this.balance.target[0]);
  }

  /** Gain of moving v to the other side: the cut it removes. */
  gain(v: number): number {
    return this.external[v]! - this.internal[v]!;
  }

  flip(v: number): void {
    const { side, weight: w, internal, external } = this;
    const { xadj, adjncy, adjwgt, vwgt } = this.g;
    const from = side[v]!;
    const to = 1 - from;
    side[v] = to;
    w[from]! -= vwgt[v]!;
    w[to]! += vwgt[v]!;
    this.cut -= external[v]! - internal[v]!;
    const t = internal[v]!;
    internal[v] = external[v]!;
    external[v] = t;
    for (let p = xadj[v]!; p < xadj[v + 1]!; p++) {
      const u = adjncy[p]!;
      const ew = adjwgt[p]!;
      if (side[u] === to) {
        internal[u] = internal[u]! + ew;
        external[u] = external[u]! - ew;
      } else {
        internal[u] = internal[u]! - ew;
        external[u] = external[u]! + ew;
      }
    }
  }
}

/** Buffers one refinement reuses across its passes. */
interface FmScratch {
  readonly heaps: readonly [GainHeap, GainHeap];
  readonly locked: Uint8Array;
  readonly moves: Int32Array;
  readonly stallLimit: number;
}

/**
 * Boundary Fiduccia–Mattheyses for two sides: move the best-gain vertex (even at a loss, to climb out of local
 * minima), lock it, and at the end of a pass roll back to the best state seen. Balance first: a state within
 * the weight limits always beats one outside them.
 */
export function refineBisection(g: CsrGraph, side: Int32Array, fixedSide: Int32Array, balance: BisectionBalance): void {
  const n = g.n;
  const state = new TwoWayState(g, side, balance);
  const scratch: FmScratch = {
    heaps: [new GainHeap(n), new GainHeap(n)],
    locked: new Uint8Array(n),
    moves: new Int32Array(n),
    stallLimit: Math.min(Math.max(Math.floor(0.01 * n), 25), 150),
  };
  for (let pass = 0; pass < FM_PASSES; pass++) {
    if (fmPass(state, fixedSide, scratch) === 0) break;
  }
}

/** One FM pass; returns how many of its moves it kept (0: the pass found nothing better). */
function fmPass(state: TwoWayState, fixedSide: Int32Array, scratch: FmScratch): number {
  const { heaps, locked, moves, stallLimit } = scratch;
  const { n, xadj, adjncy } = state.g;
  const { side, external } = state;
  const unbalanced = state.overweight() > 0;
  for (let v = 0; v < n; v++) {
    // An unbalanced pass may need interior vertices too; otherwise only boundary moves can help the cut.
    if (fixedSide[v] === FREE && (unbalanced || external[v]! > 0)) heaps[side[v]!]!.insert(v, state.gain(v));
  }
  let moveCount = 0;
  let bestMoves = 0;
  let bestCut = state.cut;
  let bestOver = state.overweight();
  let bestDev = state.deviation();
  let sinceBest = 0;
  while (sinceBest < stallLimit) {
    const from = sideToMoveFrom(state, heaps);
    if (from === undefined) break;
    const heap = heaps[from];
    if (heap.length === 0) break;
    const v = heap.pop();
    state.flip(v);
    locked[v] = 1;
    moves[moveCount++] = v;
    for (let p = xadj[v]!; p < xadj[v + 1]!; p++) {
      const u = adjncy[p]!;
      if (locked[u] || fixedSide[u] !== FREE) continue;
      const h = heaps[side[u]!]!;
      if (external[u]! > 0 || unbalanced) {
        if (h.has(u)) h.update(u, state.gain(u));
        else h.insert(u, state.gain(u));
      } else if (h.has(u)) h.remove(u);
    }
    const over = state.overweight();
    const dev = state.deviation();
    const cut = state.cut;
    if (over < bestOver || (over === bestOver && (cut < bestCut || (cut === bestCut && dev < bestDev)))) {
      bestOver = over;
      bestCut = cut;
      bestDev = dev;
      bestMoves = moveCount;
      sinceBest = 0;
    } else sinceBest++;
  }
  for (let i = moveCount - 1; i >= bestMoves; i--) state.flip(moves[i]!);
  for (let i = 0; i < moveCount; i++) locked[moves[i]!] = 0;
  heaps[0].clear();
  heaps[1].clear();
  return bestMoves;
}

/**
 * The side the next move leaves: an overweight side first; otherwise the side whose best move gains more and
 * keeps the other side within its limit; undefined when no move fits.
 */
function sideToMoveFrom(state: TwoWayState, heaps: readonly [GainHeap, GainHeap]): 0 | 1 | undefined {
  const { weight: w, balance } = state;
  const vwgt = state.g.vwgt;
  if (w[0]! > balance.maxWeight[0]) return 0;
  if (w[1]! > balance.maxWeight[1]) return 1;
  const ok0 = heaps[0].length > 0 && w[1]! + vwgt[heaps[0].topVertex()]! <= balance.maxWeight[1];
  const ok1 = heaps[1].length > 0 && w[0]! + vwgt[heaps[1].topVertex()]! <= balance.maxWeight[0];
  if (ok0 && ok1) return heaps[0].topGain() >= heaps[1].topGain() ? 0 : 1;
  if (ok0) return 0;
  if (ok1) return 1;
  return undefined;
}

/**
 * Initial k-way partition by recursive bisection: split the parts [lo, lo+count) in two halves of
 * floor(count/2) and ceil(count/2) parts, with the weight split in the same proportion, and recurse.
 * `fixed[v]` is the final part of a pinned vertex; each bisection keeps it on the side that contains its part.
 */
export function recursiveBisection(
  g: CsrGraph,
  k: number,
  fixed: Int32Array,
  imbalance: number,
  rng: SeededRandom,
  bisectionTries = 1,
): Int32Array {
  const part = new Int32Array(g.n);
  // Spread the allowed imbalance over the log2(k) bisection levels, as METIS does.
  const levelImbalance = Math.pow(1 + imbalance, 1 / Math.max(1, Math.ceil(Math.log2(k)))) - 1;
  const ids = new Int32Array(g.n);
  for (let v = 0; v < g.n; v++) ids[v] = v;
  split(g, ids, fixed, 0, k);
  return part;

  function split(sub: CsrGraph, subIds: Int32Array, subFixed: Int32Array, lo: number, count: number): void {
    if (count === 1 || sub.n === 0) {
      for (let i = 0; i < sub.n; i++) part[subIds[i]!] = lo;
      return;
    }
    const left = Math.floor(count / 2);
    const fixedSide = new Int32Array(sub.n);
    for (let v = 0; v < sub.n; v++) {
      const f = subFixed[v]!;
      fixedSide[v] = f === FREE ? FREE : f < lo + left ? 0 : 1;
    }
    // Best of several multilevel bisections at every split (as METIS's ncuts does inside its initial
    // partitioning): choosing per split beats choosing among whole recursive bisections.
    let side = multilevelBisect(sub, fixedSide, left / count, levelImbalance, rng);
    if (bisectionTries > 1) {
      const total = totalVertexWeight(sub);
      const balance = bisectionBalance(total, (total * left) / count, levelImbalance);
      let bestScore = scoreBisection(sub, side, balance);
      for (let t = 1; t < bisectionTries; t++) {
        const candidate = multilevelBisect(sub, fixedSide, left / count, levelImbalance, rng);
        const score = scoreBisection(sub, candidate, balance);
        if (betterScore(score, bestScore)) {
          side = candidate;
          bestScore = score;
        }
      }
    }
    const scratch = new Int32Array(sub.n).fill(-1);
    for (const s of [0, 1]) {
      let size = 0;
      for (let v = 0; v < sub.n; v++) if (side[v] === s) size++;
      const members = new Int32Array(size);
      let i = 0;
      for (let v = 0; v < sub.n; v++) if (side[v] === s) members[i++] = v;
      const child = inducedSubgraph(sub, members, scratch);
      const childIds = new Int32Array(size);
      const childFixed = new Int32Array(size);
      for (let j = 0; j < size; j++) {
        childIds[j] = subIds[members[j]!]!;
        childFixed[j] = subFixed[members[j]!]!;
      }
      split(child, childIds, childFixed, s === 0 ? lo : lo + left, s === 0 ? left : count - left);
    }
  }
}
