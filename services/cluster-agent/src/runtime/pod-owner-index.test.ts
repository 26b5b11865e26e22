import { describe, expect, it } from 'vitest';
import { newPodView } from '../core/pod-fixtures.js';
import type { WorkloadView } from '../ports/kubernetes-port.js';
import { PodOwnerIndex } from './pod-owner-index.js';

const deployment = (name: string, selector: Record<string, string>): WorkloadView => ({
  namespace: 'shop',
  kind: 'Deployment',
  name,
  labels: {},
  templateLabels: selector,
  templateAnnotations: {},
  selector,
  replicas: 1,
  generation: 1,
  observedGeneration: 1,
  updatedReplicas: 1,
  availableReplicas: 1,
  progressDeadlineExceeded: false,
  resourceVersion: '1',
});

const owner = { kind: 'ReplicaSet', name: 'web-1' };

describe('the pods-by-owner index (issue 15)', () => {
  it('Given a filed pod, When it is updated with the same labels, Then no selector is evaluated and its owners stay', () => {
    const index = new PodOwnerIndex();
    index.upsertWorkload(deployment('web', { app: 'web' }), () => []);
    index.upsertWorkload(deployment('all', { tier: 'front' }), () => []);
    const labels = { app: 'web', tier: 'front' };
    expect(index.upsertPod(newPodView({ name: 'web-1-a', labels, owner, ready: false })).sort()).toEqual([
      'shop/Deployment/all',
      'shop/Deployment/web',
    ]);
    const evaluations = index.stats.selectorEvaluations;
    // the pod becomes Ready, then counts a restart: its labels (a copy of them) are the same
    const ready = newPodView({ name: 'web-1-a', labels: { ...labels }, owner, ready: true, resourceVersion: '2' });
    expect(index.upsertPod(ready).sort()).toEqual(['shop/Deployment/all', 'shop/Deployment/web']);
    const restarted = newPodView({ name: 'web-1-a', labels, owner, restarts: 1, resourceVersion: '3' });
    expect(index.upsertPod(restarted).sort()).toEqual(['shop/Deployment/all', 'shop/Deployment/web']);
    expect(index.stats.selectorEvaluations).toBe(evaluations);
    // and each owner holds the pod as it is now
    expect([...index.podsOf({ namespace: 'shop', kind: 'Deployment', name: 'web' })]).toEqual([restarted]);
    expect([...index.podsOf({ namespace: 'shop', kind: 'Deployment', name: 'all' })]).toEqual([restarted]);
  });

  it('Given a filed pod, When its labels change, Then it is matched again and leaves the owner that no longer selects it', () => {
    const index = new PodOwnerIndex();
    index.upsertWorkload(deployment('web', { app: 'web' }), () => []);
    index.upsertWorkload(deployment('all', { tier: 'front' }), () => []);
    index.upsertPod(newPodView({ name: 'web-1-a', labels: { app: 'web', tier: 'front' }, owner }));
    const relabelled = newPodView({ name: 'web-1-a', labels: { app: 'web' }, owner, resourceVersion: '2' });
    // the owners before and after are woken
    expect(index.upsertPod(relabelled).sort()).toEqual(['shop/Deployment/all', 'shop/Deployment/web']);
    expect([...index.podsOf({ namespace: 'shop', kind: 'Deployment', name: 'all' })]).toEqual([]);
    expect([...index.podsOf({ namespace: 'shop', kind: 'Deployment', name: 'web' })]).toEqual([relabelled]);
    expect(index.upsertPod({ ...relabelled, resourceVersion: '3' })).toEqual(['shop/Deployment/web']);
  });

  it('Given a workload whose selector changes, Then it is unfiled from its old selector: a new pod of it has no owner', () => {
    const index = new PodOwnerIndex();
    const pod = newPodView({ name: 'web-1-a', labels: { app: 'web', tier: 'front' }, owner });
    index.upsertWorkload(deployment('web', { app: 'web' }), () => []);
    index.upsertPod(pod);
    index.upsertWorkload(deployment('web', { app: 'other' }), () => [pod]);
    expect([...index.podsOf({ namespace: 'shop', kind: 'Deployment', name: 'web' })]).toEqual([]);
    expect(index.upsertPod({ ...pod, resourceVersion: '2' })).toEqual([]);
    expect(index.upsertPod(newPodView({ name: 'web-1-b', labels: { app: 'web' }, owner }))).toEqual([]);
    index.upsertWorkload(deployment('web', { tier: 'front' }), () => [pod]);
    expect(index.upsertPod({ ...pod, resourceVersion: '3' })).toEqual(['shop/Deployment/web']);
    expect(index.upsertPod(newPodView({ name: 'web-1-c', labels: { app: 'other' }, owner }))).toEqual([]);
  });
});
