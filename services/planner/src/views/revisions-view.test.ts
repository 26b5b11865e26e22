import { describe, expect, it } from 'vitest';
import { Inventory, type InventoryInput } from '@meshwave/contracts';
import { buildRevisionsView } from './revisions-view.js';

type ClusterInput = NonNullable<InventoryInput['clusters']>[number];

const cluster = (name: string, extra: Partial<ClusterInput> = {}): ClusterInput => ({
  name,
  controlPlanes: [
    { revision: '1-23-1', version: '1.23.1', ready: true },
    { revision: '1-24-5', version: '1.24.5', ready: true },
    { revision: '1-25-2', version: '1.25.2', ready: true },
  ],
  revisionPods: [],
  ...extra,
});

const view = (clusters: ClusterInput[], vmGroups: InventoryInput['vmGroups'] = []) =>
  Object.fromEntries(buildRevisionsView(Inventory.parse({ clusters, vmGroups })).revisions.map((r) => [r.revision, r]));

describe('buildRevisionsView', () => {
  it('calls a revision safe to remove only when no pod, VM host, tag or label uses it anywhere', () => {
    const v = view(
      [
        cluster('c1', {
          tags: { 'prod-stable': '1-25-2' },
          namespaces: [
            { name: 'legacy', labels: { 'istio.io/rev': '1-24-5' } },
            { name: 'shop', labels: { 'istio.io/rev': 'prod-stable' } },
          ],
          workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'cart', revision: 'prod-stable' }],
          revisionPods: [
            { revision: '1-25-2', pods: 2, users: [{ kind: 'Deployment', namespace: 'shop', name: 'cart', pods: 2 }] },
          ],
        }),
        cluster('c2', {
          revisionPods: [
            { revision: '1-24-5', pods: 1, users: [{ kind: 'CronJob', namespace: 'b', name: 'nightly', pods: 1 }] },
          ],
        }),
      ],
      [{ name: 'edge', hosts: [{ name: 'vm-1', version: '1-25-2' }] }],
    );
    expect(v['1-23-1']).toMatchObject({ installedIn: ['c1', 'c2'], pods: 0, safeToRemove: true });
    expect(v['1-24-5']).toMatchObject({
      pods: 1,
      users: [{ cluster: 'c2', kind: 'CronJob', namespace: 'b', name: 'nightly', pods: 1 }],
      namespaceLabels: [{ cluster: 'c1', namespace: 'legacy' }],
      safeToRemove: false,
    });
    expect(v['1-25-2']).toMatchObject({
      pods: 2,
      vmHosts: 1,
      tags: [{ cluster: 'c1', tag: 'prod-stable' }],
      safeToRemove: false,
    });
    // a label naming a tag counts through the tag, not as a revision of its own
    expect(v['prod-stable']).toBeUndefined();
  });

  it('never calls a revision unused while a cluster has not reported its pods', () => {
    const v = view([cluster('c1'), { ...cluster('old-agent'), revisionPods: undefined }]);
    expect(v['1-23-1']).toMatchObject({ safeToRemove: false, unreportedClusters: ['old-agent'] });
  });

  it('counts a revision named only by a label, with nothing running', () => {
    const v = view([
      cluster('c1', { workloads: [{ namespace: 'a', kind: 'Deployment', name: 'w', revision: '1-23-1' }] }),
    ]);
    expect(v['1-23-1']).toMatchObject({ workloadLabels: 1, safeToRemove: false });
  });

  it('calls no revision safe to remove while a cluster says its list of revisions is truncated', () => {
    const v = view([cluster('c1', { revisionPods: [], revisionPodsTruncated: true }), cluster('c2')]);
    expect(v['1-23-1']).toMatchObject({ pods: 0, unreportedClusters: ['c1'], safeToRemove: false });
  });
});
