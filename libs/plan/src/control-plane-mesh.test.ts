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

// The mesh of a control plane, of a gateway and of a VM group (issue 21, ADR 0056).

const NOW = new Date('2026-11-23T08:00:00Z');
const SHARED = '1-24-5';

const newSpec = (spec: Partial<RolloutSpecInput['spec']>): RolloutSpec =>
  RolloutSpec.parse({
    apiVersion: 'meshwave.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'mesh-upgrade' },
    spec: {
      from: SHARED,
      to: 'mesh-a-1-25-2',
      deadline: '2027-03-01T00:00:00Z',
      waves: [{ name: 'all', percent: 100 }],
      ...spec,
    },
  });

const workload = (namespace: string, name: string) =>
  ({ namespace, kind: 'Deployment', name, labels: {}, revision: SHARED, replicas: 2 }) as const;
const gateway = (namespace: string, name: string) =>
  ({ namespace, name, kind: 'injected', labels: { istio: 'ingressgateway' }, revision: SHARED, replicas: 2 }) as const;

/**
 * One cluster split into mesh-a (shop) and mesh-b (ads), legacy in none; mesh-a's and mesh-b's istiods serve their
 * mesh only (as `split --apply` leaves them), a gateway in shop and one in ads, and a VM group per mesh.
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
          { revision: SHARED, version: '1.24.5', ready: true },
          { revision: 'mesh-a-1-25-2', version: '1.25.2', ready: true, mesh: 'mesh-a' },
          { revision: 'mesh-b-1-25-2', version: '1.25.2', ready: true, mesh: 'mesh-b' },
        ],
        workloads: [workload('shop', 'cart'), workload('ads', 'bid'), workload('legacy', 'old')],
        gateways: [gateway('shop', 'shop-gw'), gateway('ads', 'ads-gw')],
      },
    ],
    vmGroups: [
      { name: 'shop-vms', mesh: 'mesh-a', hosts: [{ name: 'vm-1', version: SHARED }] },
      { name: 'ads-vms', mesh: 'mesh-b', hosts: [{ name: 'vm-2', version: SHARED }] },
    ],
  };
  return Inventory.parse(input);
}

const meshProblems = (spec: RolloutSpec) =>
  planRollout(spec, newSplitFleet(), { now: NOW }).problems.filter(
    (p) => p.code === PlanProblemCode.ControlPlaneOfAnotherMesh,
  );

describe('the mesh a control plane serves (ADR 0056)', () => {
  it("Given mesh-a's istiod serving mesh-a only, When mesh-a's rollout is planned onto it, Then nothing is refused", () => {
    expect(meshProblems(newSpec({ mesh: 'mesh-a' }))).toEqual([]);
  });

  it("Given mesh-a's istiod serving mesh-a only, When mesh-b's rollout names it as `to`, Then the plan is refused with CONTROL_PLANE_OF_ANOTHER_MESH", () => {
    const problems = meshProblems(newSpec({ mesh: 'mesh-b', to: 'mesh-a-1-25-2' }));
    expect(problems).toEqual([
      {
        code: PlanProblemCode.ControlPlaneOfAnotherMesh,
        message:
          'cluster east: the control plane of mesh-a-1-25-2 serves mesh mesh-a (its discoverySelectors), but the rollout moves namespaces of mesh mesh-b there, which it does not discover',
        cluster: 'east',
        blocking: true,
        refusal: true,
      },
    ]);
  });

  it("Given a rollout naming no mesh onto mesh-a's istiod, Then it is refused for the other mesh's and the unlabelled namespaces", () => {
    const [problem] = meshProblems(newSpec({ to: 'mesh-a-1-25-2' }));
    expect(problem?.message).toContain('moves namespaces of mesh mesh-b and no mesh there');
  });
});

describe("a mesh rollout's gateways and VM groups (ADR 0056)", () => {
  it("Given a gateway in each mesh's namespace, When mesh-a's rollout has a gateways section, Then only mesh-a's gateway is planned", () => {
    const plan = planRollout(newSpec({ mesh: 'mesh-a', gateways: { steps: [100] } }), newSplitFleet(), { now: NOW });
    expect(plan.gatewaySteps.flatMap((s) => s.gateways.map((g) => `${g.namespace}/${g.name}`))).toEqual([
      'shop/shop-gw',
    ]);
  });

  it("Given a VM group of each mesh, When mesh-a's rollout selects every group, Then only mesh-a's hosts are planned", () => {
    const plan = planRollout(newSpec({ mesh: 'mesh-a', vms: [{ select: {}, wave: 'all' }] }), newSplitFleet(), {
      now: NOW,
    });
    expect(plan.waves.flatMap((w) => w.vmHosts.map((h) => h.group))).toEqual(['shop-vms']);
    // without a mesh, every group is the rollout's
    const fleet = planRollout(newSpec({ vms: [{ select: {}, wave: 'all' }] }), newSplitFleet(), { now: NOW });
    expect(fleet.waves.flatMap((w) => w.vmHosts.map((h) => h.group)).sort()).toEqual(['ads-vms', 'shop-vms']);
  });
});
