import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCsrGraph, edgeCut, partWeights, type CsrGraph } from './csr-graph.js';
import { partitionGraph } from './partitioner.js';

function newGraph(
  n: number,
  edges: readonly (readonly [number, number, number])[],
  vwgt?: readonly number[],
): CsrGraph {
  return buildCsrGraph(
    n,
    Float64Array.from(vwgt ?? new Array<number>(n).fill(1)),
    Int32Array.from(edges.map((e) => e[0])),
    Int32Array.from(edges.map((e) => e[1])),
    Float64Array.from(edges.map((e) => e[2])),
  );
}

function newGrid(w: number, h: number): CsrGraph {
  const edges: [number, number, number][] = [];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      if (x + 1 < w) edges.push([y * w + x, y * w + x + 1, 1]);
      if (y + 1 < h) edges.push([y * w + x, (y + 1) * w + x, 1]);
    }
  return newGraph(w * h, edges);
}

function newClique(offset: number, size: number, weight: number): [number, number, number][] {
  const edges: [number, number, number][] = [];
  for (let i = 0; i < size; i++) for (let j = i + 1; j < size; j++) edges.push([offset + i, offset + j, weight]);
  return edges;
}

/** A random graph whose vertices are light enough that the balance limit can always be met. */
const feasibleGraph = fc
  .record({
    k: fc.integer({ min: 2, max: 6 }),
    imbalance: fc.constantFrom(0.05, 0.1, 0.2),
    extra: fc.integer({ min: 0, max: 200 }),
    seed: fc.integer(),
    edgeSeed: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 20 })), { minLength: 1, maxLength: 600 }),
    weights: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 50 }),
  })
  .map(({ k, imbalance, extra, seed, edgeSeed, weights }) => {
    // avg part weight ≥ n/k ≥ 3/imbalance ≥ the heaviest vertex / imbalance
    const n = Math.ceil((k * 3) / imbalance) + extra;
    const vwgt = Array.from({ length: n }, (_, i) => weights[i % weights.length]!);
    const edges = edgeSeed.map(([a, b, w]) => [a % n, b % n, w] as const);
    return { k, imbalance, seed, graph: newGraph(n, edges, vwgt) };
  });

describe('partitionGraph', () => {
  it('keeps every part within (1 + imbalance) × average and reports the cut it made', () => {
    fc.assert(
      fc.property(feasibleGraph, ({ k, imbalance, seed, graph }) => {
        const result = partitionGraph(graph, { k, imbalance, seed });
        const weights = partWeights(graph, result.part, k);
        const total = weights.reduce((a, b) => a + b, 0);
        expect(result.balanced).toBe(true);
        for (const w of weights) expect(w).toBeLessThanOrEqual((1 + imbalance) * (total / k) + 1e-9);
        for (const p of result.part) expect(p >= 0 && p < k).toBe(true);
        expect(result.cut).toBe(edgeCut(graph, result.part));
      }),
      { numRuns: 40 },
    );
  }, 60_000);

  it('keeps parts under an absolute cap tighter than the imbalance', () => {
    fc.assert(
      fc.property(feasibleGraph, ({ k, imbalance, seed, graph }) => {
        const total = graph.vwgt.reduce((a, b) => a + b, 0);
        const cap = Math.ceil((total / k) * (1 + imbalance / 2));
        const result = partitionGraph(graph, { k, imbalance, seed, maxPartWeight: cap });
        expect(result.balanced).toBe(true);
        for (const w of partWeights(graph, result.part, k)) expect(w).toBeLessThanOrEqual(cap);
      }),
      { numRuns: 30 },
    );
  }, 60_000);

  it('gives the same partition for the same seed', () => {
    fc.assert(
      fc.property(feasibleGraph, ({ k, imbalance, seed, graph }) => {
        const a = partitionGraph(graph, { k, imbalance, seed });
        const b = partitionGraph(graph, { k, imbalance, seed });
        expect(Array.from(b.part)).toEqual(Array.from(a.part));
      }),
      { numRuns: 25 },
    );
  }, 60_000);

  it('never moves a fixed vertex', () => {
    fc.assert(
      fc.property(
        feasibleGraph,
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 8 }),
        ({ k, imbalance, seed, graph }, pins) => {
          const fixed = new Int32Array(graph.n).fill(-1);
          for (const [v, p] of pins) fixed[v % graph.n] = p % k;
          const result = partitionGraph(graph, { k, imbalance, seed, fixed });
          for (let v = 0; v < graph.n; v++) if (fixed[v] !== -1) expect(result.part[v]).toBe(fixed[v]);
        },
      ),
      { numRuns: 30 },
    );
  }, 60_000);

  it('cuts two cliques joined by one edge at that edge', () => {
    const edges = [...newClique(0, 8, 5), ...newClique(8, 8, 5), [3, 12, 1] as [number, number, number]];
    for (let seed = 1; seed <= 5; seed++) {
      const result = partitionGraph(newGraph(16, edges), { k: 2, imbalance: 0.03, seed });
      expect(result.cut).toBe(1);
      expect(new Set(result.part.subarray(0, 8)).size).toBe(1);
    }
  });

  it('cuts a ring into k arcs with k edges', () => {
    const n = 48;
    const ring = newGraph(
      n,
      Array.from({ length: n }, (_, i) => [i, (i + 1) % n, 1] as [number, number, number]),
    );
    for (const k of [2, 3, 4, 6])
      expect(partitionGraph(ring, { k, imbalance: 0.03, seed: 7, attempts: 4 }).cut).toBe(k);
  });

  it('finds the straight cuts of a grid', () => {
    expect(partitionGraph(newGrid(16, 16), { k: 2, imbalance: 0.03, seed: 3, attempts: 8 }).cut).toBe(16);
    expect(partitionGraph(newGrid(12, 12), { k: 4, imbalance: 0.03, seed: 3, attempts: 8 }).cut).toBe(24);
  });

  it('keeps the best of several attempts', () => {
    const grid = newGrid(16, 16);
    const single = partitionGraph(grid, { k: 4, imbalance: 0.03, seed: 5 });
    const several = partitionGraph(grid, { k: 4, imbalance: 0.03, seed: 5, attempts: 6 });
    expect(several.cut).toBeLessThanOrEqual(single.cut);
  });

  it('puts disconnected components in different parts without cutting anything', () => {
    const edges = [...newClique(0, 10, 1), ...newClique(10, 10, 1), ...newClique(20, 10, 1), ...newClique(30, 10, 1)];
    expect(partitionGraph(newGraph(40, edges), { k: 4, imbalance: 0.03, seed: 1 }).cut).toBe(0);
  });
});
