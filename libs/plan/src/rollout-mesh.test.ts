import { describe, expect, it } from 'vitest';
import {
  Inventory,
  MESH_LABEL,
  PlanProblemCode,
  RolloutSpec,
  type InventoryInput,
  type RolloutSpecInput,
} from '@meshwave/contracts';
import { planRollout } from './wave-planner.js';

// One revision per mesh (issue 21, ADR 0049): a rollout names its mesh and that mesh's `from`/`to`.

const NOW = new Date('2026-11-23T08:00:00Z');
/** the revision both meshes run before the split's own control planes take over */
const SHARED = '1-24-5';

/** The rollout file of a mesh rollout from SHARED, as written. */
const meshSpecInput = (spec: Partial<RolloutSpecInput['spec']>, name = 'mesh-upgrade'): RolloutSpecInput => ({
  apiVersion: 'meshwave.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name },
  spec: {
    from: SHARED,
    to: 'mesh-a-1-25-2',
    deadline: '2027-03-01T00:00:00Z',
    waves: [{ name: 'all', percent: 100 }],
    ...spec,
  },
});

const newMeshSpec = (spec: Partial<RolloutSpecInput['spec']>, name?: string): RolloutSpec =>
  RolloutSpec.parse(meshSpecInput(spec, name));

const workload = (namespace: string, name: string, revision = SHARED) =>
  ({ namespace, kind: 'Deployment', name, labels: {}, revision, replicas: 2 }) as const;
const controlPlane = (revision: string, version: string) => ({ revision, version, ready: true });

/**
 * Two clusters split into mesh-a and mesh-b: `east` labels its namespaces (shop in mesh-a, ads in mesh-b, legacy in
 * none); `west` is wholly mesh-b by its cluster `mesh` and has no mesh-a control plane. Every workload on SHARED.
 */
function newSplitFleet(): Inventory {
  const input: InventoryInput = {
    clusters: [
      {
        name: 'east',
        labels: {},
        namespaces: [
          { name: 'shop', labels: { [MESH_LABEL]: 'mesh-a' } },
          { name: 'ads', labels: { [MESH_LABEL]: 'mesh-b' } },
          { name: 'legacy', labels: {} },
        ],
        controlPlanes: [
          controlPlane(SHARED, '1.24.5'),
          controlPlane('mesh-a-1-25-2', '1.25.2'),
          controlPlane('mesh-b-1-22-0', '1.22.0'),
          controlPlane('mesh-b-1-25-2', '1.25.2'),
        ],
        workloads: [
          workload('shop', 'cart'),
          workload('shop', 'pay'),
          workload('ads', 'bid'),
          workload('legacy', 'old'),
        ],
      },
      {
        name: 'west',
        labels: {},
        mesh: 'mesh-b',
        namespaces: [{ name: 'ads', labels: {} }],
        controlPlanes: [
          controlPlane(SHARED, '1.24.5'),
          controlPlane('mesh-b-1-22-0', '1.22.0'),
          controlPlane('mesh-b-1-25-2', '1.25.2'),
        ],
        workloads: [workload('ads', 'bid'), workload('ads', 'rank', 'mesh-b-1-22-0')],
      },
    ],
    vmGroups: [],
  };
  return Inventory.parse(input);
}

const unitsOf = (spec: RolloutSpec): string[] =>
  planRollout(spec, newSplitFleet(), { now: NOW })
    .waves.flatMap((w) => w.units)
    .sort();

describe('a rollout of one mesh', () => {
  it('Given namespaces labelled for mesh-a and mesh-b (and a cluster wholly mesh-b), When each mesh is planned, Then each selects only its own units and reports none of the other as skipped', () => {
    const a = planRollout(newMeshSpec({ mesh: 'mesh-a' }), newSplitFleet(), { now: NOW });
    const b = planRollout(newMeshSpec({ mesh: 'mesh-b', to: 'mesh-b-1-25-2' }), newSplitFleet(), { now: NOW });

    expect(a.waves.flatMap((w) => w.units).sort()).toEqual(['east/shop/Deployment/cart', 'east/shop/Deployment/pay']);
    expect(b.waves.flatMap((w) => w.units).sort()).toEqual(['east/ads/Deployment/bid', 'west/ads/Deployment/bid']);
    expect(a.skipped).toEqual([]);
    // west/ads/rank is mesh-b's but not on SHARED: skipped by mesh-b's rollout, as any unit not on `from` is
    expect(b.skipped.map((s) => `${s.cluster}/${s.namespace}/${s.name}`)).toEqual(['west/ads/rank']);
    // without a mesh, the rollout is the fleet's: the namespace in no mesh too
    expect(unitsOf(newMeshSpec({ to: 'mesh-a-1-25-2' }))).toContain('east/legacy/Deployment/old');
  });

  it('Given a namespace labelled for mesh-a in a cluster whose `mesh` is mesh-b, When mesh-a is planned, Then the namespace label wins', () => {
    const inventory = newSplitFleet();
    const west = inventory.clusters[1]!;
    const relabelled = Inventory.parse({
      ...inventory,
      clusters: [
        inventory.clusters[0]!,
        { ...west, namespaces: [{ name: 'ads', labels: { [MESH_LABEL]: 'mesh-a' } }] },
      ],
    });
    const plan = planRollout(newMeshSpec({ mesh: 'mesh-a' }), relabelled, { now: NOW });
    expect(plan.waves.flatMap((w) => w.units)).toContain('west/ads/Deployment/bid');
  });

  it("Given mesh-a's supported path and mesh-b's unsupported one in the same cluster, When each mesh is planned, Then only mesh-b's is refused, and mesh-a is not held to a control plane where it moves nothing", () => {
    const a = planRollout(newMeshSpec({ mesh: 'mesh-a', from: SHARED, to: 'mesh-a-1-25-2' }), newSplitFleet(), {
      now: NOW,
    });
    const b = planRollout(
      newMeshSpec({ mesh: 'mesh-b', from: 'mesh-b-1-22-0', to: 'mesh-b-1-25-2' }),
      newSplitFleet(),
      { now: NOW },
    );

    // west has no mesh-a control plane, but mesh-a moves nothing there
    expect(a.problems.filter((p) => p.blocking)).toEqual([]);
    expect(a.feasible).toBe(true);
    // 1.22 → 1.25 crosses three minors; only west has mesh-b units on mesh-b-1-22-0
    expect(b.problems.filter((p) => p.refusal === true)).toEqual([
      expect.objectContaining({ code: PlanProblemCode.UnsupportedUpgradePath, cluster: 'west' }),
    ]);
    expect(b.waves.flatMap((w) => w.units)).toEqual(['west/ads/Deployment/rank']);
  });

  it('Given two meshes planned from the same shared revision, When both plans are made, Then their units are disjoint', () => {
    const a = unitsOf(newMeshSpec({ mesh: 'mesh-a' }, 'a'));
    const b = unitsOf(newMeshSpec({ mesh: 'mesh-b', to: 'mesh-b-1-25-2' }, 'b'));
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    expect(a.filter((u) => b.includes(u))).toEqual([]);
  });

  it('Given a mesh rollout that also asks to go mesh by mesh, or a mesh name Istio labels cannot hold, When the file is parsed, Then it is refused at the field', () => {
    const both = RolloutSpec.safeParse(meshSpecInput({ mesh: 'mesh-a', sequenceByMesh: true }));
    expect(both.success).toBe(false);
    expect(both.error?.issues.map((i) => i.path.join('.'))).toEqual(['spec.sequenceByMesh']);
    expect(() => newMeshSpec({ mesh: 'Mesh_A' })).toThrow(/mesh name/);
  });
});
