import { recursiveBisection } from './bisection.js';
import { FREE, coarsen, projectPartition } from './coarsening.js';
import { edgeCut, partWeights, totalVertexWeight, type CsrGraph } from './csr-graph.js';
import { MeshError, MeshErrorCode } from './errors.js';
import { refineKway } from './kway-refinement.js';
import { SeededRandom } from './random.js';

export interface PartitionOptions {
  /** number of parts */
  readonly k: number;
  /** allowed imbalance: a part may weigh at most (1 + imbalance) × average; 0.03 = 3% */
  readonly imbalance: number;
  /** absolute cap on a part's weight (the blast-radius cap), applied on top of the imbalance */
  readonly maxPartWeight?: number;
  /** `fixed[v]` is the part vertex v must be in, or −1 */
  readonly fixed?: Int32Array;
  readonly seed: number;
  /** independent initial partitions of the coarsest graph; the best is refined */
  readonly initialTries?: number;
  /** independent multilevel runs (different random streams); the best result is kept. Default 1. */
  readonly attempts?: number;
}

export interface Partition {
  readonly part: Int32Array;
  readonly cut: number;
  readonly weights: Float64Array;
  /** the heaviest a part may be */
  readonly limit: number;
  readonly balanced: boolean;
}

const REFINE_PASSES = 10;
/** Multilevel bisections tried at every split of the initial recursive bisection; the best is kept. */
const BISECTION_TRIES = 4;
/** Rounds of localized FM after the greedy pass on every level (hill-climbing past what greedy stops at). */
const LOCAL_SEARCH_ROUNDS = 2;

/**
 * Multilevel k-way partitioning (the METIS scheme): coarsen by heavy-edge matching down to a few dozen vertices
 * per part, partition the coarsest graph by recursive bisection (best of several bisections per split), then
 * project back level by level, balancing, then refining with greedy boundary moves and a round of localized
 * k-way FM, always under the balance limit. Deterministic for a seed. See docs/adr/0006-mesh-partitioning.md.
 */
export function partitionGraph(g: CsrGraph, options: PartitionOptions): Partition {
  const { k, imbalance, seed } = options;
  checkOptions(g, options);
  const fixed = options.fixed ?? new Int32Array(g.n).fill(FREE);
  for (let v = 0; v < g.n; v++) {
    const f = fixed[v]!;
    if (f !== FREE && (f < 0 || f >= k)) {
      throw new MeshError(
        MeshErrorCode.Infeasible,
        `vertex ${v} is fixed to part ${f}, but there are only ${k} parts`,
        { vertex: v, part: f },
      );
    }
  }
  const total = totalVertexWeight(g);
  const limit = Math.min((1 + imbalance) * (total / k), options.maxPartWeight ?? Infinity);
  const rng = new SeededRandom(seed);
  let best: Partition | undefined;
  for (let attempt = 0; attempt < (options.attempts ?? 1); attempt++) {
    const part =
      k === 1 || g.n === 0
        ? new Int32Array(g.n)
        : multilevelPartition(g, fixed, k, imbalance, limit, total, options, rng.fork());
    const weights = partWeights(g, part, k);
    let heaviest = 0;
    for (const w of weights) heaviest = Math.max(heaviest, w);
    const candidate = { part, cut: edgeCut(g, part), weights, limit, balanced: heaviest <= limit * (1 + 1e-12) };
    if (
      best === undefined ||
      (candidate.balanced && !best.balanced) ||
      (candidate.balanced === best.balanced && candidate.cut < best.cut)
    ) {
      best = candidate;
    }
    if (k === 1 || g.n === 0) break;
  }
  return best!;
}

/** Most independent runs a caller may ask for (`attempts`, `initialTries`): each costs a whole partitioning. */
export const MAX_PARTITION_RUNS = 64;

/**
 * Refuses options no partition can honour before any work: more parts than vertices (every part-indexed array
 * is k long, so a huge k alone would exhaust memory), a non-finite or negative imbalance, run counts out of range.
 */
function checkOptions(g: CsrGraph, options: PartitionOptions): void {
  const { k, imbalance } = options;
  const invalid = (message: string, context: Record<string, unknown>): MeshError =>
    new MeshError(MeshErrorCode.InvalidOptions, message, context);
  if (!Number.isInteger(k) || k < 1) throw invalid(`k must be a positive integer, got ${k}`, { k });
  if (k > Math.max(1, g.n))
    throw new MeshError(MeshErrorCode.Infeasible, `${k} parts requested but the graph has only ${g.n} vertices`, {
      k,
      vertices: g.n,
    });
  if (!Number.isFinite(imbalance) || imbalance < 0)
    throw invalid(`imbalance must be a finite number ≥ 0, got ${imbalance}`, { imbalance });
  for (const [name, runs] of [
    ['attempts', options.attempts],
    ['initialTries', options.initialTries],
  ] as const) {
    if (runs !== undefined && (!Number.isInteger(runs) || runs < 1 || runs > MAX_PARTITION_RUNS))
      throw invalid(`${name} must be an integer from 1 to ${MAX_PARTITION_RUNS}, got ${runs}`, { [name]: runs });
  }
}

function multilevelPartition(
  g: CsrGraph,
  fixed: Int32Array,
  k: number,
  imbalance: number,
  limit: number,
  total: number,
  options: PartitionOptions,
  rng: SeededRandom,
): Int32Array {
  // Coarsest size as in METIS: a few dozen vertices per part, fewer per part as k grows.
  const coarsenTo = Math.max(Math.floor(g.n / (40 * Math.log2(k))), 30 * k);
  const hierarchy = coarsen(g, fixed, coarsenTo, (1.5 * total) / coarsenTo, rng.fork());
  const levels = hierarchy.graphs.length;
  const coarsest = hierarchy.graphs[levels - 1]!;
  const coarsestFixed = hierarchy.fixed[levels - 1]!;
  let part = bestInitialPartition(coarsest, coarsestFixed, k, imbalance, limit, options.initialTries ?? 1, rng);
  for (let level = levels - 2; level >= 0; level--) {
    part = projectPartition(part, hierarchy.cmaps[level]!);
    refineKway(hierarchy.graphs[level]!, part, hierarchy.fixed[level]!, k, limit, REFINE_PASSES, LOCAL_SEARCH_ROUNDS);
  }
  return part;
}

function bestInitialPartition(
  g: CsrGraph,
  fixed: Int32Array,
  k: number,
  imbalance: number,
  limit: number,
  tries: number,
  rng: SeededRandom,
): Int32Array {
  let best: Int32Array | undefined;
  let bestOver = Infinity;
  let bestCut = Infinity;
  for (let t = 0; t < tries; t++) {
    const part = recursiveBisection(g, k, fixed, imbalance, rng.fork(), BISECTION_TRIES);
    refineKway(g, part, fixed, k, limit, REFINE_PASSES, LOCAL_SEARCH_ROUNDS);
    let over = 0;
    for (const w of partWeights(g, part, k)) over += Math.max(0, w - limit);
    const cut = edgeCut(g, part);
    if (over < bestOver || (over === bestOver && cut < bestCut)) {
      best = part;
      bestOver = over;
      bestCut = cut;
    }
  }
  return best!;
}
