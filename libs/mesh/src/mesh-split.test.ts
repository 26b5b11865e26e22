import { MeshSplitResult, RevisionName, type ServiceGraph } from '@meshwave/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MeshError, MeshErrorCode } from './errors.js';
import { splitMeshes } from './mesh-split.js';

interface GraphShape {
  readonly graph: ServiceGraph;
  readonly k: number;
}

/**
 * Workloads in namespaces, some in team groups, a few pinned, with random traffic. Pods per workload stay small
 * against the average mesh so that a 10% imbalance is always achievable.
 */
const serviceGraph = fc
  .record({
    k: fc.integer({ min: 2, max: 5 }),
    namespaces: fc.integer({ min: 30, max: 80 }),
    perNamespace: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 20 }),
    pods: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 20 }),
    teamSize: fc.integer({ min: 1, max: 4 }),
    inTeam: fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }),
    pins: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 4 }),
    calls: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.double({ min: 0.1, max: 500, noNaN: true })), { maxLength: 400 }),
  })
  .map(({ k, namespaces, perNamespace, pods, teamSize, inTeam, pins, calls }): GraphShape => {
    const nodes: ServiceGraph['nodes'] = [];
    for (let ns = 0; ns < namespaces; ns++) {
      // teams of up to teamSize neighbouring namespaces, so there are always more units than meshes
      const team = inTeam[ns % inTeam.length] ? Math.floor(ns / teamSize) : undefined;
      for (let w = 0; w < perNamespace[ns % perNamespace.length]!; w++) {
        nodes.push({
          id: `ns-${ns}/app-${w}`,
          namespace: `ns-${ns}`,
          weight: pods[(ns + w) % pods.length]!,
          ...(team === undefined ? {} : { group: `team-${team}` }),
        });
      }
    }
    for (const [node, mesh] of pins) {
      const n = nodes[node % nodes.length]!;
      // Pin whole namespaces (and their group), so pins never contradict each other by construction.
      if (n.group === undefined && !nodes.some((o) => o.namespace === n.namespace && o.pinned !== undefined)) {
        for (const o of nodes)
          if (o.namespace === n.namespace) o.pinned = `mesh-${String.fromCharCode(97 + (mesh % k))}`;
      }
    }
    const edges = calls.map(([a, b, rate]) => ({
      source: nodes[a % nodes.length]!.id,
      target: nodes[b % nodes.length]!.id,
      weight: rate,
    }));
    return { graph: { nodes, edges }, k };
  });

const meshOf = (r: MeshSplitResult, id: string): string => r.assignment[id]!;

describe('splitMeshes', () => {
  it('keeps every mesh within the imbalance, namespaces and groups whole, pinned units where pinned', () => {
    fc.assert(
      fc.property(serviceGraph, fc.integer(), ({ graph, k }, seed) => {
        const result = splitMeshes(graph, { meshes: k, imbalance: 0.1, seed });
        const total = graph.nodes.reduce((s, n) => s + n.weight, 0);
        // Whole groups and namespaces can be heavy; the limit only binds when the heaviest unit fits in the slack.
        expect(result.meshes).toHaveLength(k);
        const byNamespace = new Map<string, string>();
        const byGroup = new Map<string, string>();
        for (const n of graph.nodes) {
          const mesh = meshOf(result, n.id);
          expect(byNamespace.get(n.namespace!) ?? mesh).toBe(mesh);
          byNamespace.set(n.namespace!, mesh);
          if (n.group !== undefined) {
            expect(byGroup.get(n.group) ?? mesh).toBe(mesh);
            byGroup.set(n.group, mesh);
          }
          if (n.pinned !== undefined) expect(mesh).toBe(n.pinned);
        }
        const pods = result.meshes.reduce((s, m) => s + m.pods, 0);
        expect(pods).toBe(total);
        if (result.balance.satisfied) {
          for (const m of result.meshes) expect(m.pods).toBeLessThanOrEqual(1.1 * (total / k) + 1e-9);
        }
        expect(() => MeshSplitResult.parse(result)).not.toThrow();
      }),
      { numRuns: 30 },
    );
  }, 60_000);

  it('meets the balance whenever every unit is light (no groups, no pins)', () => {
    fc.assert(
      fc.property(serviceGraph, fc.integer(), ({ graph, k }, seed) => {
        const nodes = graph.nodes.map(({ id, namespace, weight }) => ({ id, namespace, weight }));
        const result = splitMeshes({ nodes, edges: graph.edges }, { meshes: k, imbalance: 0.25, seed });
        expect(result.balance.satisfied).toBe(true);
        const total = nodes.reduce((s, n) => s + n.weight, 0);
        for (const m of result.meshes) expect(m.pods).toBeLessThanOrEqual(1.25 * (total / k) + 1e-9);
      }),
      { numRuns: 20 },
    );
  }, 60_000);

  it('chooses enough meshes to keep each under the size cap', () => {
    fc.assert(
      fc.property(serviceGraph, fc.constantFrom('20%', '30%', '45%'), fc.integer(), ({ graph }, cap, seed) => {
        const nodes = graph.nodes.map(({ id, namespace, weight }) => ({ id, namespace, weight }));
        const result = splitMeshes({ nodes, edges: graph.edges }, { maxMeshSize: cap, imbalance: 0.3, seed });
        const total = nodes.reduce((s, n) => s + n.weight, 0);
        expect(result.balance.satisfied).toBe(true);
        for (const m of result.meshes) expect(m.podShare).toBeLessThanOrEqual(Number(cap.slice(0, -1)) / 100 + 1e-9);
        expect(result.meshes.length).toBeGreaterThanOrEqual(
          Math.ceil(total / ((Number(cap.slice(0, -1)) / 100) * total)),
        );
      }),
      { numRuns: 20 },
    );
  }, 60_000);

  it('gives the same split for the same seed', () => {
    fc.assert(
      fc.property(serviceGraph, fc.integer(), ({ graph, k }, seed) => {
        expect(splitMeshes(graph, { meshes: k, seed })).toEqual(splitMeshes(graph, { meshes: k, seed }));
      }),
      { numRuns: 10 },
    );
  }, 60_000);

  it('reports the cross-mesh edges, their traffic and the blast radius', () => {
    const graph: ServiceGraph = {
      nodes: ['a', 'b', 'c', 'd'].map((id) => ({ id, weight: 10 })),
      edges: [
        { source: 'a', target: 'b', weight: 100 },
        { source: 'c', target: 'd', weight: 100 },
        { source: 'b', target: 'c', weight: 5 },
      ],
    };
    const result = splitMeshes(graph, { meshes: 2, revision: '1-25-2' });
    expect(result.cut).toEqual({ traffic: 5, share: 5 / 205 });
    expect(result.crossMeshEdges).toEqual([
      { source: 'b', target: 'c', sourceMesh: meshOf(result, 'b'), targetMesh: meshOf(result, 'c'), traffic: 5 },
    ]);
    expect(meshOf(result, 'a')).toBe(meshOf(result, 'b'));
    expect(meshOf(result, 'b')).not.toBe(meshOf(result, 'c'));
    expect(result.blastRadius.largestPodShare).toBe(0.5);
    expect(result.blastRadius.largestTrafficShare).toBeCloseTo(105 / 205);
    expect(result.meshes.map((m) => m.revision)).toEqual(['mesh-a-1-25-2', 'mesh-b-1-25-2']);
  });

  it('generates a revision, discovery selectors and namespace label patches per mesh', () => {
    const graph: ServiceGraph = {
      nodes: [
        { id: 'shop/web', namespace: 'shop', weight: 4 },
        { id: 'shop/cart', namespace: 'shop', weight: 2 },
        { id: 'billing', weight: 6 },
      ],
      edges: [],
    };
    const result = splitMeshes(graph, { meshes: 2, revision: '1-25-2', meshPrefix: 'blue' });
    const shopMesh = meshOf(result, 'shop/web');
    expect(meshOf(result, 'shop/cart')).toBe(shopMesh);
    const istio = result.istio.find((c) => c.mesh === shopMesh)!;
    expect(istio.revision).toBe(`${shopMesh}-1-25-2`);
    expect(RevisionName.safeParse(istio.revision).success).toBe(true);
    expect(istio.istioOperator).toMatchObject({
      kind: 'IstioOperator',
      spec: {
        revision: istio.revision,
        meshConfig: { discoverySelectors: [{ matchLabels: { 'meshwave.io/mesh': shopMesh } }, expect.anything()] },
      },
    });
    expect(istio.namespaceLabelPatches).toEqual([
      {
        namespace: 'shop',
        patchType: 'application/merge-patch+json',
        patch: {
          metadata: {
            labels: { 'meshwave.io/mesh': shopMesh, 'istio.io/rev': istio.revision, 'istio-injection': null },
          },
        },
      },
    ]);
  });

  it('keeps units with the same groupBy label value together', () => {
    const nodes = Array.from({ length: 40 }, (_, i) => ({ id: `s${i}`, weight: 1, labels: { team: `t${i % 4}` } }));
    const edges = nodes.slice(1).map((n, i) => ({ source: nodes[i]!.id, target: n.id, weight: 1 }));
    const result = splitMeshes({ nodes, edges }, { meshes: 4, groupBy: 'team' });
    for (const n of nodes) expect(meshOf(result, n.id)).toBe(meshOf(result, `s${Number(n.labels.team.slice(1))}`));
  });

  it('refuses constraints that cannot hold', () => {
    const heavy: ServiceGraph = {
      nodes: [
        { id: 'a', weight: 90 },
        { id: 'b', weight: 10 },
      ],
      edges: [],
    };
    expect(() => splitMeshes(heavy, { maxMeshSize: '50%' })).toThrow(
      expect.objectContaining({ code: MeshErrorCode.Infeasible }),
    );
    const conflicting: ServiceGraph = {
      nodes: [
        { id: 'x/a', namespace: 'x', weight: 1, pinned: 'mesh-a' },
        { id: 'x/b', namespace: 'x', weight: 1, pinned: 'mesh-b' },
        { id: 'y', weight: 1 },
      ],
      edges: [],
    };
    expect(() => splitMeshes(conflicting, { meshes: 2 })).toThrow(MeshError);
    const longRevision = { nodes: [{ id: 'a' }, { id: 'b' }], edges: [] };
    expect(() => splitMeshes(longRevision, { meshes: 2, revision: 'r'.repeat(60) })).toThrow(
      expect.objectContaining({ code: MeshErrorCode.InvalidOptions }),
    );
    expect(() => splitMeshes({ nodes: [{ id: 'a' }], edges: [{ source: 'a', target: 'z' }] }, { meshes: 1 })).toThrow(
      expect.objectContaining({ code: MeshErrorCode.InvalidGraph }),
    );
  });
});

describe('splitting by a size cap alone', () => {
  // Twelve namespaces, two of them a team: 11 units. Tight integer weights make the 3% imbalance unreachable at
  // every mesh count the cap allows, so the search runs past the number of units.
  const graph: ServiceGraph = {
    nodes: [14, 10, 12, 16, 18, 12, 12, 14, 8, 6, 16, 12].map((weight, i) => ({
      id: `ns-${i}`,
      weight,
      ...(i < 2 ? { group: 'team-pay' } : {}),
    })),
    edges: [],
  };

  it('Given no count asked for, When no mesh count balances, Then it answers the fewest meshes under the cap, not "12 meshes requested"', () => {
    const result = splitMeshes(graph, { maxMeshSize: '25%' });
    expect(result.balance.satisfied).toBe(false);
    expect(result.meshes.length).toBeLessThanOrEqual(11);
    for (const mesh of result.meshes) expect(mesh.pods).toBeLessThanOrEqual(150 * 0.25);
  });

  it('Given a count above the units, Then it is still refused, naming options.meshes', () => {
    expect(() => splitMeshes(graph, { meshes: 12 })).toThrow(MeshError);
    try {
      splitMeshes(graph, { meshes: 12 });
    } catch (err) {
      expect(err).toMatchObject({ code: MeshErrorCode.Infeasible });
    }
  });
});
