import { describe, expect, it } from 'vitest';
import { newPodView } from '../core/pod-fixtures.js';
import { revisionPodsOf } from '../core/revision-pods.js';
import type { KubernetesPort, PodView, WatchHandler } from '../ports/kubernetes-port.js';
import { ClusterCache } from './cluster-cache.js';

const NO_CRONJOBS = { ownerOfJob: new Map<string, string>(), templates: [] };

/** A cache started on watches the test drives: `pods` sends pod events, the other resources start empty. */
function newWatchedCache(initialPods: readonly PodView[]): {
  cache: ClusterCache;
  pods: WatchHandler<PodView>;
} {
  const handlers = new Map<string, WatchHandler<unknown>>();
  const port = {
    watch: (resource: string, handler: WatchHandler<unknown>) => {
      handlers.set(resource, handler);
      return { stop: () => undefined };
    },
  } as unknown as KubernetesPort;
  const cache = new ClusterCache(() => undefined);
  cache.start(port);
  for (const resource of ['namespaces', 'workloads', 'disruptionBudgets'])
    handlers.get(resource)!({ type: 'resync', objects: [] });
  handlers.get('pods')!({ type: 'resync', objects: initialPods });
  return { cache, pods: handlers.get('pods') as WatchHandler<PodView> };
}

/** `replicas` pods of one Deployment's ReplicaSet, injected by `revision`. */
const deploymentPods = (name: string, hash: string, revision: string, replicas: number): PodView[] =>
  Array.from({ length: replicas }, (_, i) =>
    newPodView({
      revision,
      name: `${name}-${hash}-${i}`,
      labels: { app: name, 'pod-template-hash': hash },
      owner: { kind: 'ReplicaSet', name: `${name}-${hash}` },
      resourceVersion: '1',
    }),
  );

describe('ClusterCache revision pods (issue 15: an inventory never scans every pod)', () => {
  it('Given 3 Deployments of 200 pods each, When the revision pods are read, Then the read costs their 3 groups, not 600 pods', () => {
    const pods = ['cart', 'shop', 'pay'].flatMap((d) => deploymentPods(d, '7d9', '1-24-5', 200));
    const { cache } = newWatchedCache(pods);
    const before = cache.revisionPodsStats.groupsVisited;
    const read = cache.revisionPods(NO_CRONJOBS);
    expect(read).toEqual(revisionPodsOf(pods, NO_CRONJOBS));
    expect(read[0]).toMatchObject({ revision: '1-24-5', pods: 600 });
    expect(cache.revisionPodsStats.groupsVisited - before).toBe(3);
  });

  it('Given pods restarted onto a new revision and old ones deleted through watch events, When read, Then it says what the pods say now', () => {
    const old = deploymentPods('cart', '7d9', '1-24-5', 3);
    const { cache, pods } = newWatchedCache([...old, ...deploymentPods('shop', '5f1', '1-24-5', 2)]);
    // the rollout restarts cart: new pods on 1-25-2 (a new ReplicaSet), the old ones go (one is terminating first)
    const moved = deploymentPods('cart', '8e2', '1-25-2', 3);
    for (const p of moved) pods({ type: 'upsert', object: p });
    pods({ type: 'upsert', object: { ...old[0]!, terminating: true, resourceVersion: '2' } });
    pods({ type: 'delete', object: old[1]! });
    pods({ type: 'delete', object: old[2]! });
    const now = [{ ...old[0]!, terminating: true }, ...moved, ...deploymentPods('shop', '5f1', '1-24-5', 2)];
    expect(cache.revisionPods(NO_CRONJOBS)).toEqual(revisionPodsOf(now, NO_CRONJOBS));
    expect(cache.revisionPods(NO_CRONJOBS).map((r) => [r.revision, r.pods])).toEqual([
      ['1-24-5', 2],
      ['1-25-2', 3],
    ]);
  });

  it('Given an unchanged cluster, When the inventory reads the revision pods at every resync, Then only the first read visits the groups', () => {
    const pods = ['cart', 'shop', 'pay'].flatMap((d) => deploymentPods(d, '7d9', '1-24-5', 50));
    const { cache, pods: watch } = newWatchedCache(pods);
    const visits = (): number => {
      const before = cache.revisionPodsStats.groupsVisited;
      cache.revisionPods({ ownerOfJob: new Map(), templates: [] });
      return cache.revisionPodsStats.groupsVisited - before;
    };
    expect(visits()).toBe(3);
    expect(visits()).toBe(0);
    // pod events that move no count: a pod not Ready, a restart counted, a newer resourceVersion
    watch({ type: 'upsert', object: { ...pods[0]!, ready: false, restarts: 2, resourceVersion: '5' } });
    expect(visits()).toBe(0);
    expect(cache.revisionPods(NO_CRONJOBS)).toEqual(revisionPodsOf(pods, NO_CRONJOBS));
  });

  it('Given a kept read, When a pod moves to another revision or the CronJobs differ, Then the next read is made afresh and says so', () => {
    const pods = deploymentPods('cart', '7d9', '1-24-5', 3);
    const { cache, pods: watch } = newWatchedCache(pods);
    expect(cache.revisionPods(NO_CRONJOBS).map((r) => [r.revision, r.pods])).toEqual([['1-24-5', 3]]);
    const moved = deploymentPods('cart', '8e2', '1-25-2', 1)[0]!;
    watch({ type: 'upsert', object: moved });
    watch({ type: 'delete', object: pods[2]! });
    const now = [pods[0]!, pods[1]!, moved];
    expect(cache.revisionPods(NO_CRONJOBS)).toEqual(revisionPodsOf(now, NO_CRONJOBS));
    const nightly = {
      ownerOfJob: new Map<string, string>(),
      templates: [{ namespace: 'shop', name: 'nightly', revision: '1-26-0' }],
    };
    expect(cache.revisionPods(nightly)).toEqual(revisionPodsOf(now, nightly));
    expect(cache.revisionPods(nightly).map((r) => r.revision)).toEqual(['1-24-5', '1-25-2', '1-26-0']);
    expect(cache.revisionPods(NO_CRONJOBS)).toEqual(revisionPodsOf(now, NO_CRONJOBS));
    // a read handed out is the caller's: changing it changes no later read
    cache.revisionPods(NO_CRONJOBS).pop();
    expect(cache.revisionPods(NO_CRONJOBS)).toHaveLength(2);
  });
});
