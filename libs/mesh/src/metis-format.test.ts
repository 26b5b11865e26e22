import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCsrGraph } from './csr-graph.js';
import { MeshErrorCode } from './errors.js';
import { parseMetisGraph, writeMetisGraph } from './metis-format.js';

const neighbours = (g: ReturnType<typeof parseMetisGraph>, v: number): [number, number][] => {
  const out: [number, number][] = [];
  for (let p = g.xadj[v]!; p < g.xadj[v + 1]!; p++) out.push([g.adjncy[p]!, g.adjwgt[p]!]);
  return out.sort((a, b) => a[0] - b[0]);
};

describe('METIS .graph format', () => {
  it('reads an unweighted graph (fmt absent or 0), skipping comments', () => {
    const g = parseMetisGraph('% a triangle and a pendant\n4 4\n2 3\n1 3 4\n1 2\n2\n');
    expect(g.n).toBe(4);
    expect(Array.from(g.vwgt)).toEqual([1, 1, 1, 1]);
    expect(neighbours(g, 1)).toEqual([
      [0, 1],
      [2, 1],
      [3, 1],
    ]);
    expect(parseMetisGraph('4 4 0\n2 3\n1 3 4\n1 2\n2\n').adjncy.length).toBe(8);
  });

  it('reads edge weights (fmt 1 and 001), vertex weights (10) and both (11)', () => {
    const edgeWeighted = '3 2 1\n2 5\n1 5 3 7\n2 7\n';
    expect(neighbours(parseMetisGraph(edgeWeighted), 1)).toEqual([
      [0, 5],
      [2, 7],
    ]);
    expect(neighbours(parseMetisGraph(edgeWeighted.replace(' 1\n', ' 001\n')), 1)).toEqual([
      [0, 5],
      [2, 7],
    ]);
    expect(Array.from(parseMetisGraph('3 2 10\n4 2\n6 1 3\n8 2\n').vwgt)).toEqual([4, 6, 8]);
    const both = parseMetisGraph('3 2 11\n4 2 5\n6 1 5 3 7\n8 2 7\n');
    expect(Array.from(both.vwgt)).toEqual([4, 6, 8]);
    expect(neighbours(both, 2)).toEqual([[1, 7]]);
  });

  it('skips vertex sizes (fmt 100 and 111)', () => {
    const g = parseMetisGraph('2 1 111\n9 4 2 3\n9 6 1 3\n');
    expect(Array.from(g.vwgt)).toEqual([4, 6]);
    expect(neighbours(g, 0)).toEqual([[1, 3]]);
  });

  it('keeps vertices without neighbours (empty lines)', () => {
    const g = parseMetisGraph('3 1\n2\n1\n\n');
    expect(g.n).toBe(3);
    expect(neighbours(g, 2)).toEqual([]);
  });

  it('says which line is wrong', () => {
    const bad = (text: string): unknown => {
      try {
        parseMetisGraph(text);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    expect(bad('2 1\n2\n3\n')).toMatchObject({ code: MeshErrorCode.InvalidGraph, context: { line: 3 } });
    expect(bad('2 2\n2\n1\n')).toMatchObject({ code: MeshErrorCode.InvalidGraph });
    expect(bad('2 1 1\n2\n1 1\n')).toMatchObject({ code: MeshErrorCode.InvalidGraph, context: { line: 2 } });
    expect(bad('2 1 0 3\n2\n1\n')).toMatchObject({ code: MeshErrorCode.InvalidGraph, context: { line: 1 } });
    expect(bad('x y\n')).toMatchObject({ code: MeshErrorCode.InvalidGraph });
  });

  it('writes what it reads', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 9 })), { maxLength: 80 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 30 }),
        (n, edges, weights) => {
          const g = buildCsrGraph(
            n,
            Float64Array.from({ length: n }, (_, i) => weights[i % weights.length]!),
            Int32Array.from(edges.map((e) => e[0] % n)),
            Int32Array.from(edges.map((e) => e[1] % n)),
            Float64Array.from(edges.map((e) => e[2])),
          );
          const back = parseMetisGraph(writeMetisGraph(g));
          expect(Array.from(back.vwgt)).toEqual(Array.from(g.vwgt));
          for (let v = 0; v < n; v++) expect(neighbours(back, v)).toEqual(neighbours(g, v));
        },
      ),
    );
  });

  it('refuses fractional weights, which METIS cannot read', () => {
    const g = buildCsrGraph(
      2,
      Float64Array.from([1, 1]),
      Int32Array.from([0]),
      Int32Array.from([1]),
      Float64Array.from([0.5]),
    );
    expect(() => writeMetisGraph(g)).toThrow(expect.objectContaining({ code: MeshErrorCode.InvalidGraph }));
  });
});
