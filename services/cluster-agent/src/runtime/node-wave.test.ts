import { describe, expect, it } from 'vitest';
import { AmbientNodeAnnotation } from '../core/node-step.js';
import { nodeWavePass, NodeState, type NodeWave } from './node-wave.js';
import { FakeNodeCluster as FakeCluster, NEW, OLD } from './node-wave-fixtures.js';

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
