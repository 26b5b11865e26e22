import { MAX_MESHES, type ServiceGraph } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { buildCsrGraph } from './csr-graph.js';
import { MeshError, MeshErrorCode } from './errors.js';
import { meshCountCandidates, splitMeshes } from './mesh-split.js';
import { partitionGraph } from './partitioner.js';

function newServiceGraph(weights: readonly number[], pinned?: string): ServiceGraph {
  return {
    nodes: weights.map((weight, i) => ({
      id: `ns-${i}`,
      weight,
      ...(i === 0 && pinned !== undefined ? { pinned } : {}),
    })),
    edges: weights.slice(1).map((_, i) => ({ source: `ns-${i}`, target: `ns-${i + 1}`, weight: 1 })),
  };
}

function meshErrorOf(run: () => unknown): MeshError {
  try {
    run();
  } catch (err) {
    if (err instanceof MeshError) return err;
    throw err;
  }
  throw new Error('expected a MeshError');
}

describe('infeasible split options are refused before any partitioning', () => {
  it.each([['0%'], ['0.0000000001%'], [0.5], [1e-300]] as const)(
    'maxMeshSize %s, below one node, is INFEASIBLE at options.maxMeshSize',
    (maxMeshSize) => {
      const error = meshErrorOf(() => splitMeshes(newServiceGraph([1, 2, 3]), { maxMeshSize }));
      expect(error.code).toBe(MeshErrorCode.Infeasible);
      expect(error.path).toBe('options.maxMeshSize');
      expect(error.message).toContain('node "ns-2" alone has 3');
    },
  );

  it('refuses more meshes than nodes and a pin beyond the last possible mesh, pointing at the field', () => {
    const tooMany = meshErrorOf(() => splitMeshes(newServiceGraph([1, 1]), { meshes: 3 }));
    expect([tooMany.code, tooMany.path]).toEqual([MeshErrorCode.Infeasible, 'options.meshes']);
    const farPin = meshErrorOf(() =>
      splitMeshes(newServiceGraph([1, 1, 1], `mesh-${'z'.repeat(40)}`), { maxMeshSize: '50%' }),
    );
    expect([farPin.code, farPin.path]).toEqual([MeshErrorCode.Infeasible, 'graph.nodes[0].pinned']);
  });

  it('splits a graph whose units weigh nothing (a share of 0 pods is a cap every unit meets)', () => {
    const result = splitMeshes(newServiceGraph([0, 0, 0]), { maxMeshSize: '25%' });
    expect(result.meshes.map((m) => m.pods)).toEqual([0]);
  });
});

describe('mesh counts tried', () => {
  const options = (maxMeshSize: number | string) => ({ meshPrefix: 'mesh', maxMeshSize });

  it('are at most nine and never more than the nodes, for caps that once made the list endless', () => {
    const graph = newServiceGraph(new Array<number>(50).fill(1));
    for (const cap of [Number.MIN_VALUE, 1e-300, 1, 2, 50]) {
      const candidates = meshCountCandidates(graph, options(cap), 50, cap);
      expect(candidates.length).toBeGreaterThan(0);
      expect(candidates.length).toBeLessThanOrEqual(9);
      expect(Math.max(...candidates)).toBeLessThanOrEqual(50);
    }
    expect(meshCountCandidates(graph, options(10), 50, 10)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13]);
  });

  it(`stop at ${MAX_MESHES} meshes: a cap that needs more is INFEASIBLE`, () => {
    const graph = newServiceGraph(new Array<number>(MAX_MESHES + 1).fill(1));
    const error = meshErrorOf(() => meshCountCandidates(graph, options(1), MAX_MESHES + 1, 1));
    expect([error.code, error.path]).toEqual([MeshErrorCode.Infeasible, 'options.maxMeshSize']);
    const justEnough = meshCountCandidates(graph, options(1.001), MAX_MESHES + 1, 1.001);
    expect(justEnough).toEqual([MAX_MESHES]);
  });
});

describe('partitionGraph options', () => {
  const path = buildCsrGraph(
    4,
    Float64Array.from([1, 1, 1, 1]),
    Int32Array.from([0, 1, 2]),
    Int32Array.from([1, 2, 3]),
    Float64Array.from([1, 1, 1]),
  );

  it('refuses more parts than vertices before allocating anything k long', () => {
    const error = meshErrorOf(() => partitionGraph(path, { k: 2 ** 31 - 1, imbalance: 0.03, seed: 1 }));
    expect(error.code).toBe(MeshErrorCode.Infeasible);
  });

  it('refuses a non-finite imbalance and run counts out of range', () => {
    for (const imbalance of [Number.NaN, Infinity, -1]) {
      expect(meshErrorOf(() => partitionGraph(path, { k: 2, imbalance, seed: 1 })).code).toBe(
        MeshErrorCode.InvalidOptions,
      );
    }
    for (const attempts of [0, 65, 1.5]) {
      expect(meshErrorOf(() => partitionGraph(path, { k: 2, imbalance: 0.03, seed: 1, attempts })).code).toBe(
        MeshErrorCode.InvalidOptions,
      );
    }
    expect(partitionGraph(path, { k: 4, imbalance: 0, seed: 1, attempts: 64 }).balanced).toBe(true);
  });
});
