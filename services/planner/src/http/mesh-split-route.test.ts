import { describe, expect, it } from 'vitest';
import { HttpError } from './http-errors.js';
import { splitMeshesOrExplain } from './mesh-split-route.js';

const twoCliques = {
  nodes: ['a1', 'a2', 'a3', 'b1', 'b2', 'b3'].map((id) => ({ id, weight: 1 })),
  edges: [
    ['a1', 'a2'],
    ['a2', 'a3'],
    ['a1', 'a3'],
    ['b1', 'b2'],
    ['b2', 'b3'],
    ['b1', 'b3'],
    ['a3', 'b1'],
  ].map(([source, target]) => ({ source: source!, target: target!, weight: source![0] === target![0] ? 10 : 1 })),
};

describe('POST /v1/meshes/split', () => {
  it('returns the split: two cliques go to two meshes and only their bridge crosses', () => {
    const result = splitMeshesOrExplain(twoCliques, { meshes: 2, revision: '1-25-2' });
    const meshOf = new Map(Object.entries(result.assignment));
    expect(meshOf.get('a1')).toBe(meshOf.get('a3'));
    expect(meshOf.get('b1')).toBe(meshOf.get('b3'));
    expect(meshOf.get('a1')).not.toBe(meshOf.get('b1'));
    expect(result.crossMeshEdges).toHaveLength(1);
  });

  it('answers 422 when the constraints cannot hold and 400 for a malformed graph', () => {
    const infeasible = (): unknown => splitMeshesOrExplain(twoCliques, { meshes: 7 });
    expect(infeasible).toThrow(HttpError);
    try {
      infeasible();
    } catch (e) {
      expect((e as HttpError).statusCode).toBe(422);
    }
    try {
      splitMeshesOrExplain({ nodes: [] }, { meshes: 2 });
      expect.unreachable();
    } catch (e) {
      expect((e as HttpError).statusCode).toBe(400);
    }
  });
});
