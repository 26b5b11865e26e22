import { describe, expect, it } from 'vitest';
import { Inventory, RolloutSpec, type InventoryInput, type Plan, type RolloutSpecInput } from '@meshwave/contracts';
import { formatPlanTable } from './format-table.js';
import { ambientStepCommand } from './ambient-steps.js';
import { planRollout } from './wave-planner.js';

const FROM = '1-24-5';
const TO = '1-25-2';
const NOW = new Date('2026-11-23T08:00:00Z');

function newSpec(
  ambient: RolloutSpecInput['spec']['ambient'] | null = {},
  over: Partial<RolloutSpecInput['spec']> = {},
): RolloutSpec {
  return RolloutSpec.parse({
    apiVersion: 'meshwave.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'amb' },
    spec: {
      from: FROM,
      to: TO,
      deadline: '2027-03-01T00:00:00Z',
      defaults: { soak: '1h', batchEstimate: '5m' },
      waves: [{ name: 'all', percent: 100 }],
      ...(ambient === null ? {} : { ambient }),
      ...over,
    },
  });
}

const controlPlanes = [
  { revision: FROM, version: '1.24.5', ready: true },
  { revision: TO, version: '1.25.2', ready: true },
];

type ClusterInput = NonNullable<InventoryInput['clusters']>[number];

/** A cluster of `nodes` nodes in pool `ambient` (and one in pool `system`), every node agent on 1.24.5. */
function newCluster(name: string, nodes: number, over: Partial<ClusterInput> = {}): ClusterInput {
  const old = { ztunnel: '1.24.5', 'istio-cni': '1.24.5' };
  return {
    name,
    controlPlanes,
    namespaces: [
      { name: 'shop', labels: { 'istio.io/rev': FROM } },
      { name: 'mall', labels: { 'istio.io/dataplane-mode': 'ambient', 'istio.io/rev': FROM } },
    ],
    workloads: [
      { namespace: 'shop', kind: 'Deployment', name: 'web', revision: FROM, injectedRevision: FROM },
      { namespace: 'mall', kind: 'Deployment', name: 'store', revision: FROM, injectedRevision: null },
    ],
    ambient: {
      nodes: [
        ...Array.from({ length: nodes }, (_, i) => ({ name: `n${i}`, pool: 'ambient', agents: old })),
        { name: 'sys-0', pool: 'system', agents: old },
      ],
      nodeAgents: [
        {
          kind: 'istio-cni',
          namespace: 'istio-system',
          name: 'istio-cni-node',
          revision: TO,
          version: '1.25.2',
          updateStrategy: 'OnDelete',
        },
        {
          kind: 'ztunnel',
          namespace: 'istio-system',
          name: 'ztunnel',
          revision: TO,
          version: '1.25.2',
          updateStrategy: 'OnDelete',
        },
      ],
      waypoints: [
        { namespace: 'mall', name: 'waypoint', revision: FROM, for: 'service' },
        { namespace: 'mall', name: 'done', revision: TO, for: 'service' },
      ],
    },
    ...over,
  };
}

const plan = (spec: RolloutSpec, ...clusters: ClusterInput[]): Plan =>
  planRollout(spec, Inventory.parse({ clusters }), { now: NOW });

const stepNames = (p: Plan): string[][] =>
  p.ambientSteps.map((s) => [
    s.name,
    ...s.nodes.map((n) => `${n.cluster}/${n.name}`),
    ...s.waypoints.map((w) => `${w.cluster}/${w.namespace}/${w.name}`),
  ]);

describe('ambient steps in the plan (ADR 0051)', () => {
  it('Given no ambient section, Then no node agent or waypoint moves', () => {
    expect(plan(newSpec(null), newCluster('c1', 3)).ambientSteps).toEqual([]);
  });

  it('Given pools and maxUnavailable 2, Then istio-cni then ztunnel in node waves of 2 per cluster, side by side, then waypoints', () => {
    const p = plan(
      newSpec({ select: { pools: ['ambient'] }, maxUnavailable: 2 }),
      newCluster('c1', 3),
      newCluster('c2', 1),
    );
    expect(stepNames(p)).toEqual([
      ['istio-cni-1', 'c1/n0', 'c1/n1', 'c2/n0'],
      ['istio-cni-2', 'c1/n2'],
      ['ztunnel-1', 'c1/n0', 'c1/n1', 'c2/n0'],
      ['ztunnel-2', 'c1/n2'],
      ['waypoints-1', 'c1/mall/waypoint', 'c2/mall/waypoint'],
    ]);
    expect(p.ambientSteps.every((s) => s.nodes.every((n) => n.version === '1.25.2'))).toBe(true);
    expect(p.feasible).toBe(true);
    const table = formatPlanTable(p);
    expect(table).toContain('ambient steps (5), after the waves:');
    expect(table).toContain('      c1/n2 → 1.25.2');
  });

  it('Given the ambient steps, Then they follow the workload waves in one chain, each held for its soak', () => {
    const p = plan(newSpec({ select: { pools: ['ambient'] }, soak: '10m' }), newCluster('c1', 1));
    const lastWave = p.waves.at(-1)!;
    const [cni, zt] = p.ambientSteps;
    expect(Date.parse(cni!.earliestStart)).toBe(Date.parse(lastWave.estimatedConverged) + 3600_000);
    expect(Date.parse(zt!.earliestStart)).toBe(Date.parse(cni!.estimatedConverged) + 600_000);
    expect(p.estimatedCompletion).toBe(p.ambientSteps.at(-1)!.estimatedConverged);
  });

  it('Given a mixed cluster, Then the sidecar workload moves in the waves and the ambient one is skipped as ambient', () => {
    const p = plan(newSpec({}), newCluster('c1', 1));
    expect(p.waves.flatMap((w) => w.workloads.map((x) => x.name))).toEqual(['web']);
    expect(p.skipped.map((s) => [s.name, s.reason])).toEqual([['store', 'ambient']]);
  });

  it('Given nodes already on the template version, Then they are not in any wave', () => {
    const c = newCluster('c1', 2);
    c.ambient!.nodes![0]!.agents = { ztunnel: '1.25.2', 'istio-cni': '1.25.2' };
    const p = plan(newSpec({ select: { nodeLabels: {}, pools: ['ambient'] }, maxUnavailable: 5 }), c);
    expect(stepNames(p).filter((s) => s[0] !== 'waypoints-1')).toEqual([
      ['istio-cni-1', 'c1/n1'],
      ['ztunnel-1', 'c1/n1'],
    ]);
  });

  it('Given a ztunnel ahead of its control plane or two minors behind it, Then the plan is refused for that agent', () => {
    const ahead = newCluster('c1', 1);
    ahead.ambient!.nodeAgents![1]!.version = '1.26.0';
    const p = plan(newSpec({}), ahead);
    expect(p.problems.filter((x) => x.code === 'AMBIENT_VERSION_SKEW')).toMatchObject([
      { cluster: 'c1', refusal: true, message: expect.stringContaining('newer than their control plane 1.25.2') },
    ]);
    expect(p.ambientSteps.map((s) => s.name)).not.toContain('ztunnel-1');

    const behind = newCluster('c1', 1, {
      controlPlanes: [...controlPlanes, { revision: '1-27-0', version: '1.27.0', ready: true }],
    });
    const p2 = plan(newSpec({}, { to: '1-27-0' }), behind);
    expect(p2.problems.filter((x) => x.code === 'AMBIENT_VERSION_SKEW').map((x) => x.message)).toEqual([
      expect.stringContaining('2 minor versions ahead'),
      expect.stringContaining('2 minor versions ahead'),
    ]);
  });

  it('Given a node agent on RollingUpdate, Then the plan says it cannot move it node by node', () => {
    const c = newCluster('c1', 1);
    c.ambient!.nodeAgents![1]!.updateStrategy = 'RollingUpdate';
    const p = plan(newSpec({}), c);
    expect(p.problems.filter((x) => x.code === 'AMBIENT_NOT_ON_DELETE')).toMatchObject([
      { blocking: true, cluster: 'c1' },
    ]);
    expect(p.feasible).toBe(false);
  });

  it('Given the to control plane missing where ambient nodes move, Then the control-plane rule refuses the plan', () => {
    const c = newCluster('c1', 1, { workloads: [], controlPlanes: [controlPlanes[0]!] });
    c.ambient!.nodeAgents = c.ambient!.nodeAgents!.map((a) => ({ ...a, version: '1.24.6' }));
    const p = plan(newSpec({}), c);
    expect(p.problems.map((x) => x.code)).toContain('CONTROL_PLANE_MISSING');
  });

  it('Given a planned step, Then each cluster’s desired state carries its own nodes or waypoints, with the bound and policy', () => {
    const spec = newSpec({ select: { pools: ['ambient'] }, maxUnavailable: 2, drain: 'drain', grace: '1m' });
    const p = plan(spec, newCluster('c1', 3), newCluster('c2', 1));
    const [cni1, , , , waypoints] = p.ambientSteps;
    expect(ambientStepCommand(cni1!, 'c2', spec.spec)).toEqual({
      step: 'istio-cni-1',
      component: 'istio-cni',
      version: '1.25.2',
      nodes: ['n0'],
      maxUnavailable: 2,
      drain: 'drain',
      graceSeconds: 60,
      waypoints: [],
    });
    expect(ambientStepCommand(p.ambientSteps[1]!, 'c2', spec.spec)).toBeUndefined();
    expect(ambientStepCommand(waypoints!, 'c1', spec.spec)).toMatchObject({
      step: 'waypoints-1',
      waypoints: [{ namespace: 'mall', name: 'waypoint' }],
      revision: TO,
    });
  });
});
