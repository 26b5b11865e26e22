import { describe, expect, it } from 'vitest';
import { InvalidInputError, Inventory, InventoryReport, MAX_NODES, parseRolloutSpec } from './index.js';

const SPEC = `apiVersion: meshwave.io/v1alpha1
kind: Rollout
metadata: { name: amb }
spec:
  from: 1-24-5
  to: 1-25-2
  deadline: "2027-03-01T00:00:00Z"
  waves: [{ name: all }]
`;

/** What a call threw, or undefined. */
const thrownBy = (f: () => unknown): unknown => {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
};

/** The problems of a rollout file its parser refuses (it must refuse it). */
function problemsOf(text: string): InvalidInputError['problems'] {
  const err = thrownBy(() => parseRolloutSpec(text, 'rollouts.yml'));
  expect(err).toBeInstanceOf(InvalidInputError);
  return (err as InvalidInputError).problems;
}

const ambient = {
  nodes: [{ name: 'n1', labels: { pool: 'a' }, pool: 'a', agents: { ztunnel: '1.24.5', 'istio-cni': '1.24.5' } }],
  nodeAgents: [
    {
      kind: 'ztunnel',
      namespace: 'istio-system',
      name: 'ztunnel',
      revision: null,
      version: '1.25.2',
      updateStrategy: 'OnDelete',
    },
  ],
  waypoints: [{ namespace: 'shop', name: 'waypoint', revision: '1-24-5', for: 'service' }],
};

describe('the rollout file ambient section', () => {
  it('is absent unless written', () => {
    expect(parseRolloutSpec(SPEC).spec.ambient).toBeUndefined();
  });

  it('defaults to one node at a time, waiting, no grace, ten waypoints a step', () => {
    expect(parseRolloutSpec(`${SPEC}  ambient: {}\n`).spec.ambient).toEqual({
      select: {},
      maxUnavailable: 1,
      drain: 'wait',
      grace: 0,
      waypointsPerStep: 10,
    });
  });

  it('reads pools, node labels, a drain policy, a grace and a soak', () => {
    const text = `${SPEC}  ambient:\n    select: { pools: [ambient-*], nodeLabels: { zone: a } }\n    maxUnavailable: 3\n    drain: drain\n    grace: 2m\n    soak: 10m\n`;
    expect(parseRolloutSpec(text).spec.ambient).toMatchObject({
      select: { pools: ['ambient-*'], nodeLabels: { zone: 'a' } },
      maxUnavailable: 3,
      drain: 'drain',
      grace: 120,
      soak: 600,
    });
  });

  it('refuses no node at a time, an unknown policy and a grace over an hour, with the path and line', () => {
    const text = `${SPEC}  ambient:\n    maxUnavailable: 0\n`;
    const [p] = problemsOf(text);
    expect(p).toMatchObject({ path: 'spec.ambient.maxUnavailable', message: 'at least 1 node' });
    expect(p!.line).toBe(text.split('\n').findIndex((l) => l.includes('maxUnavailable')) + 1);
    expect(problemsOf(`${SPEC}  ambient: { drain: evict }\n`).map((q) => q.path)).toEqual(['spec.ambient.drain']);
    expect(problemsOf(`${SPEC}  ambient: { grace: 2h }\n`)).toMatchObject([
      { path: 'spec.ambient.grace', message: 'a duration of at most 1h' },
    ]);
    expect(problemsOf(`${SPEC}  ambient: { maxUnavailable: 101 }\n`).map((q) => q.message)).toEqual([
      'at most 100 nodes',
    ]);
  });
});

describe('ambient mode in the inventory', () => {
  it('loads an inventory without it, and reads nodes, node agents and waypoints', () => {
    expect(Inventory.parse({ clusters: [{ name: 'c1' }] }).clusters[0]!.ambient).toBeUndefined();
    const c = Inventory.parse({ clusters: [{ name: 'c1', ambient }] }).clusters[0]!;
    expect(c.ambient!.nodes[0]).toEqual({ ...ambient.nodes[0], unschedulable: false });
    expect(c.ambient!.nodeAgents.map((a) => a.kind)).toEqual(['ztunnel']);
  });

  it('travels in an agent report; refuses an unknown node agent and more nodes than the limit', () => {
    const base = { cluster: 'c1', generation: 1, workloads: [] };
    expect(InventoryReport.parse({ ...base, ambient }).ambient!.waypoints).toHaveLength(1);
    const bad = { ...ambient, nodes: [{ name: 'n1', agents: { kube_proxy: '1' } }] };
    expect(InventoryReport.safeParse({ ...base, ambient: bad }).success).toBe(false);
    const many = { nodes: Array.from({ length: MAX_NODES + 1 }, (_, i) => ({ name: `n${i}` })) };
    expect(InventoryReport.safeParse({ ...base, ambient: many }).error?.issues[0]?.message).toBe(
      `at most ${MAX_NODES} nodes`,
    );
  });
});
