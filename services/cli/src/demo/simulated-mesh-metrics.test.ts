import { describe, expect, it } from 'vitest';
import { createSimulatedCluster, type SimulatedCluster } from '@meshwave/cluster-agent';
import { IstioLabel } from '@meshwave/istio';
import type { MetricTarget, WorkloadTraffic } from '@meshwave/planner';
import { createManualClock } from '@meshwave/reconcile';
import { DEFAULT_SIMULATED_MESH_METRICS, servedCache, simulatedTraffic } from './simulated-mesh-metrics.js';

/** The demo's stand-in for Prometheus: a scrape costs what it returns, not the simulated cluster's size. */

const REPLICAS = 3;

function newCrowdedCluster(): SimulatedCluster {
  const sim = createSimulatedCluster({ name: 'c1' });
  for (let i = 0; i < 200; i++) sim.createWorkload({ namespace: 'crowded', name: `w${i}`, replicas: REPLICAS });
  for (let i = 0; i < 5; i++) sim.createWorkload({ namespace: 'small', name: `s${i}`, replicas: REPLICAS });
  return sim;
}

const scrape = (sim: SimulatedCluster, targets: Parameters<typeof simulatedTraffic>[2]) => {
  const before = sim.stats().objectsVisited;
  const traffic = simulatedTraffic(new Map([[sim.name, sim]]), DEFAULT_SIMULATED_MESH_METRICS, targets, {
    seconds: 60,
    to: '1-25-2',
    asBefore: false,
  });
  return { traffic, visited: sim.stats().objectsVisited - before };
};

describe('simulated mesh metrics: cost per scrape', () => {
  it('a one-workload target in a 200-workload namespace reads only that workload and its pods', () => {
    const sim = newCrowdedCluster();
    const { traffic, visited } = scrape(sim, [
      { unit: 'c1/crowded/Deployment/w42', cluster: 'c1', namespace: 'crowded', name: 'w42' },
    ]);
    expect(traffic.map((t) => [t.workload, t.requests])).toEqual([['c1/crowded/w42', 20 * 60 * REPLICAS]]);
    // the workload only: its Ready pods by revision are counted as they change, not read per scrape
    expect(visited).toBe(1);
    sim.close();
  });

  it('a namespace target reads that namespace once, whatever else the cluster holds', () => {
    const sim = newCrowdedCluster();
    const { traffic, visited } = scrape(sim, [{ unit: 'c1/small', cluster: 'c1', namespace: 'small' }]);
    expect(traffic).toHaveLength(5);
    expect(visited).toBe(5);
    sim.close();
  });
});

describe('simulated mesh metrics: a sample re-reads only the targets that changed', () => {
  const window = { seconds: 60, to: '1-25-2', asBefore: false };
  const wave = (): MetricTarget[] => [
    ...Array.from({ length: 6 }, (_, i) => ({
      unit: `c1/shop/Deployment/w${i}`,
      cluster: 'c1',
      namespace: 'shop',
      name: `w${i}`,
    })),
    { unit: 'c1/shop/Deployment/late', cluster: 'c1', namespace: 'shop', name: 'late' },
    { unit: 'c1/other', cluster: 'c1', namespace: 'other' },
    { unit: 'c2/shop/Deployment/w0', cluster: 'c2', namespace: 'shop', name: 'w0' },
  ];

  function newFleet() {
    const clock = createManualClock();
    const sim = createSimulatedCluster({ name: 'c1', clock, podStartMs: 1000, revisions: ['1-24-5', '1-25-2'] });
    sim.createNamespace('shop', { [IstioLabel.Revision]: '1-24-5' });
    for (let i = 0; i < 6; i++) sim.createWorkload({ namespace: 'shop', name: `w${i}`, replicas: 3 });
    sim.createWorkload({ namespace: 'other', name: 'a', replicas: 2 });
    return { clock, sim, clusters: new Map([[sim.name, sim]]) };
  }

  it('Given a fleet that changes, When it is sampled after each change, Then the kept answers are what a full read says', async () => {
    const { clock, sim, clusters } = newFleet();
    const targets = wave();
    const kept = servedCache();
    const sample = () => simulatedTraffic(clusters, DEFAULT_SIMULATED_MESH_METRICS, targets, window, kept);
    const full = () => simulatedTraffic(clusters, DEFAULT_SIMULATED_MESH_METRICS, targets, window);
    const seen: unknown[] = [];
    const check = async (change: () => unknown): Promise<void> => {
      await change();
      expect(sample()).toEqual(full());
      seen.push(full());
    };
    await check(() => undefined);
    // a rollout: the namespace moves to the new revision and each workload restarts its pods, one by one
    await check(() => sim.patchNamespace('shop', { labels: { [IstioLabel.Revision]: '1-25-2' } }));
    for (let i = 0; i < 6; i++)
      await check(() =>
        sim.patchWorkload(
          { namespace: 'shop', kind: 'Deployment', name: `w${i}` },
          { templateAnnotations: { r: '1' } },
        ),
      );
    await check(() => clock.advance(500));
    await check(() =>
      sim.deletePod('shop', sim.podsOfWorkload({ namespace: 'shop', kind: 'Deployment', name: 'w2' })[0]?.name ?? ''),
    );
    await check(() => clock.advance(1000));
    // a workload of a name asked before it existed, and one more in a namespace target
    await check(() => sim.createWorkload({ namespace: 'shop', name: 'late', replicas: 2 }));
    await check(() => sim.createWorkload({ namespace: 'other', name: 'b', replicas: 1 }));
    await check(() =>
      sim.deletePod('other', sim.podsOfWorkload({ namespace: 'other', kind: 'Deployment', name: 'a' })[0]?.name ?? ''),
    );
    await check(() => clock.advance(10_000));
    // the changes did change the samples: the comparison saw new pods, Ready pods and revisions
    expect(new Set(seen.map((x) => JSON.stringify(x))).size).toBeGreaterThan(5);
    const p99 = (traffic: unknown) => (traffic as WorkloadTraffic[]).find((t) => t.workload === 'c1/shop/w0')?.p99Ms;
    expect(p99(full())).toBeGreaterThan(p99(seen[0]) ?? Infinity);
    sim.close();
  });

  it('Given an unchanged fleet, When it is sampled again, Then nothing of the cluster is read; after one pod goes, only its workload', async () => {
    const { sim, clusters } = newFleet();
    const targets = wave();
    const kept = servedCache();
    const visitedBy = (read: () => unknown): number => {
      const before = sim.stats().objectsVisited;
      read();
      return sim.stats().objectsVisited - before;
    };
    const sample = () => simulatedTraffic(clusters, DEFAULT_SIMULATED_MESH_METRICS, targets, window, kept);
    // the first sample reads each named workload once, and the namespace target's one workload
    expect(visitedBy(sample)).toBe(6 + 1);
    expect(visitedBy(sample)).toBe(0);
    sim.deletePod('shop', sim.podsOfWorkload({ namespace: 'shop', kind: 'Deployment', name: 'w4' })[0]?.name ?? '');
    // the lookup of the deleted pod's workload above, then the sample: w4 only
    expect(visitedBy(sample)).toBe(1);
    expect(visitedBy(sample)).toBe(0);
    sim.close();
  });
});
