import { describe, expect, it } from 'vitest';
import { createSimulatedCluster, type SimulatedCluster } from '@meshwave/cluster-agent';
import { DEFAULT_SIMULATED_MESH_METRICS, simulatedTraffic } from './simulated-mesh-metrics.js';

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
