import { describe, expect, it } from 'vitest';
import { AmbientNodeAnnotation, decideNode, type NodeMove, type NodeObservation } from './node-step.js';

const move: NodeMove = { component: 'ztunnel', version: '1.25.2', policy: 'drain', graceMs: 60_000 };
const cordonedAt = new Date(0).toISOString();

const newObservation = (over: Partial<NodeObservation> = {}): NodeObservation => ({
  node: {
    name: 'n0',
    labels: {},
    unschedulable: true,
    annotations: { [AmbientNodeAnnotation.Step]: 'ztunnel@1.25.2', [AmbientNodeAnnotation.CordonedAt]: cordonedAt },
  },
  agentPods: [{ namespace: 'istio-system', name: 'zt-old', version: '1.24.5', ready: true, terminating: false }],
  template: { version: '1.25.2', observed: true },
  drainable: [],
  now: 1_000,
  ...over,
});

describe('the next write for a node (ADR 0051)', () => {
  it('Given pods that outlive the grace under the drain policy, Then the node fails, leaving it cordoned for a person', () => {
    const stuck = [{ namespace: 'mall', name: 'store-0', terminating: false }];
    expect(decideNode(move, newObservation({ drainable: stuck, now: 30_000 }))).toEqual({
      kind: 'evict',
      pods: [{ namespace: 'mall', name: 'store-0' }],
    });
    expect(decideNode(move, newObservation({ drainable: stuck, now: 60_000 }))).toEqual({
      kind: 'failed',
      why: '1 pod still on the node after the grace of 60s',
    });
  });

  it('Given evicted pods still terminating, Then it waits for them before it replaces ztunnel', () => {
    const leaving = [{ namespace: 'mall', name: 'store-0', terminating: true }];
    expect(decideNode(move, newObservation({ drainable: leaving }))).toEqual({
      kind: 'wait',
      why: '1 pod evicted, still terminating',
    });
    expect(decideNode(move, newObservation())).toEqual({
      kind: 'replace',
      pods: [{ namespace: 'istio-system', name: 'zt-old' }],
    });
  });

  it('Given istio-cni under the drain policy, Then nothing is evicted: only ztunnel holds connections', () => {
    const cni = { ...move, component: 'istio-cni' as const };
    const o = newObservation({
      node: { ...newObservation().node, annotations: { [AmbientNodeAnnotation.Step]: 'istio-cni@1.25.2' } },
      drainable: [{ namespace: 'mall', name: 'store-0', terminating: false }],
    });
    expect(decideNode(cni, o)).toMatchObject({ kind: 'replace' });
  });
});
