import { afterEach, describe, expect, it, vi } from 'vitest';
import { createInMemoryBroker, createInMemoryBus, type EventBus } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import { UnitState, clusterKey, unitKey } from '@meshwave/contracts';
import { createManualClock } from '@meshwave/reconcile';
import { IstioLabel } from '@meshwave/istio';
import { commandFor, newDesiredState } from '../../../../test/support/cluster-commands.js';
import { createSimulatedCluster, type SimulatedCluster } from '../adapters/simulated-cluster.js';
import { createClusterAgent, type ClusterAgent } from './cluster-agent.js';
import { ClusterCache } from './cluster-cache.js';

const SIGNING = { keys: [{ id: 'k1', secret: 'x'.repeat(32) }], activeKeyId: 'k1' };
const OLD = '1-24-5';
const NEW = '1-25-2';
const WORKLOADS = 300;
const SLOTS = 5;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** An agent on a simulated cluster of WORKLOADS Deployments on OLD, one namespace, and the planner's bus. */
async function newAgent(): Promise<{ agent: ClusterAgent; sim: SimulatedCluster; planner: EventBus }> {
  const clock = createManualClock();
  const now = (): number => clock.now();
  const workloads = Array.from({ length: WORKLOADS }, (_, i) => ({
    name: `w-${String(i).padStart(3, '0')}`,
    templateLabels: { [IstioLabel.Revision]: OLD },
  }));
  const sim = createSimulatedCluster({
    name: 'c1',
    clock,
    podStartMs: 2000,
    revisions: [OLD, NEW],
    namespaces: [{ name: 'team', workloads }],
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
  return { agent, sim, planner };
}

describe('cluster agent: the assessments a command costs', () => {
  it('assesses each unit of a new wave once, then only the units it starts', async () => {
    // Given an agent of a cluster with 300 workloads on the old revision
    const { agent, planner } = await newAgent();
    const units = Array.from({ length: WORKLOADS }, (_, i) => ({
      namespace: 'team',
      kind: 'Deployment' as const,
      name: `w-${String(i).padStart(3, '0')}`,
      revision: NEW,
    }));
    const reads = vi.spyOn(ClusterCache.prototype, 'contents');
    try {
      // When a command moves all of them with 5 slots, and the agent has started what it may (no time passes)
      const command = newDesiredState({ granularity: 'workload', maxUnavailable: SLOTS, from: OLD, to: NEW, units });
      await planner.publish([commandFor(command)]);
      const restarting = (): string[] =>
        agent
          .units()
          .filter((u) => u.state === UnitState.Restarting)
          .map((u) => u.key);
      for (let i = 0; i < 400 && !(agent.units().length === WORKLOADS && restarting().length === SLOTS); i++) {
        await new Promise((r) => setTimeout(r, 5));
        await agent.idle();
      }
      await agent.idle();
      // Then the first 5 units in the planner's order restart and the others wait
      expect(restarting()).toEqual(units.slice(0, SLOTS).map(unitKey));
      expect(agent.units().filter((u) => u.state === UnitState.Pending)).toHaveLength(WORKLOADS - SLOTS);
      // and the units were read from the cache about once each, plus a few reads per started unit (its start and
      // the watch events of its restart): not once more per unit for a reconcile that finds what was just found
      expect(reads.mock.calls.length).toBeLessThanOrEqual(WORKLOADS + 10 * SLOTS);
    } finally {
      reads.mockRestore();
    }
  });
});
