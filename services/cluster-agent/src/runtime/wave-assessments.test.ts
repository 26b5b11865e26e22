import { afterEach, describe, expect, it, vi } from 'vitest';
import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import { UnitState, clusterKey } from '@meshwave/contracts';
import { createManualClock } from '@meshwave/reconcile';
import { IstioLabel } from '@meshwave/istio';
import { commandFor, newDesiredState } from '../../../../test/support/cluster-commands.js';
import { createSimulatedCluster } from '../adapters/simulated-cluster.js';
import { createClusterAgent } from './cluster-agent.js';
import { ClusterCache } from './cluster-cache.js';

const SIGNING = { keys: [{ id: 'k1', secret: 'x'.repeat(32) }], activeKeyId: 'k1' };
const OLD = '1-24-5';
const NEW = '1-25-2';
const WORKLOADS = 40;
const POD_START_MS = 600;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe('cluster agent: the assessments a whole wave costs (issue 15)', () => {
  it('assesses a moving unit once per burst of watch events, not once per event', async () => {
    // Given an agent of a cluster with 40 Deployments of 2 replicas on the old revision
    const clock = createManualClock();
    const now = (): number => clock.now();
    const names = Array.from({ length: WORKLOADS }, (_, i) => `w-${String(i).padStart(2, '0')}`);
    const sim = createSimulatedCluster({
      name: 'c1',
      clock,
      podStartMs: POD_START_MS,
      revisions: [OLD, NEW],
      namespaces: [
        {
          name: 'team',
          workloads: names.map((name) => ({ name, replicas: 2, templateLabels: { [IstioLabel.Revision]: OLD } })),
        },
      ],
    });
    const broker = createInMemoryBroker();
    const planner = createInMemoryBus({ source: 'planner', signing: SIGNING, broker, now });
    const agentBus = createInMemoryBus({ source: clusterKey('c1'), signing: SIGNING, broker, now });
    const agent = createClusterAgent({
      cluster: 'c1',
      kubernetes: sim,
      bus: agentBus,
      store: createInMemoryStore(),
      clock,
    });
    await agent.start();
    closers.push(async () => {
      await agent.stop();
      sim.close();
      await Promise.all([planner.close(), agentBus.close()]);
    });
    const units = names.map((name) => ({ namespace: 'team', kind: 'Deployment' as const, name, revision: NEW }));
    const reads = vi.spyOn(ClusterCache.prototype, 'contents');
    try {
      // When a command moves all of them at once and the pods start, batch by batch, until every unit converged
      const command = newDesiredState({
        granularity: 'workload',
        maxUnavailable: WORKLOADS,
        from: OLD,
        to: NEW,
        units,
      });
      await planner.publish([commandFor(command)]);
      const converged = (): boolean =>
        agent.units().length === WORKLOADS && agent.units().every((u) => u.state === UnitState.Converged);
      for (let i = 0; i < 200 && !converged(); i++) {
        await new Promise((r) => setTimeout(r, 1));
        await agent.idle();
        await clock.advance(POD_START_MS / 2);
      }
      // Then every unit converged
      expect(converged()).toBe(true);
      // and each unit was read from the cache about once per thing that happened to it (the command, its start and
      // the read after it, the events of its own patch, two pod batches, a requeue): 7, where waking it at every
      // watch event read it 8.6 times. The events of one step (a pod started, an old one removed, the Deployment's
      // status, the next pod created) arrive together and wake it once, on the cache holding all of them.
      expect(reads.mock.calls.length / WORKLOADS).toBeLessThanOrEqual(7);
    } finally {
      reads.mockRestore();
    }
  });
});
