import { describe, expect, it } from 'vitest';
import { AmbientNodeAnnotation } from '../core/node-step.js';
import type { AmbientPort, DaemonSetView, NodePatch, NodePodView, NodeView } from '../ports/ambient-port.js';
import { nodeWavePass, NodeState, type NodeWave } from './node-wave.js';

const OLD = 'istio/ztunnel:1.24.5';
const NEW = 'istio/ztunnel:1.25.2';

/**
 * A cluster as far as node waves see it: nodes, a ztunnel DaemonSet on OnDelete whose controller makes a node's
 * next pod (from the template, not ready yet) when its pod is deleted, pods becoming ready at the next pass, and
 * ambient workload pods on each node. It counts the cordoned nodes after every write, as a watch would.
 */
class FakeCluster implements AmbientPort {
  readonly nodes = new Map<string, NodeView>();
  readonly agentPods = new Map<string, NodePodView>();
  readonly workloadPods: NodePodView[] = [];
  template = NEW;
  maxCordoned = 0;
  readonly evicted: string[] = [];
  private seq = 0;

  constructor(nodes: number) {
    for (let i = 0; i < nodes; i++) {
      const name = `n${i}`;
      this.nodes.set(name, { name, labels: {}, annotations: {}, unschedulable: false });
      this.agentPods.set(name, this.newAgentPod(name, OLD, true));
      this.workloadPods.push(this.newWorkloadPod(name));
    }
  }

  newAgentPod(node: string, image: string, ready: boolean): NodePodView {
    return {
      namespace: 'istio-system',
      name: `ztunnel-${this.seq++}`,
      nodeName: node,
      labels: { app: 'ztunnel' },
      ownerKind: 'DaemonSet',
      containers: [{ name: 'istio-proxy', image }],
      ready,
      terminating: false,
    };
  }

  newWorkloadPod(node: string): NodePodView {
    return {
      ...this.newAgentPod(node, 'app', true),
      namespace: 'mall',
      name: `app-${this.seq++}`,
      ownerKind: 'ReplicaSet',
    };
  }

  /** pods made since the last pass become ready (kwok makes them ready at once) */
  settle(): void {
    for (const [n, p] of this.agentPods) if (!p.ready) this.agentPods.set(n, { ...p, ready: true });
  }

  cordoned(): string[] {
    return [...this.nodes.values()].filter((n) => n.unschedulable).map((n) => n.name);
  }

  listNodes = async (): Promise<NodeView[]> => [...this.nodes.values()];
  async patchNode(name: string, patch: NodePatch): Promise<void> {
    const n = this.nodes.get(name)!;
    const annotations: Record<string, string> = { ...n.annotations };
    for (const [k, v] of Object.entries(patch.annotations ?? {}))
      if (v === null) delete annotations[k];
      else annotations[k] = v;
    this.nodes.set(name, { ...n, annotations, unschedulable: patch.unschedulable ?? n.unschedulable });
    this.maxCordoned = Math.max(this.maxCordoned, this.cordoned().length);
  }
  listDaemonSets = async (): Promise<DaemonSetView[]> => [
    {
      namespace: 'istio-system',
      name: 'ztunnel',
      labels: {},
      annotations: {},
      templateLabels: { app: 'ztunnel' },
      templateAnnotations: {},
      images: { 'istio-proxy': this.template },
      selector: { app: 'ztunnel' },
      updateStrategy: 'OnDelete',
      observed: true,
    },
  ];
  podsLabelled = async (): Promise<NodePodView[]> => [...this.agentPods.values()];
  podsOnNode = async (node: string): Promise<NodePodView[]> => [
    ...this.workloadPods.filter((p) => p.nodeName === node),
    ...[...this.agentPods.values()].filter((p) => p.nodeName === node),
  ];
  ambientNamespaces = async (): Promise<Set<string>> => new Set(['mall']);
  async deletePod(_: string, name: string): Promise<'deleted' | 'absent'> {
    const node = [...this.agentPods].find(([, p]) => p.name === name)?.[0];
    if (node === undefined) return 'absent';
    this.agentPods.set(node, this.newAgentPod(node, this.template, false));
    return 'deleted';
  }
  async evictPod(_: string, name: string): Promise<'evicted' | 'absent' | 'blocked'> {
    const i = this.workloadPods.findIndex((p) => p.name === name);
    if (i < 0) return 'absent';
    this.evicted.push(name);
    this.workloadPods.splice(i, 1);
    return 'evicted';
  }
  listWaypoints = async (): Promise<never[]> => [];
  labelWaypoint = async (): Promise<void> => undefined;
}

const newWave = (over: Partial<NodeWave> = {}): NodeWave => ({
  component: 'ztunnel',
  version: '1.25.2',
  nodes: ['n0', 'n1', 'n2', 'n3', 'n4'],
  maxUnavailable: 2,
  policy: 'wait',
  graceMs: 0,
  ...over,
});

/** Passes until the wave ends (at most `max`), the cluster settling between passes. */
async function runPasses(
  c: FakeCluster,
  wave: NodeWave,
  start = 0,
  max = 50,
): Promise<{ passes: number; last: string[] }> {
  for (let i = 0; i < max; i++) {
    const progress = await nodeWavePass(c, wave, start + i * 1000);
    c.settle();
    if (progress.every((p) => p.state === NodeState.Converged) || progress.some((p) => p.state === NodeState.Failed))
      return { passes: i + 1, last: progress.map((p) => p.state) };
  }
  throw new Error('the wave did not end');
}

describe('a node wave of ztunnel (ADR 0051)', () => {
  it('Given 5 nodes and maxUnavailable 2, Then every node moves to the new version and at most 2 are ever cordoned', async () => {
    const c = new FakeCluster(5);
    const { last } = await runPasses(c, newWave());
    expect(last).toEqual(Array(5).fill('converged'));
    expect([...c.agentPods.values()].map((p) => p.containers[0]!.image)).toEqual(Array(5).fill(NEW));
    expect(c.maxCordoned).toBe(2);
    expect(c.cordoned()).toEqual([]);
    expect([...c.nodes.values()].every((n) => Object.keys(n.annotations).length === 0)).toBe(true);
  });

  it('Given an agent that stops mid-wave, When another one runs the wave from the apiserver, Then it completes within the bound', async () => {
    const c = new FakeCluster(5);
    await nodeWavePass(c, newWave(), 0); // cordons n0, n1
    await nodeWavePass(c, newWave(), 1000); // replaces their pods
    expect(c.cordoned()).toEqual(['n0', 'n1']);
    const { last } = await runPasses(c, newWave(), 2000); // a new agent: nothing but the apiserver carries on
    expect(last).toEqual(Array(5).fill('converged'));
    expect(c.maxCordoned).toBe(2);
  });

  it('Given a node cordoned by an operator before the wave, Then it moves and stays cordoned after', async () => {
    const c = new FakeCluster(2);
    await c.patchNode('n1', { unschedulable: true });
    await runPasses(c, newWave({ nodes: ['n0', 'n1'] }));
    expect(c.cordoned()).toEqual(['n1']);
    expect(c.nodes.get('n1')!.annotations).toEqual({});
  });

  it('Given the DaemonSet template not yet on the version, Then no node is cordoned', async () => {
    const c = new FakeCluster(2);
    c.template = OLD;
    const progress = await nodeWavePass(c, newWave({ nodes: ['n0', 'n1'] }), 0);
    expect(progress.map((p) => [p.state, p.detail])).toEqual([
      ['pending', "the DaemonSet's template runs 1.24.5, not 1.25.2: it must be updated first"],
      ['pending', "the DaemonSet's template runs 1.24.5, not 1.25.2: it must be updated first"],
    ]);
    expect(c.cordoned()).toEqual([]);
  });

  it('Given the drain policy, Then the ambient pods of a node are evicted before its ztunnel is replaced', async () => {
    const c = new FakeCluster(1);
    const wave = newWave({ nodes: ['n0'], policy: 'drain' });
    await nodeWavePass(c, wave, 0); // cordon
    const oldPod = c.agentPods.get('n0')!.name;
    await nodeWavePass(c, wave, 1000); // evict
    expect(c.evicted).toHaveLength(1);
    expect(c.agentPods.get('n0')!.name).toBe(oldPod);
    await runPasses(c, wave, 2000);
    expect(c.agentPods.get('n0')!.containers[0]!.image).toBe(NEW);
  });

  it('Given the wait policy with a grace, Then the old ztunnel runs until the grace has passed since the cordon', async () => {
    const c = new FakeCluster(1);
    const wave = newWave({ nodes: ['n0'], graceMs: 60_000 });
    await nodeWavePass(c, wave, 0);
    expect(c.nodes.get('n0')!.annotations[AmbientNodeAnnotation.CordonedAt]).toBe(new Date(0).toISOString());
    const waiting = await nodeWavePass(c, wave, 59_000);
    expect(waiting[0]).toMatchObject({ state: 'moving', detail: expect.stringContaining('holding the cordoned node') });
    expect(c.agentPods.get('n0')!.containers[0]!.image).toBe(OLD);
    await nodeWavePass(c, wave, 60_000);
    expect(c.agentPods.get('n0')!.containers[0]!.image).toBe(NEW);
    expect(c.evicted).toEqual([]);
  });

  it('Given a node held for another move, Then it counts against the bound and is left alone', async () => {
    const c = new FakeCluster(3);
    await c.patchNode('n2', { unschedulable: true, annotations: { [AmbientNodeAnnotation.Step]: 'istio-cni@1.25.2' } });
    const progress = await nodeWavePass(c, newWave({ nodes: ['n0', 'n1', 'n2'] }), 0);
    expect(progress.map((p) => [p.state, p.detail])).toEqual([
      ['moving', 'cordon'],
      ['pending', 'waiting for one of 2 slots'],
      ['pending', 'the node is held for istio-cni@1.25.2'],
    ]);
    expect(c.cordoned()).toEqual(['n0', 'n2']);
  });
});
