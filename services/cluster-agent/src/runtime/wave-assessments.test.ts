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

/** An agent of a cluster with `workloads` Deployments of 2 replicas on the old revision, on a manual clock. */
async function agentOnSimulatedCluster(workloads: number, podStartMs: number, resyncMs?: number) {
  const clock = createManualClock();
  const now = (): number => clock.now();
  const names = Array.from({ length: workloads }, (_, i) => `w-${String(i).padStart(2, '0')}`);
  const sim = createSimulatedCluster({
    name: 'c1',
    clock,
    podStartMs,
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
    ...(resyncMs === undefined ? {} : { intervals: { resyncMs } }),
  });
  await agent.start();
  closers.push(async () => {
    await agent.stop();
    sim.close();
    await Promise.all([planner.close(), agentBus.close()]);
  });
  const units = names.map((name) => ({ namespace: 'team', kind: 'Deployment' as const, name, revision: NEW }));
  const converged = (): boolean =>
    agent.units().length === workloads && agent.units().every((u) => u.state === UnitState.Converged);
  /** the command moving every unit with `maxUnavailable`, then the clock in `stepMs` steps until all converged */
  const wave = async (maxUnavailable: number, stepMs: number, steps: number): Promise<void> => {
    await planner.publish([
      commandFor(newDesiredState({ granularity: 'workload', maxUnavailable, from: OLD, to: NEW, units })),
    ]);
    for (let i = 0; i < steps && !converged(); i++) {
      await new Promise((r) => setTimeout(r, 1));
      await agent.idle();
      await clock.advance(stepMs);
    }
  };
  return { sim, converged, wave };
}

describe('cluster agent: the assessments a whole wave costs (issue 15)', () => {
  it('assesses a moving unit once per burst of watch events, not once per event', async () => {
    // Given an agent of a cluster with 40 Deployments of 2 replicas on the old revision
    const { converged, wave } = await agentOnSimulatedCluster(WORKLOADS, POD_START_MS);
    const reads = vi.spyOn(ClusterCache.prototype, 'contents');
    try {
      // When a command moves all of them at once and the pods start, batch by batch, until every unit converged
      await wave(WORKLOADS, POD_START_MS / 2, 200);
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

  it('does not assess units waiting for a slot again at every resync of a long wave', async () => {
    // Given an agent resyncing every 5 s (as the fleet benchmark's agents do), 40 Deployments whose pods take 20 s
    // to start, moved 4 at a time: a wave of ~400 s, ~80 resyncs, most units waiting for a slot at each
    const { sim, converged, wave } = await agentOnSimulatedCluster(WORKLOADS, 20_000, 5_000);
    const reads = vi.spyOn(ClusterCache.prototype, 'contents');
    try {
      // When the command moves them all and the clock runs until every unit converged
      await wave(4, 2_500, 400);
      // Then every unit converged, never more than 4 restarting at once (counted on the apiserver)
      expect(converged()).toBe(true);
      expect(sim.stats().peakRestarting).toBeLessThanOrEqual(4);
      // and each unit was read while it moved (~40 s in flight: its own look every 5 s and each resync's), not while
      // it waited: ~21 reads a unit, where assessing every waiting unit at every resync read each ~58 times
      expect(reads.mock.calls.length / WORKLOADS).toBeLessThanOrEqual(24);
    } finally {
      reads.mockRestore();
    }
  });
});
